"""Issue 5 item 7d: the agent comes after the plugins, and dies and comes back during live grab.

The stand-in keeps running throughout (it is a separate process; the agent only talks to it),
so the frame indices keep increasing across the agent's restart, and the viewer must carry
on by itself: no re-initialisation, no new grab command, a new agent connection.
"""

from __future__ import annotations

import signal
import time

import pytest

from ..plugins.conftest import process_events
from .conftest import wait_linked

pytestmark = pytest.mark.e2e

CAMERA_ONLY = ("--camera", "Camera", "--axes", "")


@pytest.mark.timeout(120)
def test_agent_after_the_plugins_then_killed_and_restarted_during_live(
    make_viewer, qtbot, port, standin, start_agent, children
):
    viewer = make_viewer()  # initialised with nobody on the other side
    inits = []
    viewer.init_signal.connect(inits.append)
    detector = viewer.settings.child("detector_settings")
    viewer.status_log.wait_for(qtbot, f"waiting for agent on port {port}")
    assert viewer.initialized_state

    first_agent = start_agent(port, *CAMERA_ONLY)  # the agent comes after the plugin
    wait_linked(qtbot, detector, children)
    first_address = detector["link", "agent"]

    frames = []  # (arrival time, frame_index)
    viewer.grab_done_signal.connect(lambda dte: frames.append((time.monotonic(), dte[0].frame_index)))
    viewer.grab_data(grab_state=True)
    try:
        qtbot.waitUntil(lambda: len(frames) >= 5, timeout=15000)

        assert first_agent.kill(signal.SIGKILL) == -signal.SIGKILL  # no Quit, no goodbye: the socket just dies
        viewer.status_log.wait_for(qtbot, "agent lost", timeout_ms=10000)
        qtbot.waitUntil(lambda: detector["link", "agent"] == "(none)", timeout=5000)
        assert "agent lost" in detector["link", "last_error"]
        process_events(0.2)
        lost_at, seen = time.monotonic(), len(frames)
        process_events(0.5)
        assert len(frames) == seen, "frames while no agent was connected"

        start_agent(port, *CAMERA_ONLY)
        wait_linked(qtbot, detector, children)
        qtbot.waitUntil(lambda: sum(t > lost_at for t, _ in frames) >= 5, timeout=20000)
    finally:
        viewer.stop_grab()
    process_events(0.2)

    assert detector["link", "agent"] != first_address  # a new connection (another source port)
    assert inits == [], "the module was initialised again"
    assert viewer.initialized_state
    # Strictly increasing: no frame twice. The agent answers requests sent together with one
    # frame (docs/decisions/0004), and a new connection gets its live requests together.
    indexes = [index for _, index in frames]
    backwards = [(n, int(a), int(b)) for n, (a, b) in enumerate(zip(indexes, indexes[1:])) if b <= a]
    assert not backwards, f"frame_index went back {backwards} (lost at frame {seen}): {[int(i) for i in indexes]}"

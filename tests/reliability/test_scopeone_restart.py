"""Issue 7 item 5: ScopeOne (the stand-in) killed and restarted under a live viewer.

A real DAQ_Viewer streams live through a real agent process from a real stand-in process.
Each round SIGKILLs the stand-in (it leaves its socket file and shared memory behind, as a
crashed ScopeOne would), checks that the viewer's *link status* says "ScopeOne not
reachable" (the agent's report reaching the dashboard), starts a new stand-in on the same
endpoint and waits until the status says ready and live frames flow again — with nothing
done on the PyMoDAQ side: no re-initialisation, no new grab, the same agent connection.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import List, Tuple

import pytest

from pymodaq_plugins_scopeone.demo._pymodaq import wait_until

from ..e2e.processes import StandIn, agent_command
from ..plugins.conftest import process_events
from .conftest import sized, summary

ROUNDS = sized(3, 20)
SHOWN_BOUND_S = 5.0  # the agent notices a closed Local API connection at once; 5 s is generous
RECOVERY_BOUND_S = 15.0


@pytest.mark.timeout(90 + ROUNDS * 30)
def test_scopeone_killed_is_reported_not_reachable_and_live_resumes_by_itself(
    make_viewer, qtbot, port, children, short_tmp, figures
):
    stand_in = StandIn(children, short_tmp)
    killed_mappings: List[str] = []
    viewer = make_viewer()
    inits: List[object] = []
    viewer.init_signal.connect(inits.append)
    detector = viewer.settings.child("detector_settings")
    agent = children.start("agent", agent_command(port, stand_in.socket_path, "--camera", "Camera", "--axes", ""))
    wait_until(lambda: detector["link", "scopeone"] == "ready", 30, "the agent and ScopeOne ready")
    first_agent_address = detector["link", "agent"]

    frames: List[Tuple[float, int]] = []
    viewer.grab_done_signal.connect(lambda dte: frames.append((time.monotonic(), int(dte[0].frame_index))))
    shown: List[float] = []
    recovered: List[float] = []
    texts: List[str] = []
    viewer.grab_data(grab_state=True)
    try:
        wait_until(lambda: len(frames) >= 3, 15, "the first live frames")
        for round_ in range(ROUNDS):
            killed_at = time.monotonic()
            assert stand_in.child.kill(signal.SIGKILL) == -signal.SIGKILL
            killed_mappings.append(stand_in.mapping)
            wait_until(
                lambda: "not reachable" in detector["link", "scopeone"], 30, f"round {round_}: 'not reachable' shown"
            )
            shown.append(time.monotonic() - killed_at)
            texts.append(detector["link", "scopeone"])
            stand_in.child.stop()

            seen = len(frames)
            restarted_at = time.monotonic()
            stand_in = StandIn(children, short_tmp)  # same socket path, a new shared-memory block
            wait_until(lambda seen=seen: len(frames) >= seen + 3, 30, f"round {round_}: live frames after the restart")
            recovered.append(time.monotonic() - restarted_at)
            assert detector["link", "scopeone"] == "ready"
            assert detector["link", "agent"] == first_agent_address, "the agent connection was not kept"
            assert agent.alive
    finally:
        viewer.stop_grab()
        process_events(0.2)
        agent.stop()
        stand_in.child.stop()
        for mapping in killed_mappings:  # what the killed stand-ins could not remove
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"/dev/shm/{mapping}")
    assert stand_in.leftovers() == []

    figures(
        rounds=ROUNDS,
        not_reachable_shown_ms=summary(shown),
        frames_again_after_restart_ms=summary(recovered),
        status_text=texts[0] if texts else "",
    )
    assert inits == [], "the module was initialised again"
    assert all(text.startswith("ScopeOne not reachable") for text in texts), texts
    assert max(shown) <= SHOWN_BOUND_S and max(recovered) <= RECOVERY_BOUND_S

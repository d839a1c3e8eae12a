"""Issue 7 item 2: the agent killed with SIGKILL during live grab, again and again.

A real DAQ_Viewer with DAQ_2DViewer_ScopeOne streams live from a real ``scopeone-agent``
process serving a real stand-in process. Each round SIGKILLs the agent (no ``Quit``, the
kernel just closes its socket), measures how long the viewer takes to *show* the loss (its
status line, read in the GUI thread), starts a new agent and waits until frames flow again,
with no re-initialisation and no new grab command. Frame indices must keep increasing across
every restart (the stand-in keeps running). Threads (Python and OS), file descriptors and
sockets of this process are counted once live runs and again after the last round.
"""

from __future__ import annotations

import signal
import time
from typing import List, Tuple

import pytest

from pymodaq_plugins_scopeone.demo._pymodaq import wait_until

from ..e2e.conftest import wait_linked
from ..plugins.conftest import process_events
from .conftest import resources, sized, summary, wait_no_growth

ROUNDS = sized(20, 100)
SHOW_LOSS_BOUND_S = 1.0  # issue 7 item 2
CAMERA_ONLY = ("--camera", "Camera", "--axes", "")


@pytest.mark.timeout(90 + ROUNDS * 10)
def test_sigkilled_agent_loss_is_shown_within_1_s_and_live_resumes_without_leaks(
    make_viewer, qtbot, port, standin, start_agent, children, figures
):
    viewer = make_viewer()
    inits: List[object] = []
    viewer.init_signal.connect(inits.append)
    detector = viewer.settings.child("detector_settings")
    agent = start_agent(port, *CAMERA_ONLY)
    wait_linked(qtbot, detector, children)

    frames: List[Tuple[float, int]] = []  # (arrival, frame_index)
    viewer.grab_done_signal.connect(lambda dte: frames.append((time.monotonic(), int(dte[0].frame_index))))
    shown: List[float] = []
    resumed: List[float] = []
    viewer.grab_data(grab_state=True)
    try:
        wait_until(lambda: len(frames) >= 5, 15, "the first live frames")
        process_events(0.3)
        before = resources()
        for round_ in range(ROUNDS):
            lines_before = len(viewer.status_log.lines)
            killed_at = time.monotonic()
            assert agent.kill(signal.SIGKILL) == -signal.SIGKILL
            wait_until(
                lambda after=lines_before: any("agent lost" in line for line in viewer.status_log.lines[after:]),
                10,
                f"round {round_}: the viewer to show the loss",
            )
            shown.append(time.monotonic() - killed_at)
            assert detector["link", "agent"] == "(none)"
            agent.stop()  # reaps it and closes its log file (it is already dead)

            seen = len(frames)
            started_at = time.monotonic()
            agent = start_agent(port, *CAMERA_ONLY)
            wait_until(lambda seen=seen: len(frames) >= seen + 2, 20, f"round {round_}: live frames after the restart")
            resumed.append(time.monotonic() - started_at)
        process_events(0.3)
        after = wait_no_growth(before, timeout_s=5.0, pump=lambda: process_events(0.02))
    finally:
        viewer.stop_grab()
    process_events(0.2)

    figures(
        rounds=ROUNDS,
        loss_shown_ms=summary(shown),
        frames_again_after_agent_start_ms=summary(resumed),
        resources_before=before,
        resources_after=after,
        frames=len(frames),
    )
    assert inits == [], "the module was initialised again"
    assert viewer.initialized_state
    late = [round(t, 3) for t in shown if t > SHOW_LOSS_BOUND_S]
    assert not late, f"loss shown later than {SHOW_LOSS_BOUND_S} s: {late}"
    leaks = {key: (before[key], after[key]) for key in before if after[key] > before[key]}
    assert not leaks, f"leaked across {ROUNDS} agent kills: {leaks}"
    indexes = [index for _, index in frames]
    backwards = [(n, a, b) for n, (a, b) in enumerate(zip(indexes, indexes[1:])) if b <= a]
    assert not backwards, f"frame_index did not increase: {backwards}"

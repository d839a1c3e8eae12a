"""Issue 5 item 4: stock PyMoDAQ 4.4 TCP clients work with our PyMoDAQ 5 plugins.

Here, in the main environment: a DAQ_Viewer with DAQ_2DViewer_ScopeOne and a DAQ_Move with
DAQ_Move_ScopeOne (axis X), both on one free loopback port, waiting for their agents. In the
PyMoDAQ 4.4.11 side environment (``pymodaq44_client_session.py``): a 4.4 DAQ_Viewer with the
Mock 2D detector and a 4.4 DAQ_Move with the Mock actuator, which connect to that port with
their own "connect to TCP server" option. The stock client announces its type and its
settings but no identity, so our server gives each connection to the single waiting module
of its type. Then our viewer snaps and live-grabs frames that the 4.4 viewer takes, our
actuator moves the 4.4 Mock and reads its position back; the session reports what the 4.4
modules did, and both sides see the other leave.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from pymodaq.utils.data import DataActuator

from ..plugins.conftest import (  # noqa: F401 (the fixtures of tests/plugins, used here)
    assert_no_frame_after_stop,
    init_move,
    make_move,
    make_viewer,
    no_threads_left_behind,
    pmd_app,
    port,
    process_events,
)
from .test_agent_with_pymodaq44_servers import LineReader, _processes, _tail

try:
    from side_env import isolated_environ
except ImportError:  # tests/ is a package
    from tests.side_env import isolated_environ

SCRIPT = Path(__file__).with_name("pymodaq44_client_session.py")
MOCK_SHAPE = (200, 100)  # pymodaq_plugins_mock 4.4's 2D detector: Ny × Nx
MOCK_EPSILON_UM = 1.0  # the 4.4 Mock reports a move done within 1 µm of its target (axis X)
SNAPS = 3
LIVE_FRAMES = 5


def linked(settings) -> bool:
    return settings["link", "agent"] not in ("", "(none)")


@pytest.mark.side_env
@pytest.mark.timeout(1200)  # the first side-env test may build the environment
def test_pymodaq44_viewer_and_move_clients_serve_our_plugins(side_python, make_viewer, make_move, qtbot, port):  # noqa: F811
    viewer = make_viewer()
    mover = make_move("X")
    init_move(qtbot, mover)
    detector = viewer.settings.child("detector_settings")
    actuator = mover.settings.child("actuator_settings")

    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scopeone-clients44-")))
        log = stack.enter_context(tempfile.TemporaryFile())
        started = stack.enter_context(_processes())
        session = subprocess.Popen(
            [str(side_python), "-s", str(SCRIPT), "--port", str(port), "--deadline", "300"],
            env=isolated_environ(root, side_python),
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        started.append(session)
        assert session.stdin is not None and session.stdout is not None
        reader = LineReader(session.stdout)

        def describe() -> str:
            return f"--- 4.4 session stderr:\n{_tail(log)}"

        # -- the stock clients connect; each goes to the one waiting module of its type ----
        connected = reader.event("connected", 120, describe)
        assert connected["viewer"] and connected["mover"], f"{connected}\n{describe()}"
        qtbot.waitUntil(lambda: linked(detector) and linked(actuator), timeout=10000)
        viewer.status_log.wait_for(qtbot, "connected")
        mover.status_log.wait_for(qtbot, "X: agent")
        assert detector["link", "agent"] != actuator["link", "agent"]  # two connections, routed apart

        # -- our viewer snaps: one Send Data, one Done with the 4.4 Mock's DataToExport -------
        for _ in range(SNAPS):
            with qtbot.waitSignal(viewer.grab_done_signal, timeout=15000) as blocker:
                viewer.snap()
            dte = blocker.args[0]
            assert len(dte) >= 1, dte
            for dwa in dte:
                assert dwa.dim.name == "Data2D" and dwa.data[0].shape == MOCK_SHAPE, dwa
                assert dwa.data[0].dtype == np.float64 and np.isfinite(dwa.data[0]).all()
        assert detector["link", "last_error"] == ""

        # -- live grab: one request in flight at a time (a stock client takes one at a time) --
        frames = []
        viewer.grab_done_signal.connect(lambda dte: frames.append(time.monotonic()))
        viewer.grab_data(grab_state=True)
        try:
            qtbot.waitUntil(lambda: len(frames) >= LIVE_FRAMES, timeout=20000)
        finally:
            viewer.stop_grab()
        assert_no_frame_after_stop(frames)
        count = len(frames)

        # -- our actuator moves the 4.4 Mock: move_abs / move_rel out, move_done back ---------
        done = []
        mover.move_done_signal.connect(lambda value: done.append(value))
        with qtbot.waitSignal(mover.move_done_signal, timeout=15000):
            mover.move_abs(DataActuator(data=40.0, units="µm"))
        assert done[-1].units == "µm" and done[-1].value() == pytest.approx(40.0, abs=MOCK_EPSILON_UM)
        with qtbot.waitSignal(mover.move_done_signal, timeout=15000):
            mover.move_rel(DataActuator(data=-15.0, units="µm"))
        assert done[-1].value() == pytest.approx(25.0, abs=2 * MOCK_EPSILON_UM)
        with qtbot.waitSignal(mover.current_value_signal, timeout=5000) as blocker:
            mover.get_actuator_value()
        assert blocker.args[0].value() == pytest.approx(25.0, abs=2 * MOCK_EPSILON_UM)
        assert actuator["link", "last_error"] == ""

        # -- what the 4.4 side did, then it disconnects and both our modules see it -----------
        session.stdin.write(b"done\n")
        session.stdin.flush()
        summary = reader.event("summary", 30, describe)
        viewer.status_log.wait_for(qtbot, "agent lost", timeout_ms=15000)
        mover.status_log.wait_for(qtbot, "agent lost", timeout_ms=15000)
        final = reader.event("final", 30, describe)
        try:
            code = session.wait(30)
        except subprocess.TimeoutExpired:
            code = None
        report = describe()

    print("4.4 side:", {k: v for k, v in summary.items() if k not in ("snapshots", "statuses")})
    print("4.4 snapshots:", len(summary["snapshots"]), summary["snapshots"][:1], "statuses:", summary["statuses"][-6:])
    assert summary["errors"] == [] and final["errors"] == [], f"{summary}\n{final}\n{report}"
    assert code == 0, f"the 4.4 session exited with {code}\n{report}"
    snapshots = summary["snapshots"]
    # every frame we got was a 4.4 snapshot, and live asked a stock client one frame at a time:
    # at most the one request in flight when live stopped went unanswered here
    assert len(snapshots) - (SNAPS + count) in (0, 1), (len(snapshots), SNAPS, count)
    assert all(s["shapes"] == [list(MOCK_SHAPE)] * s["n_dwa"] for s in snapshots), snapshots
    moves = summary["move_done"]
    assert [m["units"] for m in moves] == ["µm", "µm"], moves
    assert moves[0]["value"] == pytest.approx(40.0, abs=MOCK_EPSILON_UM), moves
    assert moves[1]["value"] == pytest.approx(25.0, abs=2 * MOCK_EPSILON_UM), moves
    assert summary["current_value"] == pytest.approx(25.0, abs=2 * MOCK_EPSILON_UM), summary
    assert summary["units"] == "µm"

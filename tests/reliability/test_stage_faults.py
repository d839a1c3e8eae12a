"""Issue 7 item 6: stage faults made by the stand-in, under real DAQ_Move modules and a real DAQ_Scan.

The faults come from the stand-in itself (``sim_fault`` over its Local API) and travel
ScopeOne → agent → plugin: a move that fails, a target outside the travel, a move that
never finishes. PyMoDAQ must get an error (status line, ``last_error``) or its own timeout,
and never a ``move_done`` for the faulted move — not even later, when a hung move is
finally released. After each fault the axis moves normally again. A DAQ_Scan whose stage
faults mid-scan stops on its actuator timeout, cleanly: no dialog, no hang, the scan ends,
the dashboard quits.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, List, Tuple

import pytest
from pymodaq.utils.data import DataActuator as PyMoDAQActuator

from pymodaq_plugins_scopeone.demo._pymodaq import wait_until
from pymodaq_plugins_scopeone.protocol import DataActuator, MoveAbs

from ..e2e.conftest import wait_linked
from ..e2e.test_scan import dashboard, experiment_on_port  # noqa: F401 (fixtures)
from ..plugins.conftest import init_move, process_events
from .agent_side import MODULES
from .conftest import sized, summary

REPEATS = sized(2, 10)  # of each fault kind
MODULE_TIMEOUT_S = 1  # DAQ_Move's own timeout (an int setting, in s)
FAULTS = ("fail", "out_of_range", "hang")


def move_and_wait(qtbot: Any, module: Any, value: float, timeout_ms: int = 15000) -> float:
    with qtbot.waitSignal(module.move_done_signal, timeout=timeout_ms) as blocker:
        module.move_abs(PyMoDAQActuator(data=value, units="µm"))
    return float(blocker.args[0].value())


@pytest.mark.timeout(120 + REPEATS * 30)
def test_stage_faults_give_an_error_or_a_timeout_and_never_a_false_move_done(
    make_move, qtbot, port, standin, start_agent, children, figures
):
    x = make_move("X", master=True, timeout=MODULE_TIMEOUT_S)
    init_move(qtbot, x)
    z = make_move("Z", master=False, timeout=MODULE_TIMEOUT_S)
    init_move(qtbot, z, master=x)
    start_agent(port, "--camera", "none", "--axes", "X,Z")
    for module in (x, z):
        wait_linked(qtbot, module.settings.child("actuator_settings"), children)
    done = {"X": [], "Z": []}  # every move_done value, per module
    x.move_done_signal.connect(lambda value: done["X"].append(float(value.value())))
    z.move_done_signal.connect(lambda value: done["Z"].append(float(value.value())))
    timeouts: List[str] = []
    x.timeout_signal.connect(timeouts.append)
    z.timeout_signal.connect(timeouts.append)
    error_shown: List[float] = []
    timeout_raised: List[float] = []
    good = {"X": [], "Z": []}  # the targets that were allowed to complete

    for case, kind in enumerate(itertools.chain.from_iterable(itertools.repeat(FAULTS, REPEATS))):
        module, axis = (x, "X") if case % 2 == 0 else (z, "Z")
        before_done = len(done[axis])
        lines = len(module.status_log.lines)
        here_xy, here_z = standin.xy(), standin.z()
        target = (here_xy[0] if axis == "X" else here_z) + 20.0
        if kind == "fail":
            standin.fault("fail_next_move")
        elif kind == "out_of_range":
            target = 60000.0 if axis == "X" else 1000.0  # XY travel ±50 mm, Z ±300 µm
        else:
            standin.fault("hang_next_move")
        sent_at = time.monotonic()
        module.move_abs(PyMoDAQActuator(data=target, units="µm"))
        if kind == "hang":
            timeouts_before = len(timeouts)
            wait_until(lambda n=timeouts_before: len(timeouts) > n, 10, f"case {case}: DAQ_Move's timeout")
            timeout_raised.append(time.monotonic() - sent_at)
            assert any("Timeout" in line for line in module.status_log.lines[lines:])
            standin.fault("release_hung_moves")  # ScopeOne fails it at last: a late error, still no move_done
        wait_until(
            lambda n=lines, m=module: any("Stage move failed" in line for line in m.status_log.lines[n:]),
            10,
            f"case {case} ({kind} on {axis}): the error shown",
        )
        if kind != "hang":
            error_shown.append(time.monotonic() - sent_at)
        process_events(0.3)  # a false move_done would arrive now
        assert len(done[axis]) == before_done, f"case {case} ({kind} on {axis}): move_done {done[axis][before_done:]}"
        assert "Stage move failed" in module.settings["actuator_settings", "link", "last_error"]
        if kind != "hang":  # a hung move stops half-way (the stand-in's model), the others do not move
            assert standin.xy()[0] == pytest.approx(here_xy[0]) and standin.z() == pytest.approx(here_z)

        recovered = (standin.xy()[0] if axis == "X" else standin.z()) - 10.0
        assert move_and_wait(qtbot, module, recovered) == pytest.approx(recovered, abs=1e-6)  # the axis works again
        good[axis].append(recovered)

    figures(
        faults=len(FAULTS) * REPEATS,
        error_shown_ms=summary(error_shown),
        daq_move_timeout_ms=summary(timeout_raised),
        daq_move_timeout_setting_s=MODULE_TIMEOUT_S,
    )
    for axis in ("X", "Z"):  # the only move_done are those of the good moves, in order
        assert done[axis] == pytest.approx(good[axis], abs=1e-6), (axis, done[axis], good[axis])
    assert min(timeout_raised) >= MODULE_TIMEOUT_S * 0.9


# -- DAQ_Scan ------------------------------------------------------------------------------------
SCAN_ACTUATOR_TIMEOUT_S = 3


@pytest.fixture
def short_actuator_timeout() -> Any:
    """The scan's actuator timeout (ModulesManager reads it from the config at each move)."""
    from pymodaq_utils.config import GlobalConfig

    config = GlobalConfig()
    key = ("pymodaq", "actuator", "polling_timeout_s")
    previous = config[key]
    config[key] = SCAN_ACTUATOR_TIMEOUT_S
    yield SCAN_ACTUATOR_TIMEOUT_S
    config[key] = previous


@pytest.mark.timeout(180)
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # see tests/e2e/test_scan.py
@pytest.mark.parametrize("kind", FAULTS)
def test_a_daq_scan_stops_cleanly_when_its_stage_faults(
    kind,
    dashboard,  # noqa: F811 (fixture)
    qtbot,
    port,
    standin,
    start_agent,
    children,
    short_actuator_timeout,
    figures,
):
    """One scan per dashboard: after a scan stopped on a timeout, PyMoDAQ 5.3's ModulesManager keeps a
    stale ``move_done`` connection ("disconnect() failed …") and a second scan in the same DAQ_Scan
    counts move_done twice, so each fault gets its own dashboard."""
    from pymodaq.extensions import ExtensionEnum

    modules = dashboard.modules_manager
    start_agent(port, "--camera", "Camera", "--axes", "X,Y,Z")
    for module in modules.modules_all:
        group = "detector_settings" if module.title == "Camera" else "actuator_settings"
        wait_linked(qtbot, module.settings.child(group), children)
    daq_scan = dashboard.load_extension(ExtensionEnum.SCANNER)
    dashboard.test_windows.append(daq_scan.shared_ui.mainwindow)
    daq_scan.override_popups(False)
    scan_modules = daq_scan.modules_manager
    actuator = "StageZ" if kind == "out_of_range" else "StageX"
    scan_modules.selected_actuators_name = [actuator]
    scan_modules.selected_detectors_name = ["Camera"]
    daq_scan.scanner.set_scan_type_and_subtypes("Scan1D", "Linear")
    settings = daq_scan.scanner.scanner.settings
    # out of range: 270, 290, then 310, beyond Z's ±300 µm; the others fault on their third point (20 µm)
    start, stop, step = (270.0, 330.0, 20.0) if kind == "out_of_range" else (0.0, 40.0, 10.0)
    settings["start"], settings["stop"], settings["step"] = start, stop, step
    targets = [start + step * i for i in range(4)]

    stage = modules.get_mod_from_name(actuator, mod="act")
    acquisition = daq_scan.scan_acquisition
    reached: List[Tuple[float, bool]] = []  # the module's own move_done: (value, scan running)
    faulted_at: List[float] = []

    def on_move_done(value: Any) -> None:
        reached.append((float(value.value()), acquisition.is_running))
        if len(reached) == 3:  # initial position, point 0, point 1: the move to point 2 faults
            if kind in ("fail", "hang"):
                standin.fault("fail_next_move" if kind == "fail" else "hang_next_move")
            faulted_at.append(time.monotonic())

    # Every error the stage shows: the queued go-back move's own error may replace the fault's at once.
    errors_shown: List[str] = []
    last_error = stage.settings.child("actuator_settings", "link", "last_error")
    last_error.sigValueChanged.connect(lambda _param, value: errors_shown.append(str(value)))
    stage.move_done_signal.connect(on_move_done)
    daq_scan.start_scan()
    try:
        wait_until(lambda: acquisition.timeout_scan_flag, 60, f"{kind}: the scan's timeout")
        wait_until(lambda: not acquisition.is_running, 30, f"{kind}: the scan to stop")
        stopped_after = time.monotonic() - faulted_at[0]
        if kind == "hang":
            standin.fault("release_hung_moves")
        wait_until(
            lambda: any("Stage move failed" in error for error in errors_shown), 10, f"{kind}: the stage error shown"
        )
        process_events(0.5)
    finally:
        stage.move_done_signal.disconnect(on_move_done)
        if acquisition.is_running:
            daq_scan.stop_scan()
    during = [value for value, running in reached if running]
    figures(
        stopped_after_fault_ms=round(stopped_after * 1000, 1), scan_timeout_s=SCAN_ACTUATOR_TIMEOUT_S, reached=reached
    )
    assert during == pytest.approx([targets[0], targets[0], targets[1]], abs=1e-6), (kind, reached, targets)
    assert all(abs(value - targets[2]) > 1e-6 for value, _ in reached), f"{kind}: false move_done {reached}"
    assert dashboard.test_dialogs == []
    assert stopped_after < SCAN_ACTUATOR_TIMEOUT_S + 5  # the hang also delays the go-back move by one timeout


@pytest.mark.timeout(60)
def test_an_xy_move_queued_behind_a_failed_move_is_an_error_not_a_move_done(running_agent):
    """Regression: X/Y moves are relative steps from the target of the move before them; when that
    move failed, the agent used to report the queued move done at the wrong place."""
    from pymodaq_plugins_scopeone.protocol import Info, MoveDone

    x = running_agent.end.accept_all(["axis-X"] + [m for m in MODULES if m != "axis-X"])["axis-X"]
    faults = running_agent.sim.faults
    faults.hang_next_move()
    x.send(MoveAbs(DataActuator.of(200.0, "µm", "X")))  # hangs half-way
    x.send(MoveAbs(DataActuator.of(0.0, "µm", "X")))  # queued: a step of -200 µm from 200
    time.sleep(0.2)
    faults.release_hung_moves()
    answers: List[Any] = []
    while len(answers) < 2:
        answer = x.expect((MoveDone, Info))
        if isinstance(answer, MoveDone) or answer.name == "move error":
            answers.append(answer)
    errors = [a for a in answers if isinstance(a, Info)]
    assert len(errors) == 2, answers  # the hung move failed, the queued one did not reach 0
    assert "queued behind the failed move" in errors[1].value
    x.send(MoveAbs(DataActuator.of(0.0, "µm", "X")))  # from the live position: right again
    done = x.expect(MoveDone)
    assert done.position.value == pytest.approx(0.0, abs=1e-6)

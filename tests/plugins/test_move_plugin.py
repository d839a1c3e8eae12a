"""Real PyMoDAQ 5 DAQ_Move modules with DAQ_Move_ScopeOne (X Master, Y and Z Slaves), scripted axes."""

from __future__ import annotations

import pytest
from pymodaq.utils.data import DataActuator

from .conftest import init_move
from .fake_agent import FakeAxis


@pytest.fixture
def stage(make_move, qtbot, port):
    """Three modules on one controller and one fake agent per axis."""
    x = make_move("X", master=True)
    init_move(qtbot, x)
    y, z = make_move("Y", master=False), make_move("Z", master=False)
    init_move(qtbot, y, master=x)
    init_move(qtbot, z, master=x)
    agents = {axis: FakeAxis(port, axis, position_um=100.0 + n) for n, axis in enumerate("XYZ")}
    for module in (x, y, z):
        module.status_log.wait_for(qtbot, "connected")
    yield {"X": x, "Y": y, "Z": z}, agents
    for agent in agents.values():
        agent.close()


def move_and_wait(qtbot, module, value, relative=False, timeout_ms=5000):
    with qtbot.waitSignal(module.move_done_signal, timeout=timeout_ms) as blocker:
        (module.move_rel if relative else module.move_abs)(DataActuator(data=value, units="µm"))
    return blocker.args[0]


def test_each_axis_moves_and_reads_back_its_own_position(stage, qtbot):
    modules, agents = stage
    assert modules["X"].controller_and_thread.controller is modules["Z"].controller_and_thread.controller
    done = move_and_wait(qtbot, modules["Y"], -25.5)
    assert done.value() == pytest.approx(-25.5) and done.units == "µm"
    assert done.origin in ("", "StageY")  # empty from the plugin: DAQ_Move puts its title
    assert agents["Y"].moves == [("move_abs", -25.5)] and agents["X"].moves == agents["Z"].moves == []
    done = move_and_wait(qtbot, modules["Z"], 4.0, relative=True)
    assert done.value() == pytest.approx(106.0) and agents["Z"].moves == [("move_rel", 106.0)]
    with qtbot.waitSignal(modules["X"].current_value_signal, timeout=5000) as blocker:
        modules["X"].get_actuator_value()
    assert blocker.args[0].value() == pytest.approx(100.0)


def test_positions_are_shown_while_moving_and_done_comes_from_the_agent(stage, qtbot):
    modules, agents = stage
    agents["X"].move_s = 0.5
    seen = []
    modules["X"].current_value_signal.connect(lambda value: seen.append(value.value()))
    done = move_and_wait(qtbot, modules["X"], 200.0)
    assert done.value() == pytest.approx(200.0)
    between = [value for value in seen if 100.0 < value < 200.0]
    assert between, f"no live position during the move: {seen}"


def test_a_failed_move_shows_the_error_and_is_never_done(stage, qtbot):
    modules, agents = stage
    agents["X"].fail_next.set()
    with qtbot.assertNotEmitted(modules["X"].move_done_signal, wait=500):
        modules["X"].move_abs(DataActuator(data=300.0, units="µm"))
        modules["X"].status_log.wait_for(qtbot, "Stage move failed")
    assert "Stage move failed" in modules["X"].settings["actuator_settings", "link", "last_error"]
    done = move_and_wait(qtbot, modules["X"], 1.0)  # the axis still works
    assert done.value() == pytest.approx(1.0)


def test_bounds_are_honoured_before_sending(stage, qtbot):
    modules, agents = stage
    bounds = modules["Y"].settings.child("actuator_settings", "bounds")
    bounds.child("is_bounds").setValue(True)
    bounds.child("max_bound").setValue(50.0)
    done = move_and_wait(qtbot, modules["Y"], 80.0)
    assert done.value() == pytest.approx(50.0) and agents["Y"].moves == [("move_abs", 50.0)]


def test_pymodaqs_timeout_fires_when_the_agent_never_answers(stage, qtbot):
    modules, agents = stage
    agents["Z"].move_s = 30.0
    modules["Z"].settings.child("actuator_settings", "timeout").setValue(0.5)
    module = modules["Z"]
    with qtbot.waitSignal(module.timeout_signal, timeout=5000), qtbot.assertNotEmitted(module.move_done_signal):
        module.move_abs(DataActuator(data=0.0, units="µm"))


def test_home_completes_when_the_agent_says_so(stage, qtbot):
    modules, agents = stage
    with qtbot.waitSignal(modules["Z"].move_done_signal, timeout=5000) as blocker:
        modules["Z"].move_home()
    assert blocker.args[0].value() == pytest.approx(0.0) and agents["Z"].moves == [("move_home", 0.0)]


def test_without_agent_init_is_prompt_and_a_move_is_refused(make_move, qtbot, port):
    x = make_move("X")
    init_move(qtbot, x)
    x.status_log.wait_for(qtbot, f"waiting for agent on port {port}")
    with qtbot.assertNotEmitted(x.move_done_signal, wait=300):
        x.move_abs(DataActuator(data=1.0, units="µm"))
        x.status_log.wait_for(qtbot, "move refused")

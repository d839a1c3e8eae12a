"""Issue 5 item 7b: DAQ_Move modules (X Master, Y and Z Slaves) through a real agent and stand-in.

Each move is checked twice: the position the module reports with ``move_done`` and reads back
(µm), and where the stand-in's stage really is (asked over its own Local API). A failed move
is made by the stand-in itself (``sim_fault fail_next_move`` over the wire), so the error text
travels ScopeOne → agent → plugin → status bar.
"""

from __future__ import annotations

import pytest
from pymodaq.utils.data import DataActuator

from ..plugins.conftest import init_move
from .conftest import wait_linked

pytestmark = pytest.mark.e2e


def move_and_wait(qtbot, module, value, relative=False, timeout_ms=15000):
    with qtbot.waitSignal(module.move_done_signal, timeout=timeout_ms) as blocker:
        (module.move_rel if relative else module.move_abs)(DataActuator(data=value, units="µm"))
    return blocker.args[0]


def read_back(qtbot, module):
    with qtbot.waitSignal(module.current_value_signal, timeout=5000) as blocker:
        module.get_actuator_value()
    return blocker.args[0]


@pytest.fixture
def stage(make_move, qtbot, port, standin, start_agent, children):
    """StageX (Master), StageY and StageZ (Slaves of one controller), then the agent (axes only)."""
    x = make_move("X", master=True)
    init_move(qtbot, x)
    y, z = make_move("Y", master=False), make_move("Z", master=False)
    init_move(qtbot, y, master=x)
    init_move(qtbot, z, master=x)
    start_agent(port, "--camera", "none", "--axes", "X,Y,Z")
    for module in (x, y, z):
        wait_linked(qtbot, module.settings.child("actuator_settings"), children)
    return {"X": x, "Y": y, "Z": z}


@pytest.mark.timeout(120)
def test_each_axis_moves_the_stand_in_and_reads_back(stage, qtbot, standin):
    x, y, z = stage["X"], stage["Y"], stage["Z"]
    assert x.controller_and_thread.controller is z.controller_and_thread.controller
    x0, y0 = standin.xy()

    done = move_and_wait(qtbot, x, x0 + 40.0)
    assert done.units == "µm" and done.value() == pytest.approx(x0 + 40.0, abs=1e-6)
    assert standin.xy() == pytest.approx((x0 + 40.0, y0), abs=1e-6)  # Y untouched

    done = move_and_wait(qtbot, y, -25.5)
    assert done.value() == pytest.approx(-25.5, abs=1e-6)
    assert standin.xy() == pytest.approx((x0 + 40.0, -25.5), abs=1e-6)

    done = move_and_wait(qtbot, z, 12.0)
    assert done.value() == pytest.approx(12.0, abs=1e-6) and standin.z() == pytest.approx(12.0, abs=1e-6)
    done = move_and_wait(qtbot, z, -4.0, relative=True)
    assert done.value() == pytest.approx(8.0, abs=1e-6) and standin.z() == pytest.approx(8.0, abs=1e-6)

    for module, expected in ((x, x0 + 40.0), (y, -25.5), (z, 8.0)):
        value = read_back(qtbot, module)
        assert value.units == "µm" and value.value() == pytest.approx(expected, abs=1e-6), module.title


@pytest.mark.timeout(120)
def test_a_move_the_stand_in_fails_is_an_error_and_never_done(stage, qtbot, standin):
    x = stage["X"]
    start = standin.xy()
    standin.fault("fail_next_move")
    with qtbot.assertNotEmitted(x.move_done_signal, wait=500):
        x.move_abs(DataActuator(data=start[0] + 50.0, units="µm"))
        x.status_log.wait_for(qtbot, "Stage move failed", timeout_ms=10000)
    assert "Stage move failed" in x.settings["actuator_settings", "link", "last_error"]
    assert standin.xy() == pytest.approx(start, abs=1e-6)  # the stage stayed put

    # beyond the stage's travel (±300 µm for Z): ScopeOne refuses, no fault injection needed
    z = stage["Z"]
    with qtbot.assertNotEmitted(z.move_done_signal, wait=500):
        z.move_abs(DataActuator(data=1000.0, units="µm"))
        z.status_log.wait_for(qtbot, "Stage move failed", timeout_ms=10000)

    done = move_and_wait(qtbot, x, start[0] + 50.0)  # the axis still works afterwards
    assert done.value() == pytest.approx(start[0] + 50.0, abs=1e-6)
    assert standin.xy() == pytest.approx((start[0] + 50.0, start[1]), abs=1e-6)

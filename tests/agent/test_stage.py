"""The axis modules against the stand-in: moves, live positions, failures, stop, settings."""

from __future__ import annotations

import time
from typing import Callable

import pytest

from pymodaq_plugins_scopeone.agent import Agent
from pymodaq_plugins_scopeone.protocol import (
    ClientType,
    DataActuator,
    GetActuatorValue,
    MoveAbs,
    MoveDone,
    MoveHome,
    MoveRel,
    PositionIs,
    StopMotion,
)
from pymodaq_plugins_scopeone.simulator import Simulator

from .helpers import set_info, wait_info_xml, xml_value
from .scripted_server import Peer, ScriptedServer


def axis(server: ScriptedServer, name: str) -> Peer:
    peer = server.wait_peer("axis", name)
    peer.wait_info(lambda i: i.name == "ScopeOne" and i.value == "ready")
    return peer


def position(message: object) -> float:
    pos = message.position  # type: ignore[attr-defined]
    assert isinstance(pos, DataActuator) and pos.units == "µm"
    return pos.value


@pytest.fixture
def axes(sim: Simulator, server: ScriptedServer, make_agent: Callable[..., Agent]) -> ScriptedServer:
    make_agent(cameras=(), axes=("X", "Y", "Z"), home_um=(("Z", 5.0),), move_timeout_s=3.0)
    return server


def test_identity_and_units(axes: ScriptedServer) -> None:
    for name in ("X", "Y", "Z"):
        peer = axis(axes, name)
        assert peer.hello is not None and peer.hello.client_type is ClientType.ACTUATOR
        assert peer.identity["kind"] == "axis" and peer.identity["axis"] == name
        assert xml_value(peer.settings_xml, "units") == "µm"
        assert ">&#181;m</units>" in peer.settings_xml  # ASCII, as PyMoDAQ's ET.tostring writes it


@pytest.mark.parametrize(("name", "target"), [("X", 120.0), ("Y", -80.0), ("Z", 12.5)])
def test_move_abs_reports_the_read_back_position(
    sim: Simulator, axes: ScriptedServer, name: str, target: float
) -> None:
    peer = axis(axes, name)
    peer.send(MoveAbs(DataActuator.of(target, "µm", name)))
    done = peer.expect(MoveDone, 5.0)
    assert position(done) == pytest.approx(target)
    assert done.position.name == name  # type: ignore[union-attr]
    live = {"X": lambda: sim.xy_position()[0], "Y": lambda: sim.xy_position()[1], "Z": sim.z_position}[name]()
    assert live == pytest.approx(target)


def test_x_and_y_moves_do_not_undo_each_other(sim: Simulator, axes: ScriptedServer) -> None:
    x, y = axis(axes, "X"), axis(axes, "Y")
    x.send(MoveAbs(DataActuator.of(300.0, "µm", "X")))
    y.send(MoveAbs(DataActuator.of(-200.0, "µm", "Y")))
    assert position(x.expect(MoveDone, 5.0)) == pytest.approx(300.0)
    assert position(y.expect(MoveDone, 5.0)) == pytest.approx(-200.0)
    assert sim.xy_position() == pytest.approx((300.0, -200.0))


def test_positions_during_a_move_are_live(sim: Simulator, axes: ScriptedServer) -> None:
    x = axis(axes, "X")
    x.send(MoveAbs(DataActuator.of(600.0, "µm", "X")))  # 0.6 s at 1000 µm/s
    seen = []
    for _ in range(5):
        time.sleep(0.05)
        x.send(GetActuatorValue())
        seen.append(position(x.expect(PositionIs, 2.0)))
    assert all(0.0 < v < 600.0 for v in seen), seen
    assert seen == sorted(seen) and seen[-1] - seen[0] > 100
    assert position(x.expect(MoveDone, 5.0)) == pytest.approx(600.0)


def test_move_rel_chains_from_the_move_in_flight(sim: Simulator, axes: ScriptedServer) -> None:
    z = axis(axes, "Z")
    z.send(MoveRel(DataActuator.of(10.0, "µm", "Z")))
    z.send(MoveRel(DataActuator.of(5.0, "µm", "Z")))  # sent before the first is done
    first, second = position(z.expect(MoveDone, 5.0)), position(z.expect(MoveDone, 5.0))
    assert second == pytest.approx(15.0)
    assert 10.0 - 1e-6 <= first <= 15.0  # read back when the first ended: the second may have begun
    assert sim.z_position() == pytest.approx(15.0)


def test_units_are_converted(sim: Simulator, axes: ScriptedServer) -> None:
    x = axis(axes, "X")
    x.send(MoveAbs(DataActuator.of(0.05, "mm", "X")))
    assert position(x.expect(MoveDone, 5.0)) == pytest.approx(50.0)
    x.send(MoveAbs(DataActuator.of(1.0, "s", "X")))
    info = x.wait_info(lambda i: i.name == "move error")
    assert "units 's' are not a length" in info.value


def test_move_home_goes_to_the_configured_home(sim: Simulator, axes: ScriptedServer) -> None:
    z = axis(axes, "Z")
    z.send(MoveHome())
    assert position(z.expect(MoveDone, 5.0)) == pytest.approx(5.0)
    set_info(z, ("home_um",), "float", -7.0)
    wait_info_xml(z, ("move_settings", "home_um"), lambda t: t == "-7.0")
    z.send(MoveHome())
    assert position(z.expect(MoveDone, 5.0)) == pytest.approx(-7.0)


def test_failed_move_gives_scopeones_text_and_no_move_done(sim: Simulator, axes: ScriptedServer) -> None:
    y = axis(axes, "Y")
    sim.faults.fail_next_move()
    y.send(MoveAbs(DataActuator.of(50.0, "µm", "Y")))
    info = y.wait_info(lambda i: i.name == "move error")
    assert "Stage move failed" in info.value and "50 µm" in info.value
    y.send(MoveAbs(DataActuator.of(1e9, "µm", "Y")))  # beyond the travel
    y.wait_info(lambda i: i.name == "move error" and "1e+09" in i.value)
    y.send(GetActuatorValue())
    assert position(y.expect(PositionIs, 2.0)) == pytest.approx(0.0)  # no move_done came before it


def test_hung_move_times_out_without_move_done(sim: Simulator, axes: ScriptedServer) -> None:
    z = axis(axes, "Z")
    set_info(z, ("move_timeout_s",), "float", 0.3)
    wait_info_xml(z, ("move_settings", "move_timeout_s"), lambda t: t == "0.3")
    sim.faults.hang_next_move()
    z.send(MoveAbs(DataActuator.of(20.0, "µm", "Z")))
    info = z.wait_info(lambda i: i.name == "move error", timeout_s=3.0)
    assert "did not answer 'move_z_to' within 0.3 s" in info.value
    z.send(GetActuatorValue())
    assert isinstance(z.expect(PositionIs, 2.0), PositionIs)
    sim.release_hung_moves()


def test_stop_motion_reports_live_position_then_move_done(sim: Simulator, axes: ScriptedServer) -> None:
    x = axis(axes, "X")
    x.send(MoveAbs(DataActuator.of(400.0, "µm", "X")))
    time.sleep(0.1)
    x.send(StopMotion())
    info = x.wait_info(lambda i: i.name == "stop_motion")
    assert "cannot stop" in info.value and "1 move(s)" in info.value
    assert 0.0 < position(x.expect(PositionIs, 2.0)) < 400.0
    assert position(x.expect(MoveDone, 5.0)) == pytest.approx(400.0)


def test_legacy_float_positions_are_answered_as_floats(sim: Simulator, axes: ScriptedServer) -> None:
    z = axis(axes, "Z")
    z.send(MoveAbs(3.5))
    done = z.expect(MoveDone, 5.0)
    assert isinstance(done.position, float) and done.position == pytest.approx(3.5)
    z.send(GetActuatorValue(legacy_name=True))
    assert z.expect(PositionIs, 2.0).position == pytest.approx(3.5)


def test_non_finite_or_read_only_values_are_refused(sim: Simulator, axes: ScriptedServer) -> None:
    z = axis(axes, "Z")
    z.send(MoveAbs(DataActuator.of(float("nan"), "µm", "Z")))
    assert "expected a finite position" in z.wait_info(lambda i: i.name == "move error").value
    set_info(z, ("units",), "str", "mm")
    wait_info_xml(z, ("move_settings", "units"), lambda t: t == "µm")
    set_info(z, ("move_timeout_s",), "float", -1.0)
    wait_info_xml(z, ("move_settings", "move_timeout_s"), lambda t: t == "3.0")


def test_a_position_that_is_not_one_number_is_refused_naming_the_field() -> None:
    """An empty array used to escape as an IndexError (found by the issue 7 fuzzing)."""
    import numpy as np

    from pymodaq_plugins_scopeone.agent._errors import AgentError
    from pymodaq_plugins_scopeone.agent._stage import position_um
    from pymodaq_plugins_scopeone.protocol import DataActuator

    empty = DataActuator(name="X", data=(np.zeros(0),), units="µm")
    with pytest.raises(AgentError, match=r"move_abs\.position: expected one number"):
        position_um(empty, "move_abs.position")

"""StageController without Qt: axes routed by identity, move completion, failures, positions."""

from __future__ import annotations

import queue
import time
from typing import Any, Iterator, Tuple

import pytest

from pymodaq_plugins_scopeone.hardware.agent_server import AgentServer, NotConnected
from pymodaq_plugins_scopeone.hardware.stage_controller import PositionError, StageController, position_um
from pymodaq_plugins_scopeone.protocol import DataActuator, MoveAbs, MoveDone, MoveRel, PositionIs

from .fake_agent import FakeAxis

WAIT_S = 5.0


class Recorder:
    def __init__(self) -> None:
        self.events: queue.Queue[Tuple[str, Any]] = queue.Queue()

    def position_changed(self, position_um: float) -> None:
        self.events.put(("position", position_um))

    def move_done(self, position_um: float) -> None:
        self.events.put(("done", position_um))

    def move_failed(self, message: str) -> None:
        self.events.put(("failed", message))

    def status_changed(self, status: Any, message: str) -> None:
        self.events.put(("status", (status, message)))

    def next(self, *kinds: str, timeout_s: float = WAIT_S) -> Tuple[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                got, value = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {kinds} event within {timeout_s} s") from None
            if got in kinds:
                return got, value


@pytest.fixture
def stage() -> Iterator[Tuple[StageController, AgentServer]]:
    server = AgentServer(0, "127.0.0.1", infos_wait_s=0.3)
    controller = StageController(0, "127.0.0.1", server_factory=lambda p, b: server)
    yield controller, server
    server.close()


def attach(controller, axis):
    recorder = Recorder()
    return controller.attach(axis, recorder), recorder


def test_positions_are_read_in_micrometres_from_any_length_unit():
    assert position_um(DataActuator.of(1.5, "mm")) == 1500.0
    assert position_um(DataActuator.of(250.0, "nm")) == 0.25
    assert position_um(12.0) == 12.0  # a 2.x–4.0 peer
    with pytest.raises(PositionError, match="expected a length"):
        position_um(DataActuator.of(1.0, "s"))


def test_each_axis_reaches_its_own_agent_and_completes_on_its_move_done(stage):
    controller, server = stage
    (x, rx), (y, ry), (_z, rz) = (attach(controller, axis) for axis in "XYZ")
    agents = {axis: FakeAxis(server.port, axis, position_um=10.0 * n) for n, axis in enumerate("XYZ")}
    for recorder in (rx, ry, rz):
        assert recorder.next("status")[1][0].connected
    assert rz.next("position") == ("position", 20.0)
    y.move_abs(-12.5)
    assert ry.next("done") == ("done", -12.5)
    assert agents["Y"].moves == [("move_abs", -12.5)] and agents["X"].moves == [] == agents["Z"].moves
    x.move_rel(3.0)
    assert rx.next("done") == ("done", 3.0)
    assert isinstance(agents["X"].next_received(MoveRel), MoveRel)
    assert x.read_position(1.0) == 3.0 and y.position == -12.5
    for agent in agents.values():
        agent.close()


def test_a_failed_move_is_reported_and_never_done(stage):
    controller, server = stage
    x, rx = attach(controller, "X")
    agent = FakeAxis(server.port, "X")
    rx.next("status")
    agent.fail_next.set()
    x.move_abs(50.0)
    kind, message = rx.next("done", "failed")
    assert kind == "failed" and "Stage move failed" in message
    assert "Stage move failed" in x.status.last_error and x.pending_moves == 0
    x.move_abs(5.0)  # the bookkeeping is intact: the next move completes
    assert rx.next("done", "failed") == ("done", 5.0)
    agent.close()


def test_an_earlier_moves_done_does_not_complete_the_latest_move(stage):
    controller, server = stage
    x, rx = attach(controller, "X")
    agent = FakeAxis(server.port, "X", move_s=0.3)
    rx.next("status")
    x.move_abs(1.0)
    x.move_abs(2.0)
    assert rx.next("done") == ("done", 2.0)
    assert agent.moves == [("move_abs", 1.0), ("move_abs", 2.0)]
    agent.close()


def test_without_agent_moves_raise_and_reading_gives_the_last_known_value(stage):
    controller, server = stage
    x, _rx = attach(controller, "X")
    with pytest.raises(NotConnected, match=f"waiting for agent on port {server.port}"):
        x.move_abs(1.0)
    assert x.read_position(0.2) is None
    with pytest.raises(ValueError, match="already used"):
        controller.attach("X", Recorder())


def test_losing_the_agent_during_a_move_fails_it(stage):
    controller, server = stage
    x, rx = attach(controller, "X")
    agent = FakeAxis(server.port, "X", move_s=5.0)
    rx.next("status")
    x.move_abs(100.0)
    agent.next_received(MoveAbs)
    agent.close(quit_first=False)
    _kind, message = rx.next("failed")
    assert "left during the move" in message and not x.status.connected


def test_positions_pushed_by_the_agent_reach_the_module(stage):
    controller, server = stage
    _x, rx = attach(controller, "X")
    agent = FakeAxis(server.port, "X")
    rx.next("status")
    rx.next("position")
    agent.send(PositionIs(DataActuator.of(7.25, "µm", "X")))
    assert rx.next("position") == ("position", 7.25)
    agent.send(MoveDone(DataActuator.of(8.0, "µm", "X")))  # no move pending: only a position
    assert rx.next("position", "done") == ("position", 8.0)
    agent.close()


def test_the_last_module_to_leave_releases_the_port():
    controller = StageController(0, "127.0.0.1")
    x, _ = attach(controller, "X")
    y, _ = attach(controller, "Y")
    port = controller.port
    controller.detach(x)
    assert not controller._server.closing
    controller.detach(y)
    assert controller._server.closing
    import socket

    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again

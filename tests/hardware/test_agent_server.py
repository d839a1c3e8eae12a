"""The shared plugin-side port: routing agents to modules, parking, reconnects, failures."""

from __future__ import annotations

import queue
import socket
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest

from pymodaq_plugins_scopeone.hardware.agent_server import (
    AgentLink,
    AgentServer,
    NotConnected,
    ServerError,
    identity_from_infos,
    release_server,
    shared_server,
)
from pymodaq_plugins_scopeone.protocol import ClientType, Hello, Info, Infos, MoveDone, Quit, SendData, Sender
from pymodaq_plugins_scopeone.transport import ConnectionLost, MessageStream, connect

WAIT_S = 5.0


class Recorder:
    """A module's listener that records what it hears, for the test to wait on."""

    def __init__(self, fail_on_message: bool = False) -> None:
        self.events: queue.Queue[Tuple[str, Any]] = queue.Queue()
        self.fail_on_message = fail_on_message

    def link_connected(self, link: AgentLink) -> None:
        self.events.put(("connected", link.handshake))

    def link_message(self, link: AgentLink, message: Any) -> None:
        self.events.put(("message", message))
        if self.fail_on_message:
            raise RuntimeError("a buggy module")

    def link_lost(self, link: AgentLink, reason: str) -> None:
        self.events.put(("lost", reason))

    def next(self, kind: str) -> Any:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                got, value = self.events.get(timeout=0.1)
            except queue.Empty:
                continue
            if got == kind:
                return value
        raise AssertionError(f"no {kind!r} event within {WAIT_S} s")

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def infos_xml(identity: str, kind: str = "camera") -> str:
    """Settings XML as the agent writes it: a read-only ``identity`` group first (decision 0003)."""
    return (
        '<detector_settings type="group" title="Settings">'
        '<identity type="group" title="Identity" visible="1" removable="0" readonly="1">'
        f'<kind type="str" title="Kind" visible="1" removable="0" readonly="1">{kind}</kind>'
        f'<{kind} type="str" title="{kind.capitalize()}" visible="1" removable="0" readonly="1">{identity}</{kind}>'
        "</identity>"
        '<exposure_ms type="float" title="Exposure (ms)" visible="1" removable="0" readonly="0">10.0</exposure_ms>'
        "</detector_settings>"
    )


class FakeAgent:
    """A scripted client on the codec and transport, as an agent would connect."""

    def __init__(self, port: int, kind: ClientType, identity: Optional[str]) -> None:
        self.stream = MessageStream(connect("127.0.0.1", port), Sender.SERVER)
        self.stream.send(Hello(kind))
        if identity is not None:
            self.stream.send(Infos(infos_xml(identity)))

    def receive(self) -> Any:
        return self.stream.receive(WAIT_S)

    def close(self) -> None:
        self.stream.close()


@pytest.fixture
def server() -> Iterator[AgentServer]:
    server = AgentServer(0, "127.0.0.1", infos_wait_s=0.3)
    yield server
    server.close()


def test_an_agent_reaches_the_module_that_wants_its_identity(server):
    x, y = Recorder(), Recorder()
    link_x = server.attach(ClientType.ACTUATOR, "X", x)
    link_y = server.attach(ClientType.ACTUATOR, "Y", y)
    agent_y = FakeAgent(server.port, ClientType.ACTUATOR, "Y")
    agent_x = FakeAgent(server.port, ClientType.ACTUATOR, "X")
    assert y.next("connected").identity == "Y" and x.next("connected").identity == "X"
    agent_y.stream.send(MoveDone(12.5))
    assert y.next("message") == MoveDone(12.5)
    link_x.send(SendData("2D"))
    assert agent_x.receive() == SendData("2D")
    assert link_y.handshake.infos_xml == infos_xml("Y")
    agent_x.close()
    agent_y.close()


def test_an_agent_that_comes_first_is_parked_then_routed_with_what_it_said(server):
    agent = FakeAgent(server.port, ClientType.GRABBER, "Camera")
    agent.stream.send(Info("ScopeOne", "configuration not loaded"))
    wait_until(lambda: [(h is not None, routed) for _, h, routed in server.connections()] == [(True, False)])
    camera = Recorder()
    server.attach(ClientType.GRABBER, "Camera", camera)
    assert camera.next("connected").identity == "Camera"
    assert camera.next("message") == Info("ScopeOne", "configuration not loaded")
    agent.close()


def test_a_stock_client_goes_to_the_single_waiting_module_of_its_type(server):
    camera, stage = Recorder(), Recorder()
    server.attach(ClientType.GRABBER, "Camera", camera)
    server.attach(ClientType.ACTUATOR, "X", stage)
    stock = FakeAgent(server.port, ClientType.ACTUATOR, identity=None)
    handshake = stage.next("connected")
    assert handshake.identity is None and handshake.infos_xml is None
    assert camera.nothing_for(0.3)
    stock.close()


def test_a_stock_client_is_parked_when_two_modules_of_its_type_wait(server):
    server.attach(ClientType.ACTUATOR, "X", Recorder())
    server.attach(ClientType.ACTUATOR, "Y", Recorder())
    stock = FakeAgent(server.port, ClientType.ACTUATOR, identity=None)
    wait_until(lambda: [(h is not None, routed) for _, h, routed in server.connections()] == [(True, False)])
    stock.close()


def test_a_returning_agent_replaces_its_stale_connection(server):
    module = Recorder()
    link = server.attach(ClientType.GRABBER, "Camera", module)
    first = FakeAgent(server.port, ClientType.GRABBER, "Camera")
    module.next("connected")
    second = FakeAgent(server.port, ClientType.GRABBER, "Camera")
    module.next("connected")
    link.send(SendData("2D"))
    assert second.receive() == SendData("2D")
    with pytest.raises(ConnectionLost):  # the server closed the stale connection
        first.receive()
    first.close()
    second.close()


def test_losing_the_agent_is_reported_and_sending_then_says_what_to_do(server):
    module = Recorder()
    link = server.attach(ClientType.GRABBER, "Camera", module)
    agent = FakeAgent(server.port, ClientType.GRABBER, "Camera")
    module.next("connected")
    agent.close()
    assert "closed the connection" in module.next("lost")
    with pytest.raises(NotConnected, match=f"no GRABBER agent connected on port {server.port} for 'Camera'"):
        link.send(SendData("2D"))


def test_quit_ends_the_connection_with_its_reason(server):
    module = Recorder()
    server.attach(ClientType.ACTUATOR, "Z", module)
    agent = FakeAgent(server.port, ClientType.ACTUATOR, "Z")
    module.next("connected")
    agent.stream.send(Quit())
    assert module.next("lost") == "the agent quit"
    agent.close()


def test_garbage_on_one_connection_leaves_the_others_served(server):
    module = Recorder()
    link = server.attach(ClientType.GRABBER, "Camera", module)
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as rogue:
        rogue.sendall(b"\x00\x00\x00\x04HACK")
        assert rogue.recv(10) == b""  # dropped by the server
    agent = FakeAgent(server.port, ClientType.GRABBER, "Camera")
    module.next("connected")
    link.send(SendData("2D"))
    assert agent.receive() == SendData("2D")
    agent.close()


def test_a_buggy_module_callback_does_not_kill_its_connection(server):
    module = Recorder(fail_on_message=True)
    server.attach(ClientType.ACTUATOR, "X", module)
    agent = FakeAgent(server.port, ClientType.ACTUATOR, "X")
    module.next("connected")
    agent.stream.send(MoveDone(1.0))
    agent.stream.send(MoveDone(2.0))
    assert module.next("message") == MoveDone(1.0)
    assert module.next("message") == MoveDone(2.0)
    agent.close()


def test_a_port_in_use_is_refused_with_advice(server):
    with pytest.raises(ServerError, match=f"cannot listen on 127.0.0.1:{server.port}.*Choose another port"):
        AgentServer(server.port, "127.0.0.1")


def test_modules_share_one_port_which_the_last_user_frees():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    first, second = shared_server(port, "127.0.0.1"), shared_server(port, "127.0.0.1")
    assert first is second
    release_server(first)
    assert not first.closing
    release_server(second)
    assert first.closing
    again = shared_server(port, "127.0.0.1")  # the port is free again
    assert again is not first
    release_server(again)


def test_closing_joins_every_thread(server):
    agents: List[FakeAgent] = [FakeAgent(server.port, ClientType.GRABBER, f"C{n}") for n in range(3)]
    wait_until(lambda: len(server.connections()) == 3)
    server.close()
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith(f"scopeone-accept-{server.port}")]
    assert leftovers == []
    assert all(not t.is_alive() for t in server._threads)
    for agent in agents:
        agent.close()


def test_identity_comes_from_the_infos_xml_and_entities_are_never_expanded():
    assert identity_from_infos(infos_xml("Camera")) == "Camera"
    assert identity_from_infos(infos_xml("Z", kind="axis")) == "Z"
    assert identity_from_infos('<s><identity type="str">Camera</identity></s>') == "Camera"
    assert identity_from_infos("<settings><other>1</other></settings>") is None
    bomb = '<!DOCTYPE s [<!ENTITY a "x">]><settings><identity>&a;</identity></settings>'
    assert identity_from_infos(bomb) is None
    assert identity_from_infos("not xml") is None

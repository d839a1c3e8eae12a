"""Access control on the shared port: allow-list, per-address cap, shared-secret challenge."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest

from pymodaq_plugins_scopeone.hardware.access import AccessPolicy, parse_networks
from pymodaq_plugins_scopeone.hardware.agent_server import AgentServer, ServerError, release_server, shared_server
from pymodaq_plugins_scopeone.protocol import (
    AuthChallenge,
    AuthResponse,
    ClientType,
    Hello,
    Infos,
    SendData,
    Sender,
    auth_digest,
)
from pymodaq_plugins_scopeone.transport import ConnectionLost, MessageStream, connect
from tests.hardware.test_agent_server import WAIT_S, Recorder, infos_xml, wait_until

SECRET = b"lab-secret-0123"


def open_server(policy: AccessPolicy) -> AgentServer:
    return AgentServer(0, "127.0.0.1", infos_wait_s=0.3, handshake_timeout_s=1.0, policy=policy)


@pytest.fixture
def secured() -> Iterator[AgentServer]:
    server = open_server(AccessPolicy(secret=SECRET))
    yield server
    server.close()


def hello(port: int, kind: ClientType = ClientType.GRABBER) -> MessageStream:
    stream = MessageStream(connect("127.0.0.1", port), Sender.SERVER)
    stream.send(Hello(kind))
    return stream


def authenticated_agent(port: int, secret: bytes, identity: str = "Camera") -> MessageStream:
    stream = hello(port)
    challenge = stream.receive(WAIT_S)
    assert isinstance(challenge, AuthChallenge)
    stream.send(AuthResponse(auth_digest(secret, challenge.nonce, ClientType.GRABBER)))
    stream.send(Infos(infos_xml(identity)))
    return stream


def dropped(stream: MessageStream) -> bool:
    """True when the server closes the connection (after at most its challenge), sending no command."""
    try:
        for _ in range(2):
            message = stream.receive(WAIT_S)
            if message is None or not isinstance(message, AuthChallenge):
                return False
    except ConnectionLost:
        return True
    finally:
        stream.close()
    return False


def test_the_right_secret_gets_through_and_commands_flow(secured):
    module = Recorder()
    link = secured.attach(ClientType.GRABBER, "Camera", module)
    agent = authenticated_agent(secured.port, SECRET)
    assert module.next("connected").identity == "Camera"
    link.send(SendData("2D"))
    assert agent.receive(WAIT_S) == SendData("2D")
    agent.close()


def test_a_wrong_secret_is_dropped_before_any_command(secured):
    module = Recorder()
    secured.attach(ClientType.GRABBER, "Camera", module)
    assert dropped(authenticated_agent(secured.port, b"not-the-secret"))
    assert module.nothing_for(0.3)


def test_a_replayed_answer_is_worthless(secured):
    first = hello(secured.port)
    challenge = first.receive(WAIT_S)
    answer = AuthResponse(auth_digest(SECRET, challenge.nonce, ClientType.GRABBER))
    first.close()
    second = hello(secured.port)
    assert isinstance(second.receive(WAIT_S), AuthChallenge)  # a new nonce
    second.send(answer)
    assert dropped(second)


def test_a_stock_client_that_ignores_the_challenge_is_dropped(secured):
    module = Recorder()
    secured.attach(ClientType.GRABBER, "", module)
    stock = hello(secured.port)
    stock.send(Infos(infos_xml("Camera")))  # what PyMoDAQ 4.4 sends next
    assert dropped(stock)
    assert module.nothing_for(0.3)


def test_a_peer_outside_the_allow_list_is_closed_before_it_can_say_anything():
    server = open_server(AccessPolicy(allowed_networks=parse_networks("10.20.30.0/24")))
    try:
        module = Recorder()
        server.attach(ClientType.GRABBER, "", module)
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as peer:
            assert peer.recv(1) == b""
        assert module.nothing_for(0.3) and server.connections() == []
    finally:
        server.close()


def test_a_peer_inside_the_allow_list_is_served():
    server = open_server(AccessPolicy(allowed_networks=parse_networks("10.20.30.0/24, 127.0.0.0/8")))
    try:
        module = Recorder()
        server.attach(ClientType.GRABBER, "", module)
        agent = hello(server.port)
        agent.send(Infos(infos_xml("Camera")))
        assert module.next("connected").identity == "Camera"
        agent.close()
    finally:
        server.close()


def test_connections_per_address_are_capped():
    server = open_server(AccessPolicy(max_connections_per_address=2))
    try:
        kept = [hello(server.port) for _ in range(2)]
        wait_until(lambda: len(server.connections()) == 2)
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S) as third:
            assert third.recv(1) == b""
        assert len(server.connections()) == 2
        for stream in kept:
            stream.close()
    finally:
        server.close()


def test_bad_settings_are_refused_naming_the_entry():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300' is not an IP address or CIDR network"):
        parse_networks("127.0.0.1, 10.0.0.300")
    with pytest.raises(ValueError, match="at least 8 bytes"):
        AccessPolicy(secret=b"short")


def test_one_port_cannot_be_shared_with_two_policies():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    server = shared_server(port, "127.0.0.1")
    try:
        with pytest.raises(ServerError, match="other access settings"):
            shared_server(port, "127.0.0.1", AccessPolicy(secret=SECRET))
    finally:
        release_server(server)


def test_ipv4_mapped_addresses_match_ipv4_networks():
    policy = AccessPolicy(allowed_networks=parse_networks("192.168.1.0/24"))
    assert policy.address_allowed("::ffff:192.168.1.7")
    assert not policy.address_allowed("::ffff:192.168.2.7")
    assert not policy.address_allowed("not-an-address")

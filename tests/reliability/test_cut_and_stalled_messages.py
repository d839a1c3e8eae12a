"""Issue 7 item 3: a peer that closes in the middle of a message, or stalls there, in both directions.

* Towards the plugin side (:class:`AgentServer`): fake agents announce themselves, send part
  of an agent message cut at a random offset and close, or stop sending in the middle of
  one. The module must hear ``link_lost`` with a clear reason within 1 s of the close, or
  within 1 s of the last byte when the server's stall timeout (0.5 s here) applies; a canary
  agent of another module on the same port keeps being served all along.
* Towards the agent: a PyMoDAQ side that cuts or stalls commands it sends. The agent's module
  must notice within the same bounds, say why, reconnect by itself, and its other modules
  (the X axis here) keep answering throughout.
"""

from __future__ import annotations

import random
import socket
import time
from typing import List, Tuple

import numpy as np
import pytest

from pymodaq_plugins_scopeone.hardware.agent_server import AgentServer
from pymodaq_plugins_scopeone.protocol import (
    Axis,
    ClientType,
    DataActuator,
    DataReady,
    DataToExport,
    DataWithAxes,
    GetActuatorValue,
    Hello,
    Info,
    Infos,
    InfoXml,
    Message,
    MoveAbs,
    MoveDone,
    MoveRel,
    PositionIs,
    SendData,
    SetInfo,
    StopMotion,
    encode_message,
    join_chunks,
)
from pymodaq_plugins_scopeone.transport import TransportTimeout
from tests.hardware.test_agent_server import FakeAgent, Recorder, infos_xml

from .agent_side import MODULES, STALL_TIMEOUT_S
from .conftest import sized, summary

CUTS = sized(200, 2000)
STALLS = sized(4, 20)
DETECT_BOUND_S = 1.0  # issue 7 item 3: within 1 s (of the close, or of the stall timeout 0.5 s)
SERVER_STALL_S = 0.5
CLEAN_REASONS = ("closed in the middle of a message", "Broken pipe", "Connection reset")


def frame_message(rng: random.Random) -> DataReady:
    height, width = rng.choice([(8, 8), (64, 48), (128, 128)])
    image = np.arange(height * width, dtype=np.uint16).reshape(height, width)
    dwa = DataWithAxes(
        name="Victim",
        data=(image,),
        class_name="DataFromPlugins",
        dim="Data2D",
        labels=("Victim",),
        axes=(Axis("y", "pixels", np.arange(height, dtype=np.float64), index=0),),
        extra_attributes={"frame_index": 7, "camera": "Victim"},
    )
    return DataReady(DataToExport("Victim", (dwa,)))


def agent_messages(rng: random.Random) -> List[Message]:
    """What an agent sends, of every kind, in random order."""
    messages: List[Message] = [
        frame_message(rng),
        Info("ScopeOne", "ready"),
        InfoXml(("detector_settings", "exposure_ms"), '<exposure_ms type="float">10.0</exposure_ms>'),
        MoveDone(DataActuator.of(12.5, "µm", "X")),
        PositionIs(DataActuator.of(-3.0, "µm", "X")),
        Infos(infos_xml("Victim")),
    ]
    rng.shuffle(messages)
    return messages


def encoded(message: Message) -> bytes:
    return join_chunks(encode_message(message))


def cut_stream(rng: random.Random, messages: List[Message]) -> Tuple[bytes, int]:
    """0–2 whole messages then part of the next, cut strictly inside it; (bytes, length of the cut one)."""
    whole = rng.randint(0, 2)
    head = b"".join(encoded(m) for m in messages[:whole])
    victim = encoded(messages[whole])
    cut = rng.randint(1, len(victim) - 1)
    return head + victim[:cut], len(victim)


def raw_agent(port: int, identity: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(encoded(Hello(ClientType.GRABBER)) + encoded(Infos(infos_xml(identity))))
    return sock


class Canary:
    """Another module on the same port, with its agent: must be served throughout."""

    def __init__(self, server: AgentServer) -> None:
        self.module = Recorder()
        self.link = server.attach(ClientType.GRABBER, "Canary", self.module)
        self.agent = FakeAgent(server.port, ClientType.GRABBER, "Canary")
        self.module.next("connected")
        self.rounds = 0

    def check(self) -> None:
        self.link.send(SendData("2D"))
        assert self.agent.receive() == SendData("2D")
        self.agent.stream.send(Info("canary", str(self.rounds)))
        assert self.module.next("message") == Info("canary", str(self.rounds))
        self.rounds += 1


@pytest.fixture
def plugin_server():
    server = AgentServer(0, "127.0.0.1", handshake_timeout_s=2.0, infos_wait_s=0.2, stall_timeout_s=SERVER_STALL_S)
    try:
        yield server
    finally:
        server.close()
    assert server.connections() == []


@pytest.mark.timeout(120 + CUTS // 10)
def test_agents_closing_mid_message_are_dropped_within_1_s_and_others_are_served(plugin_server, figures):
    rng = random.Random(7)
    canary = Canary(plugin_server)
    victim = Recorder()
    plugin_server.attach(ClientType.GRABBER, "Victim", victim)
    detections: List[float] = []
    for case in range(CUTS):
        sock = raw_agent(plugin_server.port, "Victim")
        victim.next("connected")
        data, _ = cut_stream(rng, agent_messages(rng))
        sock.sendall(data)
        closed_at = time.monotonic()
        sock.close()
        reason = victim.next("lost")
        detections.append(time.monotonic() - closed_at)
        assert "closed in the middle of a message" in reason, f"case {case}: {reason!r}"
        if case % 20 == 0:
            canary.check()
    canary.check()
    left = plugin_server.connections()
    assert len(left) == 1 and left[0][1].identity == "Canary", f"connections left: {left}"
    canary.agent.close()
    figures(cuts=CUTS, detection_ms=summary(detections), canary_rounds=canary.rounds)
    late = [round(t, 3) for t in detections if t > DETECT_BOUND_S]
    assert not late, f"cuts noticed later than {DETECT_BOUND_S} s: {late}"


@pytest.mark.timeout(120)
def test_agents_stalling_mid_message_or_mid_handshake_are_dropped_after_the_stall_timeout(plugin_server, figures):
    rng = random.Random(8)
    canary = Canary(plugin_server)
    victim = Recorder()
    plugin_server.attach(ClientType.GRABBER, "Victim", victim)
    detections: List[float] = []
    for case in range(STALLS):
        sock = raw_agent(plugin_server.port, "Victim")
        victim.next("connected")
        data, _ = cut_stream(rng, agent_messages(rng))
        sock.sendall(data)
        stalled_at = time.monotonic()
        canary.check()  # served while the other connection hangs mid-message
        reason = victim.next("lost")
        detections.append(time.monotonic() - stalled_at)
        assert "stalled" in reason, f"case {case}: {reason!r}"
        sock.close()

    # stalled in the middle of its client type: never routed, dropped all the same
    before = len(plugin_server.connections())
    with socket.create_connection(("127.0.0.1", plugin_server.port), timeout=5) as sock:
        sock.sendall(encoded(Hello(ClientType.GRABBER))[:6])
        stalled_at = time.monotonic()
        deadline = stalled_at + 5
        while len(plugin_server.connections()) <= before and time.monotonic() < deadline:
            time.sleep(0.005)
        while len(plugin_server.connections()) > before and time.monotonic() < deadline:
            time.sleep(0.005)
        handshake_drop = time.monotonic() - stalled_at
    canary.check()
    canary.agent.close()
    figures(
        stalls=STALLS,
        stall_timeout_ms=SERVER_STALL_S * 1000,
        detection_after_last_byte_ms=summary(detections),
        handshake_stall_dropped_ms=round(handshake_drop * 1000, 1),
    )
    assert min(detections) >= SERVER_STALL_S * 0.9, "dropped before the stall timeout: not a stall detection"
    late = [round(t, 3) for t in detections if t > DETECT_BOUND_S]
    assert not late, f"stalls noticed later than {DETECT_BOUND_S} s: {late}"
    assert handshake_drop <= DETECT_BOUND_S


@pytest.mark.timeout(60)
def test_an_agent_that_stops_reading_fails_the_send_after_the_stall_timeout(plugin_server):
    canary = Canary(plugin_server)
    victim = Recorder()
    link = plugin_server.attach(ClientType.GRABBER, "Victim", victim)
    sock = raw_agent(plugin_server.port, "Victim")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    victim.next("connected")
    big = SetInfo(("detector_settings", "note"), "<note type='str'>" + "x" * (1 << 20) + "</note>")
    started = time.monotonic()
    with pytest.raises(TransportTimeout, match="stopped reading"):
        for _ in range(64):  # the socket buffers fill up, then the send waits for the stall timeout
            link.send(big)
    took = time.monotonic() - started
    victim.next("lost")
    canary.check()
    sock.close()
    canary.agent.close()
    assert took < 64 * SERVER_STALL_S  # one stall, not one per message


# -- towards the agent -----------------------------------------------------------------------------
def agent_commands(rng: random.Random, name: str) -> List[Message]:
    """What PyMoDAQ sends a module of the agent."""
    if name.startswith("camera"):
        return [
            SendData("2D"),
            SetInfo(("exposure_ms",), '<exposure_ms type="float" title="e">12.0</exposure_ms>'),
            SetInfo(("roi", "x"), '<x type="int" title="x">0</x>'),
        ]
    step = DataActuator.of(rng.uniform(-5, 5), "µm", name[-1])
    home = SetInfo(("home_um",), "<home_um>0</home_um>")
    return [MoveAbs(step), MoveRel(step), GetActuatorValue(), StopMotion(), home]


def cut_command(rng: random.Random, name: str) -> bytes:
    commands = agent_commands(rng, name)
    rng.shuffle(commands)
    victim = encoded(commands[0])
    return victim[: rng.randint(1, len(victim) - 1)]


@pytest.mark.timeout(120 + CUTS // 10)
def test_the_agent_notices_a_pymodaq_side_cutting_or_stalling_a_command_and_reconnects(running_agent, figures):
    rng = random.Random(9)
    end, gone = running_agent.end, running_agent.disconnections
    connections = end.accept_all(MODULES)
    healthy = connections.pop("axis-X")  # the module that is never cut: must be served throughout
    detections: List[float] = []
    cuts = mid_message = 0
    closed_at = {}
    while cuts < CUTS:
        for name, connection in list(connections.items()):
            connection.send_raw(cut_command(rng, name))
            closed_at[name] = (time.monotonic(), gone.count(name))
            connection.close()
            cuts += 1
        for name, (when, index) in closed_at.items():
            noticed, reason = gone.after(name, index, timeout_s=5)
            detections.append(noticed - when)
            # a module that was sending when we closed may hear it as a broken pipe first
            assert any(text in reason for text in CLEAN_REASONS), f"{name}: {reason!r}"
            mid_message += "closed in the middle of a message" in reason
        closed_at.clear()
        if cuts % 30 < len(connections):
            healthy.send(GetActuatorValue())
            assert isinstance(healthy.expect(PositionIs), PositionIs)
        connections = end.accept_all(list(connections))

    # stalls: part of a command, then silence; the agent gives up after its stall timeout
    stall_detections: List[float] = []
    for _ in range(max(1, STALLS // 2)):
        stalled = {}
        for name, connection in connections.items():
            connection.send_raw(cut_command(rng, name))
            stalled[name] = (time.monotonic(), gone.count(name))
        healthy.send(GetActuatorValue())  # served while the others hang
        assert isinstance(healthy.expect(PositionIs), PositionIs)
        for name, (when, index) in stalled.items():
            noticed, reason = gone.after(name, index, timeout_s=STALL_TIMEOUT_S + 5)
            stall_detections.append(noticed - when)
            assert "stalled" in reason, f"{name}: {reason!r}"
        connections = end.accept_all(list(connections))

    camera = connections["camera-Camera"]  # a normal snap still works
    camera.send(SendData("2D"))
    frame = camera.expect(DataReady)
    assert frame.data.data[0].data[0].shape == (64, 64)
    assert running_agent.threads_alive()
    assert gone.count("axis-X") == 0, "the healthy module was disconnected"
    figures(
        cuts=cuts,
        noticed_as_cut_mid_message=mid_message,
        detection_ms=summary(detections),
        stalls=len(stall_detections),
        stall_timeout_ms=STALL_TIMEOUT_S * 1000,
        stall_detection_after_last_byte_ms=summary(stall_detections),
    )
    late = [round(t, 3) for t in detections if t > DETECT_BOUND_S]
    assert not late, f"cuts noticed later than {DETECT_BOUND_S} s: {late}"
    assert mid_message >= cuts // 2, "the agent's decoder was hardly reached: the test lost its point"
    assert min(stall_detections) >= STALL_TIMEOUT_S * 0.9
    late = [round(t, 3) for t in stall_detections if t > DETECT_BOUND_S]
    assert not late, f"stalls noticed later than {DETECT_BOUND_S} s: {late}"

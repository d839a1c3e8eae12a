"""A running agent (in this process, on an in-process stand-in) and a raw PyMoDAQ end to abuse it.

:class:`RawPyMoDAQEnd` plays the PyMoDAQ side at the byte level: it accepts the agent's
connections, reads their handshake (type, ``Infos``), and then the test sends whatever it
likes — valid messages, cut or stalled ones, mutated streams, random bytes. The agent's
modules report their disconnections (time and reason) through a hook on their
``on_disconnected``, so a test measures how long the agent took to notice.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from pymodaq_plugins_scopeone.agent import Agent, AgentConfig
from pymodaq_plugins_scopeone.protocol import Hello, Infos, Message, Sender
from pymodaq_plugins_scopeone.simulator import Simulator, SimulatorConfig, unique_mapping_name
from pymodaq_plugins_scopeone.transport import MessageStream, TransportError, configure_socket

AXES = ("X", "Y", "Z")
AGENT_NAME = "fault-agent"


class Connection:
    """One accepted agent connection, after its handshake."""

    def __init__(self, sock: socket.socket) -> None:
        configure_socket(sock)
        self.sock = sock
        self.stream = MessageStream(sock, Sender.CLIENT)
        first = self.stream.receive(5.0)
        second = self.stream.receive(5.0)
        if not isinstance(first, Hello) or not isinstance(second, Infos):
            raise AssertionError(f"handshake: expected Hello then Infos, got {first!r}, {second!r}")
        group = ElementTree.fromstring(second.xml).find("identity")
        assert group is not None
        values = {child.tag: child.text or "" for child in group}
        self.name = f"camera-{values['camera']}" if values.get("kind") == "camera" else f"axis-{values['axis']}"
        self.agent = values.get("agent", "")

    def send_raw(self, data: bytes) -> None:
        """Bytes as they are, blocking (the socket is non-blocking under MessageStream)."""
        view = memoryview(data)
        deadline = time.monotonic() + 5.0
        while view:
            try:
                view = view[self.sock.send(view) :]
            except BlockingIOError:
                assert time.monotonic() < deadline, "the agent stopped reading"
                time.sleep(0.0005)

    def send(self, message: Message) -> None:
        self.stream.send(message)

    def receive(self, timeout_s: float) -> Optional[Message]:
        return self.stream.receive(timeout_s)

    def expect(self, kind: Any, timeout_s: float = 10.0) -> Any:
        """The next message of type ``kind`` (others are skipped)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = self.stream.receive(max(0.0, deadline - time.monotonic()))
            if isinstance(message, kind):
                return message
        raise AssertionError(f"{self.name}: no {kind} within {timeout_s} s")

    def close(self) -> None:
        self.stream.close()


class RawPyMoDAQEnd:
    """A listening socket on loopback standing for the PyMoDAQ side."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.5)
        self.port = int(self.listener.getsockname()[1])
        self.open: List[Connection] = []

    def accept(self, timeout_s: float = 10.0) -> Connection:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                assert time.monotonic() < deadline, f"no agent connection within {timeout_s} s"
                continue
            connection = Connection(sock)
            self.open.append(connection)
            return connection

    def accept_all(self, names: List[str], timeout_s: float = 10.0, agent: str = AGENT_NAME) -> Dict[str, Connection]:
        """One connection of ``agent`` for each module of ``names`` (others are closed)."""
        found: Dict[str, Connection] = {}
        while set(found) != set(names):
            connection = self.accept(timeout_s)
            if connection.agent != agent or connection.name not in names:
                connection.close()
                continue
            if connection.name in found:  # a module that reconnected: keep the newest
                found[connection.name].close()
            found[connection.name] = connection
        return found

    def close(self) -> None:
        for connection in self.open:
            with contextlib.suppress(TransportError):
                connection.close()
        self.listener.close()


@dataclass
class Disconnections:
    """(monotonic time, reason) of every disconnection, per agent module."""

    events: Dict[str, List[Tuple[float, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, agent: Agent) -> None:
        for name, module in agent.modules.items():
            original = module.on_disconnected

            def record(epoch: int, reason: str, _name: str = name, _original: Any = original) -> None:
                with self.lock:
                    self.events.setdefault(_name, []).append((time.monotonic(), reason))
                _original(epoch, reason)

            module.on_disconnected = record  # type: ignore[method-assign]

    def count(self, name: str) -> int:
        with self.lock:
            return len(self.events.get(name, []))

    def after(self, name: str, index: int, timeout_s: float) -> Tuple[float, str]:
        """The ``index``-th disconnection of ``name`` (waits up to ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                events = self.events.get(name, [])
                if len(events) > index:
                    return events[index]
            assert time.monotonic() < deadline, f"{name}: disconnection #{index} not noticed within {timeout_s} s"
            time.sleep(0.001)


@dataclass
class RunningAgent:
    agent: Agent
    sim: Simulator
    end: RawPyMoDAQEnd
    disconnections: Disconnections

    def threads_alive(self) -> bool:
        modules = self.agent.modules.values()
        links = all(module.link is not None and module.link._thread.is_alive() for module in modules)
        return links and all(module._thread.is_alive() for module in modules)


STALL_TIMEOUT_S = 0.5


@pytest.fixture
def running_agent() -> Iterator[RunningAgent]:
    """An in-process agent (camera + X, Y, Z) on an in-process stand-in (64×64 sensor, fast stages).

    Fast reconnection (``reconnect_max_s`` 0.05 s) and a 0.5 s stall timeout, so that many
    broken connections fit in a CI run.
    """
    folder = Path(tempfile.mkdtemp(prefix="s1rel-", dir="/tmp"))
    sim = Simulator(
        SimulatorConfig(
            socket_path=str(folder / "api.sock"),
            mapping_name=unique_mapping_name("s1rel"),
            load_demo=True,
            width=64,
            height=64,
            readout_ms=1.0,
            xy_speed_um_s=1e6,
            z_speed_um_s=1e6,
            config_load_ms=10.0,
            config_unload_ms=5.0,
        )
    ).start()
    end = RawPyMoDAQEnd()
    agent: Optional[Agent] = None
    try:
        agent = Agent(
            AgentConfig(
                server_host="127.0.0.1",
                server_port=end.port,
                scopeone=str(folder / "api.sock"),
                cameras=("Camera",),
                axes=AXES,
                name=AGENT_NAME,
                reconnect_max_s=0.05,
                stall_timeout_s=STALL_TIMEOUT_S,
                move_timeout_s=5.0,
                frame_timeout_s=2.0,
            )
        )
        disconnections = Disconnections()
        agent.start()
        disconnections.hook(agent)
        yield RunningAgent(agent, sim, end, disconnections)
    finally:
        if agent is not None:
            agent.stop()
        end.close()
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)


MODULES = ["camera-Camera", *(f"axis-{axis}" for axis in AXES)]

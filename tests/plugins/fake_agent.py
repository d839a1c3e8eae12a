"""Scripted agents for the plugin tests: a camera and stage axes, on the codec and transport.

Each fake connects to the plugin-side port like the real agent (type, then ``Infos`` with
an ``identity``), answers in its own thread, and records what it received, so tests can
check both what PyMoDAQ got and what went over the wire. Everything is loopback and
bounded: every wait has a timeout and ``close`` joins the thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Any, List, Optional, Tuple

import numpy as np

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
    MoveHome,
    MoveRel,
    PositionIs,
    Quit,
    SendData,
    Sender,
    SetInfo,
    StopMotion,
)
from pymodaq_plugins_scopeone.transport import ConnectionLost, MessageStream, TransportError, connect

WAIT_S = 5.0
FRAME_SHAPE = (24, 32)


def param_xml(name: str, kind: str, value: Any, title: str = "", extra: str = "") -> str:
    """One parameter element as the agent writes it (PyMoDAQ 4.4 layout)."""
    text = {"bool": lambda v: "1" if v else "0", "list": lambda v: f"int({v})"}.get(kind, str)(value)
    return (
        f'<{name} type="{kind}" title="{title or name}" visible="1" removable="0" readonly="0"{extra}>{text}</{name}>'
    )


def settings_xml(root: str, identity: str, children: List[str], kind: str = "camera") -> str:
    """A settings tree led by the ``identity`` group of docs/decisions/0003."""
    fields = [param_xml("kind", "str", kind), param_xml(kind, "str", identity), param_xml("agent", "str", "fake")]
    ident = (
        f'<identity type="group" title="Identity" visible="1" removable="0" readonly="1">{"".join(fields)}</identity>'
    )
    body = "".join([ident, *children])
    return f'<{root} type="group" title="{root}" visible="1" removable="0" readonly="0">{body}</{root}>'


class FakeAgent:
    """A connection to the plugin-side server, served by a thread (subclasses answer)."""

    kind = ClientType.GRABBER

    def __init__(self, port: int, identity: Optional[str]) -> None:
        self.identity = identity
        self.received: queue.Queue[Message] = queue.Queue()
        self.stream = MessageStream(connect("127.0.0.1", port), Sender.SERVER)
        self.stream.send(Hello(self.kind))
        if identity is not None:
            self.stream.send(Infos(self.settings_xml()))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fake-{self.kind.value}-{identity}", daemon=True)
        self._thread.start()

    def settings_xml(self) -> str:
        return settings_xml("settings", self.identity or "", [])

    def send(self, message: Message) -> None:
        self.stream.send(message)

    def next_received(self, kind: type, timeout_s: float = WAIT_S) -> Any:
        """The next received message of type ``kind`` (others are skipped)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                message = self.received.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if isinstance(message, kind):
                return message
        raise AssertionError(f"the fake agent received no {kind.__name__} within {timeout_s} s")

    def close(self, quit_first: bool = True) -> None:
        """Leave (politely with ``Quit``, or abruptly like a killed process)."""
        self._stop.set()
        if quit_first:
            with contextlib.suppress(TransportError):
                self.stream.send(Quit())
        self.stream.close()
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive(), "fake agent thread did not end"

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                message = self.stream.receive(self.wait_s())
                if message is not None:
                    self.received.put(message)
                    self.handle(message)
                self.tick()
        except (ConnectionLost, TransportError):
            pass  # the plugin side closed us (or the test did)

    def wait_s(self) -> float:
        return 0.05

    def handle(self, message: Message) -> None:
        pass

    def tick(self) -> None:
        pass


class FakeCamera(FakeAgent):
    """Answers each ``Send Data`` in order with one uint16 frame whose pixels hold its number.

    ``hold`` stops answering (requests queue up, as in a stuck agent); ``fail_next`` answers
    the next request with an ``Info('grab error', ...)`` instead of a frame.
    """

    kind = ClientType.GRABBER

    def __init__(self, port: int, identity: Optional[str] = "Camera", delay_s: float = 0.0) -> None:
        self.exposure_ms = 10.0
        self.binning = 1
        self.delay_s = delay_s
        self.hold = threading.Event()
        self.fail_next = threading.Event()
        self.frames_sent = 0
        self.requests = 0
        self._queue: List[float] = []
        super().__init__(port, identity)

    def settings_xml(self) -> str:
        return settings_xml(
            "detector_settings",
            self.identity or "",
            [
                param_xml("exposure_ms", "float", self.exposure_ms, "Exposure (ms)"),
                param_xml("binning", "list", self.binning, "Binning", ' limits="[1, 2, 4]"'),
            ],
        )

    def frame(self, number: int) -> DataReady:
        image = np.full(FRAME_SHAPE, number, dtype=np.uint16)
        height, width = FRAME_SHAPE
        axes = (
            Axis("y", "pixels", np.arange(height, dtype=float), 0),
            Axis("x", "pixels", np.arange(width, dtype=float), 1),
        )
        dwa = DataWithAxes(
            "Camera",
            (image,),
            class_name="DataFromPlugins",
            dim="Data2D",
            labels=("Camera",),
            axes=axes,
            extra_attributes={"frame_index": number, "exposure_ms": self.exposure_ms, "roi": (0, 0, width, height)},
        )
        return DataReady(DataToExport("Camera", (dwa,)))

    def handle(self, message: Message) -> None:
        if isinstance(message, SendData):
            self.requests += 1
            self._queue.append(time.monotonic() + self.delay_s)
        elif isinstance(message, SetInfo):
            self._set_info(message)

    def tick(self) -> None:
        while self._queue and not self.hold.is_set() and self._queue[0] <= time.monotonic():
            self._queue.pop(0)
            if self.fail_next.is_set():
                self.fail_next.clear()
                self.send(Info("grab error", "Camera: no fresh frame within 0.1 s; grab dropped"))
                continue
            self.frames_sent += 1
            self.send(self.frame(self.frames_sent))

    def wait_s(self) -> float:
        return 0.002 if self._queue else 0.05

    def _set_info(self, message: SetInfo) -> None:
        name = message.path[-1]
        if name == "exposure_ms":
            value = float(message.xml.split(">")[1].split("<")[0])
            self.exposure_ms = min(value, 1000.0)  # the camera clamps: what it reads back wins
            self.send(
                InfoXml(("detector_settings", "exposure_ms"), param_xml("exposure_ms", "float", self.exposure_ms))
            )
        else:
            self.send(Info("set_info error", f"Camera: {name} refused"))


class FakeAxis(FakeAgent):
    """One stage axis: moves take ``move_s``, positions interpolate meanwhile, ``move_done`` at the end.

    ``fail_next`` makes the next move end with ``Info('move error', 'X: Stage move failed')``.
    """

    kind = ClientType.ACTUATOR

    def __init__(self, port: int, axis: str, position_um: float = 0.0, move_s: float = 0.05) -> None:
        self.axis = axis
        self.position = position_um
        self.move_s = move_s
        self.home_um = 0.0
        self.fail_next = threading.Event()
        self.moves: List[Tuple[str, float]] = []
        self._move: Optional[Tuple[float, float, float, float]] = None  # start, target, t0, t1
        self._queued: List[float] = []
        super().__init__(port, axis)

    def settings_xml(self) -> str:
        return settings_xml(
            "move_settings", self.axis, [param_xml("home_um", "float", self.home_um, "Home (µm)")], kind="axis"
        )

    def current(self) -> float:
        if self._move is None:
            return self.position
        start, target, t0, t1 = self._move
        fraction = min(1.0, (time.monotonic() - t0) / max(t1 - t0, 1e-9))
        return start + (target - start) * fraction

    def handle(self, message: Message) -> None:
        if isinstance(message, (MoveAbs, MoveRel)):
            value = message.position.value if isinstance(message.position, DataActuator) else float(message.position)
            base = ([self._move[1]] if self._move else [self.position]) + self._queued
            self._start(value + base[-1] if isinstance(message, MoveRel) else value, message.command)
        elif isinstance(message, MoveHome):
            self._start(self.home_um, "move_home")
        elif isinstance(message, GetActuatorValue):
            self.send(PositionIs(DataActuator.of(self.current(), "µm", self.axis)))
        elif isinstance(message, StopMotion):
            self.send(Info("stop_motion", f"{self.axis}: the Local API cannot stop a stage"))

    def _start(self, target: float, command: str) -> None:
        """Moves run one after the other, like ScopeOne's per-stage queue; each ends with its answer."""
        self.moves.append((command, target))
        self._queued.append(target)
        if self._move is None:
            self._begin_next()

    def _begin_next(self) -> None:
        now = time.monotonic()
        target = self._queued.pop(0)
        self._move = (self.position, target, now, now + self.move_s)

    def tick(self) -> None:
        if self._move is None or time.monotonic() < self._move[3]:
            return
        target = self._move[1]
        self._move = None
        if self.fail_next.is_set():
            self.fail_next.clear()
            self.send(Info("move error", f"{self.axis}: move to {target:g} µm failed: Stage move failed"))
        else:
            self.position = target
            self.send(MoveDone(DataActuator.of(target, "µm", self.axis)))
        if self._queued:
            self._begin_next()

    def wait_s(self) -> float:
        return 0.002 if self._move is not None else 0.05


def close_all(agents: List[FakeAgent]) -> None:
    for agent in agents:
        agent.close()


__all__ = ["FRAME_SHAPE", "FakeAgent", "FakeAxis", "FakeCamera", "close_all", "param_xml", "settings_xml"]

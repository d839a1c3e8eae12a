"""The plugin side of the end-to-end measurement: AgentServer + link + PyMoDAQ conversion.

:class:`Receiver` is the link listener a viewer plugin would be, minus Qt: on each ``Done``
it converts the frame to a PyMoDAQ 5 ``DataToExport`` (``dte_to_pymodaq``, no pixel copy),
time-stamps it and, in streaming mode, sends the next ``Send Data`` at once from the reader
thread, keeping ``depth`` requests in flight as the live viewer does.

:class:`PluginCopies` counts, in this process, the pixel bytes written into received arrays
straight by ``recv_into`` (*direct*) and those copied in user space from the transport's
64 KiB header buffer (*copied*: the pixels that arrived in the same ``recv`` as the
headers), and whether the PyMoDAQ object shares memory with the received array.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ..hardware.agent_server import AgentLink
from ..hardware.cyclic_garbage import FRAME_GARBAGE
from ..hardware.pymodaq_conversion import dte_to_pymodaq
from ..protocol import DataReady, DataToExport, Info, Message, SendData

WAIT_S = 10.0


@dataclasses.dataclass(frozen=True)
class Arrival:
    """One answered request, as the plugin side saw it."""

    received_perf: float
    received_wall_ns: int
    frame_index: int
    published_wall_ns: int
    exposure_ms: float
    shares_memory: bool
    error: str = ""


class PluginCopies:
    """Counters on the decoder's two ways of filling arrays (class-level wrappers, this process only)."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self.direct_bytes = 0
        self.copied_bytes = 0
        self.conversion_copies = 0
        self.pool_reused = 0
        self.pool_allocated = 0

    def install(self) -> Callable[[], None]:
        """Wrap ``IncrementalDecoder.received_into`` and ``Reader.take_into``; returns the undo."""
        from ..protocol import ArrayPool
        from ..protocol._decoder import IncrementalDecoder
        from ..protocol._reader import Reader

        received_into = IncrementalDecoder.received_into
        take_into = Reader.take_into
        allocate = ArrayPool.__call__
        counters = self

        def counted_allocate(self: ArrayPool, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
            reused = self.reused
            array = allocate(self, shape, dtype)
            if array.nbytes == counters.frame_bytes:
                counters.pool_reused += self.reused - reused
                counters.pool_allocated += 1 - (self.reused - reused)
            return array

        def counted_received_into(self: IncrementalDecoder[Any], count: int) -> None:
            view = self.receive_buffer()
            if view is not None and _target_bytes(view) == counters.frame_bytes:
                counters.direct_bytes += count
            received_into(self, count)

        def counted_take_into(self: Reader, view: memoryview) -> int:
            count = take_into(self, view)
            if _target_bytes(view) == counters.frame_bytes:
                counters.copied_bytes += count
            return count

        IncrementalDecoder.received_into = counted_received_into  # type: ignore[method-assign]
        Reader.take_into = counted_take_into  # type: ignore[method-assign]
        ArrayPool.__call__ = counted_allocate  # type: ignore[method-assign]

        def undo() -> None:
            ArrayPool.__call__ = allocate  # type: ignore[method-assign]
            IncrementalDecoder.received_into = received_into  # type: ignore[method-assign]
            Reader.take_into = take_into  # type: ignore[method-assign]

        return undo


def _target_bytes(view: memoryview) -> int:
    """Size of the whole array a (partial) receive view belongs to."""
    owner = view.obj
    return int(getattr(owner, "nbytes", view.nbytes))


class Receiver:
    """The link listener (see the module docstring); callbacks come from the reader thread."""

    def __init__(self, copies: Optional[PluginCopies] = None) -> None:
        self.copies = copies
        self.connected = threading.Event()
        self.lost: List[str] = []
        self.arrivals: queue.Queue[Arrival] = queue.Queue()
        self.link: Optional[AgentLink] = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._streaming = False
        self._depth = 0
        self.in_flight = 0
        self.last_dte: Any = None  # the latest PyMoDAQ DataToExport (kept, as a viewer keeps its frame)

    # -- LinkListener ------------------------------------------------------------------
    def link_connected(self, link: AgentLink) -> None:
        self.link = link
        self.connected.set()

    def link_lost(self, link: AgentLink, reason: str) -> None:
        self.lost.append(reason)

    def link_message(self, link: AgentLink, message: Message) -> None:
        if isinstance(message, DataReady):
            self._answer(self._convert(message))
        elif isinstance(message, Info) and "grab" in message.name.lower():
            self._answer(Arrival(time.perf_counter(), time.time_ns(), -1, 0, 0.0, False, str(message.value)))

    def _convert(self, message: DataReady) -> Arrival:
        if not isinstance(message.data, DataToExport):
            raise TypeError(f"expected a DataToExport from the agent, got {type(message.data).__name__}")
        wire = message.data.data[0]
        dte = dte_to_pymodaq(message.data)
        received_perf, received_ns = time.perf_counter(), time.time_ns()
        shares = bool(np.shares_memory(dte[0].data[0], wire.data[0]))
        if self.copies is not None and not shares:
            self.copies.conversion_copies += 1
        self.last_dte = dte
        FRAME_GARBAGE.frame_delivered()  # as the viewer plugin does: PyMoDAQ's frames are reference cycles
        extra = wire.extra_attributes
        return Arrival(
            received_perf,
            received_ns,
            int(extra.get("frame_index", -1)),
            int(extra.get("timestamp_ns", 0)),
            float(extra.get("exposure_ms", 0.0)),
            shares,
        )

    def _answer(self, arrival: Arrival) -> None:
        with self._lock:
            self.in_flight -= 1
            more = self._streaming and self.in_flight < self._depth
            if more:
                self.in_flight += 1
            elif self.in_flight <= 0:
                self._idle.notify_all()
        self.arrivals.put(arrival)
        if more:
            self._request()

    # -- requests (main thread) --------------------------------------------------------
    def _request(self) -> None:
        link = self.link
        if link is None:
            raise RuntimeError("no agent connected")
        link.send(SendData("2D"))

    def snap(self) -> Tuple[float, Arrival]:
        """One request, waited for: (send time perf, arrival)."""
        with self._lock:
            self.in_flight += 1
        sent = time.perf_counter()
        self._request()
        return sent, self.arrivals.get(timeout=WAIT_S)

    def start_streaming(self, depth: int) -> None:
        with self._lock:
            self._streaming, self._depth = True, depth
            count = depth - self.in_flight
            self.in_flight += count
        for _ in range(count):
            self._request()

    def stop_streaming(self) -> None:
        """No new requests; waits (bounded) until those in flight are answered."""
        with self._idle:
            self._streaming = False
            self._idle.wait_for(lambda: self.in_flight <= 0, WAIT_S)

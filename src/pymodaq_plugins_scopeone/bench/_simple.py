"""The reference and the alternatives: raw TCP, PyMoDAQ's receive loop, codecs, PyLECO.

Each function returns one :class:`Measurement` and stops every process it started.
The TCP measurements receive here from a :mod:`._peer` sender in another process that
streams frames back to back; a frame's duration is the time between the completion of
one frame and the next (the first frames are a warm-up: slow start, page faults).
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Callable, List, Optional, Sequence

import numpy as np

from ..protocol import ArrayPool, DataToExport, MessageDecoder, Sender, encode_message
from ._frames import agent_frame_message
from ._procs import Children, python_module, wait_ready
from ._results import FrameSize, Measurement

PEER = "pymodaq_plugins_scopeone.bench._peer"
SOCKET_TIMEOUT_S = 30.0
RAW_WARMUP_FRAMES = 2
MAX_FRAMES = 100_000

RAW_TCP = "raw TCP (recv_into)"
PYMODAQ_UTILS_LOOP = "pymodaq_utils receive loop"
CODEC = "scopeone codec (encode+decode)"
SERIALIZALL = "PyMoDAQ 5 serializall (ser+deser)"
PYLECO = "PyLECO via Coordinator"


def _recv_exact_into(sock: socket.socket, view: memoryview) -> None:
    got = 0
    while got < len(view):
        count = sock.recv_into(view[got:], len(view) - got)
        if not count:
            raise ConnectionError("the sender closed the connection")
        got += count


def measure_tcp(
    size: FrameSize,
    budget_s: float,
    pymodaq_loop: bool = False,
    max_frames: int = MAX_FRAMES,
    bind: str = "127.0.0.1",
    prefix: Sequence[str] = (),
) -> Measurement:
    """Raw TCP with ``recv_into`` a preallocated buffer, or ``Socket.check_received_length``.

    ``bind``/``prefix`` put the sender elsewhere (``--link``: in a network namespace).
    """
    method = PYMODAQ_UTILS_LOOP if pymodaq_loop else RAW_TCP
    receive: Callable[[socket.socket, memoryview], None] = _recv_exact_into
    if pymodaq_loop:
        try:
            from pymodaq_utils.mysocket import Socket
        except ImportError as error:
            return Measurement.skip(method, size, f"pymodaq_utils not importable: {error}")

        def receive(sock: socket.socket, view: memoryview) -> None:
            data = Socket(sock).check_received_length(len(view))
            np.frombuffer(data, dtype=size.dtype).reshape(size.height, size.width)  # what a caller does next

    warmup = 0 if pymodaq_loop else RAW_WARMUP_FRAMES
    buffer = np.zeros(size.nbytes, dtype=np.uint8)  # touched once: no page faults while measuring
    header = bytearray(4)
    durations: List[float] = []
    with Children() as children, socket.create_server((bind, 0)) as listener:
        listener.settimeout(SOCKET_TIMEOUT_S)
        address = f"{bind}:{listener.getsockname()[1]}"
        sender = children.start(
            "raw sender", python_module(PEER, "raw-send", address, size.key, str(budget_s + 60)), prefix
        )
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(SOCKET_TIMEOUT_S)
            deadline = time.monotonic() + budget_s
            previous = 0.0
            frame = 0
            while True:
                _recv_exact_into(connection, memoryview(header))
                if frame == warmup:
                    previous = time.perf_counter()  # timing starts once the stream runs
                (length,) = struct.unpack(">I", header)
                receive(connection, memoryview(buffer.data)[:length])
                now = time.perf_counter()
                if frame >= warmup:
                    durations.append(now - previous)
                previous, frame = now, frame + 1
                if len(durations) >= max_frames or (time.monotonic() > deadline and len(durations) >= 2):
                    break
        children.stop(sender)
    note = f"{len(durations)} frames after {warmup} warm-up" if warmup else f"{len(durations)} frames"
    return Measurement(method, size, durations, size.nbytes, note=note)


def measure_codec(size: FrameSize, budget_s: float) -> Measurement:
    """Our codec in one process: encode a frame message (no copy) and decode it (one copy)."""
    message = agent_frame_message(size)
    decoder = MessageDecoder(Sender.CLIENT, allocate=ArrayPool())
    durations: List[float] = []
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline or len(durations) < 3:
        start = time.perf_counter()
        for chunk in encode_message(message):
            decoder.feed(chunk)
        decoded = decoder.next_message()
        durations.append(time.perf_counter() - start)
        if decoded is None:
            raise RuntimeError("the codec did not decode the message it encoded")
        del decoded  # back to the pool
        if len(durations) >= MAX_FRAMES:
            break
    return Measurement(CODEC, size, durations[1:], size.nbytes, note="in-process; first frame excluded")


def measure_serializall(size: FrameSize, budget_s: float) -> Measurement:
    """PyMoDAQ 5's serializall on the very DataToExport the plugin side produces."""
    try:
        from serializall import SerializableFactory

        from ..hardware.pymodaq_conversion import dte_to_pymodaq
    except ImportError as error:
        return Measurement.skip(SERIALIZALL, size, f"serializall/pymodaq not importable: {error}")
    wire = agent_frame_message(size).data
    if not isinstance(wire, DataToExport):
        raise TypeError("the agent's frame message holds no DataToExport")
    dte = dte_to_pymodaq(wire)
    factory = SerializableFactory()
    durations: List[float] = []
    serialize_s: List[float] = []
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline or len(durations) < 2:
        start = time.perf_counter()
        data = factory.get_apply_serializer(dte)
        middle = time.perf_counter()
        back = factory.get_apply_deserializer(data)
        durations.append(time.perf_counter() - start)
        serialize_s.append(middle - start)
        del back, data
    result = Measurement(SERIALIZALL, size, durations, size.nbytes, note="in-process, pixel bytes counted")
    result.extra["serialize_ms_median"] = sorted(serialize_s)[len(serialize_s) // 2] * 1e3
    return result


def measure_pyleco(size: FrameSize, budget_s: float) -> Measurement:
    """A binary RPC through a PyLECO Coordinator on 127.0.0.1 (actor in another process)."""
    try:
        from pyleco.utils.communicator import Communicator
    except ImportError as error:
        return Measurement.skip(PYLECO, size, f"pyleco not installed ({error}): pip install pyleco")
    durations: List[float] = []
    with Children() as children:
        actor = children.start("pyleco", python_module(PEER, "pyleco", size.key))
        port = int(wait_ready(actor, 30.0, "PyLECO coordinator and actor"))
        with Communicator(name="bench", host="127.0.0.1", port=port, timeout=SOCKET_TIMEOUT_S) as director:
            _first_answer(director, 15.0)
            deadline = time.monotonic() + budget_s
            while time.monotonic() < deadline or len(durations) < 2:
                start = time.perf_counter()
                _, payload = director.ask_rpc(receiver="bench.cam", method="get_frame", extract_additional_payload=True)
                np.frombuffer(payload[0], dtype=size.dtype).reshape(size.height, size.width)
                durations.append(time.perf_counter() - start)
        children.stop(actor)
    return Measurement(PYLECO, size, durations, size.nbytes, note="request/answer, one at a time")


def _first_answer(director: object, timeout_s: float) -> None:
    """Ask until the actor has signed in to the Coordinator (it takes a moment)."""
    deadline = time.monotonic() + timeout_s
    last: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            director.ask_rpc(receiver="bench.cam", method="get_frame", extract_additional_payload=True)  # type: ignore[attr-defined]
            return
        except Exception as error:  # pyleco raises its own errors while the actor is unknown
            last = error
            time.sleep(0.2)
    raise TimeoutError(f"PyLECO actor did not answer within {timeout_s:g} s: {last}")

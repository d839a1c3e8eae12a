"""The real agent, run with counters on its frame path (the agent's code is not changed).

``python -m pymodaq_plugins_scopeone.bench._agent_probe REPORT.json AGENT-ARGS...`` runs
``scopeone-agent AGENT-ARGS`` after wrapping three methods at class level:

* ``FrameBlock.copy`` — the agent's one pixel copy (shared memory → the array it sends):
  counts calls, bytes and time, and remembers the address of each array it filled;
* ``MessageStream.send_chunks`` — what leaves for the socket: a chunk as large as a copied
  frame is *backed* if it is a view of an array ``FrameBlock.copy`` filled (no other copy
  on the way), *unbacked* otherwise (someone copied the pixels again); send time is counted;
* ``ScopeOne.request`` — the time spent waiting for ScopeOne (here the stand-in) to export
  ``latest_raw_frame``/``session_frame`` into its shared block.

On SIGTERM the agent stops as usual and the counters are written to REPORT.json.
"""

from __future__ import annotations

import collections
import json
import sys
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import numpy as np

_FRAME_REQUESTS = ("latest_raw_frame", "session_frame")
TRACE_FRAMES = 20_000


class Counters:
    """Frame-path counters, updated from the agent's worker and link threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.copies = 0
        self.copied_bytes = 0
        self.copy_s = 0.0
        self.frames_sent = 0
        self.backed_bytes = 0
        self.unbacked_bytes = 0
        self.send_s = 0.0
        self.frame_requests = 0
        self.frame_request_s = 0.0
        self.recent: Deque[Tuple[int, int]] = collections.deque(maxlen=32)  # (address, nbytes) of copies
        self.frame_at: Dict[int, int] = {}  # address of a copied array → its frame index
        self.trace: collections.OrderedDict[int, Dict[str, int]] = collections.OrderedDict()

    def stamp(self, index: int, event: str, first: bool = True) -> None:
        """Record when (wall clock, ns) ``event`` happened to frame ``index`` (under the lock)."""
        row = self.trace.setdefault(index, {})
        if not (first and event in row):
            row[event] = time.time_ns()
        while len(self.trace) > TRACE_FRAMES:
            self.trace.popitem(last=False)

    def to_json(self) -> Dict[str, Any]:
        with self.lock:
            fields = {k: v for k, v in vars(self).items() if k not in ("lock", "recent", "frame_at", "trace")}
            fields["trace"] = {str(index): dict(row) for index, row in self.trace.items()}
        return fields


def _address(buffer: Any) -> Tuple[int, int]:
    array = np.frombuffer(buffer, dtype=np.uint8)
    return int(array.ctypes.data), int(array.nbytes)


def install(counters: Counters) -> None:
    """Wrap the three methods (see the module docstring)."""
    from ..agent._frames import FrameBlock
    from ..agent._scopeone import ScopeOne
    from ..transport import MessageStream

    copy: Callable[..., Tuple[np.ndarray, Any]] = FrameBlock.copy
    send_chunks: Callable[..., None] = MessageStream.send_chunks
    request: Callable[..., Any] = ScopeOne.request

    def counted_copy(self: FrameBlock, meta: Dict[str, Any]) -> Tuple[np.ndarray, Any]:
        start = time.perf_counter()
        image, header = copy(self, meta)
        elapsed = time.perf_counter() - start
        with counters.lock:
            counters.copies += 1
            counters.copied_bytes += image.nbytes
            counters.copy_s += elapsed
            counters.recent.append((int(image.ctypes.data), int(image.nbytes)))
            counters.frame_at[int(image.ctypes.data)] = int(header.frame_index)
            counters.stamp(int(header.frame_index), "copied_ns", first=False)
        return image, header

    def counted_send(self: MessageStream, chunks: List[Any]) -> None:
        with counters.lock:
            sizes = {nbytes for _, nbytes in counters.recent}
            recent = set(counters.recent)
            frame_at = dict(counters.frame_at)
        pixels = [_address(c) for c in chunks if isinstance(c, memoryview) and c.nbytes in sizes]
        start, start_ns = time.perf_counter(), time.time_ns()
        send_chunks(self, chunks)
        elapsed = time.perf_counter() - start
        if pixels:
            with counters.lock:
                index = frame_at.get(pixels[0][0])
                if index is not None:
                    row = counters.trace.setdefault(index, {})
                    row.setdefault("send_start_ns", start_ns)
                    counters.stamp(index, "sent_ns")
                counters.frames_sent += 1
                counters.send_s += elapsed
                for address in pixels:
                    if address in recent:
                        counters.backed_bytes += address[1]
                    else:
                        counters.unbacked_bytes += address[1]

    def timed_request(self: ScopeOne, request_type: str, timeout_s: Optional[float] = None, **fields: Any) -> Any:
        if request_type not in _FRAME_REQUESTS:
            return request(self, request_type, timeout_s, **fields)
        start, start_ns = time.perf_counter(), time.time_ns()
        response = None
        try:
            response = request(self, request_type, timeout_s, **fields)
            return response
        finally:
            elapsed = time.perf_counter() - start
            with counters.lock:
                counters.frame_requests += 1
                counters.frame_request_s += elapsed
                index = str(response.get("frameIndex", "")) if isinstance(response, dict) else ""
                if index.isdigit() and "poll_start_ns" not in counters.trace.get(int(index), {}):
                    counters.trace.setdefault(int(index), {})["poll_start_ns"] = start_ns
                    counters.stamp(int(index), "polled_ns")

    FrameBlock.copy = counted_copy  # type: ignore[method-assign]
    MessageStream.send_chunks = counted_send  # type: ignore[method-assign]
    ScopeOne.request = timed_request  # type: ignore[method-assign]


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    report, agent_args = args[0], args[1:]
    counters = Counters()
    install(counters)
    from ..agent._cli import main as agent_main

    print("READY agent", flush=True)
    code = agent_main(agent_args)
    with open(report, "w", encoding="utf-8") as file:
        json.dump(counters.to_json(), file)
    return code


if __name__ == "__main__":
    sys.exit(main())

"""A small selector event loop: ScopeOne serves its API from one (GUI) thread, and so do we.

Sockets, timers and calls posted from other threads all run on the loop thread, so the
simulated ScopeOne state needs no locks. ``select`` always has a timeout (at most 1 s) and a
socketpair wakes the loop when another thread posts a call: no polling, no busy loop.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import selectors
import socket
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Callable, Deque, List, Optional, Tuple, TypeVar

T = TypeVar("T")
IoCallback = Callable[[int], None]

_log = logging.getLogger(__name__)
_MAX_WAIT_S = 1.0


def _do_nothing() -> None:
    pass


class TimerHandle:
    """A scheduled call; :meth:`cancel` prevents it from running."""

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        """Do not run the callback, and let go of it now (as asyncio does).

        A cancelled timer stays in the heap until its time; the callback it held, often a
        bound method of the object that owns the timer, would keep that object and all it
        holds (a recording's frames) alive until then, or until the cyclic collector runs.
        """
        self.cancelled = True
        self.callback = _do_nothing


class EventLoop:
    """Single-threaded loop with I/O callbacks, timers and thread-safe call posting."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self.selector.register(self._wake_r, selectors.EVENT_READ, self._drain_wakeups)
        self._posted: Deque[Callable[[], None]] = deque()
        self._posted_lock = threading.Lock()
        self._timers: List[Tuple[float, int, TimerHandle]] = []
        self._sequence = itertools.count()
        self._thread: Optional[threading.Thread] = None
        self._stopping = False

    # -- scheduling ----------------------------------------------------------------------------

    def in_loop_thread(self) -> bool:
        """True when called from the loop thread."""
        return threading.current_thread() is self._thread

    def post(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop thread soon (callable from any thread)."""
        with self._posted_lock:
            self._posted.append(callback)
        # BlockingIOError: the buffer is full, so a wakeup is pending anyway; OSError: closed.
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"\0")

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` after ``delay_s`` seconds (loop thread only)."""
        handle = TimerHandle(callback)
        when = time.monotonic() + max(0.0, delay_s)
        heapq.heappush(self._timers, (when, next(self._sequence), handle))
        return handle

    def run_sync(self, fn: Callable[[], T], timeout_s: float = 10.0) -> T:
        """Run ``fn`` on the loop thread and return its result (raises its exception).

        Called from the loop thread itself, ``fn`` runs directly.
        """
        if self.in_loop_thread() or self._thread is None:
            return fn()
        future: Future[T] = Future()

        def call() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as exc:
                    future.set_exception(exc)

        self.post(call)
        return future.result(timeout_s)

    # -- running -------------------------------------------------------------------------------

    def start(self, name: str = "scopeone-sim-loop") -> None:
        """Run the loop in a new daemon thread."""
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the loop to stop, wait for it, then close the selector and wakeup sockets."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self.post(self._request_stop)
            if thread is not threading.current_thread():
                thread.join(timeout_s)
                if thread.is_alive():
                    _log.error("event loop did not stop within %.1f s", timeout_s)
                    return
        self.selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _request_stop(self) -> None:
        self._stopping = True

    def _run(self) -> None:
        while not self._stopping:
            events = self.selector.select(self._next_timeout())
            for key, mask in events:
                self._guard(functools.partial(key.data, mask))
            self._run_timers()
            self._run_posted()

    def _next_timeout(self) -> float:
        with self._posted_lock:
            if self._posted:
                return 0.0
        if not self._timers:
            return _MAX_WAIT_S
        return min(_MAX_WAIT_S, max(0.0, self._timers[0][0] - time.monotonic()))

    def _run_timers(self) -> None:
        now = time.monotonic()
        while self._timers and self._timers[0][0] <= now:
            _, _, handle = heapq.heappop(self._timers)
            if not handle.cancelled:
                self._guard(handle.callback)

    def _run_posted(self) -> None:
        with self._posted_lock:
            batch, self._posted = self._posted, deque()
        for callback in batch:
            self._guard(callback)

    def _drain_wakeups(self, mask: int) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    @staticmethod
    def _guard(callback: Callable[[], Any]) -> None:
        try:
            callback()
        except Exception:  # one failing callback must not stop the server
            _log.exception("callback failed on the simulator loop")

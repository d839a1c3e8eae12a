"""Deadlines for requests in flight: one thread, one condition, no polling (Qt-free).

A controller arms a deadline when it sends a request and cancels it when the answer
comes; if the answer does not come in time the callback runs on the deadline thread.
The thread sleeps on a condition until the earliest deadline (or until woken by a
change), so nothing ticks while nothing is due.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Dict, Hashable, List, Optional, Tuple

logger = logging.getLogger(__name__)


class Deadlines:
    """Callbacks run once when their deadline passes, unless cancelled before.

    Args:
        name: the thread's name (shown in debuggers and thread dumps).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._condition = threading.Condition()
        self._due: Dict[Hashable, Tuple[float, Callable[[], None]]] = {}
        self._closed = False
        self._thread: Optional[threading.Thread] = None

    def arm(self, key: Hashable, delay_s: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` in ``delay_s`` seconds unless ``cancel(key)``; re-arming replaces."""
        with self._condition:
            if self._closed:
                return
            self._due[key] = (time.monotonic() + delay_s, callback)
            if self._thread is None:  # started on first use: modules that never wait cost no thread
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._condition.notify()

    def cancel(self, key: Hashable) -> None:
        """Forget the deadline of ``key`` (nothing happens if there is none)."""
        with self._condition:
            self._due.pop(key, None)

    def close(self, timeout_s: float = 2.0) -> None:
        """Drop every deadline and end the thread (idempotent)."""
        with self._condition:
            self._closed = True
            self._due.clear()
            self._condition.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def _run(self) -> None:
        while True:
            with self._condition:
                expired = self._wait_for_expired()
                if expired is None:
                    return
            for callback in expired:
                try:
                    callback()
                except Exception:  # a buggy callback must not end the deadline thread
                    logger.exception("deadline callback %r failed", callback)

    def _wait_for_expired(self) -> Optional[List[Callable[[], None]]]:
        """Under the condition: block until something is due; None once closed."""
        while not self._closed:
            now = time.monotonic()
            expired = [key for key, (when, _) in self._due.items() if when <= now]
            if expired:
                return [self._due.pop(key)[1] for key in expired]
            earliest = min((when for when, _ in self._due.values()), default=None)
            self._condition.wait(None if earliest is None else earliest - now)
        return None

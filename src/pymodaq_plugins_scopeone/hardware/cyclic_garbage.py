"""Free PyMoDAQ's frames while they stream, instead of every ten minutes (decision 0007).

Every PyMoDAQ ``DataWithAxes`` references itself (its ``inav``/``isig`` slicers hold the
object), so a frame is freed only by CPython's cyclic collector. Frames still in use at a
young collection move to the oldest generation, which CPython scans only once its new
objects outnumber a quarter of the long-lived ones: in a dashboard (~200,000 long-lived
objects) that is about every ten minutes of live grab, and until then the frames pile up
(measured: +30 MB/min at 512×512 uint16, without levelling off; far more for big cameras).
Collecting the whole dashboard heap takes ~90 ms, too long to do often.

So while frames are delivered, at most once per ``period_s``, :meth:`CyclicGarbage.frame_delivered`
runs a full collection; when one takes longer than ``freeze_above_s`` the survivors (the
dashboard itself) are frozen with :func:`gc.freeze`, so the next collections only scan the
objects made since (a few ms). :meth:`CyclicGarbage.thaw` (live stopped, plugin closed)
hands the frozen objects back to CPython's collector. Nothing happens when the application
disabled the collector (``gc.disable()``): it manages collection itself.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Callable

COLLECT_PERIOD_S = 1.0
FREEZE_ABOVE_S = 0.010


class CyclicGarbage:
    """Rate-limited full collections while frames stream; one instance per process is enough."""

    def __init__(
        self,
        period_s: float = COLLECT_PERIOD_S,
        freeze_above_s: float = FREEZE_ABOVE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.period_s = period_s
        self.freeze_above_s = freeze_above_s
        self._clock = clock
        self._lock = threading.Lock()
        self._next_collection = float("-inf")
        self._froze = False

    def frame_delivered(self) -> None:
        """Collect cyclic garbage if the last collection is ``period_s`` old (cheap otherwise)."""
        if not gc.isenabled() or not self._due():
            return
        started = time.perf_counter()
        gc.collect()
        if time.perf_counter() - started > self.freeze_above_s:
            with self._lock:
                gc.freeze()  # only survivors of the full collection: no garbage is frozen
                self._froze = True

    def thaw(self) -> None:
        """Give the objects this instance froze back to the collector (a no-op otherwise)."""
        with self._lock:
            if self._froze:
                gc.unfreeze()
                self._froze = False
            self._next_collection = float("-inf")

    def _due(self) -> bool:
        now = self._clock()
        with self._lock:
            if now < self._next_collection:
                return False
            self._next_collection = now + self.period_s
            return True


FRAME_GARBAGE = CyclicGarbage()
"""The process-wide instance the camera plugins share."""

"""Which pending grab a frame may answer: the freshness rule, as pure bookkeeping.

A grab arriving at time *t* must get a frame exposed entirely after *t*. While the camera
previews, ScopeOne's newest frame is only visible by asking (``latest_raw_frame``): the first
answer to a request *sent after t* gives the grab its *baseline* index B (the newest frame
published then). The next frame of the camera may have started its exposure before *t*; the
one after it started when that one was read out, i.e. after the baseline answer, i.e. after
*t*. So a grab is fresh at the *second* distinct newer frame observed after its baseline.
Counting observed frames (rather than computing B + 2) stays right when several cameras
share one frame counter (the stand-in does that); if a poll misses a frame, the grab only
waits one frame longer.

Without preview (``record(frames=1)``), ScopeOne itself captures a frame after the request;
a frame recorded for a request sent at *s* answers every grab that arrived before *s*.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Deque, List, Optional


@dataclasses.dataclass
class Grab:
    """One ``Send Data`` waiting for its frame."""

    arrival: float
    deadline: float
    dim: str = "2D"
    baseline: Optional[int] = None
    first_new: Optional[int] = None
    fresh: bool = False


class FreshnessTracker:
    """Pending grabs in arrival order, and the frames that make them fresh."""

    def __init__(self) -> None:
        self.pending: Deque[Grab] = collections.deque()

    def __len__(self) -> int:
        return len(self.pending)

    def add(self, grab: Grab) -> None:
        self.pending.append(grab)

    @property
    def needs_baseline(self) -> bool:
        """True if some grab has no baseline yet (poll now: that costs it no latency)."""
        return any(g.baseline is None for g in self.pending)

    def observe(self, poll_sent: float, index: int) -> int:
        """Record that the newest frame was ``index`` for a poll sent at ``poll_sent``.

        Returns how many grabs at the head of the queue are now fresh (served in order).
        """
        for grab in self.pending:
            if grab.baseline is None:
                if grab.arrival <= poll_sent:
                    grab.baseline = index
                continue
            if index <= grab.baseline or grab.fresh:
                continue
            if grab.first_new is None:
                grab.first_new = index
            elif index > grab.first_new:
                grab.fresh = True
        count = 0
        for grab in self.pending:
            if not grab.fresh:
                break
            count += 1
        return count

    def arrived_before(self, sent: float) -> int:
        """How many grabs at the head arrived at or before ``sent`` (record path)."""
        count = 0
        for grab in self.pending:
            if grab.arrival > sent:
                break
            count += 1
        return count

    def take(self, count: int) -> List[Grab]:
        """Remove and return the first ``count`` grabs."""
        return [self.pending.popleft() for _ in range(min(count, len(self.pending)))]

    def expired(self, now: float) -> List[Grab]:
        """Remove and return the grabs whose deadline passed."""
        late = [g for g in self.pending if g.deadline <= now]
        if late:
            self.pending = collections.deque(g for g in self.pending if g.deadline > now)
        return late

    def reset_baselines(self) -> None:
        """Forget what was observed (preview restarted, mode changed): baselines are retaken."""
        for grab in self.pending:
            grab.baseline = grab.first_new = None
            grab.fresh = False

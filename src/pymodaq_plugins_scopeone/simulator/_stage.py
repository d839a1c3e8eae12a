"""Stages with finite speed: position as a function of time, and a sequential move queue.

A move is a straight segment travelled at constant speed (µm/s), so the position at any time
(past or present) is a pure function of the recorded segments; the camera uses that to know where
the stage was during an exposure. Moves on one stage run one after the other (ScopeOne queues
them on a core worker); each move reports its completion through a callback.

Outcomes of a move, as ScopeOne's texts: ``None`` (done), ``"Stage move failed"`` (target outside
the travel limits, or a fault hook made it fail). A *hung* move (fault hook) stops half-way and
never completes until :meth:`MotionController.release_hung` fails it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import deque
from typing import Callable, Deque, List, Optional, Sequence, Tuple

Position = Tuple[float, ...]
Schedule = Callable[[float, Callable[[], None]], object]
MoveDone = Callable[[Optional[str]], None]

MOVE_FAILED = "Stage move failed"
_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Segment:
    """Linear travel from ``start`` at ``t0`` to ``end`` at ``t1`` (monotonic seconds, µm)."""

    t0: float
    t1: float
    start: Position
    end: Position

    def at(self, t: float) -> Position:
        """Position at time ``t``."""
        if t <= self.t0:
            return self.start
        if t >= self.t1:
            return self.end
        f = (t - self.t0) / (self.t1 - self.t0)
        return tuple(a + (b - a) * f for a, b in zip(self.start, self.end))


class StageModel:
    """Positions of one stage (1 or 2 axes, µm) over time; thread-safe."""

    def __init__(self, home: Position, speed_um_s: float, limits: Sequence[Tuple[float, float]]) -> None:
        self.speed_um_s = float(speed_um_s)
        self.limits = tuple((float(lo), float(hi)) for lo, hi in limits)
        self._home = tuple(float(v) for v in home)
        self._segments: Deque[Segment] = deque(maxlen=32)
        self._lock = threading.Lock()

    def position(self, t: Optional[float] = None) -> Position:
        """Position (µm) at monotonic time ``t`` (default now)."""
        when = time.monotonic() if t is None else t
        with self._lock:
            for segment in reversed(self._segments):
                if when >= segment.t0:
                    return segment.at(when)
            return self._segments[0].start if self._segments else self._home

    def within_limits(self, target: Position) -> bool:
        """True if every axis of ``target`` is finite and inside its travel range."""
        return all(math.isfinite(v) and lo <= v <= hi for v, (lo, hi) in zip(target, self.limits))

    def travel(self, target: Position, t: Optional[float] = None) -> Segment:
        """Start moving to ``target`` now (or at ``t``); return the planned segment."""
        t0 = time.monotonic() if t is None else t
        start = self.position(t0)
        distance = math.dist(start, target)
        segment = Segment(t0, t0 + distance / self.speed_um_s, start, tuple(target))
        with self._lock:
            self._segments.append(segment)
        return segment

    def set_now(self, target: Position) -> None:
        """Teleport to ``target`` (used when a property write sets the position)."""
        now = time.monotonic()
        with self._lock:
            self._segments.append(Segment(now, now, tuple(target), tuple(target)))


@dataclasses.dataclass
class Move:
    """A queued move: ``resolve`` maps the start position to the target; ``done`` reports."""

    resolve: Callable[[Position], Position]
    done: MoveDone


class MotionController:
    """Runs the moves of one stage in order, timing them with ``schedule(delay_s, callback)``.

    Not thread-safe: call it from the event-loop thread only. ``take_fault()`` is asked once per
    move and returns ``"fail"``, ``"hang"`` or ``None``.
    """

    def __init__(self, model: StageModel, schedule: Schedule, take_fault: Callable[[], Optional[str]]) -> None:
        self.model = model
        self._schedule = schedule
        self._take_fault = take_fault
        self._queue: Deque[Move] = deque()
        self._active: Optional[Move] = None
        self._hung: List[Move] = []

    @property
    def busy(self) -> bool:
        """True while a move runs (or hangs)."""
        return self._active is not None

    def submit(self, move: Move) -> None:
        """Queue ``move``; it starts when the stage is free."""
        self._queue.append(move)
        if self._active is None:
            self._start_next()

    def _start_next(self) -> None:
        while self._queue and self._active is None:
            move = self._queue.popleft()
            start = self.model.position()
            target = move.resolve(start)
            fault = self._take_fault()
            if fault == "fail" or not self.model.within_limits(target):
                _log.debug("move to %s refused (fault=%s)", target, fault)
                move.done(MOVE_FAILED)
                continue
            self._active = move
            if fault == "hang":
                midway = tuple((a + b) / 2 for a, b in zip(start, target))
                self.model.travel(midway)
                self._hung.append(move)
                return
            segment = self.model.travel(target)
            self._schedule(segment.t1 - segment.t0, lambda m=move: self._finish(m))  # type: ignore[misc]

    def _finish(self, move: Move) -> None:
        if self._active is not move:
            return
        self._active = None
        move.done(None)
        self._start_next()

    def release_hung(self) -> int:
        """Fail every hung move with ``"Stage move failed"``; return how many there were."""
        hung, self._hung = self._hung, []
        for move in hung:
            if self._active is move:
                self._active = None
            move.done(MOVE_FAILED)
        self._start_next()
        return len(hung)

    def abort_all(self) -> None:
        """Fail the running, hung and queued moves (configuration unloaded); stop in place."""
        pending = ([self._active] if self._active else []) + list(self._queue)
        self._queue.clear()
        self._hung = []
        self._active = None
        self.model.travel(self.model.position())
        for move in pending:
            move.done(MOVE_FAILED)

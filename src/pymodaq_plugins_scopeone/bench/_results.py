"""What a measurement produces, and the figures derived from it.

A :class:`Measurement` is a list of per-frame durations for one method at one frame size.
Throughput is bytes / total time (so one slow frame counts for what it cost), frames/s is
frames / total time, and the min/median/max are of the per-frame durations.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

MB = 1e6


@dataclasses.dataclass(frozen=True)
class FrameSize:
    """A frame shape and pixel type, e.g. ``2048x2048 uint16``."""

    height: int
    width: int
    dtype: str

    @classmethod
    def parse(cls, text: str) -> FrameSize:
        """``HxW:dtype`` (dtype uint8 or uint16), e.g. ``512x512:uint16``."""
        shape, _, dtype = text.partition(":")
        height, _, width = shape.partition("x")
        if dtype not in ("uint8", "uint16"):
            raise ValueError(f"pixel type must be uint8 or uint16, got {dtype!r} in {text!r}")
        size = cls(int(height), int(width), dtype)
        if not (1 <= size.height <= 2048 and 1 <= size.width <= 2048):
            raise ValueError(f"frame sides must be in 1..2048 (the stand-in's sensor), got {text!r}")
        return size

    @property
    def label(self) -> str:
        return f"{self.height}x{self.width} {self.dtype}"

    @property
    def key(self) -> str:
        return f"{self.height}x{self.width}:{self.dtype}"

    @property
    def nbytes(self) -> int:
        return self.height * self.width * np.dtype(self.dtype).itemsize

    def frame(self, seed: int = 0) -> np.ndarray:
        """A frame of camera-like content (12-bit counts, or 8-bit): nothing compresses it."""
        high = 4096 if self.dtype == "uint16" else 256
        rng = np.random.default_rng(seed)
        return rng.integers(0, high, size=(self.height, self.width), dtype=self.dtype)


@dataclasses.dataclass
class Measurement:
    """Per-frame durations (s) of one method at one size, plus notes and extra figures."""

    method: str
    size: FrameSize
    durations_s: List[float]
    bytes_per_frame: int
    total_s: float = 0.0
    note: str = ""
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)
    skipped: str = ""

    @classmethod
    def skip(cls, method: str, size: FrameSize, reason: str) -> Measurement:
        return cls(method, size, [], size.nbytes, skipped=reason)

    @property
    def ok(self) -> bool:
        return not self.skipped and bool(self.durations_s) and self.elapsed_s > 0

    @property
    def elapsed_s(self) -> float:
        return self.total_s or math.fsum(self.durations_s)

    @property
    def mb_per_s(self) -> float:
        return len(self.durations_s) * self.bytes_per_frame / self.elapsed_s / MB if self.ok else math.nan

    @property
    def frames_per_s(self) -> float:
        return len(self.durations_s) / self.elapsed_s if self.ok else math.nan

    def ms(self) -> Tuple[float, float, float]:
        """(min, median, max) per-frame duration in ms."""
        if not self.durations_s:
            return (math.nan, math.nan, math.nan)
        values = [d * 1e3 for d in self.durations_s]
        return (min(values), statistics.median(values), max(values))

    def to_json(self) -> Dict[str, Any]:
        low, mid, high = self.ms()
        return {
            "method": self.method,
            "size": self.size.key,
            "frames": len(self.durations_s),
            "bytes_per_frame": self.bytes_per_frame,
            "mb_per_s": _finite(self.mb_per_s),
            "frames_per_s": _finite(self.frames_per_s),
            "ms_min": _finite(low),
            "ms_median": _finite(mid),
            "ms_max": _finite(high),
            "note": self.note,
            "skipped": self.skipped,
            "extra": self.extra,
        }


def _finite(value: float) -> Optional[float]:
    return value if math.isfinite(value) else None


def find(results: Sequence[Measurement], method: str, size_key: str) -> Optional[Measurement]:
    """The measurement of ``method`` at ``size_key`` if it was made (not skipped)."""
    for result in results:
        if result.method == method and result.size.key == size_key and result.ok:
            return result
    return None


def ratio(numerator: Optional[Measurement], denominator: Optional[Measurement]) -> float:
    """Throughput ratio, NaN when either side is missing."""
    if numerator is None or denominator is None:
        return math.nan
    return numerator.mb_per_s / denominator.mb_per_s


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]

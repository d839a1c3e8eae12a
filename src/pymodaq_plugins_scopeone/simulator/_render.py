"""From the sample to camera counts: field of view, defocus blur, binning, exposure, bit depth.

Image geometry (all integers, in sample pixels = unbinned camera pixels):

* the stage position ``(x, y)`` µm is the sample point at the sensor centre, so the sensor's
  top-left pixel sees sample pixel ``(round(x/p) - W//2, round(y/p) - H//2)`` with ``p`` the pixel
  size (µm) and ``W × H`` the sensor. Moving the stage by +Δx µm moves the content by −Δx/p
  pixels in the image. Positions are rounded to whole sample pixels (no sub-pixel rendering).
* the ROI ``(x, y, w, h)`` is in binned pixels (Micro-Manager convention); binning ``b`` averages
  ``b × b`` blocks, so the frame is ``h × w``.

Intensity: ``counts = full_scale * LEVEL * value * exposure_ms / REF_EXPOSURE_MS`` (+ optional
Gaussian noise), clipped to ``0 .. 2**bits - 1``. At 10 ms the brightest beads reach about half
of full scale; bright enough exposures clip.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections import OrderedDict
from typing import Any, Hashable, List, Optional, Tuple

import numpy as np
import numpy.typing as npt

from ._sample import Float32Array, Sample

LEVEL = 0.45
REF_EXPOSURE_MS = 10.0
MAX_BLUR_SIGMA_PX = 40.0
_MIN_BLUR_SIGMA_PX = 0.4
Image = npt.NDArray[Any]
"""A camera image: 2-D uint8 or uint16."""


@dataclasses.dataclass(frozen=True)
class View:
    """What one exposure sees, in whole sample pixels (hashable: used as a cache key)."""

    u0: int
    """Sample pixel seen by sensor pixel (0, 0), unbinned."""
    v0: int
    roi: Tuple[int, int, int, int]
    """Camera ROI (x, y, width, height) in binned pixels."""
    binning: int
    blur_sigma_px: float
    """Defocus blur sigma in unbinned pixels (0 = in focus)."""

    @classmethod
    def at(
        cls,
        xy_um: Tuple[float, float],
        *,
        pixel_size_um: float,
        sensor: Tuple[int, int],
        roi: Tuple[int, int, int, int],
        binning: int,
        blur_sigma_px: float = 0.0,
    ) -> View:
        """Return the view of a sensor ``(width, height)`` centred on stage position ``xy_um``."""
        u0 = round(xy_um[0] / pixel_size_um) - sensor[0] // 2
        v0 = round(xy_um[1] / pixel_size_um) - sensor[1] // 2
        sigma = min(round(blur_sigma_px * 10) / 10, MAX_BLUR_SIGMA_PX)
        return cls(u0, v0, roi, binning, sigma if sigma >= _MIN_BLUR_SIGMA_PX else 0.0)


def render_view(sample: Sample, view: View) -> Float32Array:
    """Return the relative intensity seen through ``view`` (float32, ROI shape after binning)."""
    b = view.binning
    x, y, w, h = view.roi
    margin = math.ceil(3 * view.blur_sigma_px) if view.blur_sigma_px else 0
    region = sample.region(view.u0 + x * b - margin, view.v0 + y * b - margin, w * b + 2 * margin, h * b + 2 * margin)
    if margin:
        region = gaussian_blur(region, view.blur_sigma_px)[margin : margin + h * b, margin : margin + w * b]
    if b > 1:
        region = region.reshape(h, b, w, b).mean(axis=(1, 3), dtype=np.float32)
    return np.ascontiguousarray(region, dtype=np.float32)


def _box_sizes(sigma: float, passes: int = 3) -> List[int]:
    """Odd box widths whose repeated application approximates a Gaussian of ``sigma``."""
    ideal = math.sqrt(12 * sigma * sigma / passes + 1)
    lower = math.floor(ideal)
    if lower % 2 == 0:
        lower -= 1
    upper = lower + 2
    m_ideal = (12 * sigma * sigma - passes * lower * lower - 4 * passes * lower - 3 * passes) / (-4 * lower - 4)
    m = round(m_ideal)
    return [lower if i < m else upper for i in range(passes)]


def _box_blur(image: Float32Array, radius: int, axis: int) -> Float32Array:
    """Moving average of width ``2*radius+1`` along ``axis`` (edges replicated), via cumsum."""
    if radius <= 0:
        return image
    n = image.shape[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    cs = np.cumsum(np.pad(image, pad, mode="edge"), axis=axis, dtype=np.float32)
    width = 2 * radius + 1

    def span(start: int, stop: int) -> Tuple[slice, ...]:
        index = [slice(None), slice(None)]
        index[axis] = slice(start, stop)
        return tuple(index)

    out = cs[span(2 * radius, 2 * radius + n)].copy()
    out[span(1, n)] -= cs[span(0, n - 1)]
    out /= np.float32(width)
    return out


def gaussian_blur(image: Float32Array, sigma: float) -> Float32Array:
    """Approximate Gaussian blur (three box passes per axis), cost independent of ``sigma``."""
    out = image
    for size in _box_sizes(sigma):
        out = _box_blur(out, (size - 1) // 2, axis=0)
        out = _box_blur(out, (size - 1) // 2, axis=1)
    return out


def to_counts(
    relative: Float32Array,
    *,
    exposure_ms: float,
    bits: int,
    dtype: np.dtype[Any],
    noise: float = 0.0,
    noise_seed: Optional[Tuple[int, int]] = None,
) -> Image:
    """Scale relative intensity to camera counts, add noise, clip to ``bits`` and cast."""
    full = float(2**bits - 1)
    img = relative * np.float32(full * LEVEL * exposure_ms / REF_EXPOSURE_MS)
    if noise > 0:
        rng = np.random.default_rng(list(noise_seed or (0, 0)))
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(noise * full)
    np.clip(img, 0.0, full, out=img)
    img += np.float32(0.5)  # round to nearest on the cast below
    return img.astype(dtype)


class _Lru:
    """A tiny thread-safe LRU mapping."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, Image] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Optional[Image]:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Image) -> None:
        value.flags.writeable = False
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class FrameRenderer:
    """Render frames, re-using work while position and settings do not change."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        self._relative = _Lru(4)
        self._counts = _Lru(4)

    def relative(self, view: View) -> Float32Array:
        """Return :func:`render_view` for ``view`` (cached, read-only)."""
        cached = self._relative.get(view)
        if cached is None:
            cached = render_view(self.sample, view)
            self._relative.put(view, cached)
        return cached

    def counts(
        self,
        view: View,
        *,
        exposure_ms: float,
        bits: int,
        dtype: np.dtype[Any],
        noise: float = 0.0,
        noise_seed: Optional[Tuple[int, int]] = None,
    ) -> Image:
        """Return the frame in counts (read-only; cached when noiseless)."""
        key = (view, float(exposure_ms), bits, dtype.str)
        if noise <= 0:
            cached = self._counts.get(key)
            if cached is not None:
                return cached
        image = to_counts(
            self.relative(view),
            exposure_ms=exposure_ms,
            bits=bits,
            dtype=dtype,
            noise=noise,
            noise_seed=noise_seed,
        )
        if noise <= 0:
            self._counts.put(key, image)
        else:
            image.flags.writeable = False
        return image

"""A deterministic synthetic sample: fluorescent beads on a coarse textured background.

The sample plane is an infinite grid of *sample pixels* (one unbinned camera pixel each,
``pixel_size_um`` µm wide), addressed by integer ``(u, v)``. It is generated in 256 × 256 tiles:

* beads: each tile draws its own beads from an RNG seeded by ``(seed, tile x, tile y)``; a tile is
  rendered with the beads of its 8 neighbours too, so beads crossing tile borders are whole;
* background: smooth value noise on a 32-pixel lattice (hash of ``(seed, i, j)``), which keeps
  the position recoverable by correlation even when defocus washes out the beads.

Every ``(u, v)`` thus has one fixed value, whatever the order in which tiles are generated, and
any position of the (huge) stage travel can be rendered. Rendered tiles are kept in an LRU cache.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Tuple

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]

TILE = 256
BEAD_SIGMA_PX = 1.3
BEAD_RADIUS_PX = 4
LATTICE_PX = 32
BACKGROUND_LEVEL = 0.04
TEXTURE_LEVEL = 0.12
_CACHE_TILES = 256
_U32 = 0xFFFFFFFF


def _bead_kernel() -> Float32Array:
    x = np.arange(-BEAD_RADIUS_PX, BEAD_RADIUS_PX + 1, dtype=np.float32)
    kernel: Float32Array = np.exp(-(x**2) / np.float32(2 * BEAD_SIGMA_PX**2)).astype(np.float32)
    return kernel


def _hash01(seed: int, i: npt.NDArray[np.int64], j: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Return a value in [0, 1) for each lattice point (splitmix64 over uint64 arrays).

    Arrays only: numpy wraps array integer overflow silently, as a hash needs.
    """
    ii, jj = (np.ascontiguousarray(a, dtype=np.int64).view(np.uint64) for a in np.broadcast_arrays(i, j))
    x = ii * np.uint64(0x9E3779B97F4A7C15)
    x ^= jj * np.uint64(0xC2B2AE3D27D4EB4F)
    x ^= np.full_like(x, seed & 0xFFFFFFFFFFFF) * np.uint64(0x165667B19E3779F9)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    out: npt.NDArray[np.float64] = (x >> np.uint64(11)).astype(np.float64) / float(2**53)
    return out


def _smoothstep(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return t * t * (3.0 - 2.0 * t)


class Sample:
    """The sample seen by the camera; values are relative intensities (~0..1.2)."""

    def __init__(self, seed: int = 1, bead_density_per_px2: float = 0.0008) -> None:
        self.seed = int(seed)
        self.bead_density = float(bead_density_per_px2)
        self._kernel = _bead_kernel()
        self._tiles: OrderedDict[Tuple[int, int], Float32Array] = OrderedDict()
        self._lock = threading.Lock()

    def region(self, u0: int, v0: int, width: int, height: int) -> Float32Array:
        """Return the sample pixels ``[v0, v0+height) × [u0, u0+width)`` as a new float32 array."""
        out = np.empty((height, width), dtype=np.float32)
        for ty in range(v0 // TILE, (v0 + height - 1) // TILE + 1):
            for tx in range(u0 // TILE, (u0 + width - 1) // TILE + 1):
                self._paste(out, u0, v0, tx, ty)
        return out

    def _paste(self, out: Float32Array, u0: int, v0: int, tx: int, ty: int) -> None:
        height, width = out.shape
        tile = self.tile(tx, ty)
        x0, y0 = max(u0, tx * TILE), max(v0, ty * TILE)
        x1, y1 = min(u0 + width, (tx + 1) * TILE), min(v0 + height, (ty + 1) * TILE)
        out[y0 - v0 : y1 - v0, x0 - u0 : x1 - u0] = tile[
            y0 - ty * TILE : y1 - ty * TILE, x0 - tx * TILE : x1 - tx * TILE
        ]

    def tile(self, tx: int, ty: int) -> Float32Array:
        """Return tile ``(tx, ty)`` (read-only, cached)."""
        key = (tx, ty)
        with self._lock:
            cached = self._tiles.get(key)
            if cached is not None:
                self._tiles.move_to_end(key)
                return cached
        tile = self._render_tile(tx, ty)
        tile.flags.writeable = False
        with self._lock:
            self._tiles[key] = tile
            while len(self._tiles) > _CACHE_TILES:
                self._tiles.popitem(last=False)
        return tile

    def beads(self, tx: int, ty: int) -> Tuple[npt.NDArray[np.float64], ...]:
        """Return ``(u, v, amplitude)`` of the beads of tile ``(tx, ty)``, in sample pixels."""
        rng = np.random.default_rng([self.seed & _U32, tx & _U32, ty & _U32, 0x5C09E1])
        count = int(rng.poisson(self.bead_density * TILE * TILE))
        u = tx * TILE + rng.random(count) * TILE
        v = ty * TILE + rng.random(count) * TILE
        amplitude = 0.35 + 0.65 * rng.random(count)
        return u, v, amplitude

    def _render_tile(self, tx: int, ty: int) -> Float32Array:
        return self._bead_layer(tx, ty) + self._texture_layer(tx, ty)

    def _bead_layer(self, tx: int, ty: int) -> Float32Array:
        r = BEAD_RADIUS_PX
        size = TILE + 2 * r
        acc = np.zeros((size, size), dtype=np.float32)
        origin_u, origin_v = tx * TILE - r, ty * TILE - r
        for ny in (ty - 1, ty, ty + 1):
            for nx in (tx - 1, tx, tx + 1):
                u, v, amp = self.beads(nx, ny)
                _splat(acc, u - origin_u, v - origin_v, amp)
        return _convolve_valid(acc, self._kernel)

    def _texture_layer(self, tx: int, ty: int) -> Float32Array:
        u = tx * TILE + np.arange(TILE, dtype=np.int64)
        v = ty * TILE + np.arange(TILE, dtype=np.int64)
        iu, iv = u // LATTICE_PX, v // LATTICE_PX
        fu = _smoothstep((u % LATTICE_PX) / LATTICE_PX)
        fv = _smoothstep((v % LATTICE_PX) / LATTICE_PX)
        gi = np.arange(iu[0], iu[-1] + 2, dtype=np.int64)
        gj = np.arange(iv[0], iv[-1] + 2, dtype=np.int64)
        lattice = _hash01(self.seed, gi[np.newaxis, :], gj[:, np.newaxis])
        ci, cj = iu - gi[0], iv - gj[0]
        top = lattice[np.ix_(cj, ci)] * (1 - fu) + lattice[np.ix_(cj, ci + 1)] * fu
        bottom = lattice[np.ix_(cj + 1, ci)] * (1 - fu) + lattice[np.ix_(cj + 1, ci + 1)] * fu
        field = top * (1 - fv)[:, np.newaxis] + bottom * fv[:, np.newaxis]
        return (BACKGROUND_LEVEL + TEXTURE_LEVEL * field).astype(np.float32)


def _splat(
    acc: Float32Array,
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    amp: npt.NDArray[np.float64],
) -> None:
    """Add point sources at sub-pixel positions by bilinear splatting (points outside dropped)."""
    height, width = acc.shape
    keep = (x >= 0) & (x < width - 1) & (y >= 0) & (y < height - 1)
    x, y, amp = x[keep], y[keep], amp[keep]
    ix, iy = np.floor(x).astype(np.intp), np.floor(y).astype(np.intp)
    fx, fy = x - ix, y - iy
    np.add.at(acc, (iy, ix), amp * (1 - fx) * (1 - fy))
    np.add.at(acc, (iy, ix + 1), amp * fx * (1 - fy))
    np.add.at(acc, (iy + 1, ix), amp * (1 - fx) * fy)
    np.add.at(acc, (iy + 1, ix + 1), amp * fx * fy)


def _convolve_valid(image: Float32Array, kernel: Float32Array) -> Float32Array:
    """Separable 'valid' convolution: the output shrinks by ``len(kernel) - 1`` on each axis."""
    k = len(kernel)
    rows = image.shape[0] - k + 1
    tmp = kernel[0] * image[0:rows, :]
    for i in range(1, k):
        tmp += kernel[i] * image[i : i + rows, :]
    cols = image.shape[1] - k + 1
    out = kernel[0] * tmp[:, 0:cols]
    for i in range(1, k):
        out += kernel[i] * tmp[:, i : i + cols]
    return np.ascontiguousarray(out, dtype=np.float32)


@functools.lru_cache(maxsize=8)
def shared_sample(seed: int, bead_density_per_px2: float) -> Sample:
    """Return the process-wide :class:`Sample` for these parameters (tiles cached once)."""
    return Sample(seed, bead_density_per_px2)

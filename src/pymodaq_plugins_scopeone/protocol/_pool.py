"""Recycled pixel arrays, so each frame is received into memory that is already mapped.

A fresh 8 MiB array costs ~2,000 page faults on first write, several times the copy
itself; recycling the previous frame's array avoids them. An array is handed out again
only when the pool holds the last reference to it (CPython reference counts): a frame
that anybody still uses, even through a view or a memoryview, is never overwritten.
"""

from __future__ import annotations

import math
import sys
from typing import Any, List, Tuple

import numpy as np

POOLED_MIN_BYTES = 1 << 16  # smaller arrays come from malloc's warm free lists anyway
_POOL_ONLY_REFCOUNT = 3  # the pool's list, the loop variable, getrefcount's argument


class ArrayPool:
    """A decoder ``allocate`` hook that recycles arrays nobody holds any more.

    Args:
        max_arrays: how many arrays to keep for reuse (the oldest is forgotten first).
    """

    def __init__(self, max_arrays: int = 4) -> None:
        if max_arrays < 1:
            raise ValueError(f"max_arrays must be at least 1, got {max_arrays}")
        self._max_arrays = max_arrays
        self._arrays: List[np.ndarray] = []
        self.reused = 0
        self.allocated = 0

    def __call__(self, shape: Tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
        """An uninitialised array of ``shape`` and ``dtype``, recycled when possible."""
        if math.prod(shape) * dtype.itemsize < POOLED_MIN_BYTES:  # exact Python ints: no overflow
            return np.empty(shape, dtype)
        for array in self._arrays:
            if array.shape == shape and array.dtype == dtype and sys.getrefcount(array) <= _POOL_ONLY_REFCOUNT:
                self.reused += 1
                return array
        array = np.empty(shape, dtype)
        self.allocated += 1
        self._arrays.append(array)
        if len(self._arrays) > self._max_arrays:
            del self._arrays[0]
        return array

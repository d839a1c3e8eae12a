"""Frames from ScopeOne's shared frame block, copied once and checked for tearing.

The block (reference §3.1–3.2) is ``/dev/shm/<mappingName>`` on Linux and the named file
mapping ``<mappingName>`` on Windows: a 64-byte ``SharedFrameHeader`` (``<IIIIIHHQQiiiiI4x``:
state, width, height, stride, pixelFormat, bitsPerSample, channels, frameIndex, timestampNs,
sourceRoi x/y/width/height/valid) followed by ``stride * height`` pixel bytes.

There is one block for every client and every export overwrites it, so a copy is trusted
only if the header read *after* copying is identical to the one read before, says ``state 2``
and matches the response that announced the frame. Pixels are copied exactly once, straight
from the mapping into the array that will be sent (rows ``stride`` apart → a contiguous
``(height, width)`` array); nothing else touches them. That array comes from an
:class:`~..protocol.ArrayPool`: once a frame has been sent and dropped, its memory receives
the next one (a fresh 8 MiB array would first cost ~2,000 page faults, more than the copy).
"""

from __future__ import annotations

import contextlib
import dataclasses
import mmap
import os
import struct
import sys
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from ..protocol import Allocate, ArrayPool
from ._errors import FrameError, TornFrame

HEADER = struct.Struct("<IIIIIHHQQiiiiI4x")
HEADER_BYTES = 64
MAX_PAYLOAD_BYTES = 16 * 2048 * 2048
STATE_READY = 2
PIXEL_FORMATS: Dict[int, Tuple[str, np.dtype[Any]]] = {
    0: ("Mono8", np.dtype(np.uint8)),
    1: ("Mono16", np.dtype(np.uint16)),
}
SHM_DIR = "/dev/shm"
assert HEADER.size == HEADER_BYTES


@dataclasses.dataclass(frozen=True)
class FrameHeader:
    """The 64-byte header, field for field."""

    state: int
    width: int
    height: int
    stride: int
    pixel_format: int
    bits_per_sample: int
    channels: int
    frame_index: int
    timestamp_ns: int
    roi_x: int
    roi_y: int
    roi_width: int
    roi_height: int
    roi_valid: int

    @classmethod
    def unpack(cls, data: Any) -> FrameHeader:
        return cls(*HEADER.unpack_from(data, 0))

    @property
    def dtype(self) -> np.dtype[Any]:
        return PIXEL_FORMATS[self.pixel_format][1]

    @property
    def roi(self) -> Tuple[int, int, int, int]:
        """(x, y, width, height) of the camera ROI; (0, 0, width, height) if not valid."""
        if self.roi_valid:
            return (self.roi_x, self.roi_y, self.roi_width, self.roi_height)
        return (0, 0, self.width, self.height)

    def validate(self, mapping_size: int) -> None:
        """FrameError naming the field unless the header describes a ready, readable frame."""
        if self.state != STATE_READY:
            raise FrameError(f"frame header state is {self.state}, expected 2 (ready)")
        if self.pixel_format not in PIXEL_FORMATS:
            raise FrameError(f"frame header pixelFormat is {self.pixel_format}, expected 0 (Mono8) or 1 (Mono16)")
        if self.channels != 1:
            raise FrameError(f"frame header channels is {self.channels}, expected 1")
        bits_ok = self.bits_per_sample == 8 if self.pixel_format == 0 else 1 <= self.bits_per_sample <= 16
        if not bits_ok:
            raise FrameError(
                f"frame header bitsPerSample is {self.bits_per_sample}, "
                f"invalid for {PIXEL_FORMATS[self.pixel_format][0]}"
            )
        item = self.dtype.itemsize
        if self.width <= 0 or self.height <= 0:
            raise FrameError(f"frame header size is {self.width}x{self.height}, expected positive width and height")
        if self.stride < self.width * item or self.stride % item:
            raise FrameError(
                f"frame header stride is {self.stride}, expected a multiple of {item} >= {self.width * item}"
            )
        payload = self.stride * self.height
        if payload > MAX_PAYLOAD_BYTES or HEADER_BYTES + payload > mapping_size:
            raise FrameError(f"frame payload of {payload} bytes does not fit the {mapping_size}-byte mapping")


def _meta_int(meta: Dict[str, Any], key: str) -> int:
    value = meta.get(key)
    if isinstance(value, bool):
        raise FrameError(f"frame metadata {key} is {value!r}, expected an integer")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise FrameError(f"frame metadata {key} is {value!r}, expected an integer")


def check_matches(header: FrameHeader, meta: Dict[str, Any]) -> None:
    """FrameError unless the block holds the frame the response ``meta`` announced."""
    expected = {
        "frameIndex": header.frame_index,
        "width": header.width,
        "height": header.height,
        "stride": header.stride,
        "bitsPerSample": header.bits_per_sample,
    }
    for key, actual in expected.items():
        announced = _meta_int(meta, key)
        if announced != actual:
            raise TornFrame(f"the frame block holds {key}={actual}, the response announced {announced}")
    fmt = meta.get("pixelFormat")
    if fmt != PIXEL_FORMATS.get(header.pixel_format, ("?",))[0]:
        raise TornFrame(f"the frame block holds pixelFormat {header.pixel_format}, the response announced {fmt!r}")


Opener = Callable[[str, int], mmap.mmap]


def open_mapping(name: str, size: int, platform: str = sys.platform) -> mmap.mmap:
    """Map ScopeOne's frame block read-only (Linux) or by tag name (Windows)."""
    if not name or "/" in name or "\\" in name or "\0" in name:
        raise FrameError(f"invalid mappingName {name!r}")
    if platform.startswith("win"):  # pragma: no cover - Windows only
        return mmap.mmap(-1, size, tagname=name)  # type: ignore[call-arg,unused-ignore]
    path = os.path.join(SHM_DIR, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise FrameError(f"cannot open the frame block {path}: {error}") from None
    try:
        actual = os.fstat(fd).st_size
        if actual < size:
            raise FrameError(f"frame block {path} is {actual} bytes, the response announced mappingSize {size}")
        return mmap.mmap(fd, size, access=mmap.ACCESS_READ)
    finally:
        os.close(fd)


class FrameBlock:
    """The mapped frame block; reopened when the announced name or size changes."""

    def __init__(self, opener: Opener = open_mapping, allocate: Optional[Allocate] = None) -> None:
        self._opener = opener
        self._allocate: Allocate = allocate or ArrayPool()
        self._mm: Optional[mmap.mmap] = None
        self._key: Optional[Tuple[str, int]] = None

    def _mapping(self, meta: Dict[str, Any]) -> mmap.mmap:
        name = meta.get("mappingName")
        size = _meta_int(meta, "mappingSize")
        if not isinstance(name, str):
            raise FrameError(f"frame metadata mappingName is {name!r}, expected a string")
        if not HEADER_BYTES < size <= HEADER_BYTES + MAX_PAYLOAD_BYTES:
            raise FrameError(f"frame metadata mappingSize is {size}, expected 65..{HEADER_BYTES + MAX_PAYLOAD_BYTES}")
        if self._mm is None or self._key != (name, size):
            self.close()
            self._mm = self._opener(name, size)
            self._key = (name, size)
        return self._mm

    def copy(self, meta: Dict[str, Any]) -> Tuple[np.ndarray, FrameHeader]:
        """Copy the frame ``meta`` announced into a ``(height, width)`` array nobody else holds.

        Raises TornFrame if the block changed under us (retry with a new export) and
        FrameError if the block is invalid.
        """
        mm = self._mapping(meta)
        before = FrameHeader.unpack(mm[:HEADER_BYTES])
        before.validate(len(mm))
        check_matches(before, meta)
        dtype = before.dtype
        out = self._allocate((before.height, before.width), dtype)
        source = np.ndarray(
            (before.height, before.width),
            dtype=dtype,
            buffer=mm,
            offset=HEADER_BYTES,
            strides=(before.stride, dtype.itemsize),
        )
        try:
            np.copyto(out, source, casting="no")
        finally:
            del source  # release the buffer export, so the mapping can be closed
        after = FrameHeader.unpack(mm[:HEADER_BYTES])
        if after != before:
            raise TornFrame(
                f"the frame block changed while it was copied (frameIndex {before.frame_index} -> "
                f"{after.frame_index}, state {after.state}); another client exported a frame"
            )
        return out, before

    def close(self) -> None:
        mm, self._mm, self._key = self._mm, None, None
        if mm is not None:
            with contextlib.suppress(BufferError):  # a view is still alive; the GC unmaps it later
                mm.close()

"""The single shared-memory frame block of the Local API (reference §3.1–3.3).

Layout of ``/dev/shm/<mappingName>`` (67,108,928 bytes, created ``0600``):

| offset | size     | content                                         |
|--------|----------|-------------------------------------------------|
| 0      | 64       | ``SharedFrameHeader``, struct ``<IIIIIHHQQiiiiI4x`` |
| 64     | ≤ 64 MiB | pixels, ``stride * height`` bytes, row-major     |

Header fields (little-endian): ``state`` u32 (1 while writing, 2 ready), ``width`` u32,
``height`` u32, ``stride`` u32 (bytes per row), ``pixelFormat`` u32 (0 Mono8, 1 Mono16),
``bitsPerSample`` u16, ``channels`` u16 (1), ``frameIndex`` u64, ``timestampNs`` u64,
``sourceRoiX/Y/Width/Height`` i32, ``sourceRoiValid`` u32, 4 reserved zero bytes.

Like ScopeOne on Linux the block is ``shm_open(O_CREAT|O_RDWR, 0600)`` + ``ftruncate`` + ``mmap``;
here ``os.open`` on ``/dev/shm`` does exactly that without ``multiprocessing``'s resource tracker.
The file is sparse: pages cost memory only once written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import mmap
import os
import struct
from pathlib import Path
from typing import Optional

import numpy as np
import numpy.typing as npt

HEADER_FORMAT = "<IIIIIHHQQiiiiI4x"
HEADER_STRUCT = struct.Struct(HEADER_FORMAT)
HEADER_BYTES = 64
MAX_PAYLOAD_BYTES = 16 * 2048 * 2048
MAPPING_SIZE = HEADER_BYTES + MAX_PAYLOAD_BYTES
DEFAULT_MAPPING_NAME = "ScopeOne.Api.frame"
SHM_DIR = Path("/dev/shm")

STATE_EMPTY, STATE_WRITING, STATE_READY = 0, 1, 2
MONO8, MONO16 = 0, 1
PIXEL_FORMAT_NAMES = {MONO8: "Mono8", MONO16: "Mono16"}

_log = logging.getLogger(__name__)
assert HEADER_STRUCT.size == HEADER_BYTES  # layout constant, checked once at import


@dataclasses.dataclass(frozen=True)
class FrameHeader:
    """The 64-byte ``SharedFrameHeader`` (sizes in pixels and bytes, time in ns)."""

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

    def pack(self) -> bytes:
        """Return the 64 header bytes."""
        return HEADER_STRUCT.pack(*dataclasses.astuple(self))

    @classmethod
    def unpack(cls, data: bytes) -> FrameHeader:
        """Parse the first 64 bytes of ``data``."""
        return cls(*HEADER_STRUCT.unpack_from(data, 0))

    @property
    def payload_bytes(self) -> int:
        """Pixel bytes that follow the header: ``stride * height``."""
        return self.stride * self.height


def validate_mapping_name(name: str) -> str:
    """Return ``name`` if it is usable as a POSIX shm name without the leading slash."""
    if not name or "/" in name or "\0" in name or len(name) > 250 or name in (".", ".."):
        raise ValueError(f"invalid shared-memory name {name!r}: need 1..250 chars, no '/'")
    return name


class FrameMapping:
    """Owner of the frame block: creates it, writes frames into it, unlinks it on close."""

    def __init__(self, name: str = DEFAULT_MAPPING_NAME, shm_dir: Path = SHM_DIR) -> None:
        self.name = validate_mapping_name(name)
        self.path = shm_dir / name
        self._fd: Optional[int] = None
        self._mm: Optional[mmap.mmap] = None

    def open(self) -> None:
        """Create (or reuse, like ``shm_open`` without ``O_EXCL``) and map the block."""
        if not self.path.parent.is_dir():
            raise OSError(f"{self.path.parent} does not exist: POSIX shared memory is needed")
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            os.ftruncate(fd, MAPPING_SIZE)
            self._mm = mmap.mmap(fd, MAPPING_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._mm is not None

    def write(self, image: npt.NDArray[np.generic], header: FrameHeader) -> FrameHeader:
        """Export ``image`` as ScopeOne does: header (state 1), pixels, header (state 2).

        ``image`` must be a 2-D uint8/uint16 array; rows are written ``header.stride`` apart.
        Returns the header as finally written.
        """
        mm = self._mm
        if mm is None:
            raise RuntimeError("Frame mapping is not available")
        if not 0 < header.payload_bytes <= MAX_PAYLOAD_BYTES:
            raise ValueError("Frame payload is invalid")
        writing = dataclasses.replace(header, state=STATE_WRITING)
        mm[0:HEADER_BYTES] = writing.pack()
        self._copy_pixels(mm, image, header.stride)
        ready = dataclasses.replace(header, state=STATE_READY)
        mm[0:HEADER_BYTES] = ready.pack()
        return ready

    @staticmethod
    def _copy_pixels(mm: mmap.mmap, image: npt.NDArray[np.generic], stride: int) -> None:
        width = image.shape[1]
        item = image.dtype.itemsize
        if stride == width * item:
            dst = np.ndarray(image.shape, dtype=image.dtype, buffer=mm, offset=HEADER_BYTES)
        else:
            dst = np.ndarray(image.shape, dtype=image.dtype, buffer=mm, offset=HEADER_BYTES, strides=(stride, item))
        np.copyto(dst, image, casting="no")
        del dst  # release the buffer export so the mmap can be closed later

    def read_header(self) -> FrameHeader:
        """Return the header currently in the block."""
        if self._mm is None:
            raise RuntimeError("Frame mapping is not available")
        return FrameHeader.unpack(self._mm[0:HEADER_BYTES])

    def close(self, unlink: bool = True) -> None:
        """Unmap, close and (by default) unlink ``/dev/shm/<name>``; safe to call twice."""
        mm, self._mm = self._mm, None
        fd, self._fd = self._fd, None
        if mm is not None:
            try:
                mm.close()
            except BufferError:  # a caller still holds a view; the GC unmaps it later
                _log.warning("frame mapping %s still exported at close", self.name)
        if fd is not None:
            os.close(fd)
            if unlink:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)

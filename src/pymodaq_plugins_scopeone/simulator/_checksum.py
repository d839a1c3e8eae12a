"""Checksum stamp for frames, so corruption anywhere downstream can be detected.

When the checksum fault hook is on, the first 16 pixels of row 0 are overwritten, one byte per
pixel (values 0..255, valid at every bit depth ≥ 8):

| pixels | content                                                            |
|--------|--------------------------------------------------------------------|
| 0..3   | magic ``b"S1CK"``                                                  |
| 4..7   | CRC-32 (zlib) of rows 1..H-1 as little-endian bytes, u32 LE        |
| 8..15  | frame index, u64 LE                                                |

Rows 1.. carry the image untouched; frames narrower than 16 pixels or with one row are not
stamped.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, Optional, Tuple

import numpy as np
import numpy.typing as npt

STAMP_MAGIC = b"S1CK"
STAMP_PIXELS = 16
_STAMP = struct.Struct("<4sIQ")


def _rows_crc(image: npt.NDArray[Any]) -> int:
    body = np.ascontiguousarray(image[1:], dtype=image.dtype.newbyteorder("<"))
    return zlib.crc32(body.data.cast("B")) & 0xFFFFFFFF  # body is C-contiguous


def can_stamp(image: npt.NDArray[Any]) -> bool:
    """True if ``image`` is 2-D, unsigned integer, at least 2 rows and 16 columns."""
    return image.ndim == 2 and image.dtype.kind == "u" and image.shape[0] >= 2 and image.shape[1] >= STAMP_PIXELS


def stamp_checksum(image: npt.NDArray[Any], frame_index: int, crc: Optional[int] = None) -> npt.NDArray[Any]:
    """Return a copy of ``image`` with the stamp in row 0 (``crc`` may be passed if known)."""
    if not can_stamp(image):
        raise ValueError(f"cannot stamp an image of shape {image.shape} and dtype {image.dtype}")
    out = np.array(image, copy=True)
    value = _rows_crc(image) if crc is None else crc
    record = _STAMP.pack(STAMP_MAGIC, value, frame_index & 0xFFFFFFFFFFFFFFFF)
    out[0, :STAMP_PIXELS] = np.frombuffer(record, dtype=np.uint8)
    return out


def rows_checksum(image: npt.NDArray[Any]) -> int:
    """Return the CRC-32 the stamp of ``image`` should hold (rows 1.. as LE bytes)."""
    return _rows_crc(image)


def read_stamp(image: npt.NDArray[Any]) -> Optional[Tuple[int, int]]:
    """Return ``(crc32, frame_index)`` from the stamp, or ``None`` if there is none."""
    if not can_stamp(image):
        return None
    head = np.asarray(image[0, :STAMP_PIXELS])
    if int(head.max()) > 255:
        return None
    magic, crc, index = _STAMP.unpack(head.astype(np.uint8).tobytes())
    if magic != STAMP_MAGIC:
        return None
    return int(crc), int(index)


def verify_frame_checksum(image: npt.NDArray[Any], frame_index: Optional[int] = None) -> bool:
    """True if ``image`` carries a stamp whose CRC matches its pixels (and ``frame_index``, if given)."""
    stamp = read_stamp(image)
    if stamp is None:
        return False
    crc, index = stamp
    if frame_index is not None and index != frame_index:
        return False
    return crc == _rows_crc(image)

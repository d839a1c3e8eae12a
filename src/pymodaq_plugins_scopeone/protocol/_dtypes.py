"""The numpy dtype strings allowed on the wire (``'<u2'``, ``'>f8'``, ``'|b1'`` …).

PyMoDAQ writes ``array.dtype.descr[0][1]``: a byte-order character, a kind letter and an
item size. We accept booleans, signed and unsigned 8–64-bit integers, float32/64 and
complex64/128 in either byte order, and nothing else (no objects, strings or structs,
which ``np.dtype`` would otherwise build from peer input).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

ALLOWED_ITEMSIZES = {
    "b": (1,),
    "i": (1, 2, 4, 8),
    "u": (1, 2, 4, 8),
    "f": (4, 8),
    "c": (8, 16),
}
_BYTE_ORDERS = "<>|"
_ALLOWED_TEXT = "bool, int8-64, uint8-64, float32/64, complex64/128 as '<u2', '>f8', '|b1' …"


def parse_dtype(text: str) -> np.dtype[np.generic] | None:
    """Return the dtype for a wire dtype string, or None when it is not allowed."""
    if len(text) < 3 or text[0] not in _BYTE_ORDERS or not text[2:].isdigit():
        return None
    order, kind, size = text[0], text[1], int(text[2:])
    if size not in ALLOWED_ITEMSIZES.get(kind, ()):
        return None
    if order == "|" and size != 1:
        return None  # '|' means "no byte order", which only 1-byte items may omit
    return np.dtype(text)


def describe_allowed_dtypes() -> str:
    """A short human text listing what :func:`parse_dtype` accepts."""
    return _ALLOWED_TEXT


_WIRE_DTYPES: Dict[np.dtype[Any], Optional[str]] = {}


def wire_dtype(dtype: np.dtype[Any]) -> str | None:
    """Return the wire string of an allowed dtype (as PyMoDAQ writes it), else None."""
    if dtype not in _WIRE_DTYPES:  # dtype.descr is slow: remember the few dtypes we meet
        text: str = dtype.descr[0][1] if dtype.fields is None else ""
        _WIRE_DTYPES[dtype] = text if parse_dtype(text) is not None else None
    return _WIRE_DTYPES[dtype]

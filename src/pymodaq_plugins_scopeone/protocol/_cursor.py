"""Reading runs of header fields from buffered bytes in one go, for the fast path (``_fast.py``).

A :class:`Cursor` reads what the general parser reads, checking what it checks in the
same order; where that one would raise, the cursor gives up (``Bail``), and it asks to
wait (``Short``) only where that one would wait too. Reads take the few shapes a frame's
headers have, with precompiled struct layouts.

Values that change from one frame to the next (timestamps, extra attributes, the
coordinates of axes) are *located* rather than read: the cursor returns a :data:`Getter`
that reads the value from the bytes of any run of the same layout, and notes its bytes
as varying. Everything else a run reads (lengths, tags, names, dtypes, shapes, indexes)
is fixed by its bytes, which a :class:`Layout` keeps to recognise the next run that has
the same ones.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple, TypeVar

import numpy as np

from ._dtypes import ALLOWED_ITEMSIZES, parse_dtype
from ._encode import encoded_str
from ._reader import MAX_NAME_BYTES, Reader, known_dtype, scalar_unpacker

T = TypeVar("T")
Unpack = Callable[[bytearray, int], Tuple[Any, ...]]
Getter = Callable[[bytearray, int], T]
"""Reads a value out of a run's bytes: ``getter(buffer, where the run starts)``."""
FoundAxis = Tuple[str, str, "np.dtype[Any]", Tuple[int, ...], int, int, int]  # quoted: older numpy
"""An axis read by ``Cursor.axes``: label, units, dtype, shape, where its data start in the run, index, spread order."""

MAX_BUFFERED_ARRAY = 1 << 18  # larger arrays (in a tail) go to the general parser, which receives them in place
_unpack_u32 = struct.Struct(">I").unpack_from
_SHAPES = [struct.Struct(f">{ndim}I").unpack_from for ndim in range(17)]  # 16 = Limits().max_ndim
_STRING_TAG, _SCALAR_TAG = encoded_str("string"), encoded_str("scalar")
_AXIS_HEAD = encoded_str("axis") + encoded_str("Axis")  # an axes element's tag, then its class name


def _dtype_heads() -> Tuple[Dict[bytes, np.dtype[Any]], Dict[bytes, Tuple[np.dtype[Any], Optional[Unpack]]]]:
    """The wire bytes of every allowed 3-character dtype string: STR(dtype), and STR(dtype) + U32(itemsize).

    Looking 7 or 11 bytes up replaces four steps of reading a dtype or a scalar's head.
    """
    arrays, scalars = {}, {}
    for order in "<>|":
        for kind, sizes in ALLOWED_ITEMSIZES.items():
            for size in sizes:
                dtype = parse_dtype(f"{order}{kind}{size}")
                if dtype is not None and size < 10:
                    head = encoded_str(f"{order}{kind}{size}")
                    arrays[head] = dtype
                    scalars[head + size.to_bytes(4, "big")] = (dtype, scalar_unpacker(dtype))
    return arrays, scalars


_DTYPE_HEADS, _SCALAR_HEADS = _dtype_heads()


class Bail(Exception):
    """Not a shape handled here, or not a valid one: the general parser decides."""


class Short(Exception):
    """The run is valid so far but the buffer ends before ``end``."""

    def __init__(self, end: int) -> None:
        super().__init__(end)
        self.end = end


class Cursor:
    """A read position in the reader's buffer; the reader itself is only changed by ``_fast._commit``."""

    __slots__ = ("base", "buffer", "depth", "depth_at_start", "limits", "max_string", "origin", "pos", "varying")

    def __init__(self, r: Reader) -> None:
        self.buffer, self.pos, self.depth, self.limits = r.buffer, r.offset, r.depth, r.limits
        self.origin, self.depth_at_start = r.offset, r.depth
        self.max_string = r.limits.max_string_bytes
        self.base = r.consumed - r.offset  # message bytes before buffer position 0
        self.varying: List[Tuple[int, int]] = []  # (start, end) in the buffer, in reading order

    def short(self, end: int) -> NoReturn:
        """Wait for bytes up to ``end``, unless the general parser would refuse the message size first."""
        if self.base + end > self.limits.max_message_bytes:
            raise Bail
        raise Short(end)

    def _vary(self, start: int, size: int) -> int:
        """Note ``size`` bytes at ``start`` as varying; return their position in the run."""
        self.varying.append((start, start + size))
        return start - self.origin

    def _u32(self) -> int:
        pos = self.pos
        if pos + 4 > len(self.buffer):
            self.short(pos + 4)
        self.pos = pos + 4
        value: int = _unpack_u32(self.buffer, pos)[0]
        return value

    def expect(self, encoded: bytes) -> None:
        """The bytes ``encoded`` (a fixed run: tags, class names, list lengths) come next."""
        buffer, pos = self.buffer, self.pos
        if not buffer.startswith(encoded, pos):
            if len(buffer) - pos < len(encoded) and encoded.startswith(buffer[pos:]):
                # One more byte, no more: the run may turn out different (a list of 0, not 1).
                self.short(len(buffer) + 1)
            raise Bail
        self.pos = pos + len(encoded)

    def text(self, max_bytes: int) -> str:
        """A STR of at most ``max_bytes``."""
        buffer, start = self.buffer, self.pos
        if start + 4 > len(buffer):
            self.short(start + 4)
        size = _unpack_u32(buffer, start)[0]
        if size > max_bytes:
            raise Bail
        end = start + 4 + size
        if end > len(buffer):
            self.short(end)
        try:
            text: str = buffer[start + 4 : end].decode("utf-8")
        except UnicodeDecodeError:
            raise Bail from None
        self.pos = end
        return text

    def string(self) -> str:
        return self.text(self.max_string)

    def _dtype(self) -> np.dtype[Any]:
        dtype = _DTYPE_HEADS.get(bytes(self.buffer[self.pos : self.pos + 7]))
        if dtype is not None:
            self.pos += 7
            return dtype
        dtype = known_dtype(self.text(MAX_NAME_BYTES).encode())  # '<c16', an unusual dtype, or short input
        if dtype is None:
            raise Bail
        return dtype

    def scalar_at(self) -> Tuple[np.dtype[Any], Optional[Unpack], int]:
        """Dtype, struct unpacker (None for complex) and value position of the SCAL here, which is passed."""
        buffer, pos = self.buffer, self.pos
        head = _SCALAR_HEADS.get(bytes(buffer[pos : pos + 11]))
        if head is not None:
            (dtype, unpack), start = head, pos + 11
        else:
            dtype = self._dtype()
            if self._u32() != dtype.itemsize:
                raise Bail
            unpack, start = scalar_unpacker(dtype), self.pos
        end = start + dtype.itemsize
        if end > len(buffer):
            self.short(end)
        self.pos = end
        return dtype, unpack, start

    def number(self, kinds: str) -> Any:
        """As ``Reader.number``: a scalar whose dtype kind is one of ``kinds``; part of the layout."""
        dtype, unpack, start = self.scalar_at()
        if dtype.kind not in kinds or unpack is None:
            raise Bail
        return unpack(self.buffer, start)[0]

    def real(self) -> Getter[float]:
        """A real or integer scalar (a timestamp), as a float: located, not read."""
        dtype, unpack, start = self.scalar_at()
        if dtype.kind not in "iuf" or unpack is None:
            raise Bail
        at = self._vary(start, dtype.itemsize)
        return lambda buffer, run: float(unpack(buffer, run + at)[0])

    def value(self) -> Getter[Any]:
        """A tagged value of a kind handled here (a scalar, bool, string, or list of those): located."""
        tag = self.text(MAX_NAME_BYTES)
        if tag == "string":
            text = self.string()
            return lambda buffer, run: text
        if tag == "scalar" or tag == "bool":
            dtype, unpack, start = self.scalar_at()
            if unpack is None:
                raise Bail  # complex: rare in headers
            at, make = self._vary(start, dtype.itemsize), dtype.type
            if tag == "bool":
                return lambda buffer, run: bool(make(unpack(buffer, run + at)[0]))
            return lambda buffer, run: make(unpack(buffer, run + at)[0])
        if tag != "list":
            raise Bail
        count = self.list_length()
        self.depth += 1
        items = tuple(self.value() for _ in range(count))
        self.depth -= 1
        return lambda buffer, run: tuple(item(buffer, run) for item in items)

    def array_header(self) -> Tuple[np.dtype[Any], Tuple[int, ...], int]:
        """Dtype, shape and byte count of the ARR here, checked in ``Reader.array_header``'s order."""
        dtype, limits = self._dtype(), self.limits
        size = self._u32()
        if size > limits.max_array_bytes:
            raise Bail
        ndim = self._u32()
        if ndim > limits.max_ndim or ndim >= len(_SHAPES):
            raise Bail
        start = self.pos
        if start + 4 * ndim > len(self.buffer):
            self.short(start + 4 * ndim)
        shape: Tuple[int, ...] = _SHAPES[ndim](self.buffer, start)
        if math.prod(shape) * dtype.itemsize != size:
            raise Bail
        self.pos = start + 4 * ndim
        return dtype, shape, size

    def _skip_pixels(self, size: int) -> int:
        """Pass the pixels of a small array, located (they are copied after the run); return where they start."""
        start = self.pos
        if size > MAX_BUFFERED_ARRAY:
            raise Bail
        if start + size > len(self.buffer):
            self.short(start + size)
        self.pos = start + size
        return self._vary(start, size)

    def list_length(self) -> int:
        count = self._u32()
        if count > self.limits.max_list_length or self.depth >= self.limits.max_depth:
            raise Bail
        return count

    def strings(self) -> Tuple[str, ...]:
        """A LIST of 'string'-tagged strings."""
        items = []
        for _ in range(self.list_length()):
            self.expect(_STRING_TAG)
            items.append(self.string())
        return tuple(items)

    def ints(self) -> Tuple[int, ...]:
        """A LIST of 'scalar'-tagged integers."""
        items = []
        for _ in range(self.list_length()):
            self.expect(_SCALAR_TAG)
            items.append(int(self.number("iu")))
        return tuple(items)

    def axes(self) -> List[FoundAxis]:
        """A LIST of 'axis'-tagged Axis, whose data are located (not yet copied)."""
        count = self.list_length()
        self.depth += 1
        found: List[FoundAxis] = []
        for _ in range(count):
            self.expect(_AXIS_HEAD)
            label, units = self.string(), self.string()
            dtype, shape, size = self.array_header()
            if len(shape) != 1:
                raise Bail  # Axis refuses it: let the general parser say so
            start = self._skip_pixels(size)
            found.append((label, units, dtype, shape, start, int(self.number("iu")), int(self.number("iu"))))
        self.depth -= 1
        return found


class Layout:
    """A run read before: its fixed bytes, and how to read its values out of a run that has them.

    ``build`` is what the run returned: it reads the varying values (see :class:`Cursor`)
    of any run whose other bytes are these, read under the same limits at the same depth.
    """

    __slots__ = ("build", "constant", "depth", "depth_change", "length", "limits")

    def __init__(self, cursor: Cursor, build: Getter[Any]) -> None:
        constant, at, origin, buffer = [], cursor.origin, cursor.origin, cursor.buffer
        for start, end in [*cursor.varying, (cursor.pos, cursor.pos)]:
            if start > at:
                constant.append((at - origin, bytes(buffer[at:start])))
            at = end
        self.constant: Tuple[Tuple[int, bytes], ...] = tuple(constant)
        self.length, self.build = cursor.pos - origin, build
        self.limits, self.depth = cursor.limits, cursor.depth_at_start
        self.depth_change = cursor.depth - cursor.depth_at_start

    def matches(self, r: Reader) -> bool:
        """True when the run at ``r``'s position is buffered and differs only where it may."""
        buffer, origin = r.buffer, r.offset
        if origin + self.length > len(buffer) or r.limits is not self.limits or r.depth != self.depth:
            return False
        for at, part in self.constant:  # noqa: SIM110  (all() over a generator costs more, once a frame)
            if not buffer.startswith(part, origin + at):
                return False
        return True

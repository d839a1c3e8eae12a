"""Reading runs of header fields from buffered bytes in one go, for the fast path (``_fast.py``).

A :class:`Cursor` reads what the general parser reads, checking what it checks in the
same order; where that one would raise, the cursor gives up (``Bail``), and it asks to
wait (``Short``) only where that one would wait too. Reads take the few shapes a frame's
headers have, with precompiled struct layouts. Its *reads* (``expect``, ``text``,
``list_length``, ``scalar_at``, ``array_header``, ``skip_pixels``) are the only methods
that look at the bytes, except to unpack scalar values; the rest is built on them, which
lets a :class:`Recorder` note a run and a :class:`Replay` read it again (see ``Layout``).
"""

from __future__ import annotations

import math
import struct
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple, Union

import numpy as np

from ._dtypes import ALLOWED_ITEMSIZES, parse_dtype
from ._encode import encoded_str
from ._reader import MAX_NAME_BYTES, Reader, known_dtype, scalar_unpacker

Unpack = Callable[[bytearray, int], Tuple[Any, ...]]
FoundAxis = Tuple[str, str, "np.dtype[Any]", Tuple[int, ...], int, int, int]  # quoted: older numpy
"""An axis read by ``Cursor.axes``: label, units, dtype, shape, where its data start, index, spread order."""

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
    """A read position in the reader's buffer; the reader is only changed by :meth:`commit`."""

    __slots__ = ("base", "buffer", "depth", "limits", "max_string", "origin", "pos")

    def __init__(self, r: Reader) -> None:
        self.buffer, self.pos, self.depth, self.limits = r.buffer, r.offset, r.depth, r.limits
        self.origin = r.offset
        self.max_string = r.limits.max_string_bytes
        self.base = r.consumed - r.offset  # message bytes before buffer position 0

    def short(self, end: int) -> NoReturn:
        """Wait for bytes up to ``end``, unless the general parser would refuse the message size first."""
        if self.base + end > self.limits.max_message_bytes:
            raise Bail
        raise Short(end)

    def commit(self, r: Reader, pixels: int = 0) -> None:
        if self.base + self.pos + pixels > self.limits.max_message_bytes:
            raise Bail  # the general parser names the field that crosses the limit
        r.consumed, r.offset, r.depth = self.base + self.pos, self.pos, self.depth

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

    def _text(self, max_bytes: int) -> str:
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

    text = _text  # the read; ``_dtype`` uses ``_text``, which no Recorder or Replay redefines

    def string(self) -> str:
        return self.text(self.max_string)

    def _dtype(self) -> np.dtype[Any]:
        dtype = _DTYPE_HEADS.get(bytes(self.buffer[self.pos : self.pos + 7]))
        if dtype is not None:
            self.pos += 7
            return dtype
        dtype = known_dtype(self._text(MAX_NAME_BYTES).encode())  # '<c16', an unusual dtype, or short input
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

    def number(self, kinds: str) -> Union[int, float]:
        """As ``Reader.number``: a scalar whose dtype kind is one of ``kinds``."""
        dtype, unpack, start = self.scalar_at()
        if dtype.kind not in kinds or unpack is None:
            raise Bail
        value: Union[int, float] = unpack(self.buffer, start)[0]
        return value

    def scalar(self) -> np.generic:
        dtype, unpack, start = self.scalar_at()
        if unpack is None:
            raise Bail  # complex: rare in headers
        value: np.generic = dtype.type(unpack(self.buffer, start)[0])
        return value

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

    def skip_pixels(self, size: int) -> int:
        """Pass the pixels of a small array; return where they start (they are copied on commit)."""
        start = self.pos
        if size > MAX_BUFFERED_ARRAY:
            raise Bail
        if start + size > len(self.buffer):
            self.short(start + size)
        self.pos = start + size
        return start

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

    def value(self) -> Any:
        """A tagged value of a kind handled here: a scalar, bool, string, or list of those."""
        tag = self.text(MAX_NAME_BYTES)
        if tag == "scalar":
            return self.scalar()
        if tag == "string":
            return self.string()
        if tag == "bool":
            return bool(self.scalar())
        if tag != "list":
            raise Bail
        count = self.list_length()
        self.depth += 1
        items = tuple(self.value() for _ in range(count))
        self.depth -= 1
        return items

    def axes(self) -> List[FoundAxis]:
        """A LIST of 'axis'-tagged Axis, whose data are passed (not yet copied)."""
        count = self.list_length()
        self.depth += 1
        found: List[FoundAxis] = []
        for _ in range(count):
            self.expect(_AXIS_HEAD)
            label, units = self.string(), self.string()
            dtype, shape, size = self.array_header()
            if len(shape) != 1:
                raise Bail  # Axis refuses it: let the general parser say so
            start = self.skip_pixels(size)
            found.append((label, units, dtype, shape, start, int(self.number("iu")), int(self.number("iu"))))
        self.depth -= 1
        return found


class Layout:
    """Where the bytes of a run read before may differ from a run to the next, and what its reads returned.

    The bytes that may differ are the scalar values and the pixels of small arrays;
    everything else (lengths, tags, strings, dtypes, shapes) decides the path of the
    reads. When all those other bytes are the same, a :class:`Replay` reads the run
    again by returning what the reads returned then, the scalar values being unpacked
    from the new bytes: what a new read would return, without its work.
    """

    __slots__ = ("constant", "depth", "length", "limits", "notes")

    def __init__(self, recorder: Recorder) -> None:
        constant, at, origin, buffer = [], recorder.origin, recorder.origin, recorder.buffer
        for start, end in [*recorder.varying, (recorder.pos, recorder.pos)]:
            if start > at:
                constant.append((at - origin, bytes(buffer[at:start])))
            at = end
        self.constant: Tuple[Tuple[int, bytes], ...] = tuple(constant)
        self.length, self.notes = recorder.pos - origin, tuple(recorder.notes)
        self.limits, self.depth = recorder.limits, recorder.depth_at_start

    def matches(self, r: Reader) -> bool:
        """True when the run at ``r``'s position is buffered and differs only where it may."""
        buffer, origin = r.buffer, r.offset
        if origin + self.length > len(buffer) or r.limits is not self.limits or r.depth != self.depth:
            return False
        return all(buffer.startswith(part, origin + at) for at, part in self.constant)


class Recorder(Cursor):
    """A cursor that notes what its reads return, and which bytes may differ next time."""

    __slots__ = ("depth_at_start", "notes", "varying")

    def __init__(self, r: Reader) -> None:
        super().__init__(r)
        self.depth_at_start = r.depth
        self.notes: List[Any] = []  # positions relative to the run's start
        self.varying: List[Tuple[int, int]] = []

    def text(self, max_bytes: int) -> str:
        self.notes.append(super().text(max_bytes))
        return self.notes[-1]  # type: ignore[no-any-return]

    def list_length(self) -> int:
        self.notes.append(super().list_length())
        return self.notes[-1]  # type: ignore[no-any-return]

    def array_header(self) -> Tuple[np.dtype[Any], Tuple[int, ...], int]:
        self.notes.append(super().array_header())
        return self.notes[-1]  # type: ignore[no-any-return]

    def scalar_at(self) -> Tuple[np.dtype[Any], Optional[Unpack], int]:
        dtype, unpack, start = super().scalar_at()
        self.notes.append((dtype, unpack, start - self.origin))
        self.varying.append((start, start + dtype.itemsize))
        return dtype, unpack, start

    def skip_pixels(self, size: int) -> int:
        start = super().skip_pixels(size)
        self.notes.append(start - self.origin)
        self.varying.append((start, start + size))
        return start


class Replay(Cursor):
    """A cursor over a run that matches a :class:`Layout`: its reads return what they returned then."""

    __slots__ = ("next", "notes")

    def __init__(self, r: Reader, layout: Layout) -> None:
        super().__init__(r)
        self.pos = r.offset + layout.length
        self.notes, self.next = layout.notes, 0

    def _take(self, *_same_as_then: Any) -> Any:
        self.next += 1
        return self.notes[self.next - 1]

    def expect(self, encoded: bytes) -> None:
        pass  # part of the bytes the layout matched

    text = _take  # type: ignore[assignment]  # each read returns its note: its arguments were the same then
    list_length = _take
    array_header = _take

    def scalar_at(self) -> Tuple[np.dtype[Any], Optional[Unpack], int]:
        dtype, unpack, start = self._take()
        return dtype, unpack, self.origin + start

    def skip_pixels(self, size: int) -> int:
        return self.origin + self._take()  # type: ignore[no-any-return]

"""Atomic primitives over a growing input buffer: the bottom layer of decoding.

Each primitive (``u32``, ``string``, ``scalar``, ``array_header`` …) either consumes a
whole wire item or raises :class:`NeedMore` and consumes nothing; ``Reader.atomic`` does
the same for a block of them. Sizes are checked against :class:`Limits` as soon as they
are read, before waiting for or allocating anything. :func:`get` turns a primitive into a
parser step that yields ``Need(n)`` only when the input runs short.
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING, Any, Callable, Dict, Generator, List, Optional, Tuple, TypeVar, Union

import numpy as np

from ._dtypes import describe_allowed_dtypes, parse_dtype
from ._errors import LimitExceededError, LocalProtocolError, RemoteProtocolError
from ._limits import Limits
from ._messages import Sender

if TYPE_CHECKING:  # both import this module
    from ._cursor import Layout
    from ._lane import KnownFrame

T = TypeVar("T")
MAX_NAME_BYTES = 64  # dtype strings, tags and class names
_unpack_u32 = struct.Struct(">I").unpack_from
_DTYPES_SEEN: Dict[bytes, np.dtype[Any]] = {}  # wire dtype text → dtype, for the few allowed ones
_STRUCT_CODES = {"b1": "?", "i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
_STRUCT_CODES.update({"f4": "f", "f8": "d"})
_UNPACKERS: Dict[np.dtype[Any], Optional[Callable[[bytearray, int], Tuple[Any, ...]]]] = {}


def known_dtype(key: bytes) -> Optional[np.dtype[Any]]:
    """The dtype of a wire dtype string (its UTF-8 bytes), or None when it is not allowed."""
    dtype = _DTYPES_SEEN.get(key)
    if dtype is None:
        dtype = parse_dtype(key.decode("ascii", "replace"))
        if dtype is not None:
            _DTYPES_SEEN[key] = dtype
    return dtype


def scalar_unpacker(dtype: np.dtype[Any]) -> Optional[Callable[[bytearray, int], Tuple[Any, ...]]]:
    """A struct unpacker giving the Python value of a scalar of ``dtype`` (None for complex)."""
    if dtype not in _UNPACKERS:
        code = _STRUCT_CODES.get(f"{dtype.kind}{dtype.itemsize}")
        order = ">" if dtype.byteorder == ">" else "<"
        _UNPACKERS[dtype] = struct.Struct(order + code).unpack_from if code else None
    return _UNPACKERS[dtype]


class NeedMore(Exception):
    """Raised by a primitive that lacks input: ``size`` bytes must be buffered to go on."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class Need:
    """Request: resume me once at least ``size`` bytes are buffered.

    ``expect`` is a hint, not a condition: how many bytes the parser is likely to read at
    once from here (a run of headers as long as the last one). A decoder given that many
    already buffers them together, rather than in small pieces it would be resumed for.
    """

    __slots__ = ("expect", "size")

    def __init__(self, size: int, expect: int = 0) -> None:
        self.size = size
        self.expect = expect


class ReadInto:
    """Request: fill ``view`` (the bytes of a preallocated array) with the next bytes."""

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view


Request = Union[Need, ReadInto]
Parser = Generator[Request, None, T]
Allocate = Callable[[Tuple[int, ...], "np.dtype[Any]"], np.ndarray]
"""Returns an uninitialised array of the given shape and dtype for received pixels."""


class Reader:
    """The input buffer of a stream, and atomic primitives that consume it.

    The driving decoder appends input to ``buffer`` and may drop the consumed prefix
    between parser steps (primitives keep no position across a yield); ``consumed`` and
    ``depth`` count for the current message only (see :meth:`start_message`).
    """

    def __init__(self, limits: Limits, sender: Optional[Sender], allocate: Optional[Allocate] = None) -> None:
        self.limits = limits
        self.sender = sender
        self.allocate: Allocate = allocate or np.empty
        self.buffer = bytearray()
        self.offset = 0
        self.consumed = 0
        self.depth = 0
        self.layouts_read: List[Layout] = []  # the fast path's layouts of the current message, in reading order
        self.known_frame: Optional[KnownFrame] = None  # the last frame message's layouts (``_lane.py``)

    def start_message(self) -> None:
        self.consumed = 0
        self.depth = 0
        self.layouts_read = []

    @property
    def available(self) -> int:
        return len(self.buffer) - self.offset

    def compact(self) -> None:
        """Drop consumed input, once it is worth the copy of what remains."""
        if self.offset >= 1 << 16 and self.offset * 2 >= len(self.buffer):
            del self.buffer[: self.offset]
            self.offset = 0

    def _check_size(self, end: int, field: str, pixels: int = 0) -> None:
        total = self.consumed + end - self.offset + pixels
        if total > self.limits.max_message_bytes:
            raise LimitExceededError(
                f"message would reach {total} bytes, over max_message_bytes={self.limits.max_message_bytes}", field
            )

    def _u32_at(self, position: int) -> int:
        if len(self.buffer) < position + 4:  # checked first: a struct.error costs more than the whole read
            raise NeedMore(position + 4 - self.offset)
        value: int = _unpack_u32(self.buffer, position)[0]
        return value

    def u32(self, field: str) -> int:
        value = self._u32_at(self.offset)
        self._check_size(self.offset + 4, field)
        self.consumed += 4
        self.offset += 4
        return value

    def _text_end(self, position: int, field: str, max_bytes: int, limit_name: str) -> int:
        """End of the STR/BYTES starting at ``position``; raises on a bad length or NeedMore."""
        size = self._u32_at(position)
        if size > max_bytes:
            raise LimitExceededError(f"length {size} exceeds {limit_name}={max_bytes}", field)
        end = position + 4 + size
        if self.consumed + end - self.offset > self.limits.max_message_bytes:
            self._check_size(end, field)
        if len(self.buffer) < end:
            raise NeedMore(end - self.offset)
        return end

    def raw_bytes(self, field: str, max_bytes: int = 0, limit_name: str = "max_string_bytes") -> bytes:
        start = self.offset
        end = self._text_end(start, field, max_bytes or self.limits.max_string_bytes, limit_name)
        self.consumed += end - start
        self.offset = end
        return bytes(self.buffer[start + 4 : end])

    def string(self, field: str, max_bytes: int = 0) -> str:
        # The hottest primitive (a dozen per frame message): _text_end's steps, inlined.
        buffer, start = self.buffer, self.offset
        if len(buffer) < start + 4:
            raise NeedMore(4)
        size: int = _unpack_u32(buffer, start)[0]
        limit = max_bytes or self.limits.max_string_bytes
        if size > limit:
            raise LimitExceededError(f"length {size} exceeds max_string_bytes={limit}", field)
        end = start + 4 + size
        if self.consumed + 4 + size > self.limits.max_message_bytes:
            self._check_size(end, field)
        if len(buffer) < end:
            raise NeedMore(end - start)
        try:
            text = buffer[start + 4 : end].decode("utf-8")
        except UnicodeDecodeError as error:
            raise RemoteProtocolError(
                f"string is not valid UTF-8 ({error.reason} at byte {error.start})", field
            ) from None
        self.consumed += end - start
        self.offset = end
        return text

    def _dtype_at(self, position: int, field: str) -> Tuple[np.dtype[Any], int]:
        end = self._text_end(position, f"{field}.dtype", MAX_NAME_BYTES, "the dtype length limit")
        key = bytes(self.buffer[position + 4 : end])
        dtype = known_dtype(key)
        if dtype is None:
            raise RemoteProtocolError(
                f"dtype {key.decode('ascii', 'replace')!r} is not allowed; expected {describe_allowed_dtypes()}",
                f"{field}.dtype",
            )
        return dtype, end

    def _scalar_at(self, field: str) -> Tuple[np.dtype[Any], int, int]:
        """Dtype, payload start and end of the SCAL at the offset (checked, not consumed)."""
        dtype, position = self._dtype_at(self.offset, field)
        size = self._u32_at(position)
        if size != dtype.itemsize:
            raise RemoteProtocolError(
                f"scalar byte count {size} does not match dtype {dtype.str!r} ({dtype.itemsize} bytes)", field
            )
        end = position + 4 + size
        self._check_size(end, field)
        if len(self.buffer) < end:
            raise NeedMore(end - self.offset)
        return dtype, position + 4, end

    def scalar(self, field: str) -> np.generic:
        """A scalar as a numpy scalar of its wire dtype."""
        dtype, start, end = self._scalar_at(field)
        unpack = scalar_unpacker(dtype)
        if unpack is None:
            value: np.generic = np.frombuffer(self.buffer, dtype=dtype, count=1, offset=start)[0]
        else:
            value = dtype.type(unpack(self.buffer, start)[0])
        self.consumed += end - self.offset
        self.offset = end
        return value

    def number(self, field: str, kinds: str) -> Union[int, float]:
        """A scalar whose dtype kind is one of ``kinds`` ('i', 'u', 'f'), as a Python number."""
        dtype, start, end = self._scalar_at(field)
        unpack = scalar_unpacker(dtype)
        if dtype.kind not in kinds or unpack is None:
            expected = "an integer" if "f" not in kinds else "a real number"
            raise RemoteProtocolError(f"expected {expected} scalar, got dtype {dtype.str!r}", field)
        value: Union[int, float] = unpack(self.buffer, start)[0]
        self.consumed += end - self.offset
        self.offset = end
        return value

    def atomic(self, read: Callable[..., T], *args: Any) -> T:
        """Run a block of primitives as one: all consumed, or none (on NeedMore).

        Parsers read runs of fields this way, so that they leave their generator stack
        only between blocks and for array payloads, not at every field.
        """
        start, consumed = self.offset, self.consumed
        try:
            return read(*args)
        except NeedMore as need:
            needed = need.size + self.offset - start  # need.size counts from where it stopped
            self.offset, self.consumed = start, consumed
            raise NeedMore(needed) from None

    def tag(self, field: str, expected: str) -> None:
        """A list element's type tag, which must be ``expected``."""
        found = self.string(f"{field}.tag", MAX_NAME_BYTES)
        if found != expected:
            raise RemoteProtocolError(f"expected tag {expected!r}, got {found!r}", field)

    def class_name(self, field: str, allowed: Tuple[str, ...]) -> str:
        name = self.string(f"{field}.class_name", MAX_NAME_BYTES)
        if name not in allowed:
            raise RemoteProtocolError(f"expected class {' or '.join(repr(a) for a in allowed)}, got {name!r}", field)
        return name

    def list_length(self, field: str) -> int:
        count = self.u32(f"{field} length")
        if count > self.limits.max_list_length:
            raise LimitExceededError(f"{count} elements exceed max_list_length={self.limits.max_list_length}", field)
        if self.depth + 1 > self.limits.max_depth:
            raise LimitExceededError(f"nesting deeper than max_depth={self.limits.max_depth}", field)
        return count

    def string_list(self, field: str) -> Tuple[str, ...]:
        """A LIST of 'string'-tagged strings."""
        items = []
        for position in range(self.list_length(field)):
            self.tag(f"{field}[{position}]", "string")
            items.append(self.string(f"{field}[{position}]"))
        return tuple(items)

    def int_list(self, field: str) -> Tuple[int, ...]:
        """A LIST of 'scalar'-tagged integers."""
        items = []
        for position in range(self.list_length(field)):
            self.tag(f"{field}[{position}]", "scalar")
            items.append(int(self.number(f"{field}[{position}]", "iu")))
        return tuple(items)

    def strings(self, field: str, names: Tuple[str, ...]) -> Tuple[str, ...]:
        """Consecutive strings, all or none."""
        return self.atomic(lambda: tuple(self.string(f"{field}.{name}") for name in names))

    def array_header(self, field: str) -> Tuple[np.dtype[Any], Tuple[int, ...]]:
        dtype, position = self._dtype_at(self.offset, field)
        size = self._u32_at(position)
        if size > self.limits.max_array_bytes:
            raise LimitExceededError(
                f"array of {size} bytes exceeds max_array_bytes={self.limits.max_array_bytes}", field
            )
        ndim = self._u32_at(position + 4)
        if ndim > self.limits.max_ndim:
            raise LimitExceededError(f"{ndim} dimensions exceed max_ndim={self.limits.max_ndim}", field)
        end = position + 8 + 4 * ndim
        shape = tuple(self._u32_at(at) for at in range(position + 8, end, 4))
        expected = math.prod(shape) * dtype.itemsize
        if expected != size:
            raise RemoteProtocolError(
                f"array byte count {size} does not match shape {shape} of {dtype.str!r} ({expected} bytes)", field
            )
        self._check_size(end, field, pixels=size)
        self.consumed += end - self.offset
        self.offset = end
        return dtype, shape

    def new_array(self, field: str, dtype: np.dtype[Any], shape: Tuple[int, ...]) -> np.ndarray:
        """An array to receive pixels into, from the ``allocate`` hook (whose mistakes are ours)."""
        array = self.allocate(shape, dtype)
        if array.shape != shape or array.dtype != dtype:
            raise LocalProtocolError(f"allocate() returned {array.dtype} {array.shape}, not {dtype} {shape}", field)
        return array

    def peek_u32(self) -> int:
        return self._u32_at(self.offset)

    def peek(self, size: int) -> bytes:
        if len(self.buffer) < self.offset + size:
            raise NeedMore(size)
        return bytes(self.buffer[self.offset : self.offset + size])

    def take_into(self, view: memoryview) -> int:
        """Copy buffered bytes to the start of ``view``; return how many."""
        count = min(len(view), len(self.buffer) - self.offset)
        with memoryview(self.buffer) as buffered:  # released at once: the buffer must stay resizable
            view[:count] = buffered[self.offset : self.offset + count]
        self.offset += count
        self.consumed += count
        return count


def build(field: str, cls: Callable[..., T], **fields: Any) -> T:
    """Construct a value; its own validation errors are the peer's fault here."""
    try:
        return cls(**fields)
    except LocalProtocolError as error:
        raise RemoteProtocolError(f"{field}: {error}") from None


def get(primitive: Callable[..., T], *args: Any) -> Parser[T]:
    """Run an atomic primitive, waiting for input as long as it lacks some."""
    while True:
        try:
            return primitive(*args)
        except NeedMore as need:
            size = need.size
        yield Need(size)  # outside the except block: a suspended handler would pin the exception

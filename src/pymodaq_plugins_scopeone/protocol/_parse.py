"""Bytes → values and messages, as generators that never touch a socket.

Two layers:

- ``Reader`` primitives (``u32``, ``string``, ``scalar``, ``array_header``) are plain
  functions over the buffered input. Each is atomic: it either consumes a whole
  primitive or raises :class:`NeedMore` and consumes nothing. Sizes are checked against
  :class:`Limits` as soon as they are read, before waiting for or allocating anything.
- Object and message parsers are generators that call the primitives through
  :func:`get`, which yields ``Need(n)`` only when the input runs short. When the input
  is there (the usual case), a whole message parses without leaving its stack.

Pixels are requested with ``ReadInto`` on a freshly allocated array of the announced
dtype and shape, so a socket can ``recv_into`` them with no further copy. The wire
layout is given in ``_encode.py``.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Callable, Dict, Generator, Optional, Tuple, TypeVar, Union

import numpy as np

from ._dtypes import describe_allowed_dtypes, parse_dtype
from ._errors import LimitExceededError, LocalProtocolError, ProtocolError, RemoteProtocolError
from ._limits import Limits
from ._messages import (
    COMMAND_SENDERS,
    SEND_DATA_DIMS,
    SEND_DATA_PREFIX,
    ClientType,
    DataReady,
    GetActuatorValue,
    Hello,
    Info,
    Infos,
    InfoXml,
    LegacyAxis,
    Message,
    MoveAbs,
    MoveDone,
    MoveHome,
    MoveRel,
    PositionIs,
    Quit,
    SendData,
    Sender,
    SetInfo,
    StopMotion,
)
from ._values import DWA_CLASS_NAMES, Axis, DataActuator, DataToExport, DataWithAxes, ParameterWithPath, Position

T = TypeVar("T")
MAX_COMMAND_BYTES = 64  # longer than any command: a longer "command" is garbage, not worth reading
MAX_NAME_BYTES = 64  # dtype strings, tags and class names
_DTE_HEADER = len("DataToExport").to_bytes(4, "big") + b"DataToExport"
_unpack_u32 = struct.Struct(">I").unpack_from
_DTYPES_SEEN: Dict[bytes, np.dtype[Any]] = {}  # wire dtype text → dtype, for the few allowed ones
_STRUCT_CODES = {"b1": "?", "i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}
_STRUCT_CODES.update({"f4": "f", "f8": "d"})
_UNPACKERS: Dict[np.dtype[Any], Optional[Callable[[bytearray, int], Tuple[Any, ...]]]] = {}


def _scalar_unpacker(dtype: np.dtype[Any]) -> Optional[Callable[[bytearray, int], Tuple[Any, ...]]]:
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
    """Request: resume me once at least ``size`` bytes are buffered."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


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

    def start_message(self) -> None:
        self.consumed = 0
        self.depth = 0

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
        try:
            value: int = _unpack_u32(self.buffer, position)[0]
        except struct.error:
            raise NeedMore(position + 4 - self.offset) from None
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
        start = self.offset
        end = self._text_end(start, field, max_bytes or self.limits.max_string_bytes, "max_string_bytes")
        try:
            text = self.buffer[start + 4 : end].decode("utf-8")
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
        dtype = _DTYPES_SEEN.get(key)
        if dtype is None:
            text = key.decode("ascii", "replace")
            dtype = parse_dtype(text)
            if dtype is None:
                raise RemoteProtocolError(
                    f"dtype {text!r} is not allowed; expected {describe_allowed_dtypes()}", f"{field}.dtype"
                )
            _DTYPES_SEEN[key] = dtype
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
        unpack = _scalar_unpacker(dtype)
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
        unpack = _scalar_unpacker(dtype)
        if dtype.kind not in kinds or unpack is None:
            expected = "an integer" if "f" not in kinds else "a real number"
            raise RemoteProtocolError(f"expected {expected} scalar, got dtype {dtype.str!r}", field)
        value: Union[int, float] = unpack(self.buffer, start)[0]
        self.consumed += end - self.offset
        self.offset = end
        return value

    def strings(self, field: str, names: Tuple[str, ...]) -> Tuple[str, ...]:
        """Consecutive strings, all or none (fewer round trips through the parsers)."""
        start, consumed = self.offset, self.consumed
        try:
            return tuple(self.string(f"{field}.{name}") for name in names)
        except NeedMore as need:
            needed = need.size + self.offset - start  # need.size counts from where it stopped
            self.offset, self.consumed = start, consumed
            raise NeedMore(needed) from None
        except ProtocolError:
            self.offset, self.consumed = start, consumed
            raise

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


def get(primitive: Callable[..., T], *args: Any) -> Parser[T]:
    """Run an atomic primitive, waiting for input as long as it lacks some."""
    while True:
        try:
            return primitive(*args)
        except NeedMore as need:
            size = need.size
        yield Need(size)  # outside the except block: a suspended handler would pin the exception


def read_str(r: Reader, field: str) -> Parser[str]:
    return (yield from get(r.string, field))


def read_bytes(r: Reader, field: str) -> Parser[bytes]:
    return (yield from get(r.raw_bytes, field))


def read_scalar(r: Reader, field: str) -> Parser[np.generic]:
    return (yield from get(r.scalar, field))


def read_bool(r: Reader, field: str) -> Parser[bool]:
    return bool((yield from get(r.scalar, field)))


def read_int(r: Reader, field: str) -> Parser[int]:
    return int((yield from get(r.number, field, "iu")))


def read_real(r: Reader, field: str) -> Parser[float]:
    return float((yield from get(r.number, field, "iuf")))


def read_array(r: Reader, field: str) -> Parser[np.ndarray]:
    dtype, shape = yield from get(r.array_header, field)
    array = r.allocate(shape, dtype)
    if array.shape != shape or array.dtype != dtype:
        raise LocalProtocolError(f"allocate() returned {array.dtype} {array.shape}, not {dtype} {shape}", field)
    if array.nbytes:
        view = array.reshape(-1).view(np.uint8).data
        copied = r.take_into(view)
        if copied < len(view):
            yield ReadInto(view[copied:])
    return array


def read_list(r: Reader, field: str, tag: Optional[str] = None) -> Parser[Tuple[Any, ...]]:
    """A LIST; with ``tag``, every element must carry that tag."""
    count = yield from get(r.u32, f"{field} length")
    if count > r.limits.max_list_length:
        raise LimitExceededError(f"{count} elements exceed max_list_length={r.limits.max_list_length}", field)
    r.depth += 1
    if r.depth > r.limits.max_depth:
        raise LimitExceededError(f"nesting deeper than max_depth={r.limits.max_depth}", field)
    items = []
    for position in range(count):
        items.append((yield from read_tagged(r, f"{field}[{position}]", tag)))
    r.depth -= 1
    return tuple(items)


def read_tagged(r: Reader, field: str, expected_tag: Optional[str] = None) -> Parser[Any]:
    tag = yield from get(r.string, f"{field}.tag", MAX_NAME_BYTES)
    if expected_tag is not None and tag != expected_tag:
        raise RemoteProtocolError(f"expected tag {expected_tag!r}, got {tag!r}", field)
    parse = TAGGED_PARSERS.get(tag)
    if parse is None:
        raise RemoteProtocolError(f"unknown type tag {tag!r}; expected one of {', '.join(TAGGED_PARSERS)}", field)
    return (yield from parse(r, field))


def read_class_name(r: Reader, field: str, allowed: Tuple[str, ...]) -> Parser[str]:
    name = yield from get(r.string, f"{field}.class_name", MAX_NAME_BYTES)
    if name not in allowed:
        raise RemoteProtocolError(f"expected class {' or '.join(repr(a) for a in allowed)}, got {name!r}", field)
    return name


def read_axis(r: Reader, field: str) -> Parser[Axis]:
    yield from read_class_name(r, field, ("Axis",))
    label, units = yield from get(r.strings, field, ("label", "units"))
    data = yield from read_array(r, f"{field}.data")
    index = yield from read_int(r, f"{field}.index")
    spread_order = yield from read_int(r, f"{field}.spread_order")
    return _build(field, Axis, label=label, units=units, data=data, index=index, spread_order=spread_order)


def read_dwa(r: Reader, field: str, allowed: Tuple[str, ...] = DWA_CLASS_NAMES) -> Parser[DataWithAxes]:
    class_name = yield from read_class_name(r, field, allowed)
    fields: Dict[str, Any] = {"timestamp": (yield from read_real(r, f"{field}.timestamp"))}
    names = ("name", "units", "source", "dim", "distribution")
    fields.update(zip(names, (yield from get(r.strings, field, names))))
    fields["data"] = yield from read_list(r, f"{field}.data", "array")
    fields["labels"] = yield from read_list(r, f"{field}.labels", "string")
    fields["origin"] = yield from get(r.string, f"{field}.origin")
    fields["nav_indexes"] = yield from read_list(r, f"{field}.nav_indexes", "scalar")
    fields["axes"] = yield from read_list(r, f"{field}.axes", "axis")
    fields["errors"] = yield from read_list(r, f"{field}.errors", "array")
    names = yield from read_list(r, f"{field}.extra_attributes", "string")
    extras: Dict[str, Any] = {}
    for name in names:
        if name in extras:
            raise RemoteProtocolError(f"extra attribute {name!r} is listed twice", f"{field}.extra_attributes")
        extras[name] = yield from read_tagged(r, f"{field}.{name}")
    fields["extra_attributes"] = extras
    if class_name == "DataActuator":
        return _build(field, DataActuator, **fields)
    return _build(field, DataWithAxes, class_name=class_name, **fields)


def read_dte(r: Reader, field: str) -> Parser[DataToExport]:
    yield from read_class_name(r, field, ("DataToExport",))
    timestamp = yield from read_real(r, f"{field}.timestamp")
    name = yield from get(r.string, f"{field}.name")
    data = yield from read_list(r, f"{field}.data", "dwa")
    return _build(field, DataToExport, name=name, data=data, timestamp=timestamp)


def read_parameter(r: Reader, field: str) -> Parser[ParameterWithPath]:
    path = yield from read_list(r, f"{field}.path", "string")
    xml = yield from get(r.string, f"{field}.xml")
    return _build(field, ParameterWithPath, path=path, xml=xml)


def _build(field: str, cls: Callable[..., T], **fields: Any) -> T:
    """Construct a value; its own validation errors are the peer's fault here."""
    try:
        return cls(**fields)
    except LocalProtocolError as error:
        raise RemoteProtocolError(f"{field}: {error}") from None


TAGGED_PARSERS: Dict[str, Callable[[Reader, str], Parser[Any]]] = {
    "scalar": read_scalar,
    "bool": read_bool,
    "string": read_str,
    "bytes": read_bytes,
    "array": read_array,
    "list": read_list,
    "axis": read_axis,
    "dwa": read_dwa,
    "dte": read_dte,
    "parameter": read_parameter,
}
"""How each list tag's value is read; at top level the same parsers read untagged values."""


def read_position(r: Reader, field: str) -> Parser[Position]:
    """A DataActuator (4.1–4.4) or a bare scalar (2.x–4.0), told apart by the first string.

    A dtype string is 3 or 4 characters long ('<f8', '<c16'); a DWA class name never is.
    """
    if (yield from get(r.peek_u32)) in (3, 4):
        return (yield from read_real(r, field))
    position = yield from read_dwa(r, field, ("DataActuator",))
    if not isinstance(position, DataActuator):  # read_dwa builds a DataActuator for that class
        raise RemoteProtocolError(f"expected a DataActuator, got a {position.class_name}", field)
    return position


def read_done_payload(r: Reader, field: str) -> Parser[Union[DataToExport, Tuple[Any, ...]]]:
    """A DataToExport (4.1–4.4) or a typed list (2.x–4.0), told apart by the first 16 bytes.

    A legacy list of 12 elements starts with U32(12) too, but then with a tag, never with
    'DataToExport'; a list shorter than 12 elements is recognised from its first 4 bytes.
    """
    if (yield from get(r.peek_u32)) == len("DataToExport") and (
        yield from get(r.peek, len(_DTE_HEADER))
    ) == _DTE_HEADER:
        return (yield from read_dte(r, field))
    return (yield from read_list(r, field))


def read_message(r: Reader) -> Parser[Message]:
    """One message: the command string, then the payload that command carries."""
    command = yield from get(r.string, "command", MAX_COMMAND_BYTES)
    sender = COMMAND_SENDERS.get(command)
    if sender is None:
        raise RemoteProtocolError(
            f"unknown command {command!r}; expected one of {', '.join(sorted(COMMAND_SENDERS))}", "command"
        )
    if r.sender is not None and sender is not r.sender:
        raise RemoteProtocolError(f"{command!r} is sent by a {sender.value}, not by a {r.sender.value}", "command")
    return (yield from _PAYLOAD_PARSERS[command](r, command))


def _no_payload(factory: Callable[[str], Message]) -> Callable[[Reader, str], Parser[Message]]:
    def parse(r: Reader, command: str) -> Parser[Message]:
        yield from ()  # a parser that asks for no byte
        return factory(command)

    return parse


def _position_payload(cls: Callable[[Position], Message]) -> Callable[[Reader, str], Parser[Message]]:
    def parse(r: Reader, command: str) -> Parser[Message]:
        return cls((yield from read_position(r, f"{command}.position")))

    return parse


def _path_xml_payload(cls: Callable[[Tuple[str, ...], str], Message]) -> Callable[[Reader, str], Parser[Message]]:
    def parse(r: Reader, command: str) -> Parser[Message]:
        path = yield from read_list(r, f"{command}.path", "string")
        return cls(path, (yield from get(r.string, f"{command}.xml")))

    return parse


def _infos(r: Reader, command: str) -> Parser[Message]:
    return Infos((yield from get(r.string, f"{command}.xml")))


def _info(r: Reader, command: str) -> Parser[Message]:
    name = yield from get(r.string, f"{command}.name")
    return Info(name, (yield from get(r.string, f"{command}.value")))


def _done(r: Reader, command: str) -> Parser[Message]:
    return DataReady((yield from read_done_payload(r, f"{command}.data")))


def _legacy_axis(r: Reader, command: str) -> Parser[Message]:
    data = yield from read_array(r, f"{command}.data")
    label = yield from get(r.string, f"{command}.label")
    units = yield from get(r.string, f"{command}.units")
    return _build(command, LegacyAxis, axis=command[0], data=data, label=label, units=units)


_PAYLOAD_PARSERS: Dict[str, Callable[[Reader, str], Parser[Message]]] = {
    **{t.value: _no_payload(lambda command: Hello(ClientType(command))) for t in ClientType},
    **{
        SEND_DATA_PREFIX + dim: _no_payload(lambda command: SendData(command[len(SEND_DATA_PREFIX) :]))
        for dim in SEND_DATA_DIMS
    },
    "move_abs": _position_payload(MoveAbs),
    "move_rel": _position_payload(MoveRel),
    "position_is": _position_payload(PositionIs),
    "move_done": _position_payload(MoveDone),
    "move_home": _no_payload(lambda command: MoveHome()),
    "stop_motion": _no_payload(lambda command: StopMotion()),
    "Quit": _no_payload(lambda command: Quit()),
    "get_actuator_value": _no_payload(lambda command: GetActuatorValue()),
    "check_position": _no_payload(lambda command: GetActuatorValue(legacy_name=True)),
    "set_info": _path_xml_payload(SetInfo),
    "Info_xml": _path_xml_payload(InfoXml),
    "Infos": _infos,
    "Info": _info,
    "Done": _done,
    "x_axis": _legacy_axis,
    "y_axis": _legacy_axis,
}

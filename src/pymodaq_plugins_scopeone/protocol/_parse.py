"""Bytes → values and messages, written as generators that never touch a socket.

Each parser is a generator that *yields requests* (``Read(n)``, ``Peek(n)``,
``ReadInto(view)``) and receives the bytes it asked for; the incremental driver in
``_decoder.py`` answers them from whatever input has arrived. Pixels are requested with
``ReadInto`` on a freshly allocated array of the announced dtype and shape, so a socket
can ``recv_into`` them with no further copy. Every size is checked against
:class:`Limits` before anything is allocated. The wire layout is given in ``_encode.py``.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Generator, List, Optional, Tuple, TypeVar, Union

import numpy as np

from ._dtypes import describe_allowed_dtypes, parse_dtype
from ._errors import LimitExceededError, LocalProtocolError, RemoteProtocolError
from ._limits import Limits
from ._messages import (
    COMMAND_SENDERS,
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
_DTE_HEADER = len("DataToExport").to_bytes(4, "big") + b"DataToExport"


class Read:
    """Request: the next ``size`` bytes, consumed."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class Peek:
    """Request: the next ``size`` bytes, left in place."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class ReadInto:
    """Request: fill ``view`` (the bytes of a preallocated array) with the next bytes."""

    __slots__ = ("view",)

    def __init__(self, view: memoryview) -> None:
        self.view = view


Request = Union[Read, Peek, ReadInto]
Parser = Generator[Request, Optional[bytes], T]


class Context:
    """What one message's parsers share: the limits and the bytes announced so far."""

    def __init__(self, limits: Limits, sender: Optional[Sender] = None) -> None:
        self.limits = limits
        self.sender = sender
        self.announced = 0
        self.depth = 0

    def reserve(self, size: int, field: str) -> None:
        self.announced += size
        if self.announced > self.limits.max_message_bytes:
            raise LimitExceededError(
                f"message would reach {self.announced} bytes, over max_message_bytes={self.limits.max_message_bytes}",
                field,
            )


def read(ctx: Context, size: int, field: str) -> Parser[bytes]:
    ctx.reserve(size, field)
    data = yield Read(size)
    return bytes(data or b"")


def read_u32(ctx: Context, field: str) -> Parser[int]:
    data = yield from read(ctx, 4, field)
    return int.from_bytes(data, "big")


def read_str(ctx: Context, field: str, max_bytes: Optional[int] = None) -> Parser[str]:
    data = yield from read_bytes(ctx, field, max_bytes or ctx.limits.max_string_bytes, "max_string_bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RemoteProtocolError(f"string is not valid UTF-8 ({error.reason} at byte {error.start})", field) from None


def read_bytes(
    ctx: Context, field: str, max_bytes: Optional[int] = None, limit_name: str = "max_string_bytes"
) -> Parser[bytes]:
    size = yield from read_u32(ctx, f"{field} length")
    limit = max_bytes or ctx.limits.max_string_bytes
    if size > limit:
        raise LimitExceededError(f"length {size} exceeds {limit_name}={limit}", field)
    return (yield from read(ctx, size, field))


def read_dtype(ctx: Context, field: str) -> Parser[np.dtype[Any]]:
    text = yield from read_str(ctx, f"{field}.dtype", max_bytes=16)
    dtype = parse_dtype(text)
    if dtype is None:
        raise RemoteProtocolError(
            f"dtype {text!r} is not allowed; expected {describe_allowed_dtypes()}", f"{field}.dtype"
        )
    return dtype


def read_scalar(ctx: Context, field: str) -> Parser[np.generic]:
    dtype = yield from read_dtype(ctx, field)
    size = yield from read_u32(ctx, f"{field}.nbytes")
    if size != dtype.itemsize:
        raise RemoteProtocolError(
            f"scalar byte count {size} does not match dtype {dtype.str!r} ({dtype.itemsize} bytes)", field
        )
    data = yield from read(ctx, size, field)
    value: np.generic = np.frombuffer(data, dtype=dtype)[0]
    return value


def read_int(ctx: Context, field: str) -> Parser[int]:
    value = yield from read_scalar(ctx, field)
    if not isinstance(value, np.integer):
        raise RemoteProtocolError(f"expected an integer scalar, got dtype {value.dtype.str!r}", field)
    return int(value)


def read_real(ctx: Context, field: str) -> Parser[float]:
    value = yield from read_scalar(ctx, field)
    if not isinstance(value, (np.integer, np.floating)):
        raise RemoteProtocolError(f"expected a real number, got dtype {value.dtype.str!r}", field)
    return float(value)


def read_array(ctx: Context, field: str) -> Parser[np.ndarray]:
    dtype = yield from read_dtype(ctx, field)
    size = yield from read_u32(ctx, f"{field}.nbytes")
    if size > ctx.limits.max_array_bytes:
        raise LimitExceededError(f"array of {size} bytes exceeds max_array_bytes={ctx.limits.max_array_bytes}", field)
    ndim = yield from read_u32(ctx, f"{field}.ndim")
    if ndim > ctx.limits.max_ndim:
        raise LimitExceededError(f"{ndim} dimensions exceed max_ndim={ctx.limits.max_ndim}", field)
    shape: List[int] = []
    for _ in range(ndim):
        shape.append((yield from read_u32(ctx, f"{field}.shape")))
    expected = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected != size:
        raise RemoteProtocolError(
            f"array byte count {size} does not match shape {tuple(shape)} of {dtype.str!r} ({expected} bytes)", field
        )
    ctx.reserve(size, field)
    array = np.empty(tuple(shape), dtype=dtype)
    if size:
        yield ReadInto(array.reshape(-1).view(np.uint8).data)
    return array


def read_list(ctx: Context, field: str, tag: Optional[str] = None) -> Parser[Tuple[Any, ...]]:
    """A LIST; with ``tag``, every element must carry that tag."""
    count = yield from read_u32(ctx, f"{field} length")
    if count > ctx.limits.max_list_length:
        raise LimitExceededError(f"{count} elements exceed max_list_length={ctx.limits.max_list_length}", field)
    ctx.depth += 1
    if ctx.depth > ctx.limits.max_depth:
        raise LimitExceededError(f"nesting deeper than max_depth={ctx.limits.max_depth}", field)
    items = []
    for position in range(count):
        items.append((yield from read_tagged(ctx, f"{field}[{position}]", tag)))
    ctx.depth -= 1
    return tuple(items)


def read_tagged(ctx: Context, field: str, expected_tag: Optional[str] = None) -> Parser[Any]:
    tag = yield from read_str(ctx, f"{field}.tag", max_bytes=16)
    if expected_tag is not None and tag != expected_tag:
        raise RemoteProtocolError(f"expected tag {expected_tag!r}, got {tag!r}", field)
    parse = TAGGED_PARSERS.get(tag)
    if parse is None:
        raise RemoteProtocolError(f"unknown type tag {tag!r}; expected one of {', '.join(TAGGED_PARSERS)}", field)
    return (yield from parse(ctx, field))


def read_bool(ctx: Context, field: str) -> Parser[bool]:
    value = yield from read_scalar(ctx, field)
    return bool(value)


def read_class_name(ctx: Context, field: str, allowed: Tuple[str, ...]) -> Parser[str]:
    name = yield from read_str(ctx, f"{field}.class_name", max_bytes=64)
    if name not in allowed:
        raise RemoteProtocolError(f"expected class {' or '.join(repr(a) for a in allowed)}, got {name!r}", field)
    return name


def read_axis(ctx: Context, field: str) -> Parser[Axis]:
    yield from read_class_name(ctx, field, ("Axis",))
    label = yield from read_str(ctx, f"{field}.label")
    units = yield from read_str(ctx, f"{field}.units")
    data = yield from read_array(ctx, f"{field}.data")
    index = yield from read_int(ctx, f"{field}.index")
    spread_order = yield from read_int(ctx, f"{field}.spread_order")
    return _build(field, Axis, label=label, units=units, data=data, index=index, spread_order=spread_order)


def read_dwa(ctx: Context, field: str, allowed: Tuple[str, ...] = ()) -> Parser[DataWithAxes]:
    class_name = yield from read_class_name(ctx, field, allowed or DWA_CLASS_NAMES)
    fields: Dict[str, Any] = {"timestamp": (yield from read_real(ctx, f"{field}.timestamp"))}
    for name in ("name", "units", "source", "dim", "distribution"):
        fields[name] = yield from read_str(ctx, f"{field}.{name}")
    fields["data"] = yield from read_list(ctx, f"{field}.data", "array")
    fields["labels"] = yield from read_list(ctx, f"{field}.labels", "string")
    fields["origin"] = yield from read_str(ctx, f"{field}.origin")
    fields["nav_indexes"] = yield from read_list(ctx, f"{field}.nav_indexes", "scalar")
    fields["axes"] = yield from read_list(ctx, f"{field}.axes", "axis")
    fields["errors"] = yield from read_list(ctx, f"{field}.errors", "array")
    names = yield from read_list(ctx, f"{field}.extra_attributes", "string")
    extras: Dict[str, Any] = {}
    for name in names:
        if name in extras:
            raise RemoteProtocolError(f"extra attribute {name!r} is listed twice", f"{field}.extra_attributes")
        extras[name] = yield from read_tagged(ctx, f"{field}.{name}")
    fields["extra_attributes"] = extras
    if class_name == "DataActuator":
        return _build(field, DataActuator, **fields)
    return _build(field, DataWithAxes, class_name=class_name, **fields)


def read_dte(ctx: Context, field: str) -> Parser[DataToExport]:
    yield from read_class_name(ctx, field, ("DataToExport",))
    timestamp = yield from read_real(ctx, f"{field}.timestamp")
    name = yield from read_str(ctx, f"{field}.name")
    data = yield from read_list(ctx, f"{field}.data", "dwa")
    return _build(field, DataToExport, name=name, data=data, timestamp=timestamp)


def read_parameter(ctx: Context, field: str) -> Parser[ParameterWithPath]:
    path = yield from read_list(ctx, f"{field}.path", "string")
    xml = yield from read_str(ctx, f"{field}.xml")
    return _build(field, ParameterWithPath, path=path, xml=xml)


def _build(field: str, cls: Callable[..., T], **fields: Any) -> T:
    """Construct a value; its own validation errors are the peer's fault here."""
    try:
        return cls(**fields)
    except LocalProtocolError as error:
        raise RemoteProtocolError(f"{field}: {error}") from None


TAGGED_PARSERS: Dict[str, Callable[[Context, str], Parser[Any]]] = {
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


def read_position(ctx: Context, field: str) -> Parser[Position]:
    """A DataActuator (4.1–4.4) or a bare scalar (2.x–4.0), told apart by the first string.

    A dtype string is 3 or 4 characters long ('<f8', '<c16'); a DWA class name never is.
    """
    head = yield Peek(4)
    if int.from_bytes(head or b"", "big") in (3, 4):
        return (yield from read_real(ctx, field))
    position = yield from read_dwa(ctx, field, ("DataActuator",))
    if not isinstance(position, DataActuator):  # read_dwa builds a DataActuator for that class
        raise RemoteProtocolError(f"expected a DataActuator, got a {position.class_name}", field)
    return position


def read_done_payload(ctx: Context, field: str) -> Parser[Union[DataToExport, Tuple[Any, ...]]]:
    """A DataToExport (4.1–4.4) or a typed list (2.x–4.0), told apart by the first 16 bytes.

    A legacy list of 12 elements starts with U32(12) too, but then with a tag, never with
    'DataToExport'; a list shorter than 12 elements is recognised from its first 4 bytes.
    """
    head = yield Peek(4)
    if int.from_bytes(head or b"", "big") == len("DataToExport"):
        head = yield Peek(len(_DTE_HEADER))
        if head == _DTE_HEADER:
            return (yield from read_dte(ctx, field))
    return (yield from read_list(ctx, field))


def read_message(ctx: Context) -> Parser[Message]:
    """One message: the command string, then the payload that command carries."""
    command = yield from read_str(ctx, "command", max_bytes=MAX_COMMAND_BYTES)
    sender = COMMAND_SENDERS.get(command)
    if sender is None:
        raise RemoteProtocolError(
            f"unknown command {command!r}; expected one of {', '.join(sorted(COMMAND_SENDERS))}", "command"
        )
    if ctx.sender is not None and sender is not ctx.sender:
        raise RemoteProtocolError(f"{command!r} is sent by a {sender.value}, not by a {ctx.sender.value}", "command")
    return (yield from _PAYLOAD_PARSERS[command](ctx, command))


def _no_payload(factory: Callable[[str], Message]) -> Callable[[Context, str], Parser[Message]]:
    def parse(ctx: Context, command: str) -> Parser[Message]:
        yield from ()  # a parser that asks for no byte
        return factory(command)

    return parse


def _position_payload(cls: Callable[[Position], Message]) -> Callable[[Context, str], Parser[Message]]:
    def parse(ctx: Context, command: str) -> Parser[Message]:
        return cls((yield from read_position(ctx, f"{command}.position")))

    return parse


def _path_xml_payload(cls: Callable[[Tuple[str, ...], str], Message]) -> Callable[[Context, str], Parser[Message]]:
    def parse(ctx: Context, command: str) -> Parser[Message]:
        path = yield from read_list(ctx, f"{command}.path", "string")
        return cls(path, (yield from read_str(ctx, f"{command}.xml")))

    return parse


def _infos(ctx: Context, command: str) -> Parser[Message]:
    return Infos((yield from read_str(ctx, f"{command}.xml")))


def _info(ctx: Context, command: str) -> Parser[Message]:
    name = yield from read_str(ctx, f"{command}.name")
    return Info(name, (yield from read_str(ctx, f"{command}.value")))


def _done(ctx: Context, command: str) -> Parser[Message]:
    return DataReady((yield from read_done_payload(ctx, f"{command}.data")))


def _legacy_axis(ctx: Context, command: str) -> Parser[Message]:
    data = yield from read_array(ctx, f"{command}.data")
    label = yield from read_str(ctx, f"{command}.label")
    units = yield from read_str(ctx, f"{command}.units")
    return _build(command, LegacyAxis, axis=command[0], data=data, label=label, units=units)


_PAYLOAD_PARSERS: Dict[str, Callable[[Context, str], Parser[Message]]] = {
    **{t.value: _no_payload(lambda command: Hello(ClientType(command))) for t in ClientType},
    **{
        SEND_DATA_PREFIX + dim: _no_payload(lambda command: SendData(command[len(SEND_DATA_PREFIX) :]))
        for dim in ("0D", "1D", "2D", "ND")
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

"""Bytes → protocol messages: the command string, then the payload that command carries.

The payloads of ``Done`` and of positions come in two layouts, PyMoDAQ 4.1–4.4 objects
or 2.x–4.0 bare lists and scalars, told apart here by their first bytes.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Union

from . import _fast
from ._errors import RemoteProtocolError
from ._fast import attempt, dte_head
from ._lane import known_frame, wait_for_run
from ._messages import (
    COMMAND_SENDERS,
    SEND_DATA_DIMS,
    SEND_DATA_PREFIX,
    AuthChallenge,
    AuthResponse,
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
    SetInfo,
    StopMotion,
)
from ._parse import read_array, read_dwa, read_frame, read_general_dte, read_known_frame, read_list, read_real
from ._reader import Need, NeedMore, Parser, Reader, build, get
from ._values import DataActuator, DataToExport, Position

MAX_COMMAND_BYTES = 64  # longer than any command: a longer "command" is garbage, not worth reading
_DTE_HEADER = len("DataToExport").to_bytes(4, "big") + b"DataToExport"


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
    A camera frame's DataToExport is recognised by the fast path reading its head.
    """
    head = yield from attempt(r, dte_head)
    if head is not None:
        frame = yield from read_frame(r, field, head)
        r.known_frame = known_frame(r)
        return frame
    if (yield from get(r.peek_u32)) == len("DataToExport") and (
        yield from get(r.peek, len(_DTE_HEADER))
    ) == _DTE_HEADER:
        return (yield from read_general_dte(r, field))
    return (yield from read_list(r, field))


def read_message(r: Reader) -> Parser[Message]:
    """One message: the command string, then the payload that command carries; or, when its
    bytes start as the last frame message's did, that frame message's way (``_lane.py``)."""
    frame = r.known_frame
    if (
        frame is not None
        and frame.limits is r.limits
        and _fast.ENABLED
        and (yield from wait_for_run(r, frame.head_parts, frame.head_length))
    ):
        data = yield from read_known_frame(r, frame)
        if r.layouts_read[-1] is not frame.tail:  # its tail was another: keep what was read instead
            r.known_frame = known_frame(r)
        return DataReady(data)
    if not r.available:
        yield Need(4)  # between messages: what ``get`` would ask for, without raising NeedMore first
    try:
        command: Optional[str] = r.string("command", MAX_COMMAND_BYTES)  # usually buffered: no generator for it
    except NeedMore:
        command = None
    if command is None:  # waiting outside the except block, as ``get`` does
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
    return build(command, LegacyAxis, axis=command[0], data=data, label=label, units=units)


def _auth_challenge(r: Reader, command: str) -> Parser[Message]:
    nonce = yield from get(r.string, f"{command}.nonce", MAX_COMMAND_BYTES * 2)
    return build(command, AuthChallenge, nonce=nonce)


def _auth_response(r: Reader, command: str) -> Parser[Message]:
    digest = yield from get(r.string, f"{command}.digest", MAX_COMMAND_BYTES * 2)
    return build(command, AuthResponse, digest=digest)


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
    "auth_challenge": _auth_challenge,
    "auth_response": _auth_response,
}

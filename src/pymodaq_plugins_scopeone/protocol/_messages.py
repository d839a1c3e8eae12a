"""The command vocabulary of PyMoDAQ's classic TCP/IP protocol, one typed message each.

Every message is a command string followed by the payload the command implies
(``pymodaq/utils/tcp_ip/tcp_server_client.py`` @4.4.x). The *server* is the PyMoDAQ
plugin; the *client* is the remote program that owns the hardware (our agent).

==================  ==========  =========================================================
command             sent by     payload after the command string
==================  ==========  =========================================================
GRABBER, ACTUATOR   client      none (first message: the client type)
Infos               client      STR(xml of the client's settings)
Info_xml            client      LIST(path) + STR(xml of one parameter)
Info                client      STR(name) + STR(value)
Done                client      DataToExport (4.1–4.4) or LIST of arrays (2.x–4.0)
position_is         client      DataActuator (4.1–4.4) or SCAL (2.x–4.0)
move_done           client      DataActuator (4.1–4.4) or SCAL (2.x–4.0)
Quit                client      none
x_axis, y_axis      client      ARR(data) + STR(label) + STR(units) (2.x–3.x only)
Send Data 0D…ND     server      none
move_abs, move_rel  server      DataActuator (4.1–4.4) or SCAL (2.x–4.0)
move_home           server      none
get_actuator_value  server      none (``check_position`` up to 3.6.2 and in 4.4's docs)
stop_motion         server      none
set_info            server      LIST(path) + STR(xml of one parameter)
auth_challenge      server      STR(nonce, hex) — this package's extension, see _auth.py
auth_response       client      STR(HMAC-SHA256, hex) — this package's extension
==================  ==========  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Dict, Tuple, Union

import numpy as np

from ._errors import LocalProtocolError
from ._values import DataActuator, DataToExport, Position, WireValue, check_array


class Sender(Enum):
    """Which end of a connection sends a command."""

    SERVER = "server"  # the PyMoDAQ plugin
    CLIENT = "client"  # the program next to the hardware


class ClientType(Enum):
    """What a client announces itself as, in its first message."""

    GRABBER = "GRABBER"
    ACTUATOR = "ACTUATOR"


SEND_DATA_DIMS = ("0D", "1D", "2D", "ND")
SEND_DATA_PREFIX = "Send Data "


def _check_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise LocalProtocolError(f"expected a str, got {type(value).__name__} {value!r}", name)


def _check_path(path: object, name: str) -> Tuple[str, ...]:
    if not isinstance(path, (tuple, list)):
        raise LocalProtocolError(f"expected a tuple of str, got {type(path).__name__}", name)
    for position, part in enumerate(path):
        _check_text(part, f"{name}[{position}]")
    return tuple(path)


def _check_position(position: object, name: str) -> None:
    if isinstance(position, DataActuator):
        return
    if isinstance(position, bool) or not isinstance(position, (int, float, np.integer, np.floating)):
        raise LocalProtocolError(
            f"expected a DataActuator or a float, got {type(position).__name__} {position!r}", name
        )


@dataclass(frozen=True, eq=False)
class Hello(WireValue):
    """``GRABBER`` / ``ACTUATOR``: a client's first message, announcing its type."""

    client_type: ClientType

    def __post_init__(self) -> None:
        if not isinstance(self.client_type, ClientType):
            raise LocalProtocolError(f"expected a ClientType, got {self.client_type!r}", "Hello.client_type")

    @property
    def command(self) -> str:
        return self.client_type.value


@dataclass(frozen=True, eq=False)
class SendData(WireValue):
    """``Send Data 2D`` (or 0D, 1D, ND): the server asks a grabber for one acquisition."""

    dim: str = "2D"

    def __post_init__(self) -> None:
        if self.dim not in SEND_DATA_DIMS:
            raise LocalProtocolError(f"expected one of {', '.join(SEND_DATA_DIMS)}, got {self.dim!r}", "SendData.dim")

    @property
    def command(self) -> str:
        return SEND_DATA_PREFIX + self.dim


@dataclass(frozen=True, eq=False)
class _PositionMessage(WireValue):
    position: Position

    def __post_init__(self) -> None:
        _check_position(self.position, f"{type(self).__name__}.position")


class MoveAbs(_PositionMessage):
    """``move_abs``: move the actuator to ``position`` (in the actuator's units)."""

    command = "move_abs"


class MoveRel(_PositionMessage):
    """``move_rel``: move the actuator by ``position`` (in the actuator's units)."""

    command = "move_rel"


class PositionIs(_PositionMessage):
    """``position_is``: the actuator's current position, answering a value request."""

    command = "position_is"


class MoveDone(_PositionMessage):
    """``move_done``: a move (or homing) finished at ``position``."""

    command = "move_done"


@dataclass(frozen=True, eq=False)
class _EmptyMessage(WireValue):
    pass


class MoveHome(_EmptyMessage):
    """``move_home``: home the actuator."""

    command = "move_home"


class StopMotion(_EmptyMessage):
    """``stop_motion``: stop the running move (PyMoDAQ 4.4's own client ignores it)."""

    command = "stop_motion"


class Quit(_EmptyMessage):
    """``Quit``: the client is about to close the connection."""

    command = "Quit"


@dataclass(frozen=True, eq=False)
class GetActuatorValue(WireValue):
    """``get_actuator_value`` (or the older ``check_position``): ask for ``position_is``."""

    legacy_name: bool = False

    @property
    def command(self) -> str:
        return "check_position" if self.legacy_name else "get_actuator_value"


@dataclass(frozen=True, eq=False)
class _PathXmlMessage(WireValue):
    path: Tuple[str, ...]
    xml: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", _check_path(self.path, f"{type(self).__name__}.path"))
        _check_text(self.xml, f"{type(self).__name__}.xml")


class SetInfo(_PathXmlMessage):
    """``set_info``: the server changed one client setting; ``xml`` holds the parameter."""

    command = "set_info"


class InfoXml(_PathXmlMessage):
    """``Info_xml``: the client reports one of its settings (after a change or a ``set_info``)."""

    command = "Info_xml"


@dataclass(frozen=True, eq=False)
class Infos(WireValue):
    """``Infos``: the client's whole settings tree as PyMoDAQ parameter XML."""

    xml: str

    def __post_init__(self) -> None:
        _check_text(self.xml, "Infos.xml")

    command = "Infos"


@dataclass(frozen=True, eq=False)
class Info(WireValue):
    """``Info``: a named status string for the server to display."""

    name: str
    value: str

    def __post_init__(self) -> None:
        _check_text(self.name, "Info.name")
        _check_text(self.value, "Info.value")

    command = "Info"


@dataclass(frozen=True, eq=False)
class DataReady(WireValue):
    """``Done``: the acquisition answering ``Send Data``.

    ``data`` is a DataToExport (PyMoDAQ 4.1–4.4) or, from 2.x–4.0 clients, a tuple of
    values (in practice the arrays of the first DataFromPlugins).
    """

    data: Union[DataToExport, Tuple[object, ...]]

    def __post_init__(self) -> None:
        if isinstance(self.data, list):
            object.__setattr__(self, "data", tuple(self.data))
        if not isinstance(self.data, (DataToExport, tuple)):
            raise LocalProtocolError(
                f"expected a DataToExport or a tuple (legacy), got {type(self.data).__name__}", "DataReady.data"
            )

    command = "Done"


@dataclass(frozen=True, eq=False)
class LegacyAxis(WireValue):
    """``x_axis`` / ``y_axis`` from a 2.x–3.x client: axis values with label and units."""

    axis: str
    data: np.ndarray
    label: str = ""
    units: str = ""

    def __post_init__(self) -> None:
        if self.axis not in ("x", "y"):
            raise LocalProtocolError(f"expected 'x' or 'y', got {self.axis!r}", "LegacyAxis.axis")
        check_array(self.data, "LegacyAxis.data")
        _check_text(self.label, "LegacyAxis.label")
        _check_text(self.units, "LegacyAxis.units")

    @property
    def command(self) -> str:
        return f"{self.axis}_axis"


def _check_hex(value: object, name: str, size: int) -> None:
    if not isinstance(value, str) or len(value) != size or value.strip("0123456789abcdef"):
        raise LocalProtocolError(f"expected {size} lowercase hex digits, got {value!r}", name)


@dataclass(frozen=True, eq=False)
class AuthChallenge(WireValue):
    """``auth_challenge``: the server's one-time nonce, when it requires a shared secret."""

    nonce: str

    def __post_init__(self) -> None:
        _check_hex(self.nonce, "AuthChallenge.nonce", AUTH_HEX_DIGITS)

    command = "auth_challenge"


@dataclass(frozen=True, eq=False)
class AuthResponse(WireValue):
    """``auth_response``: the client's HMAC-SHA256 of the challenge (see ``_auth.py``)."""

    digest: str

    def __post_init__(self) -> None:
        _check_hex(self.digest, "AuthResponse.digest", AUTH_HEX_DIGITS)

    command = "auth_response"


AUTH_HEX_DIGITS = 64  # 32 bytes: the nonce's size and SHA-256's

Message = Union[
    Hello,
    SendData,
    MoveAbs,
    MoveRel,
    MoveHome,
    GetActuatorValue,
    StopMotion,
    SetInfo,
    Infos,
    InfoXml,
    Info,
    DataReady,
    PositionIs,
    MoveDone,
    Quit,
    LegacyAxis,
    AuthChallenge,
    AuthResponse,
]

COMMAND_SENDERS: Dict[str, Sender] = {
    **{client_type.value: Sender.CLIENT for client_type in ClientType},
    **{name: Sender.CLIENT for name in ("Infos", "Info_xml", "Info", "Done", "position_is", "move_done", "Quit")},
    **{name: Sender.CLIENT for name in ("x_axis", "y_axis", "auth_response")},
    "auth_challenge": Sender.SERVER,
    **{SEND_DATA_PREFIX + dim: Sender.SERVER for dim in SEND_DATA_DIMS},
    **{
        name: Sender.SERVER
        for name in (
            "move_abs",
            "move_rel",
            "move_home",
            "get_actuator_value",
            "check_position",
            "stop_motion",
            "set_info",
        )
    },
}
"""Every command of the vocabulary and who sends it."""

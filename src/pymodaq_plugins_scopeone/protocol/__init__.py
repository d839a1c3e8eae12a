"""A sans-IO codec for PyMoDAQ's classic TCP/IP protocol (PyMoDAQ 4.4 layout, 2.x–4.0 accepted).

Bytes in, typed messages out, and back; no sockets, Qt or PyMoDAQ here, only the
standard library and numpy, because the agent on the microscope PC uses it too.
See docs/decisions/0001-own-codec.md for why we own it.

Encoding::

    chunks = encode_message(DataReady(DataToExport("ScopeOne", (frame,))))
    sock.sendmsg(chunks)  # headers as bytes, pixels as a memoryview (not copied)

Decoding: see :class:`MessageDecoder`.
"""

from ._auth import auth_digest, digest_matches, new_nonce
from ._decoder import IncrementalDecoder, MessageDecoder, ValueDecoder, decode_messages, decode_value
from ._dtypes import parse_dtype, wire_dtype
from ._encode import Chunk, encode_message, encode_value, join_chunks, tag_of
from ._errors import (
    LimitExceededError,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    ScopeOneError,
)
from ._limits import DEFAULT_LIMITS, Limits
from ._messages import (
    COMMAND_SENDERS,
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
    Sender,
    SetInfo,
    StopMotion,
)
from ._pool import ArrayPool
from ._reader import Allocate
from ._values import (
    Axis,
    DataActuator,
    DataToExport,
    DataWithAxes,
    ParameterWithPath,
    Position,
    Scalar,
    WireValue,
    values_equal,
)

__all__ = [
    "COMMAND_SENDERS",
    "DEFAULT_LIMITS",
    "Allocate",
    "ArrayPool",
    "AuthChallenge",
    "AuthResponse",
    "Axis",
    "Chunk",
    "ClientType",
    "DataActuator",
    "DataReady",
    "DataToExport",
    "DataWithAxes",
    "GetActuatorValue",
    "Hello",
    "IncrementalDecoder",
    "Info",
    "InfoXml",
    "Infos",
    "LegacyAxis",
    "LimitExceededError",
    "Limits",
    "LocalProtocolError",
    "Message",
    "MessageDecoder",
    "MoveAbs",
    "MoveDone",
    "MoveHome",
    "MoveRel",
    "ParameterWithPath",
    "Position",
    "PositionIs",
    "ProtocolError",
    "Quit",
    "RemoteProtocolError",
    "Scalar",
    "ScopeOneError",
    "SendData",
    "Sender",
    "SetInfo",
    "StopMotion",
    "ValueDecoder",
    "WireValue",
    "auth_digest",
    "decode_messages",
    "decode_value",
    "digest_matches",
    "encode_message",
    "encode_value",
    "join_chunks",
    "new_nonce",
    "parse_dtype",
    "tag_of",
    "values_equal",
    "wire_dtype",
]

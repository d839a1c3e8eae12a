"""Length-prefixed JSON framing of the ScopeOne Local API, with no I/O (sans-IO).

Wire format, both directions (reference §1.2):

| offset | size | content                                                        |
|--------|------|----------------------------------------------------------------|
| 0      | 4    | payload length ``n``, unsigned 32-bit little-endian            |
| 4      | n    | one JSON object, UTF-8; ``1 <= n <= 64 MiB``                   |

ScopeOne encodes responses with ``QJsonDocument::Compact``. To be byte-compatible we follow Qt:
no whitespace, object keys in sorted order (``QJsonObject`` keeps its keys sorted), integral
doubles written without a fraction (``10.0`` → ``10``), non-finite doubles as ``null`` and
non-ASCII text as raw UTF-8.

ScopeOne's decoder rules (``tryDecodeMessage``), which :class:`MessageDecoder` reproduces:
fewer than 4 bytes → wait; length 0 or above the limit → error; incomplete payload → wait;
payload not parseable or not an object → error. An error makes the server send
:data:`FRAMING_ERROR_RESPONSE` and drop the connection.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, Dict, List, Optional

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""Largest payload accepted or sent, in bytes (64 MiB, ScopeOne V8+)."""

LENGTH_PREFIX = struct.Struct("<I")

FRAMING_ERROR_RESPONSE: Dict[str, Any] = {"type": "error", "ok": False}
"""What ScopeOne answers to a framing error, just before it disconnects."""

_MAX_EXACT_INT = 2**53


class FramingError(ValueError):
    """The peer sent bytes that are not a valid Local API message."""


def _qt_value(value: Any) -> Any:
    """Return ``value`` with doubles normalised the way ``QJsonDocument`` writes them."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < _MAX_EXACT_INT:
            return int(value)
        return value
    if isinstance(value, dict):
        return {str(k): _qt_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_qt_value(v) for v in value]
    return value


def encode_json(obj: Dict[str, Any]) -> bytes:
    """Encode one JSON object as compact, key-sorted UTF-8, like ``QJsonDocument::Compact``."""
    text = json.dumps(_qt_value(obj), separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def encode_message(obj: Dict[str, Any]) -> bytes:
    """Return the length prefix followed by the encoded object."""
    payload = encode_json(obj)
    return LENGTH_PREFIX.pack(len(payload)) + payload


def _reject_constant(name: str) -> Any:
    raise FramingError(f"non-standard JSON constant {name}")


def decode_payload(payload: bytes) -> Dict[str, Any]:
    """Parse one payload; raise :class:`FramingError` unless it is a JSON object.

    ``NaN``/``Infinity`` (which Python accepts and Qt does not) and nesting deep enough to
    exhaust the recursion limit are rejected too.
    """
    try:
        obj = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FramingError(f"payload is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise FramingError(f"payload is a JSON {type(obj).__name__}, not an object")
    return obj


class MessageDecoder:
    """Incremental decoder: :meth:`feed` bytes, then call :meth:`next_message` until ``None``.

    After a :class:`FramingError` the buffer is cleared and the decoder must not be used again
    (the connection is dropped).
    """

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self._buffer = bytearray()
        self._max_bytes = max_bytes

    @property
    def buffered(self) -> int:
        """Number of bytes received and not yet decoded."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Append received bytes."""
        self._buffer += data

    def next_message(self) -> Optional[Dict[str, Any]]:
        """Return the next complete message, or ``None`` if more bytes are needed."""
        if len(self._buffer) < LENGTH_PREFIX.size:
            return None
        (length,) = LENGTH_PREFIX.unpack_from(self._buffer, 0)
        if length == 0 or length > self._max_bytes:
            self._buffer.clear()
            raise FramingError(f"message length {length} is outside 1..{self._max_bytes}")
        end = LENGTH_PREFIX.size + length
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[LENGTH_PREFIX.size : end])
        del self._buffer[:end]
        try:
            return decode_payload(payload)
        except FramingError:
            self._buffer.clear()
            raise

    def drain(self) -> List[Dict[str, Any]]:
        """Return every complete message buffered (raises like :meth:`next_message`)."""
        messages: List[Dict[str, Any]] = []
        while (message := self.next_message()) is not None:
            messages.append(message)
        return messages

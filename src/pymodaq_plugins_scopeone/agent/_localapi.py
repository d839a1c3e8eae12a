"""One connection to ScopeOne's Local API: framing, requestId correlation, timeouts.

Framing (reference §1.2): u32 little-endian payload length + one compact UTF-8 JSON object,
both ways, at most 64 MiB. Every request gets an integer ``requestId`` (1, 2, 3 … on the
connection); ScopeOne echoes it, and answers asynchronous types (moves, ``record``,
``session_frame`` …) when they finish, so responses may come out of order.

Threads: any thread may call :meth:`LocalApiConnection.request` (blocks until its answer or
its timeout) or :meth:`LocalApiConnection.submit` (returns at once; the callback runs on the
reader thread with the response or an error, and must be quick). One daemon reader thread
decodes responses and enforces the deadlines of submitted requests.
"""

from __future__ import annotations

import itertools
import json
import logging
import struct
import threading
import time
from typing import Any, Callable, Dict, Optional, Union

from ._channel import Channel
from ._errors import AgentError, LocalApiProtocolError, ScopeOneApiError, ScopeOneTimeout, ScopeOneUnavailable

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
_LENGTH = struct.Struct("<I")
_RECV_BYTES = 1 << 16
_IDLE_WAIT_S = 0.25  # how late a new submitted request's deadline may be noticed
_log = logging.getLogger("pymodaq_plugins_scopeone.agent.localapi")

Response = Dict[str, Any]
Outcome = Union[Response, AgentError]
Callback = Callable[[Outcome], None]


class _Pending:
    __slots__ = ("callback", "deadline", "done", "outcome", "request_type", "timeout_s")

    def __init__(self, request_type: str, timeout_s: float, callback: Optional[Callback]) -> None:
        self.request_type = request_type
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.callback = callback
        self.done = threading.Event()
        self.outcome: Optional[Outcome] = None


def checked(request_type: str, response: Response) -> Response:
    """``response`` if ``ok`` is true, else ScopeOneApiError with ScopeOne's own text."""
    if response.get("ok") is True:
        return response
    error = response.get("error")
    text = error if isinstance(error, str) and error else "ScopeOne request failed"
    raise ScopeOneApiError(request_type, text)


def encode_request(request: Dict[str, Any], max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    """Length prefix + compact JSON; AgentError if a value cannot travel."""
    try:
        payload = json.dumps(request, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise AgentError(
            f"request {request.get('type')!r} cannot be sent as JSON: {error}; fields {request!r}"
        ) from None
    if not 0 < len(payload) <= max_bytes:
        raise AgentError(
            f"request {request.get('type')!r} is {len(payload)} bytes; the Local API allows 1..{max_bytes}"
        )
    return _LENGTH.pack(len(payload)) + payload


class LocalApiConnection:
    """Requests and responses over one :class:`Channel` (see the module docstring)."""

    def __init__(
        self,
        channel: Channel,
        on_closed: Optional[Callable[[str], None]] = None,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._channel = channel
        self._on_closed = on_closed
        self._max = max_message_bytes
        self._ids = itertools.count(1)
        self._pending: Dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed_reason: Optional[str] = None
        self._reader = threading.Thread(target=self._read_loop, name="scopeone-localapi-reader", daemon=True)

    def start(self) -> LocalApiConnection:
        """Start the reader thread."""
        self._reader.start()
        return self

    @property
    def closed(self) -> bool:
        """True once the connection is closed (by us, by ScopeOne, or after a protocol error)."""
        return self._closed_reason is not None

    # -- requests ------------------------------------------------------------------------
    def request(self, request_type: str, timeout_s: float, **fields: Any) -> Response:
        """Send a request and wait for its response; return it if ``ok``.

        Raises:
            ScopeOneApiError: ``ok`` was false (ScopeOne's text in ``.text``).
            ScopeOneTimeout: no response within ``timeout_s``.
            ScopeOneUnavailable: the connection is (or got) closed.
            LocalApiProtocolError: the endpoint broke the protocol.
        """
        pending = _Pending(request_type, timeout_s, None)
        request_id = self._register(pending)
        self._send(request_id, request_type, fields)
        if not pending.done.wait(timeout_s):
            with self._lock:
                self._pending.pop(request_id, None)
            if not pending.done.is_set():
                raise ScopeOneTimeout(request_type, timeout_s)
        outcome = pending.outcome
        if isinstance(outcome, AgentError):
            raise outcome
        assert outcome is not None
        return checked(request_type, outcome)

    def submit(self, request_type: str, timeout_s: float, callback: Callback, **fields: Any) -> None:
        """Send a request; ``callback`` later gets the checked response or an AgentError.

        Raises ScopeOneUnavailable (and does not call back) if it cannot be sent.
        """
        pending = _Pending(request_type, timeout_s, callback)
        request_id = self._register(pending)
        self._send(request_id, request_type, fields)

    def _register(self, pending: _Pending) -> int:
        with self._lock:
            if self._closed_reason is not None:
                raise ScopeOneUnavailable(self._closed_reason)
            request_id = next(self._ids)
            self._pending[request_id] = pending
            return request_id

    def _send(self, request_id: int, request_type: str, fields: Dict[str, Any]) -> None:
        message = {"type": request_type, "requestId": request_id, **fields}
        try:
            data = encode_request(message, self._max)
            with self._send_lock:
                self._channel.send(data)
        except ScopeOneUnavailable as error:
            with self._lock:
                self._pending.pop(request_id, None)
            self.close(str(error))
            raise
        except AgentError:
            with self._lock:
                self._pending.pop(request_id, None)
            raise
        _log.debug("-> %s #%d", request_type, request_id)

    # -- responses -----------------------------------------------------------------------
    def _deliver(self, pending: _Pending, outcome: Outcome) -> None:
        if pending.callback is not None and not isinstance(outcome, AgentError):
            try:
                outcome = checked(pending.request_type, outcome)
            except ScopeOneApiError as error:
                outcome = error
        pending.outcome = outcome
        pending.done.set()
        if pending.callback is not None:
            try:
                pending.callback(outcome)
            except Exception:  # a callback bug must not kill the reader
                _log.exception("callback of %s failed", pending.request_type)

    def _expire(self) -> float:
        """Time out overdue submitted requests; return the wait until the next deadline."""
        now = time.monotonic()
        expired = []
        wait = _IDLE_WAIT_S
        with self._lock:
            for request_id, pending in list(self._pending.items()):
                if pending.callback is None:
                    continue  # request() waits for its own deadline
                if pending.deadline <= now:
                    expired.append(self._pending.pop(request_id))
                else:
                    wait = min(wait, pending.deadline - now)
        for pending in expired:
            self._deliver(pending, ScopeOneTimeout(pending.request_type, pending.timeout_s))
        return wait

    def _read_loop(self) -> None:
        buffer = bytearray()
        try:
            while self._closed_reason is None:
                wait = self._expire()
                if not self._channel.wait_readable(wait):
                    continue
                data = self._channel.recv(_RECV_BYTES)
                if not data:
                    self.close("ScopeOne closed the Local API connection")
                    return
                buffer += data
                self._drain(buffer)
        except LocalApiProtocolError as error:
            _log.error("%s", error)
            self.close(str(error))
        except Exception as error:  # never die silently: close so that requests fail fast
            _log.exception("Local API reader failed")
            self.close(f"Local API reader failed: {error}")

    def _drain(self, buffer: bytearray) -> None:
        while len(buffer) >= 4:
            (length,) = _LENGTH.unpack_from(buffer)
            if not 0 < length <= self._max:
                raise LocalApiProtocolError(f"Local API response length {length} is outside 1..{self._max}")
            if len(buffer) < 4 + length:
                return
            payload = bytes(buffer[4 : 4 + length])
            del buffer[: 4 + length]
            self._handle(payload)

    def _handle(self, payload: bytes) -> None:
        try:
            response = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise LocalApiProtocolError(
                f"Local API response is not UTF-8 JSON: {error}; got {payload[:80]!r}"
            ) from None
        if not isinstance(response, dict):
            raise LocalApiProtocolError(f"Local API response is not a JSON object: {payload[:80]!r}")
        raw_id = response.get("requestId")
        if isinstance(raw_id, float) and raw_id.is_integer():
            raw_id = int(raw_id)
        if not isinstance(raw_id, int) or isinstance(raw_id, bool):
            if response.get("type") == "error":  # ScopeOne could not decode what we sent
                raise LocalApiProtocolError(f"ScopeOne rejected a request: {response.get('error', 'decode error')}")
            _log.warning("Local API response without a usable requestId ignored: %r", payload[:200])
            return
        with self._lock:
            pending = self._pending.pop(raw_id, None)
        if pending is None:
            _log.debug("late or unknown response #%s (%s) dropped", raw_id, response.get("type"))
            return
        if response.get("type") not in (pending.request_type, "error"):
            raise LocalApiProtocolError(
                f"response #{raw_id} has type {response.get('type')!r}, expected {pending.request_type!r}"
            )
        _log.debug("<- %s #%d ok=%s", pending.request_type, raw_id, response.get("ok"))
        self._deliver(pending, response)

    # -- lifetime ------------------------------------------------------------------------
    def close(self, reason: str = "Local API connection closed") -> None:
        """Close; every request still waiting fails with ScopeOneUnavailable(reason)."""
        with self._lock:
            if self._closed_reason is not None:
                return
            self._closed_reason = reason
            pending, self._pending = list(self._pending.values()), {}
        self._channel.close()
        for item in pending:
            self._deliver(item, ScopeOneUnavailable(reason))
        if self._on_closed is not None:
            self._on_closed(reason)

    def join(self, timeout_s: float) -> None:
        """Wait for the reader thread (after :meth:`close`)."""
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(timeout_s)

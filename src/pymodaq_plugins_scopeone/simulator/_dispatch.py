"""Request envelope and dispatch, as ScopeOne's ``dispatchRequest`` (reference §1.3–1.5).

Order of checks for each decoded object:

1. ``requestId`` present but not a string or number → ``"requestId must be a string or number"``;
2. ``type`` (a string, trimmed) missing or empty → ``type:"error"``, ``"Missing request type"``;
3. a configuration load/unload running and ``type`` not in :data:`ALLOWED_DURING_CONFIG`
   → ``"A configuration operation is still running"``;
4. a handler for ``type``, else ``"Unknown request type"``.

Synchronous handlers answer at once, in order. Asynchronous ones answer when their operation
ends, so their responses can overtake or follow later requests; correlate by ``requestId``.

Field reading mimics Qt's ``QJsonValue``: :meth:`Request.string` is ``toString()`` (a non-string
reads as ``""``, hence ScopeOne's "Missing ..." errors for mistyped strings), :meth:`Request.number`
is ``toDouble()`` (non-number → default), :meth:`Request.integer` is ScopeOne's ``intField``
(an integral JSON number inside the int32 range, else ``None``).
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Union

if TYPE_CHECKING:
    from ._core import Core
    from ._server import Connection

Response = Dict[str, Any]
Respond = Callable[[Response], None]
SyncHandler = Callable[["Core", "Request"], Response]
AsyncHandler = Callable[["Core", "Request", Respond], Optional[Response]]

MISSING_TYPE = "Missing request type"
UNKNOWN_TYPE = "Unknown request type"
BAD_REQUEST_ID = "requestId must be a string or number"
CONFIG_BUSY = "A configuration operation is still running"
ALLOWED_DURING_CONFIG = frozenset({"ping", "version", "capabilities", "status", "state_snapshot", "frame_mapping_info"})

_log = logging.getLogger("pymodaq_plugins_scopeone.simulator.requests")
_INT32 = (-(2**31), 2**31 - 1)


def ok(**fields: Any) -> Response:
    """A success response body."""
    return {"ok": True, **fields}


def fail(error: str, **fields: Any) -> Response:
    """A failure response body with ScopeOne's error text."""
    return {"ok": False, "error": error, **fields}


def is_number(value: Any) -> bool:
    """True for JSON numbers (``bool`` is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Request:
    """A decoded request with Qt-like typed accessors."""

    def __init__(self, obj: Dict[str, Any], type_: str) -> None:
        self.obj = obj
        self.type = type_

    def has(self, key: str) -> bool:
        """True if the field is present (whatever its type)."""
        return key in self.obj

    def string(self, key: str) -> str:
        """``toString()``: the string, or ``""`` if missing or not a string."""
        value = self.obj.get(key)
        return value if isinstance(value, str) else ""

    def string_or(self, key: str, default: str) -> str:
        """ScopeOne's ``stringValueOrDefault``: ``default`` when missing, not a string or empty."""
        return self.string(key).strip() or default

    def number(self, key: str, default: float = 0.0) -> float:
        """``toDouble()``: the number, or ``default`` if missing or not a number."""
        value = self.obj.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default

    def boolean(self, key: str, default: bool) -> bool:
        """``toBool(default)``: the boolean, or ``default`` if missing or not a boolean."""
        value = self.obj.get(key)
        return value if isinstance(value, bool) else default

    def integer(self, key: str) -> Optional[int]:
        """``intField``: an integral number inside the int32 range, else ``None``."""
        value = self.obj.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if not math.isfinite(value) or value != math.floor(value):
            return None
        number = int(value)
        return number if _INT32[0] <= number <= _INT32[1] else None


class Dispatcher:
    """Routes requests from connections to handlers and sends the responses back."""

    def __init__(
        self,
        core: Core,
        sync_handlers: Dict[str, SyncHandler],
        async_handlers: Dict[str, AsyncHandler],
    ) -> None:
        self.core = core
        self.sync_handlers = sync_handlers
        self.async_handlers = async_handlers

    def handle(self, connection: Connection, obj: Dict[str, Any]) -> None:
        """Serve one decoded request object from ``connection``."""
        if self.core.faults.take_drop_request():
            _log.debug("fault hook: dropping client %d on %s", connection.id, obj.get("type"))
            connection.close()
            return
        raw_type = obj.get("type")
        type_ = raw_type.strip() if isinstance(raw_type, str) else ""
        has_id = "requestId" in obj
        request_id: Union[str, int, float, None] = obj.get("requestId")
        valid_id = has_id and (isinstance(request_id, str) or is_number(request_id))

        def respond(body: Response) -> None:
            response = {"type": type_ or "error", **body}
            if valid_id:
                response["requestId"] = request_id
            _log.debug("client %d <- %s ok=%s %s", connection.id, type_, body.get("ok"), body.get("error", ""))
            connection.send(response)

        _log.debug("client %d -> %s requestId=%r", connection.id, type_ or raw_type, request_id)
        if has_id and not valid_id:
            respond(fail(BAD_REQUEST_ID))
        elif not type_:
            respond(fail(MISSING_TYPE))
        elif self.core.config_operation_running and type_ not in ALLOWED_DURING_CONFIG:
            respond(fail(CONFIG_BUSY))
        else:
            self._route(Request(obj, type_), respond)

    def _route(self, request: Request, respond: Respond) -> None:
        sync = self.sync_handlers.get(request.type)
        if sync is not None:
            respond(self._guarded(lambda: sync(self.core, request)) or fail(UNKNOWN_TYPE))
            return
        handler = self.async_handlers.get(request.type)
        if handler is None:
            respond(fail(UNKNOWN_TYPE))
            return
        immediate = self._guarded(lambda: handler(self.core, request, respond))
        if immediate is not None:
            respond(immediate)

    @staticmethod
    def _guarded(call: Callable[[], Optional[Response]]) -> Optional[Response]:
        try:
            return call()
        except Exception as exc:  # a simulator bug must still produce an answer
            _log.exception("handler failed")
            return fail(f"Simulator internal error: {exc}")

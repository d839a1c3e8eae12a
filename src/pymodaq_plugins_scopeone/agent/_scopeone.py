"""ScopeOne as the agent sees it: one supervised Local API connection and its state.

A supervisor thread connects (retrying with backoff capped at ``reconnect_max_s`` while
ScopeOne is not up), then asks ``status`` every ``poll_s`` seconds: that is how a restart or
an unloaded configuration is noticed, and it gives the camera ids and running previews. Each
change of the state is passed to the listeners (the modules, which report it to PyMoDAQ).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

from ._channel import Channel, open_channel
from ._errors import AgentError, LocalApiProtocolError, ScopeOneTimeout, ScopeOneUnavailable, TornFrame
from ._frames import FrameBlock, FrameHeader, Opener, open_mapping
from ._localapi import Callback, LocalApiConnection, Response

_log = logging.getLogger("pymodaq_plugins_scopeone.agent.scopeone")

UNREACHABLE = "unreachable"
NOT_LOADED = "not_loaded"
BUSY = "busy"
READY = "ready"
_FRAME_ATTEMPTS = 4


@dataclasses.dataclass(frozen=True)
class ScopeOneState:
    """What ScopeOne is doing, as reported to the dashboard."""

    kind: str = UNREACHABLE
    text: str = "ScopeOne not reachable"
    camera_ids: Tuple[str, ...] = ()
    running_previews: Tuple[str, ...] = ()
    configuration: str = ""

    @property
    def ready(self) -> bool:
        return self.kind == READY


def state_from_status(status: Response) -> ScopeOneState:
    """Turn a ``status`` response into a :class:`ScopeOneState`."""
    configuration = str(status.get("configurationState", ""))
    cameras = tuple(str(c) for c in status.get("cameraIds") or ())
    previews = tuple(str(c) for c in status.get("runningPreviews") or ())
    if status.get("configurationOperationRunning") or configuration in ("loading", "unloading"):
        kind, text = BUSY, f"configuration {configuration or 'operation'} in progress"
    elif configuration == "loaded":
        kind, text = READY, "ready"
    elif configuration == "partially_loaded":
        failed = ", ".join(str(d) for d in status.get("failedConfigurationDevices") or ())
        kind, text = READY, f"ready (configuration partially loaded; failed: {failed or 'some devices'})"
    elif configuration == "failed":
        kind, text = NOT_LOADED, f"configuration failed: {status.get('configurationError') or 'unknown error'}"
    else:
        kind, text = NOT_LOADED, "configuration not loaded"
    return ScopeOneState(kind, text, cameras, previews, configuration)


Listener = Callable[[ScopeOneState], None]
ChannelFactory = Callable[[str], Channel]


class ScopeOne:
    """The supervised connection (thread-safe; see the module docstring)."""

    def __init__(
        self,
        endpoint: str,
        request_timeout_s: float = 5.0,
        poll_s: float = 0.5,
        reconnect_max_s: float = 2.0,
        channel_factory: ChannelFactory = open_channel,
        block_opener: Opener = open_mapping,
    ) -> None:
        self.endpoint = endpoint
        self.request_timeout_s = request_timeout_s
        self._poll_s = poll_s
        self._reconnect_max_s = reconnect_max_s
        self._channel_factory = channel_factory
        self._connection: Optional[LocalApiConnection] = None
        self._state = ScopeOneState(text=f"ScopeOne not reachable at {endpoint}")
        self._listeners: List[Listener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.frame_lock = threading.Lock()
        """Held from a frame-exporting request until its pixels are copied (one block for all)."""
        self._block = FrameBlock(block_opener)

    # -- lifetime ------------------------------------------------------------------------
    def start(self) -> ScopeOne:
        self._thread = threading.Thread(target=self._supervise, name="scopeone-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close("agent stopping")
            connection.join(timeout_s)
        with self.frame_lock:
            self._block.close()

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> ScopeOneState:
        return self._state

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(state)`` on every change (from the supervisor thread); quick only."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _publish(self, state: ScopeOneState) -> None:
        if state == self._state:
            return
        if (state.kind, state.text) != (self._state.kind, self._state.text):
            _log.info("ScopeOne: %s", state.text)
        self._state = state
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                _log.exception("state listener failed")

    def refresh(self) -> None:
        """Ask the supervisor for a ``status`` round now (e.g. after a failed request)."""
        self._wake.set()

    # -- requests ------------------------------------------------------------------------
    def _current(self) -> LocalApiConnection:
        connection = self._connection
        if connection is None or connection.closed:
            raise ScopeOneUnavailable(self._state.text if not self._state.ready else "ScopeOne not reachable")
        return connection

    def request(self, request_type: str, timeout_s: Optional[float] = None, **fields: Any) -> Response:
        """A checked request on the current connection (see LocalApiConnection.request)."""
        return self._current().request(request_type, timeout_s or self.request_timeout_s, **fields)

    def submit(self, request_type: str, timeout_s: float, callback: Callback, **fields: Any) -> None:
        """An asynchronous request (see LocalApiConnection.submit)."""
        self._current().submit(request_type, timeout_s, callback, **fields)

    def export_frame(
        self, request_type: str, timeout_s: Optional[float] = None, **fields: Any
    ) -> Tuple[np.ndarray, FrameHeader, Response]:
        """Ask ScopeOne to export a frame and copy it out of the block before anyone else can.

        The agent's own exports are serialised by :attr:`frame_lock`; exports by other clients
        are caught by the header check and retried (up to 4 times).
        """
        last: Optional[AgentError] = None
        with self.frame_lock:
            for _ in range(_FRAME_ATTEMPTS):
                meta = self.request(request_type, timeout_s, **fields)
                try:
                    image, header = self._block.copy(meta)
                except TornFrame as error:
                    _log.debug("retrying %s: %s", request_type, error)
                    last = error
                    self._block.close()  # also catches a block recreated by a restarted ScopeOne
                    continue
                return image, header, meta
        assert last is not None
        raise last

    def copy_frame(self, meta: Response) -> Tuple[np.ndarray, FrameHeader]:
        """Copy the frame a response just announced; hold :attr:`frame_lock` around both."""
        try:
            return self._block.copy(meta)
        except TornFrame:
            self._block.close()  # also catches a block recreated by a restarted ScopeOne
            raise

    # -- supervisor ----------------------------------------------------------------------
    def _connect(self) -> LocalApiConnection:
        channel = self._channel_factory(self.endpoint)
        connection = LocalApiConnection(channel, on_closed=lambda reason: self._wake.set()).start()
        try:
            connection.request("ping", self.request_timeout_s)
        except AgentError:
            connection.close("no answer to ping")
            raise
        return connection

    def _supervise(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            connection = self._connection
            if connection is None or connection.closed:
                self._connection = None
                try:
                    connection = self._connect()
                except (ScopeOneUnavailable, ScopeOneTimeout, LocalApiProtocolError) as error:
                    self._publish(ScopeOneState(text=f"ScopeOne not reachable ({error})"))
                    backoff = min(backoff * 2, self._reconnect_max_s)
                    self._wait(backoff)
                    continue
                with self.frame_lock:
                    self._block.close()  # a restarted ScopeOne recreates the block
                self._connection = connection
                backoff = 0.05
                _log.info("connected to ScopeOne at %s", self.endpoint)
            try:
                status = connection.request("status", self.request_timeout_s)
            except ScopeOneTimeout as error:
                self._publish(dataclasses.replace(self._state, kind=BUSY, text=f"ScopeOne not answering ({error})"))
            except ScopeOneUnavailable:
                continue
            except AgentError as error:
                self._publish(dataclasses.replace(self._state, kind=NOT_LOADED, text=str(error)))
            else:
                self._publish(state_from_status(status))
            self._wait(self._poll_s)

    def _wait(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()


def describe(outcome: Any) -> str:
    """Short text for an error outcome (ScopeOne's own text when it has one)."""
    text = getattr(outcome, "text", None)
    return str(text) if text else str(outcome)


__all__ = ["READY", "ScopeOne", "ScopeOneState", "describe", "state_from_status"]

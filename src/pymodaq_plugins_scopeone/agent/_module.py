"""Common ground of the camera and axis modules: a worker thread fed by a queue.

Each module is one PyMoDAQ connection (:class:`~._link.PyMoDAQLink`) plus one worker thread.
The link thread and ScopeOne's reader thread only *post* events (messages with their arrival
time, ScopeOne state changes, completions of asynchronous requests); the worker handles them
one at a time, in order, so module state needs no locks. ``tick()`` runs every
``tick_s`` seconds (the settings watch), timed by the queue wait itself.
"""

from __future__ import annotations

import abc
import functools
import logging
import queue
import threading
import time
from typing import Any, Callable, Optional, Tuple

from .. import __version__
from ..protocol import Info, InfoXml, Message
from ._link import LinkModule, PyMoDAQLink
from ._paramxml import Param, to_xml
from ._scopeone import ScopeOne, ScopeOneState

_log = logging.getLogger("pymodaq_plugins_scopeone.agent")
_STOP = object()


class Module(LinkModule):
    """Base of :class:`~._camera.CameraModule` and :class:`~._stage.AxisModule`."""

    root_name = "settings"
    tick_s = 1.0

    def __init__(self, name: str, scopeone: ScopeOne, agent_name: str) -> None:
        self.name = name
        self.scopeone = scopeone
        self.agent_name = agent_name
        self.link: Optional[PyMoDAQLink] = None
        self.epoch = 0
        self._events: queue.Queue[Tuple[Any, ...]] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name=f"agent-{name}", daemon=True)
        self._next_tick = time.monotonic()
        self._last_state: Optional[ScopeOneState] = None
        self.alarm: Optional[float] = None
        """Monotonic time at which :meth:`on_alarm` should run (None: never)."""

    # -- lifetime ------------------------------------------------------------------------
    def start(self, link: PyMoDAQLink) -> None:
        self.link = link
        self.scopeone.add_listener(self._on_state)
        self._thread.start()
        link.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self.scopeone.remove_listener(self._on_state)
        self._events.put((_STOP,))
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self.link is not None:
            self.link.stop(timeout_s)

    # -- posting (any thread) ------------------------------------------------------------
    def post(self, kind: str, *args: Any) -> None:
        self._events.put((kind, *args))

    def call_soon(self, function: Callable[[], None]) -> None:
        """Run ``function`` on the worker thread."""
        self._events.put(("call", function))

    def on_connected(self, epoch: int) -> None:
        self.post("connected", epoch)

    def on_message(self, message: Message, arrival: float, epoch: int) -> None:
        self.post("message", message, arrival, epoch)

    def on_disconnected(self, epoch: int, reason: str) -> None:
        self.post("disconnected", epoch, reason)

    def _on_state(self, state: ScopeOneState) -> None:
        self.post("state", state)

    # -- sending (worker) ----------------------------------------------------------------
    def send(self, message: Message) -> bool:
        return self.link is not None and self.link.send(message, self.epoch)

    def info(self, name: str, value: str) -> None:
        """An ``Info`` line on the dashboard (ScopeOne state, errors)."""
        self.send(Info(name, value))

    def send_param(self, path: Tuple[str, ...], param: Param) -> None:
        """``Info_xml`` for one parameter (path starts with the root name, as PyMoDAQ's)."""
        self.send(InfoXml((self.root_name, *path), to_xml(param)))

    # -- worker --------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            wake = self._next_tick if self.alarm is None else min(self._next_tick, self.alarm)
            try:
                event: Optional[Tuple[Any, ...]] = self._events.get(timeout=max(0.0, wake - time.monotonic()))
            except queue.Empty:
                event = None
            if event is not None and event[0] is _STOP:
                self._guarded("shutdown", self.shutdown)
                return
            if event is not None:
                self._guarded(str(event[0]), functools.partial(self._dispatch, event))
            if self.alarm is not None and time.monotonic() >= self.alarm:
                self.alarm = None
                self._guarded("alarm", self.on_alarm)
            if time.monotonic() >= self._next_tick:
                self._next_tick = time.monotonic() + self.tick_s
                self._guarded("periodic check", self.tick)

    def _guarded(self, what: str, function: Callable[[], None]) -> None:
        try:
            function()
        except Exception as error:  # a module never dies; the dashboard hears about it
            _log.exception("%s: error in %s", self.name, what)
            self.info("agent error", f"{self.name}: {type(error).__name__}: {error}")

    def _dispatch(self, event: Tuple[Any, ...]) -> None:
        kind = event[0]
        if kind == "message":
            _, message, arrival, epoch = event
            if epoch == self.epoch:
                self.handle(message, arrival)
        elif kind == "connected":
            self.epoch = event[1]
            self.connected()
        elif kind == "disconnected":
            if event[1] == self.epoch:
                self.disconnected(event[2])
        elif kind == "state":
            previous, self._last_state = self._last_state, event[1]
            self.state_changed(event[1], previous)
        elif kind == "call":
            event[1]()
        elif kind != "tick":
            self.handle_event(event)

    # -- hooks ---------------------------------------------------------------------------
    @abc.abstractmethod
    def identity(self) -> Param:
        """The read-only ``identity`` group that starts the settings tree (decision 0003)."""

    def identity_children(self, kind: str, **values: str) -> Param:
        children = [Param("kind", "str", "Kind", kind, readonly=True)]
        children += [
            Param(key, "str", key.replace("_", " ").capitalize(), value, readonly=True) for key, value in values.items()
        ]
        children += [
            Param("agent", "str", "Agent", self.agent_name, readonly=True),
            Param("agent_version", "str", "Agent version", __version__, readonly=True),
        ]
        return Param("identity", "group", "Identity", children=children)

    def connected(self) -> None:
        """Worker: a new PyMoDAQ connection; report ScopeOne's state."""
        self.info("ScopeOne", self.scopeone.state.text)

    def disconnected(self, reason: str) -> None:
        """Worker: the PyMoDAQ connection went away."""

    def state_changed(self, state: ScopeOneState, previous: Optional[ScopeOneState]) -> None:
        """Worker: ScopeOne's state changed."""
        if previous is None or (state.kind, state.text) != (previous.kind, previous.text):
            self.info("ScopeOne", state.text)

    def handle(self, message: Message, arrival: float) -> None:
        """Worker: a message from PyMoDAQ."""

    def handle_event(self, event: Tuple[Any, ...]) -> None:
        """Worker: a module-specific event."""

    def tick(self) -> None:
        """Worker: periodic work."""

    def on_alarm(self) -> None:
        """Worker: :attr:`alarm` is due."""

    def shutdown(self) -> None:
        """Worker: last call before the thread ends."""

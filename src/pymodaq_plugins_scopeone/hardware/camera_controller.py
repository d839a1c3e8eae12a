"""The camera side of a viewer module: requests, answers, the latest frame (Qt-free).

Each ``Send Data`` the controller sends is answered, in order, by exactly one ``Done``
(the frame) or one ``Info`` named ``grab error`` (docs/decisions/0003). So the k-th
answer of a connection belongs to its k-th request, and that is all the bookkeeping
needs to tell a fresh frame from a stale one:

* snap: the frame answering the snap's own request, never an earlier one;
* live: ``live_depth`` requests stay in flight (each answer sends the next), so the camera
  never waits for us; frames go to a one-frame slot, and a frame nobody took yet is
  replaced (dropped) rather than queued, which bounds the latency; a frame answering two
  requests (they were sent together) is delivered once;
* stop: no frame is delivered after it, answers to requests still in flight are dropped.

Every request has a deadline (``frame_timeout_s``); a snap that misses it fails with a
message instead of waiting forever. Listener callbacks come from the connection's reader
thread (or the deadline thread) and must only hand over (e.g. emit a Qt signal).
"""

from __future__ import annotations

import enum
import functools
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, List, Optional, Protocol, Tuple, Union

from ..protocol import ClientType, DataReady, DataToExport, Info, Infos, InfoXml, Message, SendData, SetInfo
from ..transport import TransportError
from .agent_server import AgentLink, AgentServer, NotConnected, release_server, shared_server
from .deadlines import Deadlines
from .link_status import LinkStatus, info_text, is_error_info

DEFAULT_FRAME_TIMEOUT_S = 10.0
DEFAULT_LIVE_DEPTH = 2


class CameraListener(Protocol):
    """What a viewer module hears (called from a reader or deadline thread: hand over only)."""

    def frame_ready(self) -> None:
        """The latest-frame slot got a frame: call :meth:`CameraController.take_frame`."""

    def status_changed(self, status: LinkStatus, message: str) -> None:
        """The link changed (agent arrived or left, ScopeOne state, an error); ``message`` says what."""

    def settings_received(self, infos_xml: str) -> None:
        """The agent's whole settings tree (``Infos``), when it connects."""

    def setting_received(self, path: Tuple[str, ...], xml: str) -> None:
        """One setting as the agent now has it (``Info_xml``)."""

    def grab_failed(self, message: str) -> None:
        """The frame a snap waits for will not come (no agent, timeout, agent error, link lost)."""


class Mode(enum.Enum):
    IDLE = "idle"
    SNAP = "snap"
    LIVE = "live"


@dataclass(frozen=True)
class Frame:
    """One frame from the agent.

    Attributes:
        data: a DataToExport (PyMoDAQ 4.1–4.4 peers) or a tuple of arrays (2.x–4.0 peers).
        request: the number of the request it answers on its connection (1 = first).
        latency_s: seconds from sending that request to receiving the frame.
    """

    data: Union[DataToExport, Tuple[object, ...]]
    request: int
    latency_s: float


ServerFactory = Callable[[int, str], AgentServer]


class CameraController:
    """One camera agent, as one viewer module uses it.

    Args:
        listener: the module (see :class:`CameraListener`).
        port: TCP port of the shared server (0 = any free port, for tests).
        bind_address: interface the server listens on.
        identity: the camera id to take ('' = any camera agent).
        frame_timeout_s: longest wait for the answer to one request, in seconds.
        live_depth: requests kept in flight in live mode (1 for stock PyMoDAQ clients).

    Raises:
        ServerError: the port cannot be opened.
    """

    def __init__(
        self,
        listener: CameraListener,
        port: int,
        bind_address: str = "0.0.0.0",
        identity: str = "",
        frame_timeout_s: float = DEFAULT_FRAME_TIMEOUT_S,
        live_depth: int = DEFAULT_LIVE_DEPTH,
        server_factory: ServerFactory = shared_server,
    ) -> None:
        self.listener = listener
        self.frame_timeout_s = frame_timeout_s
        self.live_depth = max(1, live_depth)
        self.delivered = 0  # frames handed to the module
        self.dropped = 0  # live frames replaced before the module took them
        self.repeated = 0  # live answers carrying the frame already delivered (not delivered again)
        self._last_live_frame: Optional[Tuple[int, int]] = None
        self._lock = threading.RLock()
        self._deadlines = Deadlines("scopeone-camera-deadlines")
        self._mode = Mode.IDLE
        self._slot: Optional[Frame] = None
        self._epoch = 0  # connection counter: answers and deadlines of an old connection are ignored
        self._sent_at: Deque[float] = deque()  # send time of each request in flight
        self._sent = self._answered = 0  # requests sent / answered on this connection
        self._wanted = 0  # the request a snap waits for
        self._live_from = 0  # first request of the current live run
        self._agent_queues = True  # our agent queues requests; a stock PyMoDAQ client takes one at a time
        self._closed = False
        self._server = server_factory(port, bind_address)
        self._status = LinkStatus(self._server.port)
        self._link = self._server.attach(ClientType.GRABBER, identity, self)

    # -- what the module asks ------------------------------------------------------------
    @property
    def status(self) -> LinkStatus:
        return self._status

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def in_flight(self) -> int:
        return self._sent - self._answered

    def snap(self) -> None:
        """Ask for one fresh frame; ``frame_ready`` (or ``grab_failed``) follows.

        Raises:
            NotConnected: no agent is connected (the message says what to check).
            TransportError: the connection broke while sending.
        """
        with self._lock:
            self._require_agent()
            self._mode, self._slot = Mode.SNAP, None
            requests = self._reserve(1)
            self._wanted = requests[-1]
        self._send_requests(requests)

    def start_live(self) -> None:
        """Stream frames until :meth:`stop`; survives the agent leaving and coming back.

        Raises:
            NotConnected: no agent is connected when live starts.
        """
        with self._lock:
            self._require_agent()
            if self._mode is not Mode.LIVE:
                self._mode, self._slot = Mode.LIVE, None
                self._live_from = self._sent + 1  # frames asked before live are stale
                self._last_live_frame = None
            requests = self._reserve(self._live_depth() - self.in_flight)
        self._send_requests(requests)

    def stop(self) -> None:
        """End snap or live now: nothing is delivered after this call."""
        with self._lock:
            self._mode, self._slot = Mode.IDLE, None

    def take_frame(self) -> Optional[Frame]:
        """The frame in the slot (emptying it), or None if it was taken or dropped since."""
        with self._lock:
            frame, self._slot = self._slot, None
            if frame is not None:
                self.delivered += 1
            return frame

    def set_info(self, path: Tuple[str, ...], xml: str) -> None:
        """Send a changed setting to the agent (``set_info``); it answers with ``Info_xml``.

        Raises:
            NotConnected: no agent is connected.
        """
        self._link.send(SetInfo(path, xml))

    def close(self) -> None:
        """Detach from the shared server (the last module releases the port) and stop (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.stop()
        self._link.close()
        release_server(self._server)
        self._deadlines.close()

    # -- the agent's side (reader thread) ------------------------------------------------
    def link_connected(self, link: AgentLink) -> None:
        with self._lock:
            self._new_connection()
            self._status = self._status.with_agent(link)
            handshake = link.handshake
            self._agent_queues = handshake is not None and handshake.identity is not None
            requests = self._reserve(self._live_depth()) if self._mode is Mode.LIVE else []
        self.listener.status_changed(self._status, self._status.summary())
        if handshake is not None and handshake.infos_xml:
            self.listener.settings_received(handshake.infos_xml)
        self._send_requests(requests, link)

    def link_lost(self, link: AgentLink, reason: str) -> None:
        with self._lock:
            self._new_connection()
            failed_snap = self._mode is Mode.SNAP
            if failed_snap:
                self._mode = Mode.IDLE
            live = self._mode is Mode.LIVE
            text = f"agent lost ({reason}); {self._status.waiting_text()}"
            self._status = self._status.with_agent(None).with_error(text)
        if live:
            text += "; live resumes when it is back"
        self.listener.status_changed(self._status, text)
        if failed_snap:
            self.listener.grab_failed(f"the agent left during the grab ({reason})")

    def link_message(self, link: AgentLink, message: Message) -> None:
        if isinstance(message, DataReady):
            self._answer(message.data, None)
        elif isinstance(message, Info):
            self._on_info(message)
        elif isinstance(message, InfoXml):
            self.listener.setting_received(message.path, message.xml)
        elif isinstance(message, Infos):
            self.listener.settings_received(message.xml)

    def _on_info(self, info: Info) -> None:
        with self._lock:
            self._status = self._status.with_info(info)
        if is_error_info(info) and "grab" in info.name.lower():
            self._answer(None, info_text(info))  # the agent gave up on the oldest request
        else:
            self.listener.status_changed(self._status, info_text(info))

    # -- bookkeeping ---------------------------------------------------------------------
    def _answer(self, data: Union[DataToExport, Tuple[object, ...], None], error: Optional[str]) -> None:
        """The oldest request in flight got its frame (``data``) or its ``error``."""
        notify, failed = False, ""
        with self._lock:
            request, latency = self._pop_request()
            if error is not None:
                self._status = self._status.with_error(error)
                if self._mode is Mode.SNAP and request == self._wanted:
                    self._mode, failed = Mode.IDLE, error
            elif self._mode is Mode.SNAP and request == self._wanted:
                self._mode = Mode.IDLE
                notify = self._fill_slot(Frame(data, request, latency))  # type: ignore[arg-type]
            elif self._mode is Mode.LIVE and (request == 0 or request >= self._live_from):
                if self._repeats_last_live_frame(data):
                    self.repeated += 1
                else:
                    notify = self._fill_slot(Frame(data, request, latency))  # type: ignore[arg-type]
            requests = self._reserve(self._live_depth() - self.in_flight) if self._mode is Mode.LIVE else []
        if notify:
            self.listener.frame_ready()
        if error is not None:
            self.listener.status_changed(self._status, error)
        if failed:
            self.listener.grab_failed(failed)
        self._send_requests(requests)

    def _repeats_last_live_frame(self, data: object) -> bool:
        """True if ``data`` is the frame live mode delivered last (under the lock).

        The agent answers every request in flight that is fresh by then with the same frame
        (docs/decisions/0004), so two live requests sent together (live start, a new agent
        connection) may get one frame twice: live shows each frame once. A frame is known by
        its ``frame_index`` and ``timestamp_ns`` (a restarted ScopeOne counts from 0 again,
        with other timestamps); answers without them are never taken for repeats.
        """
        key = _frame_key(data)
        repeated = key is not None and key == self._last_live_frame
        self._last_live_frame = key
        return repeated

    def _pop_request(self) -> Tuple[int, float]:
        """(number, latency) of the request just answered; (0, 0) for an unrequested answer."""
        if self._answered >= self._sent:
            return 0, 0.0  # a peer sending data on its own: only live mode takes it
        self._answered += 1
        self._deadlines.cancel((self._epoch, self._answered))
        return self._answered, time.monotonic() - self._sent_at.popleft()

    def _fill_slot(self, frame: Frame) -> bool:
        """Put ``frame`` in the slot; True if the module must be told (the slot was empty)."""
        if self._slot is not None:
            self.dropped += 1  # stale: the module did not take it before the next one came
        was_empty, self._slot = self._slot is None, frame
        return was_empty

    def _reserve(self, count: int) -> List[int]:
        """Number ``count`` new requests and arm their deadlines (under the lock)."""
        requests = []
        for _ in range(max(0, count)):
            self._sent += 1
            self._sent_at.append(time.monotonic())
            key = (self._epoch, self._sent)
            self._deadlines.arm(key, self.frame_timeout_s, functools.partial(self._expired, key))
            requests.append(self._sent)
        return requests

    def _send_requests(self, requests: List[int], link: Optional[AgentLink] = None) -> None:
        """Send reserved requests outside the lock (a send may wait for a slow peer)."""
        for _ in requests:
            try:
                (link or self._link).send(SendData("2D"))
            except TransportError:
                return  # the connection just went: link_lost resets the bookkeeping

    def _expired(self, key: Tuple[int, int]) -> None:
        epoch, request = key
        with self._lock:
            if epoch != self._epoch or request <= self._answered:
                return
            text = f"no frame from the agent within {self.frame_timeout_s:g} s"
            self._status = self._status.with_error(text)
            failed = self._mode is Mode.SNAP and request == self._wanted
            if failed:
                self._mode = Mode.IDLE
        self.listener.status_changed(self._status, text)
        if failed:
            self.listener.grab_failed(text)

    def _new_connection(self) -> None:
        """Forget the requests of the previous connection (under the lock)."""
        self._epoch += 1
        self._sent = self._answered = self._wanted = self._live_from = 0
        self._sent_at.clear()
        self._slot = None

    def _live_depth(self) -> int:
        return self.live_depth if self._agent_queues else 1

    def _require_agent(self) -> None:
        if not self._status.connected:
            raise NotConnected(f"no camera agent connected: {self._status.waiting_text()}")


def _frame_key(data: object) -> Optional[Tuple[int, int]]:
    """(frame_index, timestamp_ns) of an agent frame (None if the answer does not carry them)."""
    if not isinstance(data, DataToExport) or not data.data:
        return None
    extra = data.data[0].extra_attributes
    try:
        return int(extra["frame_index"]), int(extra["timestamp_ns"])
    except (KeyError, TypeError, ValueError):
        return None

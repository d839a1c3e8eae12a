"""One TCP client connection to the PyMoDAQ side, kept up for one module.

The link thread owns the socket: it connects (retrying with exponential backoff capped at
``reconnect_max_s`` while the PyMoDAQ side is not up or after it went away), announces the
client type, sends ``Infos``, then waits in ``select`` on the socket and on a wake-up socket
pair. Received messages go to the module with their arrival time; messages the module wants
to send are queued by any thread (:meth:`PyMoDAQLink.send`) and written by the link thread,
so a frame's pixels leave straight from their array and the socket is never used by two
threads at once. Each connection has an *epoch*: an answer prepared for an earlier connection
is never sent on a later one. On stop the link sends ``Quit`` and closes.

The backoff starts again from its minimum only after a connection that lasted at least
``reconnect_max_s``: a peer that accepts and at once drops the connection (PyMoDAQ 4.4's
``DAQ_Move_TCPServer`` refusing a ``GRABBER``, say) is retried at the capped pace, not every
50 ms. (In a poll where 4.4's server refuses a connection it reads nothing from its accepted
client, so fast retries would starve that client.)
"""

from __future__ import annotations

import abc
import collections
import contextlib
import logging
import select
import socket
import threading
import time
from typing import Any, Callable, Deque, List, Optional, Tuple

from ..protocol import (
    AuthChallenge,
    AuthResponse,
    ClientType,
    Hello,
    Infos,
    Message,
    ProtocolError,
    Quit,
    Sender,
    auth_digest,
)
from ..transport import DEFAULT_STALL_TIMEOUT_S, MessageStream, TransportError, connect
from ._errors import AgentError

_log = logging.getLogger("pymodaq_plugins_scopeone.agent.link")
_SELECT_S = 1.0
_DRAIN_S = 1e-4
_INITIAL_BACKOFF_S = 0.05


class LinkModule(abc.ABC):
    """What a link drives; implemented by the camera and axis modules."""

    name = "module"
    client_type = ClientType.GRABBER

    @abc.abstractmethod
    def settings_xml(self) -> str:
        """The ``Infos`` XML (the module's whole settings tree)."""

    @abc.abstractmethod
    def on_connected(self, epoch: int) -> None:
        """A new connection (``epoch``) is up and announced."""

    @abc.abstractmethod
    def on_message(self, message: Message, arrival: float, epoch: int) -> None:
        """A message arrived at ``arrival`` (monotonic s); called on the link thread: be quick."""

    @abc.abstractmethod
    def on_disconnected(self, epoch: int, reason: str) -> None:
        """The connection ``epoch`` is gone."""


class PyMoDAQLink:
    """The connection of one module (see the module docstring); thread-safe ``send``."""

    def __init__(
        self,
        module: LinkModule,
        host: str,
        port: int,
        reconnect_max_s: float = 1.0,
        connect_timeout_s: float = 3.0,
        connector: Callable[[str, int, float], socket.socket] = connect,
        secret: Optional[bytes] = None,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        self.module = module
        self._stall_timeout_s = stall_timeout_s
        self._secret = secret
        self.host = host
        self.port = port
        self._reconnect_max_s = reconnect_max_s
        self._connect_timeout_s = connect_timeout_s
        self._connector = connector
        self._lock = threading.Lock()
        self._outgoing: Deque[Tuple[int, Message]] = collections.deque()
        self._epoch = 0
        self._connected = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread = threading.Thread(target=self._run, name=f"pymodaq-link-{module.name}", daemon=True)

    def start(self) -> PyMoDAQLink:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Send ``Quit`` (after what is queued), close and join."""
        self._stop.set()
        self._poke()
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        for sock in (self._wake_r, self._wake_w):
            sock.close()

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def epoch(self) -> int:
        return self._epoch

    def send(self, message: Message, epoch: Optional[int] = None) -> bool:
        """Queue ``message`` for the current connection (or only for ``epoch``); False if dropped."""
        with self._lock:
            if not self._connected or (epoch is not None and epoch != self._epoch):
                return False
            self._outgoing.append((self._epoch, message))
        self._poke()
        return True

    def _poke(self) -> None:
        with contextlib.suppress(OSError):  # full (already poked) or closed
            self._wake_w.send(b"\0")

    # -- the link thread -----------------------------------------------------------------
    def _run(self) -> None:
        backoff = _INITIAL_BACKOFF_S
        while not self._stop.is_set():
            try:
                sock = self._connector(self.host, self.port, self._connect_timeout_s)
            except (TransportError, OSError) as error:
                _log.debug("%s: %s", self.module.name, error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._reconnect_max_s)
                continue
            stream = MessageStream(sock, Sender.SERVER, stall_timeout_s=self._stall_timeout_s)
            reason = "closed"
            connected_at = time.monotonic()
            try:
                stream.send(Hello(self.module.client_type))
                self._answer_challenge(stream)
                stream.send(Infos(self.module.settings_xml()))
                with self._lock:
                    self._epoch += 1
                    self._outgoing.clear()
                    self._connected = True
                    epoch = self._epoch
                _log.info(
                    "%s connected to PyMoDAQ at %s as %s", self.module.name, stream.peer, self.module.client_type.value
                )
                self.module.on_connected(epoch)
                self._serve(stream, epoch)
                if self._stop.is_set():
                    self._flush(stream)
                    stream.send(Quit())
                    reason = "agent stopping"
            except (TransportError, ProtocolError, AgentError, OSError) as error:
                reason = str(error)
                _log.warning("%s: connection to PyMoDAQ lost: %s", self.module.name, error)
            finally:
                with self._lock:
                    was_connected, self._connected = self._connected, False
                    self._outgoing.clear()
                stream.close()
                if was_connected:
                    self.module.on_disconnected(self._epoch, reason)
                    if time.monotonic() - connected_at >= self._reconnect_max_s:
                        backoff = _INITIAL_BACKOFF_S  # it worked for a while: retry quickly
            if not self._stop.is_set():
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._reconnect_max_s)

    def _answer_challenge(self, stream: MessageStream) -> None:
        """With a shared secret, prove we hold it before saying anything else (protocol/_auth.py)."""
        if self._secret is None:
            return
        challenge = stream.receive(self._connect_timeout_s)
        if not isinstance(challenge, AuthChallenge):
            raise AgentError(
                f"expected auth_challenge from {stream.peer} (a secret is set), got {challenge!r}: "
                "does the PyMoDAQ side have the same secret?"
            )
        stream.send(AuthResponse(auth_digest(self._secret, challenge.nonce, self.module.client_type)))

    def _serve(self, stream: MessageStream, epoch: int) -> None:
        while not self._stop.is_set():
            waitables: List[Any] = [stream, self._wake_r]
            readable, _, _ = select.select(waitables, [], [], _SELECT_S)
            if self._wake_r in readable:
                with contextlib.suppress(OSError):
                    while self._wake_r.recv(4096):
                        pass
            self._flush(stream)
            if stream in readable:
                while True:
                    message = stream.receive(_DRAIN_S)
                    if message is None:
                        break
                    self.module.on_message(message, time.monotonic(), epoch)
                self._flush(stream)

    def _flush(self, stream: MessageStream) -> None:
        while True:
            with self._lock:
                if not self._outgoing:
                    return
                epoch, message = self._outgoing.popleft()
                current = self._epoch
            if epoch == current:
                stream.send(message)

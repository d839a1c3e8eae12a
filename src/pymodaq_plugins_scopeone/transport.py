"""Sockets around the codec: one connection carrying PyMoDAQ protocol messages.

This layer owns every OS error and timeout: callers see :class:`ConnectionLost` (the
peer went away), :class:`TransportTimeout` (no progress in time) or the codec's
:class:`RemoteProtocolError` (bad bytes), never a bare ``OSError`` or a hang.
Both the agent (client side) and the plugin-side server use it; standard library and
numpy only, Python ≥ 3.8, because the agent runs on the microscope PC.

Pixels are received with ``recv_into`` straight into their final array (the codec's
receive buffer) and sent as memoryviews of the caller's array: no copy here.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import sys
import threading
import time
from typing import List, Optional, Tuple

from .protocol import (
    DEFAULT_LIMITS,
    Allocate,
    ArrayPool,
    Chunk,
    Limits,
    Message,
    MessageDecoder,
    RemoteProtocolError,
    ScopeOneError,
    Sender,
    encode_message,
)

RECEIVE_CHUNK = 1 << 16
DEFAULT_STALL_TIMEOUT_S = 10.0
DEFAULT_SEND_TIMEOUT_S = 30.0


class TransportError(ScopeOneError):
    """The connection cannot carry messages any more."""


class ConnectionLost(TransportError):
    """The peer closed or reset the connection (possibly in the middle of a message)."""


class TransportTimeout(TransportError):
    """A message stopped arriving (or leaving) for longer than the allowed time."""


def configure_socket(sock: socket.socket, keepalive_idle_s: int = 10) -> None:
    """Low latency (no Nagle delay between headers and pixels) and TCP keepalive, so a
    dead peer is noticed within about ``keepalive_idle_s`` + 3 × 2 s even when idle."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", keepalive_idle_s), ("TCP_KEEPINTVL", 2), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    if sys.platform == "win32" and hasattr(socket, "SIO_KEEPALIVE_VALS"):
        sock.ioctl(socket.SIO_KEEPALIVE_VALS, (1, keepalive_idle_s * 1000, 2000))  # type: ignore[attr-defined]


def connect(host: str, port: int, timeout_s: float = 5.0) -> socket.socket:
    """Open a configured TCP connection to ``host:port``.

    Raises:
        ConnectionLost: nobody listens there, or the network refused or timed out.
    """
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
    except OSError as error:
        raise ConnectionLost(f"cannot connect to {host}:{port}: {error}") from error
    configure_socket(sock)
    return sock


class MessageStream:
    """Protocol messages over one connected socket.

    Args:
        sock: a connected stream socket; the stream owns it from now on.
        sender: who sends what we receive (``Sender.SERVER`` on the agent); commands
            from the other side are refused as protocol errors.
        limits: the codec's size limits for what we receive.
        allocate: where received arrays come from (an :class:`ArrayPool` by default).
        stall_timeout_s: longest wait for the next bytes of a message already begun,
            and for the peer to accept the next bytes we send.

    One thread may receive while another sends (the socket is non-blocking and each
    direction waits on its own selector); sends from several threads are serialised.
    """

    def __init__(
        self,
        sock: socket.socket,
        sender: Optional[Sender],
        limits: Limits = DEFAULT_LIMITS,
        allocate: Optional[Allocate] = None,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        sock.setblocking(False)  # every wait below is a selector wait with a timeout
        self._sock = sock
        self._decoder = MessageDecoder(sender, limits, allocate or ArrayPool())
        self._stall_timeout_s = stall_timeout_s
        self._scratch = bytearray(RECEIVE_CHUNK)
        self._readable = selectors.DefaultSelector()
        self._readable.register(sock, selectors.EVENT_READ)
        self._writable = selectors.DefaultSelector()
        self._writable.register(sock, selectors.EVENT_WRITE)
        self._send_lock = threading.Lock()
        self._closed = False
        self.peer = _peer_name(sock)

    # -- receiving -------------------------------------------------------------------
    def receive(self, timeout_s: float) -> Optional[Message]:
        """The next message, or None if none *started* within ``timeout_s``.

        Once a message has begun, each wait for its next bytes may last up to
        ``stall_timeout_s`` whatever ``timeout_s`` says.

        Raises:
            ConnectionLost: the peer closed the connection (mid-message or between messages).
            TransportTimeout: a message began but stalled for ``stall_timeout_s``.
            RemoteProtocolError: the peer broke the protocol; close the stream.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._decoder.next_message()
            if message is not None:
                return message
            if self._decoder.in_message:
                if not self._receive_some(self._stall_timeout_s):
                    raise TransportTimeout(
                        f"{self.peer}: message stalled, nothing received for {self._stall_timeout_s:g} s"
                    )
            else:
                wait = deadline - time.monotonic()
                if wait <= 0 or not self._receive_some(wait):
                    return None

    def _receive_some(self, timeout_s: float) -> bool:
        """Receive what has arrived within ``timeout_s``; False if nothing did."""
        view = self._decoder.receive_buffer()
        try:
            if not self._readable.select(timeout_s):
                return False
            count = self._sock.recv_into(self._scratch if view is None else view)
        except BlockingIOError:
            return False  # readiness without data (spurious wake-up): the caller waits again
        except (OSError, ValueError) as error:  # ValueError: closed by another thread
            raise ConnectionLost(f"{self.peer}: {error}") from error
        if count == 0:
            try:
                self._decoder.close()
            except RemoteProtocolError as error:  # cut short: say how far it got
                raise ConnectionLost(f"{self.peer}: {error}") from error
            raise ConnectionLost(f"{self.peer} closed the connection")
        if view is not None:
            self._decoder.received_into(count)
        else:
            self._decoder.feed(memoryview(self._scratch)[:count])
        return True

    # -- sending ---------------------------------------------------------------------
    def send(self, message: Message) -> None:
        """Send one message; its pixels go out from the caller's array, uncopied.

        Raises:
            LocalProtocolError: the message cannot travel (nothing was sent).
            ConnectionLost, TransportTimeout: the peer went away or stopped reading.
        """
        self.send_chunks(encode_message(message))

    def send_chunks(self, chunks: List[Chunk]) -> None:
        """Send encoded chunks in order (see :func:`~.protocol.encode_message`)."""
        with self._send_lock:
            for chunk in chunks:
                self._send_all(memoryview(chunk).cast("B"))

    def _send_all(self, view: memoryview) -> None:
        while view:
            try:
                sent = self._sock.send(view)
            except BlockingIOError:
                sent = 0
            except (OSError, ValueError) as error:
                raise ConnectionLost(f"{self.peer}: {error}") from error
            view = view[sent:]
            if view and not sent and not self._wait_writable():
                raise TransportTimeout(f"{self.peer} stopped reading for {self._stall_timeout_s:g} s")

    def _wait_writable(self) -> bool:
        try:
            return bool(self._writable.select(self._stall_timeout_s))
        except (OSError, ValueError) as error:
            raise ConnectionLost(f"{self.peer}: {error}") from error

    # -- lifetime --------------------------------------------------------------------
    def fileno(self) -> int:
        return self._sock.fileno()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):  # already disconnected
            self._sock.shutdown(socket.SHUT_RDWR)
        self._readable.close()
        self._writable.close()
        self._sock.close()


def _peer_name(sock: socket.socket) -> str:
    try:
        address: Tuple[str, int] = sock.getpeername()[:2]
    except OSError:
        return "peer"
    return f"{address[0]}:{address[1]}"

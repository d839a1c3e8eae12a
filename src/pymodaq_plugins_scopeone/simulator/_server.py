"""The control channel: an AF_UNIX stream server driven by :class:`EventLoop`.

Transport only: bytes in, :class:`MessageDecoder`, decoded objects to ``on_message``; encoded
responses out. As ScopeOne: the stale socket file is removed before ``listen``; any number of
clients; a framing error answers ``{"ok":false,"type":"error"}`` and drops that connection only.
Sockets are non-blocking; unsent bytes wait in a per-connection buffer.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import selectors
import socket
import stat
import time
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from ._framing import (
    FRAMING_ERROR_RESPONSE,
    LENGTH_PREFIX,
    MAX_MESSAGE_BYTES,
    FramingError,
    MessageDecoder,
    encode_json,
)
from ._loop import EventLoop, TimerHandle

_log = logging.getLogger(__name__)
_RECV_BYTES = 1 << 18
_BACKLOG = 64
RESPONSE_TOO_LARGE = "Control response exceeds 64 MiB"


class Connection:
    """One client: its socket, decoder and output buffer."""

    _ids = itertools.count(1)

    def __init__(self, sock: socket.socket, server: ControlServer) -> None:
        self.id = next(self._ids)
        self.sock = sock
        self.decoder = MessageDecoder()
        self.out = bytearray()
        self.closed = False
        self.close_after_flush = False
        self._server = server

    def send(self, obj: Dict[str, Any]) -> None:
        """Queue one response (dropped silently if the client has gone)."""
        if self.closed:
            return
        payload = encode_json(obj)
        if len(payload) > MAX_MESSAGE_BYTES:
            small = {"type": obj.get("type", "error"), "ok": False, "error": RESPONSE_TOO_LARGE}
            if "requestId" in obj:
                small["requestId"] = obj["requestId"]
            payload = encode_json(small)
        self.out += LENGTH_PREFIX.pack(len(payload)) + payload
        self._server.flush(self)

    def close(self) -> None:
        """Close now (unsent data is lost)."""
        self._server.close_connection(self)


class ControlServer:
    """Listens on ``path``; calls ``on_message(connection, request)`` on the loop thread."""

    def __init__(
        self,
        path: Path,
        loop: EventLoop,
        on_message: Callable[[Connection, Dict[str, Any]], None],
    ) -> None:
        self.path = path
        self._loop = loop
        self._on_message = on_message
        self._listener: Optional[socket.socket] = None
        self._inode: Optional[int] = None
        self.connections: Dict[int, Connection] = {}
        self._stalled = False
        self._stall_timer: Optional[TimerHandle] = None

    # -- lifecycle -----------------------------------------------------------------------------

    def listen(self) -> None:
        """Remove a stale socket file, bind and listen (call before the loop runs)."""
        remove_stale_socket(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
            listener.listen(_BACKLOG)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self._inode = os.stat(self.path).st_ino
        self._loop.selector.register(listener, selectors.EVENT_READ, self._accept)

    def close(self) -> None:
        """Close every connection and the listener; remove the socket file if still ours."""
        for connection in list(self.connections.values()):
            self.close_connection(connection)
        listener, self._listener = self._listener, None
        if listener is not None:
            self._unregister(listener)
            listener.close()
            self._remove_own_socket_file()

    def _remove_own_socket_file(self) -> None:
        try:
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass

    # -- I/O callbacks -------------------------------------------------------------------------

    def _accept(self, mask: int) -> None:
        if self._listener is None:
            return
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            sock.setblocking(False)
            connection = Connection(sock, self)
            self.connections[connection.id] = connection
            self._loop.selector.register(sock, selectors.EVENT_READ, lambda m, c=connection: self._io(c, m))
            _log.debug("client %d connected", connection.id)

    def _io(self, connection: Connection, mask: int) -> None:
        if connection.closed:
            return
        if mask & selectors.EVENT_WRITE:
            self.flush(connection)
        if mask & selectors.EVENT_READ and not connection.closed:
            self._read(connection)

    def _read(self, connection: Connection) -> None:
        try:
            data = connection.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            _log.debug("client %d read error: %s", connection.id, exc)
            data = b""
        if not data:
            _log.debug("client %d disconnected", connection.id)
            self.close_connection(connection)
            return
        connection.decoder.feed(data)
        self.process_buffered(connection)

    def process_buffered(self, connection: Connection) -> None:
        """Decode and hand over every complete request buffered for ``connection``."""
        while not connection.closed and not self._stalled and not connection.close_after_flush:
            try:
                message = connection.decoder.next_message()
            except FramingError as exc:
                _log.debug("client %d framing error: %s", connection.id, exc)
                connection.send(dict(FRAMING_ERROR_RESPONSE))
                connection.close_after_flush = True
                self.flush(connection)
                return
            if message is None:
                return
            self._on_message(connection, message)

    def flush(self, connection: Connection) -> None:
        """Send what the socket accepts now; wait for writability for the rest."""
        if connection.closed or self._stalled:
            return
        while connection.out:
            try:
                sent = connection.sock.send(connection.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                _log.debug("client %d write error: %s", connection.id, exc)
                self.close_connection(connection)
                return
            del connection.out[:sent]
        if not connection.out and connection.close_after_flush:
            self.close_connection(connection)
            return
        self._watch(connection)

    def _watch(self, connection: Connection) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if connection.out else 0)
        try:
            key = self._loop.selector.get_key(connection.sock)
        except KeyError:
            return
        if key.events != events:
            self._loop.selector.modify(connection.sock, events, key.data)

    def close_connection(self, connection: Connection) -> None:
        """Unregister and close; pending responses for it are dropped."""
        if connection.closed:
            return
        connection.closed = True
        self.connections.pop(connection.id, None)
        self._unregister(connection.sock)
        connection.sock.close()

    def _unregister(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._loop.selector.unregister(sock)

    # -- fault hooks (loop thread) -------------------------------------------------------------

    def stall(self, seconds: Optional[float]) -> None:
        """Stop accepting, reading and writing for ``seconds`` (``None``: until :meth:`resume`)."""
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if not self._stalled:
            self._stalled = True
            for sock in self._sockets():
                self._unregister(sock)
        if seconds is not None:
            self._stall_timer = self._loop.call_later(seconds, self.resume)
        _log.debug("control channel stalled for %s s (at %.3f)", seconds, time.monotonic())

    def resume(self) -> None:
        """End a stall: serve what arrived meanwhile and send held responses."""
        if not self._stalled:
            return
        self._stalled = False
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        if self._listener is not None:
            self._loop.selector.register(self._listener, selectors.EVENT_READ, self._accept)
        for connection in list(self.connections.values()):
            self._loop.selector.register(connection.sock, selectors.EVENT_READ, lambda m, c=connection: self._io(c, m))
            self.flush(connection)
            self.process_buffered(connection)

    @property
    def stalled(self) -> bool:
        """True during a stall."""
        return self._stalled

    def drop_all(self) -> int:
        """Close every client connection without answering; return how many."""
        connections = list(self.connections.values())
        for connection in connections:
            self.close_connection(connection)
        return len(connections)

    def _sockets(self) -> list[socket.socket]:
        socks = [c.sock for c in self.connections.values()]
        return socks + ([self._listener] if self._listener is not None else [])


def remove_stale_socket(path: Path) -> None:
    """Remove ``path`` if it is a socket file (``QLocalServer::removeServer``); refuse other files."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise FileExistsError(f"{path} exists and is not a socket; not removing it")
    os.unlink(path)

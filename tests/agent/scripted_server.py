"""A scripted PyMoDAQ side for the agent tests: a TCP server built on our codec + transport.

It plays the role of PyMoDAQ 4.4's ``DAQ_2DViewer_TCPServer`` / ``DAQ_Move_TCPServer`` (one
listening socket, any number of agent connections), without PyMoDAQ: each accepted
connection becomes a :class:`Peer` that reads the client type and ``Infos`` (whose
``identity`` group says which camera or axis it is) and then queues every message it gets.
Standard library + numpy + the package's protocol/transport only.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar

from pymodaq_plugins_scopeone.protocol import Hello, Info, Infos, InfoXml, Message, Quit, Sender
from pymodaq_plugins_scopeone.transport import ConnectionLost, MessageStream, TransportError, configure_socket

M = TypeVar("M")


class Peer:
    """One agent connection, seen from the PyMoDAQ side."""

    def __init__(self, sock: socket.socket) -> None:
        configure_socket(sock)
        self.stream = MessageStream(sock, Sender.CLIENT)
        self.messages: queue.Queue[Tuple[float, Message]] = queue.Queue()
        self.infos: List[Info] = []
        self.hello: Optional[Hello] = None
        self.settings_xml = ""
        self.closed = threading.Event()
        self.quit_received = False
        self._send_lock = threading.Lock()
        first = self.stream.receive(5.0)
        second = self.stream.receive(5.0)
        if not isinstance(first, Hello) or not isinstance(second, Infos):
            raise AssertionError(f"handshake: expected Hello then Infos, got {first!r}, {second!r}")
        self.hello, self.settings_xml = first, second.xml
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    # -- identity ------------------------------------------------------------------------
    @property
    def identity(self) -> Dict[str, str]:
        root = ET.fromstring(self.settings_xml)
        group = root.find("identity")
        assert group is not None, f"no identity group in {self.settings_xml[:200]}"
        return {child.tag: child.text or "" for child in group}

    @property
    def key(self) -> Tuple[str, str]:
        ident = self.identity
        return (ident["kind"], ident.get("camera") or ident.get("axis", ""))

    # -- traffic -------------------------------------------------------------------------
    def _read(self) -> None:
        try:
            while True:
                message = self.stream.receive(0.5)
                if message is None:
                    if self.stream.closed:
                        return
                    continue
                if isinstance(message, Info):
                    self.infos.append(message)
                if isinstance(message, Infos):
                    self.settings_xml = message.xml
                if isinstance(message, Quit):
                    self.quit_received = True
                self.messages.put((time.monotonic(), message))
        except (TransportError, OSError, Exception):
            pass
        finally:
            self.closed.set()

    def send(self, message: Message) -> None:
        with self._send_lock:
            self.stream.send(message)

    def expect(self, kind: Type[M], timeout_s: float = 5.0, skip_info: bool = True) -> M:
        """The next message of type ``kind`` (Info/Infos/Info_xml in between are skipped)."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout_s} s; infos so far: {self.info_texts()}")
            try:
                _at, message = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(message, kind):
                return message
            if skip_info and isinstance(message, (Info, Infos, InfoXml)):
                continue
            raise AssertionError(f"expected {kind.__name__}, got {message!r}")

    def expect_timed(self, kind: Type[M], timeout_s: float = 5.0) -> Tuple[float, M]:
        """Like :meth:`expect` with the monotonic arrival time."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kind.__name__} within {timeout_s} s; infos so far: {self.info_texts()}")
            try:
                at, message = self.messages.get(timeout=remaining)
            except queue.Empty:
                continue
            if isinstance(message, kind):
                return at, message
            if not isinstance(message, (Info, Infos, InfoXml)):
                raise AssertionError(f"expected {kind.__name__}, got {message!r}")

    def drain(self) -> List[Message]:
        """Everything queued right now."""
        out: List[Message] = []
        while True:
            try:
                out.append(self.messages.get_nowait()[1])
            except queue.Empty:
                return out

    def wait_info(self, predicate: Any, timeout_s: float = 5.0, after: int = 0) -> Info:
        """The first Info (received as the ``after``-th or later) for which ``predicate(info)`` is true."""
        deadline = time.monotonic() + timeout_s
        seen = after
        while time.monotonic() < deadline:
            for info in self.infos[seen:]:
                if predicate(info):
                    return info
            seen = len(self.infos)
            time.sleep(0.01)
        raise AssertionError(f"no matching Info within {timeout_s} s; got {self.info_texts()}")

    def info_texts(self) -> List[str]:
        return [f"{i.name}: {i.value}" for i in self.infos]

    def close(self) -> None:
        self.stream.close()
        self._thread.join(2.0)


class ScriptedServer:
    """Listens on 127.0.0.1; agent connections become :class:`Peer` objects, keyed by identity."""

    def __init__(self, port: int = 0) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.peers: List[Peer] = []
        self._new = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                peer = Peer(sock)
            except (AssertionError, TransportError, ConnectionLost, OSError):
                sock.close()
                continue
            with self._new:
                self.peers.append(peer)
                self._new.notify_all()

    def wait_peer(self, kind: str, name: str, timeout_s: float = 10.0, after: int = 0) -> Peer:
        """The newest connection of camera/axis ``name`` beyond the first ``after`` peers."""
        deadline = time.monotonic() + timeout_s
        with self._new:
            while True:
                for peer in reversed(self.peers[after:]):
                    if peer.key == (kind, name) and not peer.closed.is_set():
                        return peer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {kind} {name!r} connected within {timeout_s} s")
                self._new.wait(remaining)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(2.0)
        for peer in list(self.peers):
            peer.close()

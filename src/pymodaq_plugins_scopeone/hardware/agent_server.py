"""The PyMoDAQ side of the bridge: one TCP port shared by every ScopeOne module of a process.

Agents (and stock PyMoDAQ 4.4 TCP clients) connect here. Each connection announces its
client type (``GRABBER``/``ACTUATOR``) and usually its identity in its ``Infos`` (the camera
id or the axis name, see docs/decisions/0003); it is then routed to the module that wants
it — the :class:`AgentLink` a viewer or actuator plugin holds. A connection nobody wants
yet is parked until such a module attaches, so agents and plugins may start in any order.

Everything here is Qt-free and runs in plain threads with blocking, time-bounded I/O:
one accept thread, one reader thread per connection. Messages reach a module through
its :class:`LinkListener` callbacks, called from the reader thread.
"""

from __future__ import annotations

import logging
import socket
import threading
import xml.etree.ElementTree as ElementTree
from collections import deque
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional, Protocol, Tuple

from ..protocol import DEFAULT_LIMITS, ClientType, Hello, Infos, Limits, Message, ProtocolError, Quit, Sender
from ..transport import DEFAULT_STALL_TIMEOUT_S, MessageStream, TransportError, configure_socket
from .access import OPEN_ACCESS, AccessPolicy

logger = logging.getLogger(__name__)

POLL_S = 0.25  # how often blocked threads look up to see whether the server is closing
BACKLOG_MESSAGES = 64  # messages kept for a parked connection until a module takes it


class ServerError(TransportError):
    """The shared port cannot be opened (in use, bad address, not allowed)."""


class NotConnected(TransportError):
    """A module asked to talk to its agent while none is connected."""


@dataclass(frozen=True)
class Handshake:
    """What a connection announced: its type, identity and settings XML (if any)."""

    client_type: ClientType
    identity: Optional[str]
    infos_xml: Optional[str]
    peer: str


class LinkListener(Protocol):
    """What a module implements to hear from its agent (called from a reader thread)."""

    def link_connected(self, link: AgentLink) -> None: ...

    def link_message(self, link: AgentLink, message: Message) -> None: ...

    def link_lost(self, link: AgentLink, reason: str) -> None: ...


def identity_from_infos(xml: str) -> Optional[str]:
    """The camera id or axis name an agent announces in its ``Infos`` settings tree.

    The agent puts a read-only group ``identity`` first in its tree, with a ``camera`` or
    ``axis`` child (docs/decisions/0003); a plain ``identity`` string parameter is accepted
    too. Documents with a DTD are refused unparsed: no entity of a peer is ever expanded.
    """
    if "<!DOCTYPE" in xml or "<!ENTITY" in xml:
        return None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    element = root if root.tag == "identity" else root.find(".//identity")
    if element is None:
        return None
    named = element.find("camera") if element.find("camera") is not None else element.find("axis")
    text = (named if named is not None else element).text or ""
    return text.strip() or None


class AgentLink:
    """One module's end of the bridge: its agent connection, whenever there is one.

    Args:
        client_type: GRABBER for a viewer, ACTUATOR for an actuator.
        identity: the camera id or axis name the module wants; '' takes any agent of its type.
    """

    def __init__(self, server: AgentServer, client_type: ClientType, identity: str, listener: LinkListener) -> None:
        self.server = server
        self.client_type = client_type
        self.identity = identity
        self.listener = listener
        self._connection: Optional[_Connection] = None

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def handshake(self) -> Optional[Handshake]:
        """What the connected agent announced (None while no agent is connected)."""
        connection = self._connection
        return connection.handshake if connection else None

    def send(self, message: Message) -> None:
        """Send a message to the agent.

        Raises:
            NotConnected: no agent is connected to this module.
            TransportError: the connection broke while sending (the module hears link_lost).
        """
        connection = self._connection
        if connection is None:
            raise NotConnected(
                f"no {self.client_type.value} agent connected on port {self.server.port}"
                f"{f' for {self.identity!r}' if self.identity else ''}: is scopeone-agent running?"
            )
        connection.send(message)

    def close(self) -> None:
        """Detach from the server and drop the agent connection (the agent will reconnect)."""
        self.server.detach(self)


class _Connection:
    """One accepted socket: handshake, then a reader loop delivering to its link."""

    def __init__(self, server: AgentServer, stream: MessageStream) -> None:
        self.server = server
        self.stream = stream
        self.handshake: Optional[Handshake] = None
        self.link: Optional[AgentLink] = None
        self.backlog: Deque[Message] = deque(maxlen=BACKLOG_MESSAGES)

    def send(self, message: Message) -> None:
        try:
            self.stream.send(message)
        except TransportError:
            self.stream.close()  # the reader thread notices and reports the loss
            raise

    def run(self) -> None:
        reason = "server closed"
        try:
            self.handshake = self._handshake()
            self.server._route(self)
            while not self.server.closing:
                message = self.stream.receive(POLL_S)
                if message is None:
                    continue
                if isinstance(message, Quit):
                    reason = "the agent quit"
                    break
                self.server._deliver(self, message)
        except (TransportError, ProtocolError) as error:
            reason = str(error)
        finally:
            self.stream.close()
            self.server._forget(self, reason)

    def _handshake(self) -> Handshake:
        first = self.stream.receive(self.server.handshake_timeout_s)
        if not isinstance(first, Hello):
            raise _HandshakeError(f"{self.stream.peer}: expected GRABBER or ACTUATOR first, got {first!r}")
        self.server.policy.authenticate(self.stream, first.client_type, self.server.handshake_timeout_s)
        second = self.stream.receive(self.server.infos_wait_s)
        if isinstance(second, Infos):
            return Handshake(first.client_type, identity_from_infos(second.xml), second.xml, self.stream.peer)
        if second is not None:
            self.backlog.append(second)  # a client that sends no Infos: keep what it said
        return Handshake(first.client_type, None, None, self.stream.peer)


class _HandshakeError(TransportError):
    pass


class AgentServer:
    """The shared listening port and the routing of agent connections to modules.

    Args:
        port: TCP port (0 picks a free one, for tests).
        bind_address: interface to listen on ('0.0.0.0' = all, '127.0.0.1' = this PC only).
        limits: codec limits for what agents send.
        handshake_timeout_s: how long a new connection may take to announce its type
            (and to answer the authentication challenge).
        infos_wait_s: how long to wait for an optional ``Infos`` after the type.
        policy: who may connect (allow-list, per-address cap, shared secret).
        stall_timeout_s: longest wait for the rest of a message an agent has begun (and for
            an agent to take the next bytes we send); past it the connection is dropped.
    """

    def __init__(
        self,
        port: int,
        bind_address: str = "0.0.0.0",
        limits: Limits = DEFAULT_LIMITS,
        handshake_timeout_s: float = 5.0,
        infos_wait_s: float = 1.0,
        policy: AccessPolicy = OPEN_ACCESS,
        stall_timeout_s: float = DEFAULT_STALL_TIMEOUT_S,
    ) -> None:
        self.bind_address = bind_address
        self.stall_timeout_s = stall_timeout_s
        self.policy = policy
        self.limits = limits
        self.handshake_timeout_s = handshake_timeout_s
        self.infos_wait_s = infos_wait_s
        self._closed = threading.Event()
        self._lock = threading.RLock()
        self._links: List[AgentLink] = []
        self._connections: List[_Connection] = []
        self._threads: List[threading.Thread] = []
        self._listener = _listen(bind_address, port)
        self.port: int = self._listener.getsockname()[1]
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"scopeone-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()

    @property
    def closing(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed.is_set()

    # -- modules -----------------------------------------------------------------------
    def attach(self, client_type: ClientType, identity: str, listener: LinkListener) -> AgentLink:
        """Register a module; it hears ``link_connected`` as soon as a matching agent is here."""
        link = AgentLink(self, client_type, identity, listener)
        with self._lock:
            self._links.append(link)
            parked = [c for c in self._connections if c.link is None and c.handshake is not None]
            connection = next((c for c in parked if c.handshake and self._match(c.handshake) is link), None)
            if connection is not None:
                self._bind(connection, link)
        if connection is not None:
            _announce(connection, link)
        return link

    def detach(self, link: AgentLink) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)
            connection = link._connection
        if connection is not None:
            connection.stream.close()

    def connections(self) -> List[Tuple[str, Optional[Handshake], bool]]:
        """(peer, handshake, routed) of every open connection, for status displays."""
        with self._lock:
            return [(c.stream.peer, c.handshake, c.link is not None) for c in self._connections]

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, close every connection and wait for the threads (idempotent)."""
        with self._lock:
            self._closed.set()
            connections = list(self._connections)
        self._listener.close()
        for connection in connections:
            connection.stream.close()
        for thread in [self._accept_thread, *self._threads]:
            if thread is not threading.current_thread():
                thread.join(timeout_s)

    # -- connections -------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                sock, address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                break  # listener closed
            if not self._admit(sock, address[0]):
                continue
            configure_socket(sock)
            connection = _Connection(
                self, MessageStream(sock, Sender.CLIENT, self.limits, stall_timeout_s=self.stall_timeout_s)
            )
            thread = threading.Thread(target=connection.run, name=f"scopeone-agent-{address[0]}", daemon=True)
            with self._lock:
                if self._closed.is_set():  # close() ran while we accepted
                    connection.stream.close()
                    break
                self._connections.append(connection)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _admit(self, sock: socket.socket, address: str) -> bool:
        """Refuse a peer outside the allow-list or over its connection cap, before reading from it."""
        with self._lock:
            open_here = sum(c.stream.peer.rsplit(":", 1)[0] == address for c in self._connections)
        if self.policy.address_allowed(address) and open_here < self.policy.max_connections_per_address:
            return True
        why = "not in the allowed networks" if not self.policy.address_allowed(address) else "too many connections"
        logger.warning("refused a connection from %s: %s", address, why)
        sock.close()
        return False

    def _route(self, connection: _Connection) -> None:
        handshake = connection.handshake
        with self._lock:
            link = self._match(handshake) if handshake else None
            if link is not None:
                self._bind(connection, link)
        if link is None:
            logger.info("parked %s: no module wants it yet", handshake)
        else:
            _announce(connection, link)

    def _match(self, handshake: Handshake) -> Optional[AgentLink]:
        """The module a connection belongs to (see the module docstring for the rules)."""
        same_type = [link for link in self._links if link.client_type is handshake.client_type]
        if handshake.identity is not None:
            exact = [link for link in same_type if link.identity == handshake.identity]
            free_any = [link for link in same_type if not link.identity and not link.connected]
            candidates = exact or free_any
            return candidates[0] if candidates else None
        free = [link for link in same_type if not link.connected]
        return free[0] if len(free) == 1 else None  # a stock client can only go to the single waiting module

    def _bind(self, connection: _Connection, link: AgentLink) -> None:
        """Tie a connection to its module (under the lock; announce it after releasing it)."""
        previous = link._connection
        link._connection = connection
        connection.link = link
        if previous is not None:  # the agent came back before its old connection was noticed dead
            previous.link = None
            previous.stream.close()

    def _deliver(self, connection: _Connection, message: Message) -> None:
        with self._lock:
            link = connection.link
            if link is None:
                connection.backlog.append(message)
                return
        _notify(link.listener.link_message, link, message)

    def _forget(self, connection: _Connection, reason: str) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)
            link, connection.link = connection.link, None
            if link is not None and link._connection is connection:
                link._connection = None
            else:
                link = None
        if link is not None:
            _notify(link.listener.link_lost, link, reason)


def _announce(connection: _Connection, link: AgentLink) -> None:
    """Tell a module its agent is here, then hand it what the agent said while parked."""
    _notify(link.listener.link_connected, link)
    while connection.backlog:
        _notify(link.listener.link_message, link, connection.backlog.popleft())


def _notify(callback: Callable[..., None], *args: object) -> None:
    """Call a module's callback; its bugs are logged, never allowed to kill a reader thread."""
    try:
        callback(*args)
    except Exception:
        logger.exception("ScopeOne module callback %s failed", getattr(callback, "__qualname__", callback))


def _listen(bind_address: str, port: int) -> socket.socket:
    try:
        listener = socket.create_server((bind_address, port), reuse_port=False)
    except OSError as error:
        raise ServerError(
            f"cannot listen on {bind_address}:{port} ({error.strerror or error}): is another program using "
            "the port? Choose another port in the plugin settings and give the same one to scopeone-agent."
        ) from error
    listener.settimeout(POLL_S)
    return listener


_SHARED: Dict[Tuple[str, int], Tuple[AgentServer, int]] = {}
_SHARED_LOCK = threading.Lock()


def shared_server(port: int, bind_address: str = "0.0.0.0", policy: AccessPolicy = OPEN_ACCESS) -> AgentServer:
    """The process-wide server for this address and port, opened on first use (counted).

    Raises:
        ServerError: the port cannot be opened, or is already served with another policy.
    """
    with _SHARED_LOCK:
        server, users = _SHARED.get((bind_address, port), (None, 0))
        if server is not None and not server.closing and server.policy != policy:
            raise ServerError(
                f"port {port} is already open in this process with other access settings: "
                "give every ScopeOne module on one port the same allowed networks and secret"
            )
        if server is None or server.closing:
            server, users = AgentServer(port, bind_address, policy=policy), 0
        _SHARED[(bind_address, port)] = (server, users + 1)
        return server


def release_server(server: AgentServer) -> None:
    """Give back a :func:`shared_server`; the last user closes it and frees the port."""
    with _SHARED_LOCK:
        key = (server.bind_address, server.port)
        _, users = _SHARED.get(key, (server, 1))
        if users > 1:
            _SHARED[key] = (server, users - 1)
            return
        _SHARED.pop(key, None)
    server.close()

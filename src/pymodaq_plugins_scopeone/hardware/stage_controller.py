"""The stage side of the actuator modules: one agent connection per axis (Qt-free).

The X, Y and Z modules share one :class:`StageController` (PyMoDAQ master/slave); each
module attaches its axis and gets an :class:`AxisChannel`, routed to the agent connection
that announced that axis. Positions are in µm.

Move bookkeeping: the agent answers every ``move_abs``/``move_rel``/``move_home`` with
exactly one ``move_done`` or one error ``Info`` (docs/decisions/0003), in order. The
channel counts the moves in flight: the answer that brings the count back to zero
completes the module's latest command; earlier answers (a move that PyMoDAQ already gave
up on, say after its timeout) are only position updates. Nothing is polled: completion
is the agent's ``move_done``; positions come as ``position_is`` answers or pushes.
Listener callbacks come from the connection's reader thread and must only hand over.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable, Dict, Optional, Protocol

from ..protocol import (
    ClientType,
    DataActuator,
    GetActuatorValue,
    Info,
    Message,
    MoveAbs,
    MoveDone,
    MoveHome,
    MoveRel,
    Position,
    PositionIs,
    StopMotion,
)
from ..transport import TransportError
from .agent_server import AgentLink, AgentServer, NotConnected, release_server, shared_server
from .link_status import LinkStatus, info_text, is_error_info

UNITS = "µm"
UNIT_FACTORS_UM = {"": 1.0, "µm": 1.0, "μm": 1.0, "um": 1.0, "micron": 1.0, "nm": 1e-3, "mm": 1e3, "m": 1e6}
POSITION_REQUEST_RETRY_S = 1.0  # a position request unanswered this long may be sent again


class PositionError(ValueError):
    """A position from the agent that is not a finite length."""


def position_um(position: Position) -> float:
    """A position from the agent in µm (a DataActuator in a length unit, or a legacy float).

    Raises:
        PositionError: the units are not a length or the value is not finite.
    """
    if isinstance(position, DataActuator):
        factor = UNIT_FACTORS_UM.get(position.units.strip())
        if factor is None:
            raise PositionError(f"position in {position.units!r}, expected a length ({', '.join(UNIT_FACTORS_UM)})")
        try:
            value = position.value * factor
        except (IndexError, TypeError, ValueError):  # an empty or non-numeric array
            raise PositionError("position: expected one number, got an empty or non-numeric array") from None
    else:
        value = float(position)
    if not math.isfinite(value):
        raise PositionError(f"position {value!r} is not a finite number")
    return value


class AxisListener(Protocol):
    """What an actuator module hears (from a reader thread: hand over only)."""

    def position_changed(self, position_um: float) -> None:
        """The agent reported the axis position (an answer, a push, or an earlier move's end)."""

    def move_done(self, position_um: float) -> None:
        """The module's latest move (or homing) finished at ``position_um``."""

    def move_failed(self, message: str) -> None:
        """The module's latest move failed; it will not be reported done."""

    def status_changed(self, status: LinkStatus, message: str) -> None:
        """The link changed (agent arrived or left, ScopeOne state, an error)."""


class AxisChannel:
    """One axis of the stage, as its module drives it (see the module docstring)."""

    def __init__(self, server: AgentServer, axis: str, listener: AxisListener) -> None:
        self.axis = axis
        self.listener = listener
        self._condition = threading.Condition()
        self._position: Optional[float] = None
        self._serial = 0  # counts position reports, so a reader can wait for a newer one
        self._pending = 0  # moves sent and not answered yet
        self._asked_at: Optional[float] = None  # when the position request in flight was sent
        self._legacy = False  # the peer speaks 2.x–4.0 (bare floats): answer in kind
        self._status = LinkStatus(server.port)
        self._link = server.attach(ClientType.ACTUATOR, axis, self)

    # -- what the module asks ------------------------------------------------------------
    @property
    def status(self) -> LinkStatus:
        return self._status

    @property
    def position(self) -> Optional[float]:
        """The last position the agent reported, in µm (None before the first one)."""
        return self._position

    @property
    def pending_moves(self) -> int:
        return self._pending

    def move_abs(self, position_um: float) -> None:
        """Move to ``position_um``; ``move_done`` or ``move_failed`` follows.

        Raises:
            NotConnected: no agent serves this axis.
        """
        self._send_move(MoveAbs(self._position_value(position_um)))

    def move_rel(self, step_um: float) -> None:
        """Move by ``step_um`` from the agent's own reference (its last target or position)."""
        self._send_move(MoveRel(self._position_value(step_um)))

    def move_home(self) -> None:
        """Go to the agent's home position; ``move_done`` follows."""
        self._send_move(MoveHome())

    def stop_motion(self) -> None:
        """Ask the agent to stop (ScopeOne's stages cannot: the agent says so and moves end normally)."""
        self._link.send(StopMotion())

    def request_position(self, link: Optional[AgentLink] = None) -> bool:
        """Ask for the position without waiting (one request at a time); False if not sent."""
        with self._condition:
            now = time.monotonic()
            if self._asked_at is not None and now - self._asked_at < POSITION_REQUEST_RETRY_S:
                return False
            self._asked_at = now
        try:
            (link or self._link).send(GetActuatorValue())
        except TransportError:
            return False
        return True

    def read_position(self, timeout_s: float) -> Optional[float]:
        """Ask the agent and wait up to ``timeout_s`` for its answer; the last known position otherwise."""
        with self._condition:
            serial = self._serial
            self._asked_at = None
        if not self.request_position():
            return self._position
        with self._condition:
            self._condition.wait_for(lambda: self._serial > serial or not self._status.connected, timeout_s)
            return self._position

    # -- the agent's side (reader thread) ------------------------------------------------
    def link_connected(self, link: AgentLink) -> None:
        with self._condition:
            self._pending, self._asked_at = 0, None
            self._status = self._status.with_agent(link)
        self.listener.status_changed(self._status, f"{self.axis}: {self._status.summary()}")
        self.request_position(link)  # show where the stage is as soon as we can (self._link may not be set yet)

    def link_lost(self, link: AgentLink, reason: str) -> None:
        with self._condition:
            had_moves, self._pending, self._asked_at = self._pending > 0, 0, None
            text = f"{self.axis}: agent lost ({reason}); {self._status.waiting_text()}"
            self._status = self._status.with_agent(None).with_error(text)
            self._condition.notify_all()
        self.listener.status_changed(self._status, text)
        if had_moves:
            self.listener.move_failed(f"{self.axis}: the agent left during the move ({reason})")

    def link_message(self, link: AgentLink, message: Message) -> None:
        if isinstance(message, (PositionIs, MoveDone)):
            self._on_position(message)
        elif isinstance(message, Info):
            self._on_info(message)

    def _on_position(self, message: Message) -> None:
        assert isinstance(message, (PositionIs, MoveDone))
        try:
            value = position_um(message.position)
        except PositionError as error:
            self._report_error(f"{self.axis}: {message.command}: {error}")
            return
        completes = False
        with self._condition:
            self._legacy = not isinstance(message.position, DataActuator)
            self._position, self._serial = value, self._serial + 1
            if isinstance(message, PositionIs):
                self._asked_at = None
            elif self._pending > 0:
                self._pending -= 1
                completes = self._pending == 0
            self._condition.notify_all()
        if completes:
            self.listener.move_done(value)
        else:
            self.listener.position_changed(value)

    def _on_info(self, info: Info) -> None:
        failed = False
        with self._condition:
            self._status = self._status.with_info(info)
            if is_error_info(info) and self._pending > 0:
                self._pending -= 1  # the agent gave up on the oldest move in flight
                failed = self._pending == 0
        text = f"{self.axis}: {info_text(info)}"
        if failed:
            self.listener.move_failed(text)
        else:
            self.listener.status_changed(self._status, text)

    def _report_error(self, text: str) -> None:
        with self._condition:
            self._status = self._status.with_error(text)
        self.listener.status_changed(self._status, text)

    # -- helpers -------------------------------------------------------------------------
    def _position_value(self, value_um: float) -> Position:
        return float(value_um) if self._legacy else DataActuator.of(value_um, UNITS, self.axis)

    def _send_move(self, message: Message) -> None:
        with self._condition:
            if not self._status.connected:
                raise NotConnected(f"{self.axis}: no stage agent connected, {self._status.waiting_text()}")
            self._pending += 1
        try:
            self._link.send(message)
        except Exception:
            with self._condition:
                self._pending = max(0, self._pending - 1)
            raise

    def close(self) -> None:
        self._link.close()


ServerFactory = Callable[[int, str], AgentServer]


class StageController:
    """The stage shared by the X, Y and Z modules of one controller.

    Args:
        port: TCP port of the shared server (0 = any free port, for tests).
        bind_address: interface the server listens on.

    Raises:
        ServerError: the port cannot be opened.
    """

    def __init__(self, port: int, bind_address: str = "0.0.0.0", server_factory: ServerFactory = shared_server) -> None:
        self._open_server: Callable[[], AgentServer] = lambda: server_factory(port, bind_address)
        self._server = self._open_server()
        self._channels: Dict[str, AxisChannel] = {}
        self._lock = threading.Lock()
        self._released = False

    @property
    def port(self) -> int:
        return self._server.port

    def attach(self, axis: str, listener: AxisListener) -> AxisChannel:
        """The channel of ``axis`` for its module.

        Raises:
            ValueError: another module of this controller already drives ``axis``.
        """
        with self._lock:
            if axis in self._channels:
                raise ValueError(f"axis {axis} is already used by another module of this controller")
            if self._released:  # every module left, then one came back (re-initialisation)
                self._server, self._released = self._open_server(), False
            channel = AxisChannel(self._server, axis, listener)
            self._channels[axis] = channel
            return channel

    def detach(self, channel: AxisChannel) -> None:
        """A module leaves; the last one gives back the shared port."""
        with self._lock:
            if self._channels.get(channel.axis) is channel:
                del self._channels[channel.axis]
            last = not self._channels and not self._released
            self._released = self._released or last
        channel.close()
        if last:
            release_server(self._server)

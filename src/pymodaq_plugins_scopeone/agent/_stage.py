"""One stage axis (X or Y of the XY stage, Z of the focus device) as a PyMoDAQ actuator.

Positions are in µm. ``move_abs`` / ``move_rel`` / ``move_home`` are sent to ScopeOne at once
as asynchronous moves: Z as ``move_z_to``; X and Y as ``move_xy_relative`` with the other
axis at 0, so that the X and Y modules (two connections on one XY stage) never undo each
other's moves. A relative step is measured from the target of this axis's move still in
flight, else from the live position. ``move_done`` (with the position read back) is sent
only when ScopeOne answers the move ``ok``; a failed or timed-out move gives an ``Info``
with ScopeOne's text and no ``move_done``, and so does an X/Y move that was queued behind a
move that failed (its step assumed the failed move's target, so it ends elsewhere).

``stop_motion``: the Local API has no request that stops a stage (moves are queued per
stage and cannot be cancelled), so the agent cannot stop it. It answers with an ``Info``
saying so and a ``position_is`` with the live position; the running move ends at its target
and is then reported with ``move_done`` as usual.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Dict, Tuple

from ..protocol import (
    ClientType,
    DataActuator,
    GetActuatorValue,
    Message,
    MoveAbs,
    MoveDone,
    MoveHome,
    MoveRel,
    Position,
    PositionIs,
    SetInfo,
    StopMotion,
)
from ._errors import AgentError
from ._localapi import Outcome
from ._module import Module
from ._paramxml import Param, ParameterXmlError, from_xml, resolve_path, to_xml
from ._scopeone import ScopeOne, describe

_log = logging.getLogger("pymodaq_plugins_scopeone.agent.stage")
UNITS = "µm"
UNIT_FACTORS_UM = {"": 1.0, "µm": 1.0, "μm": 1.0, "um": 1.0, "micron": 1.0, "nm": 1e-3, "mm": 1e3, "m": 1e6}


def position_um(position: Position, field: str) -> Tuple[float, bool]:
    """(value in µm, legacy?) of an incoming position; AgentError naming ``field`` if unusable."""
    if isinstance(position, DataActuator):
        try:
            value = position.value
        except (IndexError, TypeError, ValueError):  # an empty or non-numeric array
            array = position.data[0] if position.data else None
            shape = getattr(array, "shape", None)
            raise AgentError(f"{field}: expected one number, got an array of shape {shape}") from None
        factor = UNIT_FACTORS_UM.get(position.units.strip())
        if factor is None:
            raise AgentError(
                f"{field}: units {position.units!r} are not a length; expected one of {', '.join(UNIT_FACTORS_UM)}"
            )
        value *= factor
        legacy = False
    else:
        value, legacy = float(position), True
    if not math.isfinite(value):
        raise AgentError(f"{field}: expected a finite position in µm, got {value!r}")
    return value, legacy


class AxisModule(Module):
    """A PyMoDAQ ``ACTUATOR`` connection for one axis (see the module docstring)."""

    client_type = ClientType.ACTUATOR
    root_name = "move_settings"

    def __init__(
        self,
        axis: str,
        scopeone: ScopeOne,
        agent_name: str,
        device: str = "",
        home_um: float = 0.0,
        move_timeout_s: float = 60.0,
    ) -> None:
        super().__init__(f"axis-{axis}", scopeone, agent_name)
        self.axis = axis
        self.kind = "z" if axis == "Z" else "xy"
        self.device = device
        self.home_um = float(home_um)
        self.move_timeout_s = float(move_timeout_s)
        self.legacy = False
        self._moves: Dict[int, Tuple[float, int]] = {}  # move id -> (target µm, connection epoch)
        self._misbased: Dict[int, float] = {}  # XY move id -> target of the failed move its step assumed
        self._next_move = 0

    # -- settings ------------------------------------------------------------------------
    def identity(self) -> Param:
        stage = "focus device" if self.kind == "z" else "XY stage"
        return self.identity_children("axis", axis=self.axis, device=self.device or f"(ScopeOne's current {stage})")

    def settings(self) -> Param:
        return Param(
            self.root_name,
            "group",
            "Move settings",
            children=[
                self.identity(),
                Param("units", "str", "Units", UNITS, readonly=True),
                Param("home_um", "float", "Home (µm)", self.home_um),
                Param("move_timeout_s", "float", "Move timeout (s)", self.move_timeout_s),
            ],
        )

    def settings_xml(self) -> str:
        return to_xml(self.settings())

    def _set_info(self, message: SetInfo) -> None:
        root = self.settings()
        try:
            incoming = from_xml(message.xml)
            path = resolve_path(root, message.path, incoming.name)
        except (ParameterXmlError, KeyError) as error:
            self.info("set_info error", f"{self.name}: {error}")
            return
        value = incoming.value
        if path == ("home_um",) and isinstance(value, float) and math.isfinite(value):
            self.home_um = value
        elif path == ("move_timeout_s",) and isinstance(value, float) and math.isfinite(value) and value > 0:
            self.move_timeout_s = value
        else:
            self.info("set_info error", f"{self.name}: {'/'.join(path)} = {value!r} refused (read-only or invalid)")
        self.send_param(path, self.settings().child(*path))

    # -- positions -----------------------------------------------------------------------
    def read_um(self) -> float:
        """The live position of this axis (also while a move runs)."""
        if self.kind == "z":
            response = self.scopeone.request("read_z_position", device=self.device)
            key = "z"
        else:
            response = self.scopeone.request("read_xy_position", device=self.device)
            key = self.axis.lower()
        value = response.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise AgentError(f"ScopeOne's {key} position is {value!r}, expected a finite number")
        return float(value)

    def _position(self, value_um: float) -> Position:
        return value_um if self.legacy else DataActuator.of(value_um, UNITS, self.axis)

    # -- messages ------------------------------------------------------------------------
    def handle(self, message: Message, arrival: float) -> None:
        try:
            if isinstance(message, (MoveAbs, MoveRel)):
                value, self.legacy = position_um(message.position, f"{message.command}.position")
                if isinstance(message, MoveRel):
                    value += self._base_um()
                self._move_to(value)
            elif isinstance(message, MoveHome):
                self._move_to(self.home_um)
            elif isinstance(message, GetActuatorValue):
                self.send(PositionIs(self._position(self.read_um())))
            elif isinstance(message, StopMotion):
                self.info(
                    "stop_motion",
                    f"{self.axis}: the Local API cannot stop a stage; "
                    f"{len(self._moves)} move(s) will end at their target and report move_done",
                )
                self.send(PositionIs(self._position(self.read_um())))
            elif isinstance(message, SetInfo):
                self._set_info(message)
            else:
                self.info("agent error", f"{self.name}: {message.command!r} is not an actuator command")
        except AgentError as error:
            self.info("move error", f"{self.axis}: {describe(error)}")

    def _base_um(self) -> float:
        if self._moves:
            return self._moves[max(self._moves)][0]
        return self.read_um()

    def _move_to(self, target: float) -> None:
        self._next_move += 1
        move_id = self._next_move

        def done(outcome: Outcome) -> None:
            self.post("move_result", move_id, outcome)

        fields: Dict[str, Any] = {"device": self.device}
        if self.kind == "z":
            request = "move_z_to"
            fields["z"] = target
        else:
            request = "move_xy_relative"
            step = target - self._base_um()
            fields["dx"], fields["dy"] = (step, 0.0) if self.axis == "X" else (0.0, step)
        self._moves[move_id] = (target, self.epoch)
        if self.kind == "xy" and self._misbased:  # its step starts from a misplaced target too
            self._misbased[move_id] = max(self._misbased.items())[1]
        try:
            self.scopeone.submit(request, self.move_timeout_s, done, **fields)
        except AgentError:
            self._moves.pop(move_id, None)
            self._misbased.pop(move_id, None)
            raise
        _log.debug("%s: move #%d to %g µm (%s %s)", self.axis, move_id, target, request, fields)

    def handle_event(self, event: Tuple[Any, ...]) -> None:
        if event[0] != "move_result":
            return
        _, move_id, outcome = event
        target, epoch = self._moves.pop(move_id, (math.nan, -1))
        failed_before = self._misbased.pop(move_id, None)
        if isinstance(outcome, AgentError) and self.kind == "xy":
            # XY moves are relative steps from the target of the move before them: the moves
            # queued behind this one assumed it would succeed, so they will not end at their target.
            for later in self._moves:
                if later > move_id:
                    self._misbased.setdefault(later, target)
        if epoch != self.epoch:
            return  # asked on an earlier connection: nobody waits for it on this one
        if isinstance(outcome, AgentError):
            self.info("move error", f"{self.axis}: move to {target:g} µm failed: {describe(outcome)}")
            return
        try:
            position = self.read_um()
        except AgentError as error:
            self.info("move error", f"{self.axis}: move finished but the position cannot be read: {describe(error)}")
            return
        if failed_before is not None:  # never a move_done for a move that did not go where it was asked
            self.info(
                "move error",
                f"{self.axis}: move to {target:g} µm was queued behind the failed move to {failed_before:g} µm "
                f"and ended at {position:g} µm",
            )
            return
        self.send(MoveDone(self._position(position)))


__all__ = ["AxisModule", "position_um"]

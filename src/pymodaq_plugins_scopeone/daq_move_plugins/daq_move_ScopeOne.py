"""DAQ_Move_ScopeOne: the X, Y and Z axes of a ScopeOne microscope on a distant PC, in µm.

One :class:`~pymodaq_plugins_scopeone.hardware.stage_controller.StageController` is
shared by the X, Y and Z modules (Master/Slave with one controller ID); each axis has
its own agent connection. Completion is the agent's ``move_done``: PyMoDAQ's poll timer
still runs during a move, but only to ask for live positions and to raise PyMoDAQ's
timeout, never to decide that the move is done.
"""

from __future__ import annotations

from time import perf_counter
from typing import Optional

from pymodaq.control_modules.move_utility_classes import (
    DAQ_Move_base,
    DataActuatorType,
    comon_parameters_fun,
    main,
)
from pymodaq.control_modules.thread_commands import ThreadStatus
from pymodaq.utils.data import DataActuator
from pymodaq_utils.utils import ThreadCommand
from qtpy.QtCore import Slot

from pymodaq_plugins_scopeone.hardware.agent_server import ServerError
from pymodaq_plugins_scopeone.hardware.plugin_config import configured_server, server_defaults
from pymodaq_plugins_scopeone.hardware.qt_bridge import (
    AxisBridge,
    close_when_thread_ends,
    link_params,
    server_params,
    show_link_status,
)
from pymodaq_plugins_scopeone.hardware.stage_controller import AxisChannel, StageController
from pymodaq_plugins_scopeone.transport import TransportError

VALUE_TIMEOUT_S = 0.5  # longest wait for the agent's answer to a position request


class DAQ_Move_ScopeOne(DAQ_Move_base):
    """One ScopeOne stage axis (X, Y: the XY stage; Z: the focus device) served by scopeone-agent.

    * ``move_abs``/``move_rel``/``move_home`` go to the agent; the move is reported done when
      the agent sends ``move_done`` (bounds and scaling of PyMoDAQ applied before sending);
    * PyMoDAQ's ``timeout`` setting (s) still raises a timeout if ``move_done`` does not come;
    * an agent error (e.g. "Stage move failed") is shown in the status bar and the move is
      not reported done;
    * positions come from the agent (``position_is``), also while moving.

    Settings: server port and bind address (the Master's are used by its Slaves), link status.
    """

    is_multiaxes = True
    _axis_names = ["X", "Y", "Z"]  # noqa: RUF012 (PyMoDAQ reads these class attributes)
    _controller_units = "µm"
    _epsilons = 0.01  # µm: only used by PyMoDAQ's displays; completion never compares positions
    data_actuator_type = DataActuatorType.DataActuator

    params = [  # noqa: RUF012
        server_params(*server_defaults()),
        link_params(),
        *comon_parameters_fun(axis_names=_axis_names, epsilon=_epsilons),
    ]

    def ini_attributes(self) -> None:
        self.controller: Optional[StageController] = None
        self._channel: Optional[AxisChannel] = None
        self._awaiting = False  # the current command waits for the agent's move_done
        self._bridge = AxisBridge()
        self._bridge.event.connect(self._on_event)

    def ini_stage(self, controller: Optional[StageController] = None):
        """Master: open (or share) the ScopeOne port; every module: attach its axis, without waiting."""
        try:
            new = (
                StageController(
                    self.settings["server", "port"], self.settings["server", "bind_address"], configured_server
                )
                if self.is_master
                else None
            )
            self.controller = self.ini_controller_init(slave_controller=controller, new_controller=new)
            self._channel = self.controller.attach(self.axis_name, self._bridge)
        except (ServerError, ValueError) as error:
            return str(error), False
        close_when_thread_ends(self.close)
        summary = f"{self.axis_name}: {self._channel.status.summary()}"
        self._status(summary)
        return summary, True

    def get_actuator_value(self) -> DataActuator:
        """The position the agent reports (asked now, ≤ 0.5 s), else the last known one (µm)."""
        value = self._channel.read_position(VALUE_TIMEOUT_S) if self._channel is not None else None
        known = self._current_value.value() if value is None else value
        return self.get_position_with_scaling(DataActuator(data=known, units=self.axis_unit))

    def move_abs(self, value: DataActuator) -> None:
        """Move to ``value`` (µm) within PyMoDAQ's bounds."""
        value = self.check_bound(value)
        self.target_value = value
        value = self.set_position_with_scaling(value)
        self._command(lambda: self._channel.move_abs(value.value()))

    def move_rel(self, value: DataActuator) -> None:
        """Move by ``value`` (µm) within PyMoDAQ's bounds."""
        value = self.check_bound(self.current_value + value) - self.current_value
        self.target_value = value + self.current_value
        value = self.set_position_relative_with_scaling(value)
        self._command(lambda: self._channel.move_rel(value.value()))

    def move_home(self) -> None:
        """Go to the agent's home position; done when the agent says so (PyMoDAQ does not poll here)."""
        if self._command(lambda: self._channel.move_home()):
            self.start_time = perf_counter()
            self.poll_timer.start()  # timeout and live positions, as for the other moves

    def stop_motion(self) -> None:
        """Ask the agent to stop, and end the command (a later move_done is a position update)."""
        try:
            self._channel.stop_motion()
        except TransportError as error:
            self._status(f"{self.axis_name}: {error}")
        self.poll_timer.stop()
        self._awaiting = False
        self.move_done(self.current_value)

    def poll_moving(self) -> None:
        """Start the timeout/live-position timer only if a move was sent (a refused one already failed)."""
        if self._awaiting or not self.ispolling:
            super().poll_moving()

    def check_target_reached(self) -> None:
        """Poll timer tick during a move: ask for a live position, raise PyMoDAQ's timeout; never completes."""
        if not self._awaiting:
            self.poll_timer.stop()
            return
        self._channel.request_position()  # at most one request in flight
        if perf_counter() - self.start_time >= self.settings["timeout"]:
            self.poll_timer.stop()
            self._awaiting = False
            self.emit_status(ThreadCommand(ThreadStatus.RAISE_TIMEOUT))

    def commit_settings(self, param) -> None:
        """Another axis chosen: leave the old axis connection and take the new one."""
        if param.name() == "axis" and self.controller is not None and self._channel is not None:
            if param.value() != self._channel.axis:
                self.controller.detach(self._channel)
                self._channel = self.controller.attach(param.value(), self._bridge)
        elif param.name() in ("port", "bind_address"):
            self._status(f"{param.name()}: applies at the next init")

    def close(self) -> str:
        """Leave the stage; the last module of the controller releases the shared port."""
        if self.controller is not None and self._channel is not None:
            self.controller.detach(self._channel)
            self._channel = None
        return ""

    # -- from the controller, in this plugin's thread ----------------------------------
    @Slot(str, object)
    def _on_event(self, kind: str, payload) -> None:
        if kind == "status":
            status, message = payload
            show_link_status(self.settings.child("link"), status)
            self._status(message)
            return
        if kind == "failed":
            self._finish(done=None)
            self.settings.child("link", "last_error").setValue(payload)
            self._status(payload)
            return
        position = self.get_position_with_scaling(DataActuator(data=payload, units=self.axis_unit))
        if kind == "done" and self._awaiting:
            self._finish(done=position)
        else:
            self.current_value = position
            self.emit_value(position)

    def _finish(self, done: Optional[DataActuator]) -> None:
        was_awaiting, self._awaiting = self._awaiting, False
        self.poll_timer.stop()
        if done is not None and was_awaiting:
            self.move_done(done)

    def _command(self, send) -> bool:
        """Send a move; on refusal (no agent) say why and report nothing done."""
        try:
            send()
        except TransportError as error:
            self._awaiting = False
            self._status(f"{self.axis_name}: move refused: {error}")
            return False
        self._awaiting = True
        return True

    def _status(self, message: str) -> None:
        self.emit_status(ThreadCommand(ThreadStatus.UPDATE_STATUS, message))


if __name__ == "__main__":
    main(__file__, init=False)

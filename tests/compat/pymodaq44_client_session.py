"""A PyMoDAQ 4.4.11 session whose modules use their own TCP *client* to reach our plugins.

Runs only in the PyMoDAQ 4.4.11 side environment (tests/side_env.py); it isolates PyMoDAQ's
config folders itself before importing it (``isolated_environ`` or started by hand with the
side Python). Used by tests/compat/test_pymodaq44_clients.py.

It starts, without any UI (no parent widget, offscreen Qt):

* a ``DAQ_Viewer`` (DAQ2D) with pymodaq_plugins_mock's ``Mock`` detector, and
* a ``DAQ_Move`` with the ``Mock`` actuator (axis X, in µm),

initialises both, then does what a user does in PyMoDAQ 4.4 to serve a distant PyMoDAQ: set
``main_settings/tcpip/ip_address`` and ``port`` and tick ``connect_server``. The stock client
then announces only its type and its settings (no identity). From there on the server side
(our DAQ_2DViewer_ScopeOne / DAQ_Move_ScopeOne) drives the modules. Protocol with whoever
started it, one JSON object per stdout line:

1. ``{"event": "connected", ...}`` once both modules show ``tcp_connected``;
2. waits (bounded) for a line on stdin, then prints ``{"event": "summary", ...}``: what the 4.4
   modules did on the server's behalf (snapshots, move_done positions, current position);
3. unticks ``connect_server`` on both (the stock client closes its socket), closes both
   modules, prints ``{"event": "final", ...}`` and exits 0 (1 if something failed).

Every wait is bounded; nothing here opens a window or a dialog.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

# isolates PyMoDAQ's configuration folders: before any PyMoDAQ import
from pymodaq44_session_base import QtSession, emit, stdin_line_event

# isort: split
from pymodaq.control_modules.daq_move import DAQ_Move
from pymodaq.control_modules.daq_viewer import DAQ_Viewer
from pymodaq.utils.data import DataActuator, DataToExport
from qtpy import QtWidgets

VIEWER_TITLE = "Mock44Camera"
MOVE_TITLE = "Mock44Stage"


class Session(QtSession):
    """Both modules, the Qt event pumping and what the modules did for the server."""

    def __init__(self, app: QtWidgets.QApplication, deadline: float) -> None:
        super().__init__(app, deadline)
        self.statuses: list[str] = []
        self.viewer: DAQ_Viewer | None = None
        self.mover: DAQ_Move | None = None
        self.snapshots: list[dict[str, Any]] = []
        self.move_done: list[dict[str, Any]] = []
        self.values: list[float] = []

    def _init(self, module: Any, what: str) -> bool:
        inited: list[bool] = []
        module.init_signal.connect(inited.append)
        module.init_hardware(True)
        if not self.wait_for(f"the {what}'s init_signal", lambda: bool(inited), 30) or not inited[0]:
            self.errors.append(f"{what} init failed: {inited}")
            return False
        return True

    def start_viewer(self) -> bool:
        viewer = DAQ_Viewer(title=VIEWER_TITLE)  # no parent: no UI
        self.viewer = viewer
        viewer.status_sig.connect(lambda text: self.statuses.append(f"viewer: {text}"))
        viewer.daq_type = "DAQ2D"
        viewer.detector = "Mock"
        if not self._init(viewer, "viewer"):
            return False
        viewer.grab_done_signal.connect(self._on_grab)
        return True

    def start_mover(self, tau_ms: int) -> bool:
        mover = DAQ_Move(title=MOVE_TITLE)  # no parent: no UI
        self.mover = mover
        mover.status_sig.connect(lambda text: self.statuses.append(f"move: {text}"))
        mover.actuator = "Mock"
        mover.settings.child("move_settings", "multiaxes", "axis").setValue("X")  # the Mock's µm axis
        if not self._init(mover, "mover"):
            return False
        mover.settings.child("move_settings", "tau").setValue(tau_ms)
        mover.move_done_signal.connect(self._on_move_done)
        mover.current_value_signal.connect(lambda value: self.values.append(float(value.value())))
        return True

    def _on_grab(self, dte: DataToExport) -> None:
        self.snapshots.append(
            {"n_dwa": len(dte), "shapes": [list(dwa.data[0].shape) for dwa in dte], "t": time.monotonic()}
        )

    def _on_move_done(self, position: DataActuator) -> None:
        self.move_done.append({"value": float(position.value()), "units": position.units})

    def connect(self, module: Any, host: str, port: int, what: str) -> bool:
        """What a 4.4 user does: server address, then tick 'Connect to server'."""
        tcpip = module.settings.child("main_settings", "tcpip")
        tcpip.child("ip_address").setValue(host)
        tcpip.child("port").setValue(port)
        tcpip.child("connect_server").setValue(True)
        return self.wait_for(f"the {what}'s tcp_connected", lambda: tcpip["tcp_connected"], 20)

    def disconnect(self) -> None:
        for module in (self.viewer, self.mover):
            if module is not None:
                module.settings.child("main_settings", "tcpip", "connect_server").setValue(False)
        self.pump(0.3)

    def close(self) -> None:
        """quit_fun on both modules; wait (bounded) for their threads to end."""
        for module in (self.viewer, self.mover):
            if module is None:
                continue
            thread = getattr(module, "_tcpclient_thread", None)
            module.quit_fun()
            self.pump(0.2)
            if thread is not None:  # the stock client thread busy-loops; a closed socket ends it
                thread.quit()
                thread.wait(2000)
            hardware = getattr(module, "_hardware_thread", None)
            if hardware is not None and not hardware.wait(5000):
                self.errors.append(f"{module.title}: hardware thread still running after close")

    def summary(self) -> dict[str, Any]:
        mover = self.mover
        current = float(mover._current_value.value()) if mover is not None else None
        return {
            "snapshots": self.snapshots,
            "move_done": self.move_done,
            "current_value": current,
            "units": mover.units if mover is not None else None,
            "statuses": self.statuses[-40:],
            "errors": self.errors,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="our plugins' port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tau-ms", type=int, default=5, help="settling time of the Mock actuator")
    parser.add_argument("--stdin-timeout", type=float, default=300.0)
    parser.add_argument("--deadline", type=float, default=400.0, help="the whole session, seconds")
    args = parser.parse_args(argv)

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    session = Session(app, time.monotonic() + args.deadline)
    go = stdin_line_event()
    code = 1
    try:
        if not (session.start_viewer() and session.start_mover(args.tau_ms)):
            emit("error", errors=session.errors, statuses=session.statuses)
            return 1
        viewer_ok = session.connect(session.viewer, args.host, args.port, "viewer")
        mover_ok = session.connect(session.mover, args.host, args.port, "mover")
        emit("connected", viewer=viewer_ok, mover=mover_ok, errors=session.errors)
        serve_until = min(session.deadline, time.monotonic() + args.stdin_timeout)
        while not go.is_set() and time.monotonic() < serve_until:
            session.pump(0.05)  # serve the server's requests until the caller says it is done
        if not go.is_set():
            session.errors.append("no line on stdin (the caller never said it was done)")
        emit("summary", **session.summary())
        session.disconnect()
        code = 0 if not session.errors else 1
    except Exception as error:  # report, then close what was opened
        session.errors.append(f"{type(error).__name__}: {error}")
        emit("error", errors=session.errors, statuses=session.statuses)
    finally:
        session.close()
        emit("final", errors=session.errors)
        if session.errors:
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())

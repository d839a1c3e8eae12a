"""A PyMoDAQ 4.4.11 session with its own TCP server plugins, headless, for the agent to serve.

Runs only in the PyMoDAQ 4.4.11 side environment (tests/side_env.py); it isolates PyMoDAQ's
config folders itself before importing it, so it can be started with ``isolated_environ`` (as
tests/compat/test_agent_with_pymodaq44_servers.py does) or by hand with the side Python.

It starts, without any UI (no parent widget, offscreen Qt):

* a ``DAQ_Viewer`` (DAQ2D) with pymodaq_plugins_mock's ``DAQ_2DViewer_TCPServer``, and
* a ``DAQ_Move`` with ``DAQ_Move_TCPServer``,

both listening on 127.0.0.1 on a free port (``port_id`` 0, the bound port is read back from the
plugin's server socket). Protocol with whoever started it, one JSON object per stdout line:

1. ``{"event": "listening", "viewer_port": P1, "move_port": P2}``;
2. waits (bounded) until a client has filled each server's ``settings_client`` from its ``Infos``
   and its ``Info`` lines have set ``infos/ScopeOne`` to ``ready``, snaps ``--frames`` frames,
   moves the axis to every ``--targets`` value (absolute), then one relative step, home, and asks
   for the value; prints ``{"event": "summary", ...}`` (frames, moves, settings_client, infos,
   status messages, timings, errors);
3. waits (bounded) for a line on stdin (the caller stops its clients first), then for the servers
   to see the clients go, prints ``{"event": "final", ...}``, closes both modules and exits 0
   (1 if something failed; the summary then has ``errors``).

Every wait is bounded; nothing here opens a window or a dialog.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

# isolates PyMoDAQ's configuration folders: before any PyMoDAQ import
from pymodaq44_session_base import QtSession, emit, stdin_line_event

# isort: split
import numpy as np
from pymodaq.control_modules.daq_move import DAQ_Move
from pymodaq.control_modules.daq_viewer import DAQ_Viewer
from pymodaq.utils.data import DataActuator, DataToExport
from qtpy import QtWidgets

VIEWER_TITLE = "ScopeOne44Camera"
MOVE_TITLE = "ScopeOne44Axis"


def jsonable(value: Any) -> Any:
    """Plain JSON for a parameter value or an extra attribute."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def param_tree(param: Any) -> Any:
    """A parameter group as nested dicts of values (groups become dicts)."""
    if param.type() == "group":
        return {child.name(): param_tree(child) for child in param.children()}
    return jsonable(param.value())


def describe_dte(dte: DataToExport) -> list[dict[str, Any]]:
    """What the viewer emitted, one entry per DataWithAxes (the pixels summarised)."""
    out = []
    for dwa in dte:
        arrays = dwa.data
        out.append(
            {
                "class": type(dwa).__name__,
                "name": dwa.name,
                "dim": dwa.dim.name,
                "source": dwa.source.name,
                "origin": dwa.origin,
                "labels": list(dwa.labels),
                "units": getattr(dwa, "units", ""),
                "n_arrays": len(arrays),
                "shape": list(arrays[0].shape),
                "dtype": str(arrays[0].dtype),
                "min": jsonable(arrays[0].min()),
                "max": jsonable(arrays[0].max()),
                "mean": float(arrays[0].mean()),
                "axes": [
                    {
                        "label": axis.label,
                        "units": axis.units,
                        "index": axis.index,
                        "size": axis.size,
                        "first": jsonable(axis.get_data()[0]),
                        "last": jsonable(axis.get_data()[-1]),
                    }
                    for axis in dwa.axes
                ],
                "extra": {name: jsonable(getattr(dwa, name)) for name in dwa.extra_attributes},
                "timestamp": dwa.timestamp,
            }
        )
    return out


class Session(QtSession):
    """Both modules, the Qt event pumping and the bookkeeping of what was seen."""

    def __init__(self, app: QtWidgets.QApplication, deadline: float) -> None:
        super().__init__(app, deadline)
        self.statuses: list[dict[str, Any]] = []
        self.viewer: DAQ_Viewer | None = None
        self.mover: DAQ_Move | None = None
        self.t0 = time.monotonic()

    # -- waiting ----------------------------------------------------------------------------
    def _status(self, module: str) -> Callable[[str], None]:
        def record(text: Any) -> None:
            self.statuses.append({"t_s": round(time.monotonic() - self.t0, 3), "module": module, "text": str(text)})

        return record

    # -- modules ----------------------------------------------------------------------------
    def start_viewer(self) -> int | None:
        viewer = DAQ_Viewer(title=VIEWER_TITLE)  # no parent: no UI
        self.viewer = viewer
        viewer.status_sig.connect(self._status("viewer"))
        viewer.daq_type = "DAQ2D"
        viewer.detector = "TCPServer"
        viewer.settings.child("detector_settings", "socket_ip").setValue("127.0.0.1")
        viewer.settings.child("detector_settings", "port_id").setValue(0)  # any free port
        inited: list[bool] = []
        viewer.init_signal.connect(inited.append)
        viewer.init_hardware(True)
        if not self.wait_for("the viewer's init_signal", lambda: bool(inited), 30) or not inited[0]:
            self.errors.append(f"viewer init failed: {inited}")
            return None
        plugin = viewer._hardware_thread.hardware.detector
        return int(plugin.serversocket.getsockname()[1])

    def start_mover(self) -> int | None:
        mover = DAQ_Move(title=MOVE_TITLE)  # no parent: no UI
        self.mover = mover
        mover.status_sig.connect(self._status("move"))
        mover.actuator = "TCPServer"
        mover.settings.child("move_settings", "socket_ip").setValue("127.0.0.1")
        mover.settings.child("move_settings", "port_id").setValue(0)
        inited: list[bool] = []
        mover.init_signal.connect(inited.append)
        mover.init_hardware(True)
        if not self.wait_for("the mover's init_signal", lambda: bool(inited), 30) or not inited[0]:
            self.errors.append(f"move init failed: {inited}")
            return None
        plugin = mover._hardware_thread.hardware.hardware
        return int(plugin.serversocket.getsockname()[1])

    def viewer_group(self, name: str) -> Any:
        assert self.viewer is not None
        return self.viewer.settings.child("detector_settings", name)

    def mover_group(self, name: str) -> Any:
        assert self.mover is not None
        return self.mover.settings.child("move_settings", name)

    @staticmethod
    def _client_kind(group: Any) -> str | None:
        try:
            return group.child("identity", "kind").value()
        except Exception:  # not filled (yet)
            return None

    @staticmethod
    def _info(group: Any, name: str) -> Any:
        try:
            return group.child(name).value()
        except Exception:
            return None

    # -- the session ------------------------------------------------------------------------
    def wait_clients(self, timeout_s: float) -> dict[str, Any]:
        """Until each server's settings_client holds the client's identity and ScopeOne is ready."""
        assert self.viewer is not None and self.mover is not None
        started = time.monotonic()
        ok_viewer = self.wait_for(
            "the camera's Infos in the viewer's settings_client",
            lambda: self._client_kind(self.viewer_group("settings_client")) == "camera",
            timeout_s,
        )
        ok_mover = self.wait_for(
            "the axis' Infos in the mover's settings_client (and its units)",
            lambda: self._client_kind(self.mover_group("settings_client")) == "axis" and self.mover.units == "µm",
            timeout_s,
        )
        for group in (self.viewer_group("infos"), self.mover_group("infos")):
            self.wait_for("infos/ScopeOne == 'ready'", lambda g=group: self._info(g, "ScopeOne") == "ready", timeout_s)
        return {"viewer": ok_viewer, "mover": ok_mover, "s": round(time.monotonic() - started, 3)}

    def snaps(self, count: int, timeout_s: float) -> list[dict[str, Any]]:
        assert self.viewer is not None
        frames: list[dict[str, Any]] = []
        received: list[DataToExport] = []
        self.viewer.grab_done_signal.connect(received.append)
        for index in range(count):
            before = len(received)
            start = time.perf_counter()
            self.viewer.snap()
            if not self.wait_for(f"grab_done_signal of snap {index}", lambda b=before: len(received) > b, timeout_s):
                break
            elapsed = time.perf_counter() - start
            dte = received[-1]
            frames.append({"snap": index, "t_s": round(elapsed, 4), "dte_name": dte.name, "dwa": describe_dte(dte)})
        self.viewer.grab_done_signal.disconnect(received.append)
        return frames

    def moves(self, targets: list[float], rel_step: float, timeout_s: float) -> dict[str, Any]:
        mover = self.mover
        assert mover is not None
        done: list[DataActuator] = []
        values: list[DataActuator] = []
        mover.move_done_signal.connect(done.append)
        mover.current_value_signal.connect(values.append)
        results: list[dict[str, Any]] = []

        def record(kind: str, requested: float, action: Callable[[], None]) -> None:
            before = len(done)
            start = time.perf_counter()
            action()
            if not self.wait_for(f"move_done_signal after {kind} {requested:g}", lambda: len(done) > before, timeout_s):
                results.append({"kind": kind, "requested": requested, "move_done": None})
                return
            position = done[-1]
            results.append(
                {
                    "kind": kind,
                    "requested": requested,
                    "move_done": float(position.value()),
                    "units": position.units,
                    "name": position.name,
                    "t_s": round(time.perf_counter() - start, 4),
                }
            )

        for target in targets:
            record("abs", target, lambda t=target: mover.move_abs(t))
        if rel_step:
            record("rel", rel_step, lambda: mover.move_rel(rel_step))
        record("home", 0.0, mover.move_home)
        before = len(values)
        mover.get_actuator_value()
        # DAQ_Move_TCP_server answers at once with its cached value, then again when position_is arrives.
        self.wait_for("two current_value_signal after get_actuator_value", lambda: len(values) >= before + 2, 5)
        value = [{"value": float(v.value()), "units": v.units} for v in values[before:]]
        mover.move_done_signal.disconnect(done.append)
        mover.current_value_signal.disconnect(values.append)
        return {"results": results, "get_actuator_value": value}

    def settings_snapshot(self) -> dict[str, Any]:
        return {
            "viewer_settings_client": param_tree(self.viewer_group("settings_client")),
            "viewer_infos": param_tree(self.viewer_group("infos")),
            "viewer_conn_clients": jsonable(self.viewer_group("conn_clients").value()),
            "move_settings_client": param_tree(self.mover_group("settings_client")),
            "move_infos": param_tree(self.mover_group("infos")),
            "move_conn_clients": jsonable(self.mover_group("conn_clients").value()),
            "move_units": self.mover.units if self.mover is not None else None,
        }

    def wait_disconnects(self, timeout_s: float) -> dict[str, bool]:
        """After the clients quit: did each server drop its client (Quit understood)?"""

        def gone(group: Any, kind: str) -> bool:
            table = group.value() or {}
            return kind not in table

        viewer_table, mover_table = self.viewer_group("conn_clients"), self.mover_group("conn_clients")
        viewer_gone = self.wait_for(
            "GRABBER gone from the viewer's conn_clients", lambda: gone(viewer_table, "GRABBER"), timeout_s
        )
        mover_gone = self.wait_for(
            "ACTUATOR gone from the mover's conn_clients", lambda: gone(mover_table, "ACTUATOR"), timeout_s
        )
        return {"viewer_client_gone": viewer_gone, "mover_client_gone": mover_gone}

    def close(self) -> None:
        """quit_fun on both modules; wait (bounded) for their hardware threads to end."""
        for module in (self.viewer, self.mover):
            if module is None:
                continue
            closed: list[bool] = []
            module.init_signal.connect(closed.append)
            was_initialized = module.initialized_state
            module.quit_fun()  # closes the plugin (its server socket) if it was initialized
            if was_initialized:
                self.wait_for(f"{module.title} closed", lambda c=closed: bool(c), 10)
            thread = getattr(module, "_hardware_thread", None)
            if thread is not None and not thread.wait(5000):
                self.errors.append(f"{module.title}: hardware thread still running after close")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--targets", default="12.5,-30,100", help="absolute targets in µm, comma separated")
    parser.add_argument("--rel", type=float, default=5.0, help="one relative step after the targets (0: none)")
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    parser.add_argument("--op-timeout", type=float, default=10.0, help="per snap / per move")
    parser.add_argument("--stdin-timeout", type=float, default=30.0)
    parser.add_argument("--deadline", type=float, default=120.0, help="the whole session, seconds")
    args = parser.parse_args(argv)
    targets = [float(t) for t in args.targets.split(",") if t.strip()]

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    session = Session(app, time.monotonic() + args.deadline)
    go = stdin_line_event()
    code = 1
    try:
        viewer_port = session.start_viewer()
        move_port = session.start_mover()
        emit("listening", viewer_port=viewer_port, move_port=move_port)
        if viewer_port is None or move_port is None:
            emit("summary", errors=session.errors, statuses=session.statuses)
            return 1
        connect = session.wait_clients(args.connect_timeout)
        session.pump(0.3)  # let the Info/Info_xml sent right after Infos arrive
        before = session.settings_snapshot()
        frames = session.snaps(args.frames, args.op_timeout) if connect["viewer"] else []
        moves = session.moves(targets, args.rel, args.op_timeout) if connect["mover"] else {}
        snap_times = [f["t_s"] for f in frames]
        emit(
            "summary",
            connect=connect,
            frames=frames,
            snap_s={
                "median": statistics.median(snap_times) if snap_times else None,
                "min": min(snap_times, default=None),
                "max": max(snap_times, default=None),
            },
            moves=moves,
            settings_at_connect=before,
            settings=session.settings_snapshot(),
            statuses=session.statuses,
            errors=session.errors,
        )
        ok = not session.errors
        if not go.wait(min(args.stdin_timeout, max(0.0, session.deadline - time.monotonic()))):
            session.errors.append("no line on stdin (the caller never said its clients had stopped)")
        disconnects = session.wait_disconnects(5.0)
        session.pump(0.2)
        emit(
            "final",
            disconnects=disconnects,
            settings=session.settings_snapshot(),
            statuses=session.statuses,
            errors=session.errors,
        )
        code = 0 if ok and not session.errors else 1
    except Exception as error:  # report, then close what was opened
        session.errors.append(f"{type(error).__name__}: {error}")
        emit("error", errors=session.errors, statuses=session.statuses)
    finally:
        session.close()
        if session.errors and code == 0:
            code = 1
    return code


if __name__ == "__main__":
    sys.exit(main())

"""Hand the controllers' callbacks (reader/deadline threads) to a plugin's own thread.

A controller calls its listener from a connection's reader thread; PyMoDAQ plugin code
must run in the plugin's thread (settings, ``emit_status``, ``dte_signal``). A bridge is
the listener: each callback only emits a Qt signal, which Qt queues to the thread of the
plugin slot connected to it. No timer, no polling, no sleep on the way.
"""

from __future__ import annotations

from typing import Any, Callable, Tuple

from qtpy.QtCore import QCoreApplication, QObject, Qt, QThread, Signal

from .link_status import LinkStatus


class CameraBridge(QObject):
    """:class:`~.camera_controller.CameraListener` as Qt signals.

    ``frame``: a frame waits in the controller's slot. ``event(kind, payload)``: ``status``
    (LinkStatus, message), ``settings`` (xml), ``setting`` ((path, xml)), ``failed`` (message).
    """

    frame = Signal()
    event = Signal(str, object)

    def frame_ready(self) -> None:
        self.frame.emit()

    def status_changed(self, status: LinkStatus, message: str) -> None:
        self.event.emit("status", (status, message))

    def settings_received(self, infos_xml: str) -> None:
        self.event.emit("settings", infos_xml)

    def setting_received(self, path: Tuple[str, ...], xml: str) -> None:
        self.event.emit("setting", (path, xml))

    def grab_failed(self, message: str) -> None:
        self.event.emit("failed", message)


class AxisBridge(QObject):
    """:class:`~.stage_controller.AxisListener` as one Qt signal ``event(kind, payload)``.

    Kinds: ``position`` (µm), ``done`` (µm), ``failed`` (message), ``status`` (LinkStatus, message).
    """

    event = Signal(str, object)

    def position_changed(self, position_um: float) -> None:
        self.event.emit("position", position_um)

    def move_done(self, position_um: float) -> None:
        self.event.emit("done", position_um)

    def move_failed(self, message: str) -> None:
        self.event.emit("failed", message)

    def status_changed(self, status: LinkStatus, message: str) -> None:
        self.event.emit("status", (status, message))


def close_when_thread_ends(close: Callable[[], object]) -> None:
    """Also call ``close`` (idempotent) when the calling plugin thread stops.

    PyMoDAQ 5.3 queues a module's CLOSE command to its hardware thread and may quit that
    thread before the command runs (a Slave's, or the Master's own, when the machine is
    busy); the shared port would then stay open until the process ends. The thread's
    ``finished`` signal, delivered in that thread before PyMoDAQ's ``wait()`` returns, runs
    ``close`` in any case.
    """
    thread = QThread.currentThread()
    application = QCoreApplication.instance()
    if application is not None and thread is not application.thread():  # no thread of its own: nothing to watch
        thread.finished.connect(close, Qt.DirectConnection)


def link_params(title: str = "Link status") -> Any:
    """The read-only settings group showing a :class:`LinkStatus`."""
    return {
        "title": title,
        "name": "link",
        "type": "group",
        "children": [
            {"title": "Agent address:", "name": "agent", "type": "str", "value": "", "readonly": True},
            {"title": "ScopeOne state:", "name": "scopeone", "type": "str", "value": "", "readonly": True},
            {"title": "Last error:", "name": "last_error", "type": "str", "value": "", "readonly": True},
        ],
    }


def show_link_status(group: Any, status: LinkStatus) -> None:
    """Update the link group of a plugin's settings (only what changed: each change travels to the UI)."""
    for name, value in (
        ("agent", status.agent or "(none)"),
        ("scopeone", status.scopeone),
        ("last_error", status.last_error),
    ):
        if group[name] != value:
            group.child(name).setValue(value)


def server_params(port: int, bind_address: str) -> Any:
    """The settings group of the shared server (defaults from the package config)."""
    return {
        "title": "Server (agents connect here)",
        "name": "server",
        "type": "group",
        "children": [
            {
                "title": "Port:",
                "name": "port",
                "type": "int",
                "value": port,
                "min": 1,
                "max": 65535,
                "tip": "TCP port shared by all ScopeOne modules; give the same to scopeone-agent --server",
            },
            {
                "title": "Bind address:",
                "name": "bind_address",
                "type": "str",
                "value": bind_address,
                "tip": "0.0.0.0: every interface; 127.0.0.1: this PC only",
            },
        ],
    }

"""DAQ_2DViewer_ScopeOne: the camera of a ScopeOne microscope on a distant PC.

The microscope PC runs ``scopeone-agent``, which connects to this PyMoDAQ process on the
shared ScopeOne port (default 6341, see the package config). This plugin only translates
PyMoDAQ calls to a :class:`~pymodaq_plugins_scopeone.hardware.camera_controller.CameraController`;
frames and agent news reach it through Qt signals (``CameraBridge``), never by polling.
"""

from __future__ import annotations

from typing import Optional

from pymodaq.control_modules.thread_commands import ThreadStatus
from pymodaq.control_modules.viewer_utility_classes import DAQ_Viewer_base, comon_parameters, main
from pymodaq_utils.utils import ThreadCommand
from qtpy.QtCore import Slot

from pymodaq_plugins_scopeone.hardware.agent_server import ServerError
from pymodaq_plugins_scopeone.hardware.camera_controller import (
    DEFAULT_FRAME_TIMEOUT_S,
    DEFAULT_LIVE_DEPTH,
    CameraController,
)
from pymodaq_plugins_scopeone.hardware.camera_frames import frame_to_pymodaq
from pymodaq_plugins_scopeone.hardware.cyclic_garbage import FRAME_GARBAGE
from pymodaq_plugins_scopeone.hardware.plugin_config import configured_server, server_defaults
from pymodaq_plugins_scopeone.hardware.qt_bridge import (
    CameraBridge,
    close_when_thread_ends,
    link_params,
    server_params,
    show_link_status,
)
from pymodaq_plugins_scopeone.hardware.settings_mirror import (
    MIRROR_GROUP,
    apply_setting,
    mirror_tree,
    setting_path,
    setting_xml,
)
from pymodaq_plugins_scopeone.transport import TransportError

RESTART_NEEDED = ("port", "bind_address", "identity")


class DAQ_2DViewer_ScopeOne(DAQ_Viewer_base):
    """A ScopeOne camera served by scopeone-agent: snap, live grab, camera settings.

    * snap: exactly one frame acquired after the request (Data2D, the camera's dtype,
      x/y axes in pixels or µm, the agent's extra attributes such as ``frame_index``);
    * live: frames stream with a bounded latency (requests kept in flight, stale frames
      dropped, never queued); ``stop`` ends it at once;
    * no agent: the module still initialises ("waiting for agent on port 6341") and comes
      alive when the agent connects; a grab then fails with a status message (no mock data).

    Settings: server port and bind address (the default comes from the package config, a
    module may override it), link status, acquisition (frame timeout s, live requests in
    flight, pixel size µm), and ``settings_client``, the agent's camera settings: editable,
    sent with ``set_info``; the value the agent reads back wins.
    """

    live_mode_available = True  # the plugin streams itself: no DetectorWorker busy loop between frames
    hardware_averaging = False

    params = [  # noqa: RUF012 (PyMoDAQ reads this class attribute)
        *comon_parameters,
        server_params(*server_defaults()),
        {
            "title": "Camera identity:",
            "name": "identity",
            "type": "str",
            "value": "",
            "tip": "the camera id announced by the agent; empty: any camera agent",
        },
        link_params(),
        {
            "title": "Acquisition",
            "name": "acquisition",
            "type": "group",
            "children": [
                {
                    "title": "Frame timeout (s):",
                    "name": "frame_timeout_s",
                    "type": "float",
                    "value": DEFAULT_FRAME_TIMEOUT_S,
                    "min": 0.1,
                },
                {
                    "title": "Live requests in flight:",
                    "name": "live_depth",
                    "type": "int",
                    "value": DEFAULT_LIVE_DEPTH,
                    "min": 1,
                    "max": 8,
                },
                {
                    "title": "Pixel size (µm, 0: pixels):",
                    "name": "pixel_size_um",
                    "type": "float",
                    "value": 0.0,
                    "min": 0.0,
                },
                {"title": "Frames dropped (live):", "name": "dropped", "type": "int", "value": 0, "readonly": True},
            ],
        },
        {"title": "Camera settings (agent)", "name": MIRROR_GROUP, "type": "group", "children": []},
    ]

    def ini_attributes(self) -> None:
        self.controller: Optional[CameraController] = None
        self._bridge = CameraBridge()
        self._bridge.frame.connect(self._deliver_frame)
        self._bridge.event.connect(self._on_event)

    def ini_detector(self, controller: Optional[CameraController] = None):
        """Open (or share) the ScopeOne port and wait for the camera agent without blocking."""
        if not self.is_master:
            return "a ScopeOne viewer is always Master: each camera has its own agent connection", False
        try:
            self.controller = self.ini_controller_init(
                new_controller=CameraController(
                    self._bridge,
                    self.settings["server", "port"],
                    self.settings["server", "bind_address"],
                    identity=self.settings["identity"],
                    frame_timeout_s=self.settings["acquisition", "frame_timeout_s"],
                    live_depth=self.settings["acquisition", "live_depth"],
                    server_factory=configured_server,
                )
            )
        except ServerError as error:
            return str(error), False
        close_when_thread_ends(self.close)
        summary = self.controller.status.summary()
        self.emit_status(ThreadCommand(ThreadStatus.UPDATE_STATUS, summary))  # the module shows no init info
        return summary, True

    def grab_data(self, Naverage: int = 1, **kwargs) -> None:
        """Ask for one fresh frame (snap) or start streaming (``live=True``); frames come as signals."""
        try:
            if kwargs.get("live", False):
                self.controller.start_live()
            else:
                self.controller.snap()
        except TransportError as error:  # no agent, or the connection broke while asking
            self._grab_failed(str(error))

    def stop(self) -> str:
        """End the snap or live grab now: no frame is emitted after this."""
        if self.controller is not None:
            self.controller.stop()
            self.settings.child("acquisition", "dropped").setValue(self.controller.dropped)
        FRAME_GARBAGE.thaw()
        return ""

    def commit_settings(self, param) -> None:
        """Camera settings go to the agent; acquisition settings apply at once; server ones at next init."""
        path = setting_path(param)
        if path is not None:
            try:
                self.controller.set_info(path, setting_xml(param))
            except TransportError as error:
                self.emit_status(ThreadCommand(ThreadStatus.UPDATE_STATUS, f"setting not sent: {error}"))
        elif param.name() == "frame_timeout_s" and self.controller is not None:
            self.controller.frame_timeout_s = param.value()
        elif param.name() == "live_depth" and self.controller is not None:
            self.controller.live_depth = param.value()
        elif param.name() in RESTART_NEEDED:
            self.emit_status(ThreadCommand(ThreadStatus.UPDATE_STATUS, f"{param.name()}: applies at the next init"))

    def close(self) -> str:
        """Release the shared port (the last ScopeOne module closes it)."""
        if self.controller is not None:
            self.controller.close()
        FRAME_GARBAGE.thaw()
        return ""

    # -- from the controller, in this plugin's thread ----------------------------------
    @Slot()
    def _deliver_frame(self) -> None:
        frame = self.controller.take_frame() if self.controller is not None else None
        if frame is not None:  # None: stopped, or a newer frame replaced it and comes next
            self.dte_signal.emit(frame_to_pymodaq(frame.data, self.settings["acquisition", "pixel_size_um"]))
            FRAME_GARBAGE.frame_delivered()  # PyMoDAQ's frames are reference cycles: see cyclic_garbage

    @Slot(str, object)
    def _on_event(self, kind: str, payload) -> None:
        if kind == "status":
            status, message = payload
            show_link_status(self.settings.child("link"), status)
            self.emit_status(ThreadCommand(ThreadStatus.UPDATE_STATUS, message))
        elif kind == "settings":
            mirror_tree(self.settings.child(MIRROR_GROUP), payload)
        elif kind == "setting":
            apply_setting(self.settings.child(MIRROR_GROUP), *payload)
        elif kind == "failed":
            self._grab_failed(payload)

    def _grab_failed(self, message: str) -> None:
        """Say why, and end the grab: PyMoDAQ's worker would otherwise wait for data forever."""
        self.settings.child("link", "last_error").setValue(message)
        self.emit_status(ThreadCommand(ThreadStatus.UPDATE_STATUS, f"grab failed: {message}"))
        self.emit_status(ThreadCommand(ThreadStatus.STOP))


if __name__ == "__main__":
    main(__file__)

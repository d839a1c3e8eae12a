"""The simulated ScopeOne core: configuration lifecycle, devices, previews, sessions, export.

Lives on the event-loop thread (no locks); camera threads only post frames to it.
Configuration states (reference §2.2): ``unloaded``, ``loading``, ``loaded``,
``partially_loaded`` (some non-camera device failed), ``unloading``, ``failed``.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any, Dict, List, Optional, Set

from ._camera import Camera, Frame
from ._config import SimulatorConfig
from ._dispatch import Respond, Response, fail, ok
from ._faults import Faults
from ._hardware import Hardware
from ._loop import EventLoop
from ._mmconfig import ConfigFileError, MMConfig, read_config
from ._record import Recording, Session
from ._render import FrameRenderer
from ._sample import shared_sample
from ._shm import MAPPING_SIZE, PIXEL_FORMAT_NAMES, STATE_READY, FrameHeader, FrameMapping
from ._stage import MotionController

_log = logging.getLogger(__name__)
LOAD_FAILED = "Failed to load configuration"


class Core:
    """State shared by all clients, as in ScopeOne's single ``ScopeOneCore`` instance."""

    def __init__(self, config: SimulatorConfig, loop: EventLoop, faults: Faults, mapping: FrameMapping) -> None:
        self.config = config
        self.loop = loop
        self.faults = faults
        self.mapping = mapping
        self.renderer = FrameRenderer(shared_sample(config.seed, config.bead_density_per_px2))
        self.hw: Optional[Hardware] = None
        self.state = "unloaded"
        self.error = ""
        self.path = ""
        self.config_operation_running = False
        self.previews: Set[str] = set()
        self.sessions: Dict[str, Session] = {}
        self.recording: Optional[Recording] = None
        self._frame_counter = itertools.count(1)  # shared by all cameras, never reset

    # -- configuration -------------------------------------------------------------------------

    def load(self, path: str, respond: Respond, delay_s: Optional[float]) -> Optional[Response]:
        """Start loading ``path``; answer through ``respond`` when done (``delay_s`` None: now).

        Returns an immediate failure response if the file cannot be used (nothing changes then).
        """
        try:
            spec = read_config(path)
        except ConfigFileError as exc:
            self.error = str(exc)
            return fail(str(exc), state=self.state)
        self._teardown()
        self.state, self.path, self.error = "loading", path, ""
        self.config_operation_running = True

        def finish() -> None:
            self.config_operation_running = False
            respond(self._install(spec))

        self._after(delay_s, finish)
        return None

    def unload(self, respond: Respond, delay_s: Optional[float]) -> None:
        """Unload everything; answer through ``respond`` when done."""
        self._teardown()
        self.state = "unloading"
        self.config_operation_running = True

        def finish() -> None:
            self.config_operation_running = False
            self.state, self.path, self.error = "unloaded", "", ""
            respond(ok(state=self.state, complete=True))

        self._after(delay_s, finish)

    def _after(self, delay_s: Optional[float], callback: Any) -> None:
        if delay_s is None:
            callback()
        else:
            self.loop.call_later(delay_s, callback)

    def _install(self, spec: MMConfig) -> Response:
        hw = Hardware(
            spec,
            self.config,
            schedule=self.loop.call_later,
            faults=self.faults,
            renderer=self.renderer,
            on_frame=self._frame_from_camera,
            next_index=self._frame_counter.__next__,
        )
        self.hw = hw
        if hw.failed and not hw.devices:
            self.state, self.error = "failed", LOAD_FAILED
        else:
            self.state = "partially_loaded" if hw.failed else "loaded"
        fields = dict(
            state=self.state,
            complete=self.state == "loaded",
            cameraIds=list(hw.cameras),
            failedDevices=list(hw.failed),
            successCount=len(hw.devices),
            failCount=len(hw.failed),
            skippedCameraCount=0,
        )
        return fail(LOAD_FAILED, **fields) if self.state == "failed" else ok(**fields)

    def _teardown(self) -> None:
        if self.recording is not None:
            self.recording.finish("Recording stopped: configuration unloaded")
        hw, self.hw = self.hw, None
        self.previews.clear()
        if hw is not None:
            hw.shutdown()

    def shutdown(self) -> None:
        """Stop cameras and moves (simulator stopping)."""
        self._teardown()

    # -- devices -------------------------------------------------------------------------------

    @property
    def camera_ids(self) -> List[str]:
        """Loaded camera labels."""
        return list(self.hw.cameras) if self.hw else []

    def resolve_cameras(self, name: str) -> List[str]:
        """``"All"`` (any case) → every camera; a known id → [id]; otherwise []."""
        if name.lower() == "all":
            return self.camera_ids
        return [name] if name in self.camera_ids else []

    def find_camera(self, camera_id: str) -> Optional[Camera]:
        """The camera with this label, if loaded."""
        return self.hw.cameras.get(camera_id) if self.hw else None

    def hardware_camera(self, camera_id: str) -> Camera:
        """The camera with this label (KeyError if not loaded)."""
        camera = self.find_camera(camera_id)
        if camera is None:
            raise KeyError(camera_id)
        return camera

    def stage(self, kind: str, device: str) -> Optional[MotionController]:
        """XY (``kind="xy"``) or Z stage ``device``; ``""`` → the current one."""
        if self.hw is None:
            return None
        stages = self.hw.xy if kind == "xy" else self.hw.z
        current = self.hw.current_xy if kind == "xy" else self.hw.current_focus
        return stages.get(device or current)

    # -- frames --------------------------------------------------------------------------------

    def _frame_from_camera(self, frame: Frame) -> None:
        if self.recording is not None:  # read from the camera thread: a stale None only skips
            self.loop.post(lambda: self._on_frame(frame))

    def _on_frame(self, frame: Frame) -> None:
        if self.recording is not None:
            self.recording.on_frame(frame)

    def recording_finished(self, recording: Recording) -> None:
        """Called by a recording when it ends."""
        if self.recording is recording:
            self.recording = None

    def export_frame(self, frame: Frame, layer_key: Optional[str] = None) -> Response:
        """Write ``frame`` to the shared block; return the response with §2.14 metadata."""
        if not self.mapping.is_open:
            return fail("Frame mapping is not available")
        _x, _y, w, h = frame.roi
        valid = w > 0 and h > 0
        header = FrameHeader(
            STATE_READY,
            frame.width,
            frame.height,
            frame.stride,
            frame.pixel_format,
            frame.bits_per_sample,
            1,
            frame.frame_index,
            frame.timestamp_ns,
            *(frame.roi if valid else (0, 0, 0, 0)),
            int(valid),
        )
        try:
            self.mapping.write(frame.image, header)
        except ValueError:
            return fail("Frame payload is invalid")
        fields = frame_metadata(self.mapping.name, header, frame.camera)
        if layer_key is not None:
            fields["layerKey"] = layer_key
        return ok(**fields)

    # -- status --------------------------------------------------------------------------------

    def status(self) -> Dict[str, Any]:
        """The ``status`` fields."""
        cams = self.camera_ids
        recording = self.recording.progress() if self.recording else {"phase": "idle"}
        return {
            "version": self.config.version,
            "coreVersion": self.config.core_version,
            "configurationState": self.state,
            "configurationError": self.error,
            "configurationOperationRunning": self.config_operation_running,
            "configurationPath": self.path,
            "configurationComplete": self.state == "loaded",
            "failedConfigurationDevices": list(self.hw.failed) if self.hw else [],
            "cameraIds": cams,
            "loadedDevices": self.hw.loaded_labels if self.hw else [],
            "runningPreviews": sorted(self.previews),
            "processingBitDepth": 16,
            "processingRealTime": False,
            "processingModuleCount": 0,
            "layers": [f"raw:{c}" for c in cams],
            "visibleLayers": [f"raw:{c}" for c in cams],
            "layerLayout": "side_by_side",
            "stageMosaic": {"state": "idle", "completedTiles": 0, "totalTiles": 0, "message": "", "sessionId": ""},
            "recordingProgress": recording,
            "recordingWriter": {"phase": "idle"},
        }


def frame_metadata(mapping_name: str, header: FrameHeader, camera: str) -> Dict[str, Any]:
    """The frame metadata block of every frame-exporting response (reference §2.14)."""
    return {
        "mappingName": mapping_name,
        "mappingSize": MAPPING_SIZE,
        "camera": camera,
        "width": header.width,
        "height": header.height,
        "stride": header.stride,
        "payloadBytes": str(header.payload_bytes),
        "bitsPerSample": header.bits_per_sample,
        "pixelFormat": PIXEL_FORMAT_NAMES[header.pixel_format],
        "frameIndex": str(header.frame_index),
        "timestampNs": str(header.timestamp_ns),
        "sourceRoiX": header.roi_x,
        "sourceRoiY": header.roi_y,
        "sourceRoiWidth": header.roi_width,
        "sourceRoiHeight": header.roi_height,
        "sourceRoiValid": bool(header.roi_valid),
    }

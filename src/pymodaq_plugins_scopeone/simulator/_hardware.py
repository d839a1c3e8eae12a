"""The devices a loaded configuration creates: cameras, stages and do-nothing devices."""

from __future__ import annotations

import logging
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from ._camera import Camera, Frame, Optics
from ._config import SimulatorConfig
from ._devices import Device, PropertyError, camera_device, plain_device, z_device
from ._faults import Faults
from ._mmconfig import MMConfig
from ._render import FrameRenderer
from ._stage import MotionController, Schedule, StageModel

_log = logging.getLogger(__name__)


class Hardware:
    """Everything one ``load_config`` created; :meth:`shutdown` stops it all."""

    def __init__(
        self,
        spec: MMConfig,
        config: SimulatorConfig,
        *,
        schedule: Schedule,
        faults: Faults,
        renderer: FrameRenderer,
        on_frame: Callable[[Frame], None],
        next_index: Callable[[], int],
    ) -> None:
        self.config = config
        self._next_index = next_index
        self._schedule = schedule
        self._faults = faults
        self._renderer = renderer
        self._on_frame = on_frame
        self.devices: Dict[str, Device] = {}
        self.cameras: Dict[str, Camera] = {}
        self.xy: Dict[str, MotionController] = {}
        self.z: Dict[str, MotionController] = {}
        self.failed: List[str] = []
        for device in spec.devices:
            self._create(device.label, device.adapter, device.role)
        self.current_camera = self._pick(spec.core.get("Camera"), self.cameras)
        self.current_xy = self._pick(spec.core.get("XYStage"), self.xy)
        self.current_focus = self._pick(spec.core.get("Focus"), self.z, default_first=False)
        for label, name, value in spec.properties + spec.startup:
            self._apply(label, name, value)

    @staticmethod
    def _pick(wanted: Optional[str], choices: Mapping[str, object], default_first: bool = True) -> str:
        if wanted is not None:
            return wanted if wanted in choices else ""
        return next(iter(choices), "") if default_first else ""

    def _create(self, label: str, adapter: str, role: str) -> None:
        if not role or label in self.devices:
            _log.info("device %s (%s) cannot be loaded by the simulator", label, adapter)
            self.failed.append(label)
            return
        if role == "camera":
            camera = self._make_camera(label)
            self.cameras[label] = camera
            self.devices[label] = camera_device(label, camera)
        elif role == "xy":
            x0, x1, y0, y1 = self.config.xy_limits_um
            model = StageModel((0.0, 0.0), self.config.xy_speed_um_s, [(x0, x1), (y0, y1)])
            self.xy[label] = MotionController(model, self._schedule, self._faults.take_move_fault)
            self.devices[label] = plain_device(label, adapter, role)
        elif role == "z":
            model = StageModel((self.config.focus_um,), self.config.z_speed_um_s, [self.config.z_limits_um])
            self.z[label] = MotionController(model, self._schedule, self._faults.take_move_fault)
            self.devices[label] = z_device(label, model)
        else:
            self.devices[label] = plain_device(label, adapter, role)

    def _make_camera(self, label: str) -> Camera:
        cfg = self.config
        optics = Optics(
            sensor=(cfg.width, cfg.height),
            pixel_size_um=cfg.pixel_size_um,
            focus_um=cfg.focus_um,
            blur_px_per_um=cfg.defocus_blur_px_per_um,
            noise=cfg.noise,
            seed=cfg.seed,
            xy_at=self._xy_at,
            z_at=self._z_at,
        )
        return Camera(label, optics, self._renderer, self._faults, self._on_frame, cfg.readout_ms, self._next_index)

    def _xy_at(self, t: float) -> Tuple[float, ...]:
        controller = self.xy.get(self.current_xy)
        return controller.model.position(t) if controller else (0.0, 0.0)

    def _z_at(self, t: float) -> float:
        controller = self.z.get(self.current_focus)
        return controller.model.position(t)[0] if controller else self.config.focus_um

    def _apply(self, label: str, name: str, value: str) -> None:
        device = self.devices.get(label)
        if device is None or name not in device.properties:
            return  # properties the stand-in does not model are accepted and ignored
        try:
            device.set(name, value)
        except PropertyError as exc:
            _log.warning("configuration property ignored: %s", exc)

    @property
    def loaded_labels(self) -> List[str]:
        """Labels of the devices that loaded, in configuration order."""
        return list(self.devices)

    def shutdown(self) -> None:
        """Stop every camera and fail every pending move."""
        for camera in self.cameras.values():
            camera.shutdown()
        for controller in list(self.xy.values()) + list(self.z.values()):
            controller.abort_all()

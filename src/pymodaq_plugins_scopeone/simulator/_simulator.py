"""The simulator as one object: start/stop in-process, context manager, test helpers."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from . import _handlers_camera, _handlers_devices, _handlers_record, _handlers_system
from ._camera import Frame
from ._config import SimulatorConfig
from ._core import Core
from ._dispatch import AsyncHandler, Dispatcher, Response, SyncHandler
from ._estimate import estimate_stage_xy
from ._faults import Faults
from ._loop import EventLoop
from ._mmconfig import DEMO_CONFIG_NAME
from ._server import ControlServer
from ._shm import FrameMapping

_log = logging.getLogger("pymodaq_plugins_scopeone.simulator")
_TIMEOUT_S = 10.0


def _handler_tables(config: SimulatorConfig) -> Tuple[Dict[str, SyncHandler], Dict[str, AsyncHandler]]:
    sync: Dict[str, SyncHandler] = {}
    for table in (_handlers_system.SYNC, _handlers_camera.SYNC, _handlers_devices.SYNC, _handlers_record.SYNC):
        sync.update(table)
    if config.fault_requests:
        sync.update(_handlers_system.FAULT_HANDLERS)
    async_: Dict[str, AsyncHandler] = {}
    for atable in (_handlers_system.ASYNC, _handlers_devices.ASYNC, _handlers_record.ASYNC):
        async_.update(atable)
    return sync, async_


class Simulator:
    """A running ScopeOne stand-in: control socket + shared frame block + simulated hardware.

    ``Simulator(config)`` or ``Simulator(socket_path=..., mapping_name=..., ...)`` (keyword
    overrides of :class:`SimulatorConfig`). Use as a context manager, or :meth:`start` /
    :meth:`stop`. All methods are thread-safe.
    """

    def __init__(self, config: Optional[SimulatorConfig] = None, **overrides: Any) -> None:
        base = config or SimulatorConfig()
        self.config = dataclasses.replace(base, **overrides) if overrides else base
        self.faults = Faults()
        self._loop: Optional[EventLoop] = None
        self._server: Optional[ControlServer] = None
        self._core: Optional[Core] = None
        self._mapping: Optional[FrameMapping] = None
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def socket_path(self) -> Path:
        """Path of the control socket."""
        return self.config.resolved_socket_path

    @property
    def mapping_name(self) -> str:
        """Bare shared-memory name (the block is ``/dev/shm/<name>``)."""
        return self.config.mapping_name

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._loop is not None

    def start(self) -> Simulator:
        """Create the frame block, listen on the socket and serve in a background thread."""
        with self._lock:
            if self._loop is not None:
                raise RuntimeError("simulator already running")
            mapping = FrameMapping(self.config.mapping_name)
            loop = EventLoop()
            try:
                mapping.open()
                core = Core(self.config, loop, self.faults, mapping)
                sync, async_ = _handler_tables(self.config)
                dispatcher = Dispatcher(core, sync, async_)
                server = ControlServer(self.socket_path, loop, dispatcher.handle)
                server.listen()
            except BaseException:
                loop.stop()
                mapping.close()
                raise
            self._loop, self._server, self._core, self._mapping = loop, server, core, mapping
            self.faults.attach(self)
            loop.start()
            atexit.register(self.stop)  # an interpreter exit still removes the socket and the block
        _log.info("ScopeOne simulator on %s, frames in /dev/shm/%s", self.socket_path, self.mapping_name)
        if self.config.load_demo:
            self.load_demo()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop serving; remove the socket file and the shared-memory block. Idempotent."""
        with self._lock:
            loop, server, core, mapping = self._loop, self._server, self._core, self._mapping
            self._loop = self._server = self._core = self._mapping = None
        if loop is None:
            return
        atexit.unregister(self.stop)
        self.faults.attach(None)

        def close_all() -> None:
            if server is not None:
                server.close()
            if core is not None:
                core.shutdown()

        try:
            loop.run_sync(close_all, timeout_s)
        finally:
            loop.stop(timeout_s)
            if mapping is not None:
                mapping.close()
        _log.info("ScopeOne simulator stopped")

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers for tests and the agent's --simulate ------------------------------------------

    def _run(self, fn: Any, timeout_s: float = _TIMEOUT_S) -> Any:
        loop, core = self._loop, self._core
        if loop is None or core is None:
            raise RuntimeError("the simulator is not running")
        return loop.run_sync(lambda: fn(core), timeout_s)

    def load_config(self, path: str = DEMO_CONFIG_NAME) -> Response:
        """Load a configuration at once (no simulated delay); return the ``load_config`` body."""
        box: Dict[str, Response] = {}

        def load(core: Core) -> Response:
            immediate = core.load(path, lambda body: box.update(r=body), None)
            return immediate if immediate is not None else box["r"]

        result: Response = self._run(load)
        return result

    def load_demo(self) -> Response:
        """Load the built-in demo configuration (Camera, XY, Z, ...) at once."""
        return self.load_config(DEMO_CONFIG_NAME)

    def xy_position(self, device: str = "") -> Tuple[float, float]:
        """Current XY stage position (µm)."""
        stage = self._run(lambda core: core.stage("xy", device))
        if stage is None:
            raise LookupError("no XY stage loaded")
        x, y = stage.model.position()
        return float(x), float(y)

    def z_position(self, device: str = "") -> float:
        """Current Z position (µm)."""
        stage = self._run(lambda core: core.stage("z", device))
        if stage is None:
            raise LookupError("no Z stage loaded")
        return float(stage.model.position()[0])

    def latest_frame(self, camera: str = "Camera") -> Optional[Frame]:
        """The newest frame of ``camera`` (None if none yet)."""
        cam = self._run(lambda core: core.find_camera(camera))
        return cam.latest if cam is not None else None

    def wait_for_frame(self, camera: str = "Camera", after_index: int = 0, timeout_s: float = 5.0) -> Optional[Frame]:
        """Block until ``camera`` publishes a frame with index > ``after_index`` (or timeout)."""
        cam = self._run(lambda core: core.find_camera(camera))
        if cam is None:
            raise LookupError(f"camera {camera!r} not loaded")
        frame: Optional[Frame] = cam.wait_for_frame(after_index, timeout_s)
        return frame

    def estimate_stage_xy(
        self,
        image: npt.NDArray[np.generic],
        hint_um: Tuple[float, float],
        *,
        binning: int = 1,
        roi: Optional[Tuple[int, int, int, int]] = None,
        z_um: Optional[float] = None,
    ) -> Tuple[float, float]:
        """Stage XY (µm) at which ``image`` was taken by this simulator (see :func:`estimate_stage_xy`)."""
        return estimate_stage_xy(image, hint_um, config=self.config, binning=binning, roi=roi, z_um=z_um)

    # -- FaultTarget ---------------------------------------------------------------------------

    def stall(self, seconds: Optional[float]) -> None:
        """Freeze the control channel (see :meth:`Faults.stall`)."""
        server = self._server
        if server is not None:
            self._run(lambda core: server.stall(seconds))

    def resume(self) -> None:
        """End a stall."""
        server = self._server
        if server is not None:
            self._run(lambda core: server.resume())

    def drop_connections(self) -> int:
        """Close every client connection; return how many."""
        server = self._server
        return int(self._run(lambda core: server.drop_all())) if server is not None else 0

    def release_hung_moves(self) -> int:
        """Fail every hung move; return how many."""

        def release(core: Core) -> int:
            hw = core.hw
            if hw is None:
                return 0
            return sum(c.release_hung() for c in list(hw.xy.values()) + list(hw.z.values()))

        return int(self._run(release))

"""Settings of the stand-in: endpoints, camera, stages, sample and timings."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Optional, Tuple

from ._shm import DEFAULT_MAPPING_NAME, validate_mapping_name

SERVER_NAME = "ScopeOne.Api.local"
"""``QLocalServer`` name of the control channel; on Linux a socket file in the temp dir."""

MAX_SENSOR_SIDE = 2048
_MAX_UNIX_PATH = 107  # sun_path is 108 bytes including the terminating NUL


def default_socket_path() -> Path:
    """Return ``<QDir::tempPath()>/ScopeOne.Api.local``: ``$TMPDIR`` if set, else ``/tmp``."""
    if sys.platform.startswith("win"):
        return Path(tempfile.gettempdir()) / SERVER_NAME
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return Path(os.path.normpath(tmp)) / SERVER_NAME


def unique_mapping_name(prefix: str = DEFAULT_MAPPING_NAME) -> str:
    """Return a shared-memory name unique to this process and call (pid + random suffix)."""
    return f"{prefix}.{os.getpid()}.{uuid.uuid4().hex[:12]}"


@dataclasses.dataclass(frozen=True)
class SimulatorConfig:
    """Everything that can be tuned; the defaults imitate the demo microscope.

    Lengths are in µm, times in ms, speeds in µm/s. The camera sees the sample plane through
    ``pixel_size_um`` µm per (unbinned) pixel; the stage XY position is the sample point at the
    centre of the sensor.
    """

    socket_path: Optional[str] = None
    """Control socket path; ``None`` → :func:`default_socket_path`."""
    mapping_name: str = DEFAULT_MAPPING_NAME
    """Bare POSIX shared-memory name of the frame block (``/dev/shm/<name>``)."""
    width: int = 512
    """Sensor width in pixels (1..2048)."""
    height: int = 512
    """Sensor height in pixels (1..2048)."""
    pixel_size_um: float = 1.0
    """Sample-plane size of one unbinned pixel, µm."""
    readout_ms: float = 2.0
    """Readout time added to the exposure to give the preview frame period, ms."""
    xy_speed_um_s: float = 1000.0
    """XY stage speed along the straight path, µm/s."""
    z_speed_um_s: float = 200.0
    """Z stage speed, µm/s."""
    xy_limits_um: Tuple[float, float, float, float] = (-50000.0, 50000.0, -50000.0, 50000.0)
    """XY travel (x_min, x_max, y_min, y_max), µm."""
    z_limits_um: Tuple[float, float] = (-300.0, 300.0)
    """Z travel (z_min, z_max), µm."""
    focus_um: float = 0.0
    """Z position at which the sample is in focus, µm."""
    defocus_blur_px_per_um: float = 0.5
    """Gaussian blur sigma (unbinned pixels) per µm of ``|Z - focus|``."""
    noise: float = 0.0
    """Gaussian read noise sigma as a fraction of full scale (0 = noiseless, deterministic)."""
    seed: int = 1
    """Seed of the synthetic sample (beads) and of the noise."""
    bead_density_per_px2: float = 0.0008
    """Mean number of beads per sample pixel²."""
    config_load_ms: float = 150.0
    """Time a ``load_config`` takes, ms."""
    config_unload_ms: float = 50.0
    """Time an ``unload_config`` takes, ms."""
    version: str = "1.5.023"
    """Application version reported by ``ping``/``version``/``status``."""
    core_version: str = "1.5.023"
    """ScopeOne core version reported alongside."""
    fault_requests: bool = False
    """Accept the simulator-only ``sim_fault`` request type (off: faithful "Unknown request type")."""
    load_demo: bool = False
    """Load the built-in demo configuration when the simulator starts."""

    def __post_init__(self) -> None:
        self._check_sensor()
        self._check_positive("pixel_size_um", "xy_speed_um_s", "z_speed_um_s")
        self._check_non_negative("readout_ms", "config_load_ms", "config_unload_ms", "noise")
        self._check_non_negative("defocus_blur_px_per_um", "bead_density_per_px2")
        x0, x1, y0, y1 = self.xy_limits_um
        z0, z1 = self.z_limits_um
        if not (x0 < x1 and y0 < y1 and z0 < z1):
            raise ValueError("travel limits must be given as (min, max) with min < max")
        validate_mapping_name(self.mapping_name)
        if len(os.fsencode(str(self.resolved_socket_path))) > _MAX_UNIX_PATH:
            raise ValueError(f"socket path too long for AF_UNIX: {self.resolved_socket_path}")

    def _check_sensor(self) -> None:
        for name in ("width", "height"):
            value = getattr(self, name)
            if not (isinstance(value, int) and 1 <= value <= MAX_SENSOR_SIDE):
                raise ValueError(f"{name} must be an int in 1..{MAX_SENSOR_SIDE}, got {value!r}")

    def _check_positive(self, *names: str) -> None:
        for name in names:
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")

    def _check_non_negative(self, *names: str) -> None:
        for name in names:
            value = float(getattr(self, name))
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def resolved_socket_path(self) -> Path:
        """The control socket path actually used."""
        return Path(self.socket_path) if self.socket_path else default_socket_path()

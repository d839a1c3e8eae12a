"""The demo camera: settings, a free-running acquisition thread, and the frames it produces.

Timing: exposure ``k`` starts at ``t_k`` and the frame is published at ``t_k + exposure +
readout``; the next exposure starts then (frame period = exposure + readout, at least 1 ms). The
image shows the sample at the stage position of the exposure's midpoint. When rendering cannot
keep up, exposures start late and the period stretches. Frame indices come from a counter shared
by the simulator's cameras, so they keep increasing across configuration reloads.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import time
from typing import Callable, Optional, Set, Tuple

import numpy as np

from ._checksum import can_stamp, stamp_checksum
from ._faults import Faults
from ._render import FrameRenderer, Image, View
from ._shm import MONO8, MONO16

_log = logging.getLogger(__name__)

Roi = Tuple[int, int, int, int]
BINNINGS = (1, 2, 4, 8)
BIT_DEPTHS = (8, 10, 12, 14, 16)
PIXEL_TYPES = ("8bit", "16bit")
MODES = ("Fluorescent Beads", "Artificial Waves", "Noise")
MAX_EXPOSURE_MS = 10000.0
_MIN_PERIOD_S = 0.001
_JOIN_TIMEOUT_S = 5.0


@dataclasses.dataclass(frozen=True)
class CameraSettings:
    """Camera state; ``roi`` is ``(x, y, width, height)`` in binned pixels."""

    exposure_ms: float
    binning: int
    pixel_type: str
    bit_depth: int
    roi: Roi
    mode: str
    readout_ms: float

    @property
    def bits_per_sample(self) -> int:
        """8 for 8bit pixels, else the bit depth."""
        return 8 if self.pixel_type == "8bit" else self.bit_depth


@dataclasses.dataclass(frozen=True)
class Frame:
    """One camera frame and where it was taken (image is read-only)."""

    camera: str
    image: Image
    frame_index: int
    timestamp_ns: int
    """Wall-clock time of publication (end of readout), ns since the epoch."""
    roi: Roi
    bits_per_sample: int
    binning: int
    exposure_ms: float
    exposure_start: float
    """Monotonic time (s) at which the exposure started."""
    stage_xy_um: Tuple[float, float]
    """Stage XY (µm) at the middle of the exposure."""
    z_um: float

    @property
    def pixel_format(self) -> int:
        """0 (Mono8) or 1 (Mono16)."""
        return MONO8 if self.image.dtype == np.uint8 else MONO16

    @property
    def height(self) -> int:
        """Rows."""
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        """Columns."""
        return int(self.image.shape[1])

    @property
    def stride(self) -> int:
        """Bytes per row."""
        return self.width * self.image.dtype.itemsize


@dataclasses.dataclass(frozen=True)
class Optics:
    """What the camera needs to know about the microscope."""

    sensor: Tuple[int, int]
    pixel_size_um: float
    focus_um: float
    blur_px_per_um: float
    noise: float
    seed: int
    xy_at: Callable[[float], Tuple[float, ...]]
    z_at: Callable[[float], float]


class Camera:
    """A DCam-like camera. Settings are thread-safe; start/stop from one thread only."""

    def __init__(
        self,
        label: str,
        optics: Optics,
        renderer: FrameRenderer,
        faults: Faults,
        on_frame: Callable[[Frame], None],
        readout_ms: float = 2.0,
        next_index: Optional[Callable[[], int]] = None,
    ) -> None:
        self.label = label
        self.optics = optics
        self._renderer = renderer
        self._faults = faults
        self._on_frame = on_frame
        width, height = optics.sensor
        self._settings = CameraSettings(10.0, 1, "8bit", 8, (0, 0, width, height), MODES[0], readout_ms)
        self._lock = threading.Lock()
        self._new_frame = threading.Condition(self._lock)
        self._latest: Optional[Frame] = None
        self._next_index = next_index or itertools.count(1).__next__
        self._owners: Set[str] = set()
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()

    # -- settings ------------------------------------------------------------------------------

    @property
    def settings(self) -> CameraSettings:
        """Current settings (a snapshot)."""
        with self._lock:
            return self._settings

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._settings = dataclasses.replace(self._settings, **changes)  # type: ignore[arg-type]

    def full_roi(self, binning: Optional[int] = None) -> Roi:
        """The whole sensor in pixels binned by ``binning`` (default current)."""
        b = binning or self.settings.binning
        return (0, 0, self.optics.sensor[0] // b, self.optics.sensor[1] // b)

    def set_exposure(self, exposure_ms: float) -> bool:
        """Set the exposure (ms, 0..10000); False if out of range."""
        if not 0.0 <= exposure_ms <= MAX_EXPOSURE_MS:
            return False
        self._update(exposure_ms=float(exposure_ms))
        return True

    def set_binning(self, binning: int) -> bool:
        """Set binning 1/2/4/8; the ROI is reset to the full frame (as DemoCamera does)."""
        if binning not in BINNINGS:
            return False
        self._update(binning=binning, roi=self.full_roi(binning))
        return True

    def set_pixel_type(self, pixel_type: str) -> bool:
        """``8bit`` forces bit depth 8; ``16bit`` keeps a depth > 8, else uses 16."""
        if pixel_type not in PIXEL_TYPES:
            return False
        depth = self.settings.bit_depth
        depth = 8 if pixel_type == "8bit" else (depth if depth > 8 else 16)
        self._update(pixel_type=pixel_type, bit_depth=depth)
        return True

    def set_bit_depth(self, depth: int) -> bool:
        """Depth 8 switches to 8bit pixels, deeper to 16bit (DemoCamera's automatic switch)."""
        if depth not in BIT_DEPTHS:
            return False
        self._update(bit_depth=depth, pixel_type="8bit" if depth == 8 else "16bit")
        return True

    def set_mode(self, mode: str) -> bool:
        """Store the DemoCamera ``Mode`` (every mode renders the bead sample)."""
        if mode not in MODES:
            return False
        self._update(mode=mode)
        return True

    def set_readout(self, readout_ms: float) -> bool:
        """Set the readout time (ms, 0..1000)."""
        if not 0.0 <= readout_ms <= 1000.0:
            return False
        self._update(readout_ms=float(readout_ms))
        return True

    def set_roi(self, roi: Roi) -> bool:
        """Set the ROI (binned pixels); False unless it lies inside the binned sensor."""
        x, y, w, h = roi
        _, _, full_w, full_h = self.full_roi()
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > full_w or y + h > full_h:
            return False
        self._update(roi=(x, y, w, h))
        return True

    def clear_roi(self) -> None:
        """Back to the full (binned) sensor."""
        self._update(roi=self.full_roi())

    def half_roi(self) -> Roi:
        """Centre an ROI of half the current width and height; return it."""
        x, y, w, h = self.settings.roi
        w2, h2 = max(1, w // 2), max(1, h // 2)
        roi = (x + (w - w2) // 2, y + (h - h2) // 2, w2, h2)
        self._update(roi=roi)
        return roi

    # -- acquisition ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while frames are being produced."""
        return bool(self._owners)

    def owners(self) -> Set[str]:
        """Who keeps the camera running (``"preview"``, recordings)."""
        return set(self._owners)

    def acquire(self, owner: str) -> None:
        """Start producing frames (if not already) on behalf of ``owner``."""
        self._owners.add(owner)
        if self._thread is None:
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name=f"scopeone-sim-{self.label}", daemon=True
            )
            self._thread.start()

    def release(self, owner: str) -> None:
        """Drop ``owner``; the acquisition stops when no owner is left."""
        self._owners.discard(owner)
        if not self._owners:
            self._halt()

    def shutdown(self) -> None:
        """Stop acquiring whoever the owners are."""
        self._owners.clear()
        self._halt()

    def _halt(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                _log.error("camera thread %s did not stop within %.0f s", thread.name, _JOIN_TIMEOUT_S)

    @property
    def latest(self) -> Optional[Frame]:
        """The newest frame, if any."""
        return self._latest

    def wait_for_frame(self, after_index: int, timeout_s: float) -> Optional[Frame]:
        """Block until a frame with index > ``after_index`` exists (or ``timeout_s`` passes)."""
        deadline = time.monotonic() + timeout_s
        with self._new_frame:
            while self._latest is None or self._latest.frame_index <= after_index:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._new_frame.wait(remaining)
            return self._latest

    def _run(self, stop: threading.Event) -> None:
        start = time.monotonic()
        while not stop.is_set():
            settings = self.settings
            period = max((settings.exposure_ms + settings.readout_ms) / 1000.0, _MIN_PERIOD_S)
            if stop.wait(max(0.0, start + period - time.monotonic())):
                break
            try:
                self._publish(self.capture(start, settings))
            except Exception:  # keep the camera alive; a broken render must not kill previews
                _log.exception("frame capture failed")
                stop.wait(0.5)
            start = max(start + period, time.monotonic() - period)

    def capture(self, exposure_start: float, settings: CameraSettings) -> Frame:
        """Render the frame of an exposure that started at ``exposure_start`` (monotonic s)."""
        optics = self.optics
        middle = exposure_start + settings.exposure_ms / 2000.0
        xy = optics.xy_at(middle)
        z = optics.z_at(middle)
        view = View.at(
            (xy[0], xy[1]),
            pixel_size_um=optics.pixel_size_um,
            sensor=optics.sensor,
            roi=settings.roi,
            binning=settings.binning,
            blur_sigma_px=abs(z - optics.focus_um) * optics.blur_px_per_um,
        )
        index = self._next_index()
        dtype = np.dtype(np.uint8 if settings.pixel_type == "8bit" else np.uint16)
        image = self._renderer.counts(
            view,
            exposure_ms=settings.exposure_ms,
            bits=settings.bits_per_sample,
            dtype=dtype,
            noise=optics.noise,
            noise_seed=(optics.seed, index),
        )
        if self._faults.stamp_checksums and can_stamp(image):
            image = stamp_checksum(image, index)
            image.flags.writeable = False
        return Frame(
            self.label,
            image,
            index,
            time.time_ns(),
            settings.roi,
            settings.bits_per_sample,
            settings.binning,
            settings.exposure_ms,
            exposure_start,
            (xy[0], xy[1]),
            z,
        )

    def _publish(self, frame: Frame) -> None:
        with self._new_frame:
            self._latest = frame
            self._new_frame.notify_all()
        self._on_frame(frame)

    def forget_frames(self) -> None:
        """Drop the latest frame (configuration unloaded); indices keep increasing."""
        with self._lock:
            self._latest = None

"""One ScopeOne camera as a PyMoDAQ grabber: fresh frames, settings, change watch.

Grabs (``Send Data 0D/1D/2D/ND``): each is queued with its arrival time and answered in
order with ``Done`` + a DataToExport holding one DataFromPlugins (Data2D, the camera's
uint8/uint16 pixels, shape (height, width), pixel axes offset by the ROI, extra attributes
``frame_index``, ``timestamp_ns``, ``exposure_ms``, ``roi``, ``binning``,
``bits_per_sample``, ``camera``). The frame is always exposed entirely after the grab
arrived (see :mod:`._fresh` and docs/decisions/0004-fresh-frames.md):

* camera previewing: ``latest_raw_frame`` polls *timed on the predicted publication of the
  next frame* (its timestamp + exposure + learned readout), never on a fixed timer; the Local
  API has no frame event, so asking is the only way to see a new frame;
* camera not previewing: ``record(frames=1)`` (ScopeOne answers when it has captured a frame
  after the request) + ``session_frame`` + ``session_close``.

Settings are read back after every ``set_info`` and every ``settings_poll_s`` (changes made
in ScopeOne's window); each changed parameter is pushed with ``Info_xml``.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..protocol import Axis, ClientType, DataReady, DataToExport, DataWithAxes, Infos, Message, SendData, SetInfo
from ._camsettings import CameraSnapshot, apply_setting, build_tree, read_snapshot
from ._errors import AgentError, ScopeOneApiError, ScopeOneTimeout, TornFrame
from ._frames import FrameHeader
from ._fresh import FreshnessTracker, Grab
from ._module import Module
from ._paramxml import Param, ParameterXmlError, ParamPath, from_xml, resolve_path, to_xml
from ._scopeone import ScopeOne, ScopeOneState, describe

_log = logging.getLogger("pymodaq_plugins_scopeone.agent.camera")
_RETRY_S = 0.25


def frame_message(
    camera: str,
    image: np.ndarray,
    header: FrameHeader,
    exposure_ms: float,
    binning: int,
) -> DataReady:
    """``Done`` + the DataToExport for one frame (the pixels are not copied)."""
    x, y, _w, _h = header.roi
    height, width = image.shape
    axes = (
        Axis("y", "pixels", np.arange(height, dtype=np.float64) + y, index=0),
        Axis("x", "pixels", np.arange(width, dtype=np.float64) + x, index=1),
    )
    extra = {
        "frame_index": int(header.frame_index),
        "timestamp_ns": int(header.timestamp_ns),
        "exposure_ms": float(exposure_ms),
        "roi": [int(v) for v in header.roi],
        "binning": int(binning),
        "bits_per_sample": int(header.bits_per_sample),
        "camera": camera,
    }
    dwa = DataWithAxes(
        name=camera,
        data=(image,),
        class_name="DataFromPlugins",
        dim="Data2D",
        labels=(camera,),
        axes=axes,
        extra_attributes=extra,
        timestamp=header.timestamp_ns / 1e9,
    )
    return DataReady(DataToExport(camera, (dwa,), timestamp=time.time()))


def _meta_int(meta: Dict[str, Any], key: str) -> int:
    value = meta.get(key)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise AgentError(f"ScopeOne's frame metadata {key} is {value!r}, expected an integer")


class CameraModule(Module):
    """A PyMoDAQ ``GRABBER`` connection for one camera (see the module docstring)."""

    client_type = ClientType.GRABBER
    root_name = "detector_settings"

    def __init__(
        self,
        camera: str,
        scopeone: ScopeOne,
        agent_name: str,
        frame_timeout_s: float = 10.0,
        settings_poll_s: float = 0.5,
    ) -> None:
        super().__init__(f"camera-{camera}", scopeone, agent_name)
        self.camera = camera
        self.frame_timeout_s = frame_timeout_s
        self.tick_s = settings_poll_s
        self.snapshot: Optional[CameraSnapshot] = None
        self._reported: Dict[ParamPath, Any] = {}
        self.grabs = FreshnessTracker()
        self._preview = camera in scopeone.state.running_previews
        self._last_index: Optional[int] = None
        self._last_ts_ns = 0
        self._last_new_at = time.monotonic()
        self._readout_s: Optional[float] = None
        self._step_s = 0.0005

    # -- settings ------------------------------------------------------------------------
    def identity(self) -> Param:
        return self.identity_children("camera", camera=self.camera)

    def settings_xml(self) -> str:
        return to_xml(build_tree(self.root_name, self.identity(), self.snapshot))

    @property
    def exposure_s(self) -> float:
        return self.snapshot.exposure_ms / 1000.0 if self.snapshot is not None else 0.0

    def _read(self) -> Optional[CameraSnapshot]:
        try:
            snapshot = read_snapshot(self.scopeone, self.camera)
        except AgentError as error:
            _log.debug("%s: settings not readable: %s", self.name, error)
            return None
        self._preview = snapshot.preview
        return snapshot

    def _send_infos(self, snapshot: CameraSnapshot) -> None:
        self.snapshot = snapshot
        self._reported = snapshot.values()
        self.send(Infos(self.settings_xml()))

    def _push_changes(self, snapshot: CameraSnapshot, always: Tuple[ParamPath, ...] = ()) -> None:
        old_tree = build_tree(self.root_name, self.identity(), self.snapshot)
        new_tree = build_tree(self.root_name, self.identity(), snapshot)
        if [p for p, _ in old_tree.walk()] != [p for p, _ in new_tree.walk()] or any(
            old_tree.child(*p).limits != new_tree.child(*p).limits for p, _ in new_tree.walk()
        ):
            self._send_infos(snapshot)  # the tree's shape or choices changed
            return
        self.snapshot = snapshot
        values = snapshot.values()
        for path, value in values.items():
            if path in always or self._reported.get(path, object()) != value:
                self.send_param(path, new_tree.child(*path))
        self._reported = values

    def connected(self) -> None:
        super().connected()
        snapshot = self._read() if self.scopeone.state.ready else None
        if snapshot is not None:
            self._send_infos(snapshot)

    def state_changed(self, state: ScopeOneState, previous: Optional[ScopeOneState]) -> None:
        super().state_changed(state, previous)
        if state.ready and (previous is None or not previous.ready):
            snapshot = self._read()
            if snapshot is not None:
                self._send_infos(snapshot)
        elif not state.ready:
            self._last_index = None

    def tick(self) -> None:
        if not self.scopeone.state.ready:
            return
        try:
            snapshot = read_snapshot(self.scopeone, self.camera, self.scopeone.state.running_previews)
        except AgentError as error:
            _log.debug("%s: settings watch: %s", self.name, error)
            return
        if snapshot.preview != self._preview:
            self._preview = snapshot.preview
            self.grabs.reset_baselines()
        self._push_changes(snapshot)

    def _set_info(self, message: SetInfo) -> None:
        root = build_tree(self.root_name, self.identity(), self.snapshot)
        try:
            incoming = from_xml(message.xml)
            path = resolve_path(root, message.path, incoming.name)
        except (ParameterXmlError, KeyError) as error:
            self.info("set_info error", f"{self.name}: {error}")
            return
        current = self.snapshot or self._read()
        if current is None:
            self.info("set_info error", f"{self.name}: ScopeOne not ready: {self.scopeone.state.text}")
            return
        try:
            apply_setting(self.scopeone, self.camera, path, incoming.value, current)
        except AgentError as error:
            self.info("set_info error", f"{self.camera}: {'/'.join(path)} = {incoming.value!r}: {describe(error)}")
        snapshot = self._read()
        if snapshot is not None:
            self.grabs.reset_baselines()  # new settings: only frames taken after them count
            self._push_changes(snapshot, always=(path,))
            if path not in snapshot.values():  # read-only parameters: answer with their value
                self.send_param(path, build_tree(self.root_name, self.identity(), snapshot).child(*path))

    # -- grabs ---------------------------------------------------------------------------
    def handle(self, message: Message, arrival: float) -> None:
        if isinstance(message, SendData):
            deadline = arrival + 3 * self.exposure_s + self.frame_timeout_s
            self.grabs.add(Grab(arrival, deadline, message.dim))
            self.alarm = time.monotonic()
        elif isinstance(message, SetInfo):
            self._set_info(message)
        else:
            self.info("agent error", f"{self.name}: {message.command!r} is not a grabber command")

    def on_alarm(self) -> None:
        now = time.monotonic()
        for grab in self.grabs.expired(now):
            self.info(
                "grab error", f"{self.camera}: no fresh frame within {grab.deadline - grab.arrival:.1f} s; grab dropped"
            )
        if not self.grabs:
            return
        if not self.scopeone.state.ready:  # kept until ScopeOne is back or their deadline passes
            self.alarm = now + _RETRY_S
            return
        try:
            if self.snapshot is None:
                self.snapshot = self._read()
            if self._preview:
                self._poll_preview()
            else:
                self._record_one()
        except TornFrame as error:
            _log.debug("%s: %s", self.name, error)
            self.alarm = time.monotonic()
        except AgentError as error:
            _log.debug("%s: grab attempt failed: %s", self.name, error)
            if isinstance(error, ScopeOneApiError) and self._preview:
                self._check_preview()
            self.alarm = time.monotonic() + _RETRY_S

    def _send_frame(self, count: int, image: np.ndarray, header: FrameHeader) -> None:
        snapshot = self.snapshot
        exposure = snapshot.exposure_ms if snapshot is not None else float("nan")
        message = frame_message(self.camera, image, header, exposure, snapshot.binning if snapshot else 1)
        for _grab in self.grabs.take(count):
            self.send(message)

    def _check_preview(self) -> None:
        previews = self.scopeone.request("status").get("runningPreviews") or ()
        running = self.camera in previews
        if running != self._preview:
            self._preview = running
            self.grabs.reset_baselines()

    def _poll_preview(self) -> None:
        with self.scopeone.frame_lock:
            sent = time.monotonic()
            meta = self.scopeone.request("latest_raw_frame", camera=self.camera)
            index, ts_ns = _meta_int(meta, "frameIndex"), _meta_int(meta, "timestampNs")
            new = index != self._last_index
            if new:
                self._learn(index, ts_ns)
            count = self.grabs.observe(sent, index)
            copied = self.scopeone.copy_frame(meta) if count else None
        if copied is not None:
            self._send_frame(count, *copied)
        if not self.grabs:
            return
        now = time.monotonic()
        period = self.exposure_s + (self._readout_s or 0.0)
        if self.grabs.needs_baseline:
            self.alarm = now
        elif new:
            self._step_s = 0.0005
            due = now + (self._last_ts_ns + period * 1e9 - time.time_ns()) / 1e9
            self.alarm = min(max(due, now), now + period + 0.05)
        else:
            if now - self._last_new_at > 2 * period + 0.3:
                self._check_preview()  # preview stopped in ScopeOne?
            self.alarm = now + self._step_s
            self._step_s = min(self._step_s * 2, max(0.002, period / 4))

    def _learn(self, index: int, ts_ns: int) -> None:
        if self._last_index is not None and index == self._last_index + 1 and ts_ns > self._last_ts_ns:
            overhead = max(0.0, (ts_ns - self._last_ts_ns) / 1e9 - self.exposure_s)
            if self._readout_s is None or overhead < self._readout_s:
                self._readout_s = overhead
            else:
                self._readout_s = 0.9 * self._readout_s + 0.1 * overhead
        self._last_index, self._last_ts_ns, self._last_new_at = index, ts_ns, time.monotonic()

    def _record_one(self) -> None:
        timeout_s = 2 * self.exposure_s + self.frame_timeout_s
        sent = time.monotonic()
        try:
            response = self.scopeone.request(
                "record", timeout_s + 2.0, frames=1, camera=self.camera, timeoutMs=int(timeout_s * 1000)
            )
        except (ScopeOneApiError, ScopeOneTimeout) as error:  # ScopeOne refused or gave up: tell the dashboard
            self._fail_grabs(self.grabs.arrived_before(sent), error)
            return
        session = response.get("sessionId")
        if not isinstance(session, str) or not session:
            raise AgentError(f"ScopeOne's record gave sessionId={session!r}, expected a string")
        try:
            image, header, _meta = self.scopeone.export_frame(
                "session_frame", sessionId=session, camera=self.camera, index=0
            )
        finally:
            try:
                self.scopeone.request("session_close", sessionId=session)
            except AgentError as error:
                _log.warning("%s: session_close failed: %s", self.name, error)
        self._send_frame(self.grabs.arrived_before(sent), image, header)
        if self.grabs:
            self.alarm = time.monotonic()

    def _fail_grabs(self, count: int, error: AgentError) -> None:
        for _grab in self.grabs.take(max(count, 1)):
            self.info("grab error", f"{self.camera}: {describe(error)}")

    def disconnected(self, reason: str) -> None:
        self.grabs.take(len(self.grabs))  # their answers would go to a connection that is gone

"""``record`` and its retained sessions (reference §2.7).

A recording keeps the camera(s) running for its duration and collects, at each step, the next
``frames`` frames whose exposure *started* after the step began (so every frame is fresh). With
``zPositions``/``positions`` (the MDA path) each step first moves the stages there, at their
finite speed. ``order`` lists axes outermost first (``time`` has one iteration: one burst);
axes it omits are appended innermost. Sessions live in memory until ``session_close``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
import uuid
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple, Union

from ._camera import Frame
from ._dispatch import Request, Respond, fail, is_number, ok
from ._stage import Move

if TYPE_CHECKING:
    from ._core import Core

DEFAULT_TIMEOUT_MS = 120000
AXES = ("time", "z", "xy")
Step = Tuple[Optional[Tuple[float, float]], Optional[float]]


@dataclasses.dataclass
class Session:
    """Frames of one finished recording, per camera, in capture order."""

    session_id: str
    camera_ids: List[str]
    frames: Dict[str, List[Frame]]

    def info(self) -> Dict[str, Any]:
        """``session_info`` fields."""
        counts = {cam: len(self.frames.get(cam, [])) for cam in self.camera_ids}
        return {"cameraIds": list(self.camera_ids), "frameCount": sum(counts.values()), "frameCounts": counts}


@dataclasses.dataclass(frozen=True)
class RecordPlan:
    """A validated ``record`` request."""

    frames: int
    camera: str
    timeout_ms: int
    z_positions: Optional[List[float]]
    positions: Optional[List[Tuple[float, float]]]
    order: List[str]

    @property
    def is_mda(self) -> bool:
        """True on the MDA snap path (non-empty Z or XY positions)."""
        return bool(self.z_positions) or bool(self.positions)

    def steps(self) -> List[Step]:
        """Stage targets of each step, nested in ``order`` (outermost first)."""
        axes: Dict[str, List[Any]] = {
            "time": [None],
            "z": list(self.z_positions) if self.z_positions else [None],
            "xy": list(self.positions) if self.positions else [None],
        }
        order = self.order + [a for a in AXES if a not in self.order]
        steps: List[Step] = []
        for combo in itertools.product(*[axes[a] for a in order]):
            chosen = dict(zip(order, combo))
            steps.append((chosen["xy"], chosen["z"]))
        return steps


def _finite(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)


def _point(value: Any) -> Optional[Tuple[float, float]]:
    if isinstance(value, list) and len(value) == 2 and all(_finite(v) for v in value):
        return float(value[0]), float(value[1])
    if isinstance(value, dict) and _finite(value.get("x")) and _finite(value.get("y")):
        return float(value["x"]), float(value["y"])
    return None


def parse_record(request: Request) -> Union[RecordPlan, str]:
    """Validate a ``record`` request; return the plan or ScopeOne's error text."""
    frames = request.integer("frames")
    if frames is None:
        return "frames must be an integer"
    if frames <= 0:
        return "frames must be > 0"
    if request.has("camera") and not isinstance(request.obj["camera"], str):
        return "camera must be a string"
    timeout = request.integer("timeoutMs") if request.has("timeoutMs") else DEFAULT_TIMEOUT_MS
    if timeout is None:
        return "timeoutMs must be an integer"
    if request.has("mdaIntervalMs") and not _finite(request.obj["mdaIntervalMs"]):
        return "mdaIntervalMs must be a finite number"
    z_positions, error = _z_positions(request.obj.get("zPositions"))
    if error:
        return error
    positions, error = _xy_positions(request.obj.get("positions"))
    if error:
        return error
    order, error = _order(request.obj.get("order"))
    if error:
        return error
    camera = request.string_or("camera", "All")
    return RecordPlan(frames, camera, timeout if timeout > 0 else DEFAULT_TIMEOUT_MS, z_positions, positions, order)


def _z_positions(raw: Any) -> Tuple[Optional[List[float]], str]:
    if raw is None:
        return None, ""
    if not isinstance(raw, list):
        return None, "zPositions must be an array"
    for i, value in enumerate(raw):
        if not _finite(value):
            return None, f"zPositions[{i}] must be a finite number"
    return [float(v) for v in raw], ""


def _xy_positions(raw: Any) -> Tuple[Optional[List[Tuple[float, float]]], str]:
    if raw is None:
        return None, ""
    if not isinstance(raw, list):
        return None, "positions must be an array"
    points = [_point(v) for v in raw]
    for i, point in enumerate(points):
        if point is None:
            return None, f"positions[{i}] must be [x, y] or {{x, y}} with two finite numbers"
    return [p for p in points if p is not None], ""


def _order(raw: Any) -> Tuple[List[str], str]:
    if raw is None:
        return list(AXES), ""
    if not isinstance(raw, list):
        return [], "order must be an array"
    axes: List[str] = []
    for i, value in enumerate(raw):
        axis = value.strip().lower() if isinstance(value, str) else ""
        if axis not in AXES:
            return [], f"order[{i}] contains an unsupported axis"
        axes.append(axis)
    return axes, ""


class Recording:
    """One running ``record`` (loop thread only)."""

    def __init__(self, core: Core, plan: RecordPlan, camera_ids: List[str], respond: Respond) -> None:
        self.core = core
        self.plan = plan
        self.camera_ids = camera_ids
        self.session_id = str(uuid.uuid4())
        self._respond = respond
        self._steps = plan.steps()
        self._step = -1
        self._armed_at: Optional[float] = None
        self._frames: Dict[str, List[Frame]] = {cam: [] for cam in camera_ids}
        self._step_counts: Dict[str, int] = {}
        self._owner = f"record:{self.session_id}"
        self._timer = core.loop.call_later(plan.timeout_ms / 1000.0, self._timed_out)
        self.done = False

    def start(self) -> None:
        """Start the cameras and the first step."""
        for cam in self.camera_ids:
            self.core.hardware_camera(cam).acquire(self._owner)
        self._next_step()

    def progress(self) -> Dict[str, Any]:
        """``recordingProgress`` fields."""
        captured = sum(len(v) for v in self._frames.values())
        return {
            "phase": "recording_mda" if self.plan.is_mda else "recording_burst",
            "frameCurrent": captured,
            "frameTarget": self.plan.frames * len(self._steps) * len(self.camera_ids),
        }

    def _next_step(self) -> None:
        self._step += 1
        self._armed_at = None
        if self._step >= len(self._steps):
            self.finish(None)
            return
        xy, z = self._steps[self._step]
        moves: List[Tuple[str, Tuple[float, ...]]] = []
        if xy is not None:
            moves.append(("xy", xy))
        if z is not None:
            moves.append(("z", (z,)))
        self._move_then_arm(moves)

    def _move_then_arm(self, moves: List[Tuple[str, Tuple[float, ...]]]) -> None:
        if self.done:
            return
        if not moves:
            self._armed_at = time.monotonic()
            self._step_counts = {cam: 0 for cam in self.camera_ids}
            return
        (kind, target), rest = moves[0], moves[1:]
        controller = self.core.stage(kind, "")
        if controller is None:
            self.finish("Failed to queue stage move")
            return

        def moved(error: Optional[str]) -> None:
            if error:
                self.finish(error)
            else:
                self._move_then_arm(rest)

        controller.submit(Move(lambda _start, t=target: t, moved))  # type: ignore[misc]

    def on_frame(self, frame: Frame) -> None:
        """Take ``frame`` if this step is collecting and it is fresh."""
        if self.done or self._armed_at is None or frame.camera not in self._step_counts:
            return
        if frame.exposure_start < self._armed_at or self._step_counts[frame.camera] >= self.plan.frames:
            return
        self._frames[frame.camera].append(frame)
        self._step_counts[frame.camera] += 1
        if all(n >= self.plan.frames for n in self._step_counts.values()):
            self._next_step()

    def _timed_out(self) -> None:
        self.finish(f"Recording timed out after {self.plan.timeout_ms} ms")

    def finish(self, error: Optional[str]) -> None:
        """End the recording (``error`` None = success) and answer the request."""
        if self.done:
            return
        self.done = True
        self._timer.cancel()
        for cam in self.camera_ids:
            camera = self.core.find_camera(cam)
            if camera is not None:
                camera.release(self._owner)
        self.core.recording_finished(self)
        if error:
            self._respond(fail(error))
            return
        self.core.sessions[self.session_id] = Session(self.session_id, list(self.camera_ids), self._frames)
        self._respond(ok(sessionId=self.session_id, cameraIds=list(self.camera_ids)))

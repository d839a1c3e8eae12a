"""``record`` and session requests (reference §2.7)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

from ._dispatch import AsyncHandler, Request, Respond, Response, SyncHandler, fail, ok
from ._record import Recording, parse_record

if TYPE_CHECKING:
    from ._core import Core

UNKNOWN_SESSION = "Unknown session"


def record(core: Core, request: Request, respond: Respond) -> Optional[Response]:
    """``record`` (async): collect ``frames`` fresh frames → ``sessionId``, ``cameraIds``."""
    plan = parse_record(request)
    if isinstance(plan, str):
        return fail(plan)
    cameras = core.resolve_cameras(plan.camera)
    if not cameras:
        return fail("No camera to record")
    if core.recording is not None:
        return fail("A recording is already running")
    if plan.is_mda and (
        (plan.positions and core.stage("xy", "") is None) or (plan.z_positions and core.stage("z", "") is None)
    ):
        return fail("Failed to queue stage move")
    core.recording = Recording(core, plan, cameras, respond)
    core.recording.start()
    return None


def session_info(core: Core, request: Request) -> Response:
    """``session_info`` → ``cameraIds``, ``frameCount`` (all cameras), ``frameCounts``."""
    session = core.sessions.get(request.string("sessionId"))
    if session is None:
        return fail(UNKNOWN_SESSION)
    return ok(**session.info())


def _session_frame(core: Core, request: Request) -> Response:
    session = core.sessions.get(request.string("sessionId"))
    if session is None:
        return fail(UNKNOWN_SESSION)
    camera = request.string("camera").strip()
    index = request.integer("index") if request.has("index") else -1
    if camera not in session.frames or index is None:
        return fail("Invalid frame request")
    frames = session.frames[camera]
    if index == -1 and frames:
        index = len(frames) - 1
    if not 0 <= index < len(frames):
        return fail("Frame index out of range")
    return core.export_frame(frames[index])


def session_frame(core: Core, request: Request, respond: Respond) -> Optional[Response]:
    """``session_frame`` (async): export frame ``index`` (−1 = last) of ``camera``."""
    core.loop.post(lambda: respond(_session_frame(core, request)))
    return None


def session_close(core: Core, request: Request) -> Response:
    """``session_close``: forget the session and its frames."""
    if core.sessions.pop(request.string("sessionId"), None) is None:
        return fail(UNKNOWN_SESSION)
    return ok()


SYNC: Dict[str, SyncHandler] = {"session_info": session_info, "session_close": session_close}
ASYNC: Dict[str, AsyncHandler] = {"record": record, "session_frame": session_frame}

"""Preview, live frame, exposure and ROI requests (reference §2.3, §2.5, §2.8).

``camera`` resolves as ScopeOne's ``resolveCameraIds``: ``"All"`` (any case) is every loaded
camera, an unknown id is no camera. Requests that need one camera use the first resolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional

from ._camera import Camera
from ._dispatch import Request, Response, SyncHandler, fail, is_number, ok

if TYPE_CHECKING:
    from ._core import Core

MISSING_CAMERA = "Missing camera"


def _cameras(core: Core, request: Request) -> List[Camera]:
    ids = core.resolve_cameras(request.string_or("camera", "All"))
    return [core.hardware_camera(c) for c in ids]


def _one_camera(core: Core, name: str) -> Optional[Camera]:
    ids = core.resolve_cameras(name)
    return core.hardware_camera(ids[0]) if ids else None


def _roi_fields(camera: Camera) -> Dict[str, int]:
    x, y, w, h = camera.settings.roi
    return {"x": x, "y": y, "width": w, "height": h}


def start_preview(core: Core, request: Request) -> Response:
    """``start_preview``: start free-running acquisition of ``camera`` (default All)."""
    cameras = _cameras(core, request)
    if not cameras:
        return fail("Failed to start preview")
    for camera in cameras:
        camera.acquire("preview")
        core.previews.add(camera.label)
    return ok()


def stop_preview(core: Core, request: Request) -> Response:
    """``stop_preview``: stop the preview of ``camera`` (default All); the last frame stays."""
    cameras = _cameras(core, request)
    if not cameras:
        return fail("Failed to stop preview")
    for camera in cameras:
        camera.release("preview")
        core.previews.discard(camera.label)
    return ok()


def latest_raw_frame(core: Core, request: Request) -> Response:
    """``latest_raw_frame``: export the newest frame of ``camera`` to the shared block."""
    name = request.string("camera").strip()
    if not name:
        return fail(MISSING_CAMERA)
    camera = _one_camera(core, name)
    frame = camera.latest if camera is not None else None
    if camera is None or frame is None:
        return fail("No latest raw frame for camera")
    return core.export_frame(frame, layer_key=f"raw:{camera.label}")


def read_exposure(core: Core, request: Request) -> Response:
    """``read_exposure`` → ``exposureMs`` of the (first) camera."""
    cameras = _cameras(core, request)
    if not cameras:
        return fail("Failed to read exposure")
    return ok(exposureMs=cameras[0].settings.exposure_ms)


def set_exposure(core: Core, request: Request) -> Response:
    """``set_exposure``: ``exposureMs`` (number, 0..10000 ms) → read-back ``exposureMs``."""
    if not is_number(request.obj.get("exposureMs")):
        return fail("Missing exposureMs")
    value = request.number("exposureMs")
    cameras = _cameras(core, request)
    if not cameras or not all(c.set_exposure(value) for c in cameras):
        return fail("Failed to set exposure")
    return ok(exposureMs=cameras[0].settings.exposure_ms)


def get_roi(core: Core, request: Request) -> Response:
    """``get_roi`` → ``x``, ``y``, ``width``, ``height`` (binned pixels)."""
    name = request.string("camera").strip()
    if not name:
        return fail(MISSING_CAMERA)
    camera = _one_camera(core, name)
    if camera is None:
        return fail("Failed to read ROI")
    return ok(**_roi_fields(camera))


def set_roi(core: Core, request: Request) -> Response:
    """``set_roi``: integer ``x``, ``y``, ``width`` > 0, ``height`` > 0 → ``readBack`` + ROI."""
    name = request.string("camera").strip()
    if not name:
        return fail(MISSING_CAMERA)
    values = [request.integer(k) for k in ("x", "y", "width", "height")]
    x, y, w, h = (v if v is not None else -1 for v in values)
    if None in values or x < 0 or y < 0 or w <= 0 or h <= 0:
        return fail("Invalid ROI")
    cameras = [core.hardware_camera(c) for c in core.resolve_cameras(name)]
    if not cameras or not all(c.set_roi((x, y, w, h)) for c in cameras):
        return fail("Failed to set ROI")
    return ok(readBack=True, **_roi_fields(cameras[0]))


def set_half_roi(core: Core, request: Request) -> Response:
    """``set_half_roi``: centred ROI of half the current width and height."""
    name = request.string("camera").strip()
    if not name:
        return fail(MISSING_CAMERA)
    cameras = [core.hardware_camera(c) for c in core.resolve_cameras(name)]
    if not cameras:
        return fail("Failed to set Half ROI")
    for camera in cameras:
        camera.half_roi()
    return ok(readBack=True, **_roi_fields(cameras[0]))


def clear_roi(core: Core, request: Request) -> Response:
    """``clear_roi``: back to the full frame for ``camera`` (default All)."""
    cameras = _cameras(core, request)
    if not cameras:
        return fail("Failed to clear ROI")
    for camera in cameras:
        camera.clear_roi()
    return ok()


SYNC: Dict[str, SyncHandler] = {
    "start_preview": start_preview,
    "stop_preview": stop_preview,
    "latest_raw_frame": latest_raw_frame,
    "read_exposure": read_exposure,
    "set_exposure": set_exposure,
    "get_roi": get_roi,
    "set_roi": set_roi,
    "set_half_roi": set_half_roi,
    "clear_roi": clear_roi,
}

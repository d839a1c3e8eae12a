"""Device property and stage requests (reference §2.4, §2.6).

Moves are asynchronous: the response comes when the stage arrives (``ok``) or the move fails
(``"Stage move failed"``); an unknown/absent stage fails at once with
``"Failed to queue stage move"``. Coordinates are read with ``toDouble()`` (missing → 0), in µm.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Dict, Optional

from ._devices import Device, PropertyError
from ._dispatch import AsyncHandler, Request, Respond, Response, SyncHandler, fail, ok
from ._stage import Move, Position

if TYPE_CHECKING:
    from ._core import Core

QUEUE_FAILED = "Failed to queue stage move"


def _device(core: Core, label: str) -> Device:
    device = core.hw.devices.get(label) if core.hw else None
    if device is None:
        raise PropertyError(f'No device with label "{label}"')
    return device


def device_properties(core: Core, request: Request) -> Response:
    """``device_properties`` → ``properties`` (sorted by name)."""
    label = request.string("device").strip()
    if not label:
        return fail("Missing device")
    try:
        return ok(properties=_device(core, label).describe())
    except PropertyError as exc:
        return fail(str(exc))


def device_property_names(core: Core, request: Request) -> Response:
    """``device_property_names`` → ``names`` (sorted)."""
    label = request.string("device").strip()
    if not label:
        return fail("Missing device")
    try:
        return ok(names=_device(core, label).names())
    except PropertyError as exc:
        return fail(str(exc))


def get_property(core: Core, request: Request) -> Response:
    """``get_property`` → ``value`` (string)."""
    label, name = request.string("device").strip(), request.string("property").strip()
    if not label or not name:
        return fail("Missing device or property")
    try:
        return ok(value=_device(core, label).get(name))
    except PropertyError as exc:
        return fail(str(exc))


def set_property(core: Core, request: Request) -> Response:
    """``set_property``: ``value`` is read as a string (a JSON number reads as ``""``)."""
    label, name = request.string("device").strip(), request.string("property").strip()
    if not label or not name:
        return fail("Missing device or property")
    try:
        _device(core, label).set(name, request.string("value"))
    except PropertyError as exc:
        return fail(str(exc))
    return ok()


def xy_stage_devices(core: Core, request: Request) -> Response:
    """``xy_stage_devices`` → ``devices``."""
    return ok(devices=list(core.hw.xy) if core.hw else [])


def z_stage_devices(core: Core, request: Request) -> Response:
    """``z_stage_devices`` → ``devices``."""
    return ok(devices=list(core.hw.z) if core.hw else [])


def current_xy_stage_device(core: Core, request: Request) -> Response:
    """``current_xy_stage_device`` → ``device`` (``""`` if none)."""
    return ok(device=core.hw.current_xy if core.hw else "")


def current_focus_device(core: Core, request: Request) -> Response:
    """``current_focus_device`` → ``device`` (``""`` if none)."""
    return ok(device=core.hw.current_focus if core.hw else "")


def read_xy_position(core: Core, request: Request) -> Response:
    """``read_xy_position`` → ``x``, ``y`` in µm (also while moving)."""
    stage = core.stage("xy", request.string("device").strip())
    if stage is None:
        return fail("Failed to read XY position")
    x, y = stage.model.position()
    return ok(x=x, y=y)


def read_z_position(core: Core, request: Request) -> Response:
    """``read_z_position`` → ``z`` in µm (also while moving)."""
    stage = core.stage("z", request.string("device").strip())
    if stage is None:
        return fail("Failed to read Z position")
    return ok(z=stage.model.position()[0])


def _move(kind: str, resolve: Callable[[Request, Position], Position]) -> AsyncHandler:
    def handler(core: Core, request: Request, respond: Respond) -> Optional[Response]:
        stage = core.stage(kind, request.string("device").strip())
        if stage is None:
            return fail(QUEUE_FAILED)

        def done(error: Optional[str]) -> None:
            respond(fail(error) if error else ok())

        stage.submit(Move(lambda start: resolve(request, start), done))
        return None

    return handler


def _xy_to(r: Request, start: Position) -> Position:
    return (r.number("x"), r.number("y"))


def _xy_relative(r: Request, start: Position) -> Position:
    return (start[0] + r.number("dx"), start[1] + r.number("dy"))


def _z_to(r: Request, start: Position) -> Position:
    return (r.number("z"),)


def _z_relative(r: Request, start: Position) -> Position:
    return (start[0] + r.number("dz"),)


SYNC: Dict[str, SyncHandler] = {
    "device_properties": device_properties,
    "device_property_names": device_property_names,
    "get_property": get_property,
    "set_property": set_property,
    "xy_stage_devices": xy_stage_devices,
    "z_stage_devices": z_stage_devices,
    "current_xy_stage_device": current_xy_stage_device,
    "current_focus_device": current_focus_device,
    "read_xy_position": read_xy_position,
    "read_z_position": read_z_position,
}
ASYNC: Dict[str, AsyncHandler] = {
    "move_xy_to": _move("xy", _xy_to),
    "move_xy_relative": _move("xy", _xy_relative),
    "move_z_to": _move("z", _z_to),
    "move_z_relative": _move("z", _z_relative),
}

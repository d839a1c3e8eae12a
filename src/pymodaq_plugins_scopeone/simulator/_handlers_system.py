"""System and configuration requests (reference §2.1, §2.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ._dispatch import AsyncHandler, Request, Respond, Response, SyncHandler, fail, ok
from ._faults import FAULT_ACTIONS
from ._framing import MAX_MESSAGE_BYTES
from ._shm import HEADER_BYTES, MAPPING_SIZE, MAX_PAYLOAD_BYTES

if TYPE_CHECKING:
    from ._core import Core

OPERATION_GROUPS: Dict[str, List[str]] = {
    "system": ["ping", "version", "status", "capabilities", "frame_mapping_info"],
    "configuration": ["load_config", "unload_config", "camera_ids", "loaded_devices"],
    "preview": [
        "start_preview",
        "stop_preview",
        "read_exposure",
        "set_exposure",
        "get_roi",
        "set_roi",
        "set_half_roi",
        "clear_roi",
    ],
    "hardware": [
        "device_properties",
        "device_property_names",
        "get_property",
        "set_property",
        "xy_stage_devices",
        "z_stage_devices",
        "current_xy_stage_device",
        "current_focus_device",
        "read_xy_position",
        "read_z_position",
        "move_xy_relative",
        "move_z_relative",
        "move_xy_to",
        "move_z_to",
    ],
    "recording": ["record", "session_info", "session_close", "session_frame", "latest_raw_frame"],
}
"""Groups as in ScopeOne's ``apiCapabilities``, listing only the types the simulator implements."""


def _versions(core: Core) -> Dict[str, Any]:
    return {"version": core.config.version, "coreVersion": core.config.core_version}


def ping(core: Core, request: Request) -> Response:
    """``ping`` → ``version``, ``coreVersion``."""
    return ok(**_versions(core))


def version(core: Core, request: Request) -> Response:
    """``version`` → ``version``, ``coreVersion``."""
    return ok(**_versions(core))


def status(core: Core, request: Request) -> Response:
    """``status`` → configuration lifecycle, devices, previews and idle sub-states."""
    return ok(**core.status())


def capabilities(core: Core, request: Request) -> Response:
    """``capabilities`` → the ``capabilities`` object of reference §2.1."""
    moves = ["move_xy_relative", "move_z_relative", "move_xy_to", "move_z_to"]
    return ok(
        capabilities={
            "localOnly": True,
            "requestId": True,
            "requestMode": "sequential",
            "controlTransport": "local_socket",
            "maxMessageBytes": MAX_MESSAGE_BYTES,
            "experimentDocumentSchemaVersion": 2,
            "operationGroups": OPERATION_GROUPS,
            "longRunningOperations": ["record"],
            "hardwareMutationOperations": [
                "load_config",
                "unload_config",
                "start_preview",
                "stop_preview",
                "set_property",
                "set_exposure",
                "set_roi",
                "set_half_roi",
                "clear_roi",
                *moves,
                "record",
            ],
            "filesystemMutationOperations": [],
            "destructiveOperations": ["unload_config", "session_close"],
            "frameTransport": "shared_memory",
        }
    )


def frame_mapping_info(core: Core, request: Request) -> Response:
    """``frame_mapping_info`` → the constants of the frame block."""
    return ok(
        mappingName=core.mapping.name,
        mappingSize=MAPPING_SIZE,
        headerBytes=HEADER_BYTES,
        maxPayloadBytes=MAX_PAYLOAD_BYTES,
        pixelFormats=["Mono8", "Mono16"],
    )


def camera_ids(core: Core, request: Request) -> Response:
    """``camera_ids`` → ``cameraIds``."""
    return ok(cameraIds=core.camera_ids)


def loaded_devices(core: Core, request: Request) -> Response:
    """``loaded_devices`` → ``devices`` (configuration order)."""
    return ok(devices=core.hw.loaded_labels if core.hw else [])


def load_config(core: Core, request: Request, respond: Respond) -> Optional[Response]:
    """``load_config`` (async): ``configPath`` → state, cameraIds, device counts."""
    path = request.string("configPath").strip()
    if not path:
        return fail("Missing configPath")
    return core.load(path, respond, core.config.config_load_ms / 1000.0)


def unload_config(core: Core, request: Request, respond: Respond) -> Optional[Response]:
    """``unload_config`` (async) → ``state``, ``complete``."""
    core.unload(respond, core.config.config_unload_ms / 1000.0)
    return None


def sim_fault(core: Core, request: Request) -> Response:
    """Simulator-only ``sim_fault``: ``action`` from :data:`FAULT_ACTIONS` (+ its fields)."""
    action = FAULT_ACTIONS.get(request.string("action"))
    if action is None:
        return fail("Unknown fault action; expected one of " + ", ".join(sorted(FAULT_ACTIONS)))
    try:
        result = action(core.faults, request.obj)
    except ValueError as exc:
        return fail(str(exc))
    return ok(result=result) if isinstance(result, int) else ok()


SYNC: Dict[str, SyncHandler] = {
    "ping": ping,
    "version": version,
    "status": status,
    "capabilities": capabilities,
    "frame_mapping_info": frame_mapping_info,
    "camera_ids": camera_ids,
    "loaded_devices": loaded_devices,
}
ASYNC: Dict[str, AsyncHandler] = {"load_config": load_config, "unload_config": unload_config}
FAULT_HANDLERS: Dict[str, SyncHandler] = {"sim_fault": sim_fault}

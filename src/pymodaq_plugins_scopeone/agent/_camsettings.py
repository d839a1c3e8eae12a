"""A camera's settings as ScopeOne holds them, and as a PyMoDAQ parameter tree.

Read through the Local API: ``read_exposure``, ``get_roi`` and ``device_properties`` of the
camera device (Micro-Manager properties ``Binning``, ``PixelType``, ``BitDepth``,
``OnCameraCCDXSize``/``YSize``); preview from ``status.runningPreviews``. A property the
camera does not have is simply left out of the tree.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Optional, Tuple

from ._errors import AgentError
from ._paramxml import Param, ParamPath
from ._scopeone import ScopeOne

Roi = Tuple[int, int, int, int]
LIST_PROPERTIES = (
    ("binning", "Binning", "Binning"),
    ("pixel_type", "PixelType", "Pixel type"),
    ("bit_depth", "BitDepth", "Bit depth"),
)
ROI_KEYS = ("x", "y", "width", "height")


def _int_or_text(text: str) -> Any:
    stripped = text.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


def _number(response: Dict[str, Any], key: str, request: str) -> float:
    value = response.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise AgentError(f"ScopeOne's {request} gave {key}={value!r}, expected a finite number")
    return float(value)


@dataclasses.dataclass(frozen=True)
class CameraSnapshot:
    """Settings of one camera at one moment."""

    exposure_ms: float
    roi: Roi
    preview: bool
    properties: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = ()  # (name, value, allowed values)

    def prop(self, name: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
        for prop_name, value, allowed in self.properties:
            if prop_name == name:
                return value, allowed
        return None

    def int_prop(self, name: str) -> Optional[int]:
        found = self.prop(name)
        if found is None:
            return None
        value = _int_or_text(found[0])
        return value if isinstance(value, int) else None

    @property
    def binning(self) -> int:
        return self.int_prop("Binning") or 1

    @property
    def full_frame(self) -> bool:
        width, height = self.int_prop("OnCameraCCDXSize"), self.int_prop("OnCameraCCDYSize")
        if width is None or height is None:
            return False
        return self.roi == (0, 0, width // self.binning, height // self.binning)

    def values(self) -> Dict[ParamPath, Any]:
        """Parameter path → value, for change detection."""
        result: Dict[ParamPath, Any] = {("exposure_ms",): self.exposure_ms, ("preview",): self.preview}
        for key, prop, _title in LIST_PROPERTIES:
            found = self.prop(prop)
            if found is not None:
                result[(key,)] = _int_or_text(found[0])
        for key, value in zip(ROI_KEYS, self.roi):
            result[("roi", key)] = value
        result[("roi", "full_frame")] = self.full_frame
        return result


def read_snapshot(scopeone: ScopeOne, camera: str, previews: Optional[Tuple[str, ...]] = None) -> CameraSnapshot:
    """Read the camera's settings from ScopeOne; ``previews`` (running previews) is asked for
    with ``status`` unless given."""
    exposure = _number(scopeone.request("read_exposure", camera=camera), "exposureMs", "read_exposure")
    roi_response = scopeone.request("get_roi", camera=camera)
    roi = tuple(int(_number(roi_response, key, "get_roi")) for key in ROI_KEYS)
    described = scopeone.request("device_properties", device=camera).get("properties") or []
    properties: List[Tuple[str, str, Tuple[str, ...]]] = []
    for entry in described:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            allowed = tuple(str(v) for v in entry.get("allowedValues") or ())
            properties.append((entry["name"], str(entry.get("value", "")), allowed))
    if previews is None:
        previews = tuple(str(c) for c in scopeone.request("status").get("runningPreviews") or ())
    return CameraSnapshot(exposure, (roi[0], roi[1], roi[2], roi[3]), camera in previews, tuple(properties))


def build_tree(root_name: str, identity: Param, snapshot: Optional[CameraSnapshot]) -> Param:
    """The settings tree sent in ``Infos`` (only the identity while ScopeOne is unknown)."""
    children = [identity]
    if snapshot is not None:
        children.append(Param("exposure_ms", "float", "Exposure (ms)", snapshot.exposure_ms))
        for key, prop, title in LIST_PROPERTIES:
            found = snapshot.prop(prop)
            if found is None:
                continue
            value, allowed = found
            limits = [_int_or_text(v) for v in allowed] or [_int_or_text(value)]
            readonly = not allowed
            children.append(Param(key, "list", title, _int_or_text(value), readonly=readonly, limits=limits))
        roi = [Param(key, "int", key.capitalize(), value) for key, value in zip(ROI_KEYS, snapshot.roi)]
        roi.append(Param("full_frame", "bool", "Full frame", snapshot.full_frame))
        children.append(Param("roi", "group", "ROI (binned pixels)", children=roi))
        children.append(Param("preview", "bool", "Preview", snapshot.preview))
    return Param(root_name, "group", "Detector settings", children=children)


def apply_setting(scopeone: ScopeOne, camera: str, path: ParamPath, value: Any, current: CameraSnapshot) -> None:
    """Apply one changed parameter through ScopeOne (ScopeOneApiError carries its refusal)."""
    if path == ("exposure_ms",):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise AgentError(f"exposure_ms: expected a finite number of ms, got {value!r}")
        scopeone.request("set_exposure", exposureMs=float(value), camera=camera)
    elif path == ("preview",):
        scopeone.request("start_preview" if value else "stop_preview", camera=camera)
    elif len(path) == 1 and path[0] in {key for key, _p, _t in LIST_PROPERTIES}:
        prop = {key: p for key, p, _t in LIST_PROPERTIES}[path[0]]
        scopeone.request("set_property", device=camera, property=prop, value=str(value))
    elif path == ("roi", "full_frame"):
        if value:
            scopeone.request("clear_roi", camera=camera)
    elif len(path) == 2 and path[0] == "roi" and path[1] in ROI_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AgentError(f"roi/{path[1]}: expected an integer, got {value!r}")
        roi = dict(zip(ROI_KEYS, current.roi))
        roi[path[1]] = value
        scopeone.request("set_roi", camera=camera, **roi)
    else:
        raise AgentError(f"{'/'.join(path)} is read-only")

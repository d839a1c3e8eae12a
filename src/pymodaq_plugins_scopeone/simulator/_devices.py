"""Device properties, Micro-Manager style: every value is a string, names are listed sorted.

Property descriptions follow ScopeOne's ``device_properties`` entries: ``name``, ``value``
(string), ``type`` (``String``/``Float``/``Integer``), ``readOnly``, ``preInit``,
``allowedValues``, ``hasLimits`` and, only with limits, ``lowerLimit``/``upperLimit``.
Error texts for unknown devices/properties and refused values are the simulator's own
(Micro-Manager's exact wording is not in the reference); see :class:`PropertyError`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._camera import BINNINGS, BIT_DEPTHS, MAX_EXPOSURE_MS, MODES, PIXEL_TYPES, Camera
from ._stage import StageModel

DESCRIPTIONS = {
    "camera": "Demo Camera Device Adapter",
    "xy": "Demo XY stage driver",
    "z": "Demo stage driver",
    "hub": "DemoHub",
    "wheel": "Demo filter wheel driver",
    "objective": "Demo objective turret driver",
    "lightpath": "Demo light-path driver",
    "shutter": "Demo shutter driver",
    "autofocus": "Demo auto-focus adapter",
}


class PropertyError(ValueError):
    """A property request the device refuses; ``str()`` is the error text sent to the client."""


def format_float(value: float) -> str:
    """Micro-Manager's float property format (4 decimals)."""
    return f"{value:.4f}"


def parse_float(text: str) -> Optional[float]:
    """The finite float in ``text``, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_int(text: str) -> Optional[int]:
    """The integer in ``text`` (decimal digits, optional sign), or None."""
    stripped = text.strip()
    if stripped.lstrip("+-").isdigit():
        return int(stripped)
    return None


@dataclasses.dataclass(frozen=True)
class Property:
    """One property: ``setter`` returns False to refuse a value; ``None`` means read-only."""

    name: str
    kind: str
    getter: Callable[[], str]
    setter: Optional[Callable[[str], bool]] = None
    allowed: Tuple[str, ...] = ()
    limits: Optional[Tuple[float, float]] = None

    def describe(self) -> Dict[str, Any]:
        """The ``device_properties`` entry."""
        entry: Dict[str, Any] = {
            "name": self.name,
            "value": self.getter(),
            "type": self.kind,
            "readOnly": self.setter is None,
            "preInit": False,
            "allowedValues": list(self.allowed),
            "hasLimits": self.limits is not None,
        }
        if self.limits is not None:
            entry["lowerLimit"], entry["upperLimit"] = self.limits
        return entry


class Device:
    """A loaded device: label, adapter and its properties."""

    def __init__(self, label: str, adapter: str, role: str, properties: List[Property]) -> None:
        self.label = label
        self.adapter = adapter
        self.role = role
        base = [
            Property("Name", "String", lambda: adapter),
            Property("Description", "String", lambda: DESCRIPTIONS.get(role, adapter)),
        ]
        self.properties: Dict[str, Property] = {p.name: p for p in base + properties}

    def names(self) -> List[str]:
        """Property names in Micro-Manager's (sorted) order."""
        return sorted(self.properties)

    def describe(self) -> List[Dict[str, Any]]:
        """Every property description, sorted by name."""
        return [self.properties[name].describe() for name in self.names()]

    def _lookup(self, name: str) -> Property:
        prop = self.properties.get(name)
        if prop is None:
            raise PropertyError(f'Device "{self.label}" has no property "{name}"')
        return prop

    def get(self, name: str) -> str:
        """Return the value of ``name``."""
        return self._lookup(name).getter()

    def set(self, name: str, value: str) -> None:
        """Set ``name`` to ``value`` or raise :class:`PropertyError`."""
        prop = self._lookup(name)
        if prop.setter is None:
            raise PropertyError(f'Property "{name}" of device "{self.label}" is read-only')
        if (prop.allowed and value not in prop.allowed) or not prop.setter(value):
            raise PropertyError(f'Invalid value "{value}" for property "{name}" of device "{self.label}"')


def _float_setter(apply: Callable[[float], bool]) -> Callable[[str], bool]:
    def setter(text: str) -> bool:
        value = parse_float(text)
        return value is not None and apply(value)

    return setter


def _int_setter(apply: Callable[[int], bool]) -> Callable[[str], bool]:
    def setter(text: str) -> bool:
        value = parse_int(text)
        return value is not None and apply(value)

    return setter


def camera_device(label: str, camera: Camera) -> Device:
    """The DCam camera with the properties the stand-in honours."""

    def s() -> Any:
        return camera.settings

    width, height = camera.optics.sensor
    return Device(
        label,
        "DCam",
        "camera",
        [
            Property(
                "Binning",
                "Integer",
                lambda: str(s().binning),
                _int_setter(camera.set_binning),
                tuple(str(b) for b in BINNINGS),
            ),
            Property(
                "BitDepth",
                "Integer",
                lambda: str(s().bit_depth),
                _int_setter(camera.set_bit_depth),
                tuple(str(b) for b in BIT_DEPTHS),
            ),
            Property("CameraID", "String", lambda: "V1.0"),
            Property("CameraName", "String", lambda: "DemoCamera-MultiMode"),
            Property(
                "Exposure",
                "Float",
                lambda: format_float(s().exposure_ms),
                _float_setter(camera.set_exposure),
                limits=(0.0, MAX_EXPOSURE_MS),
            ),
            Property("Mode", "String", lambda: s().mode, camera.set_mode, MODES),
            Property("OnCameraCCDXSize", "Integer", lambda: str(width)),
            Property("OnCameraCCDYSize", "Integer", lambda: str(height)),
            Property("PixelType", "String", lambda: s().pixel_type, camera.set_pixel_type, PIXEL_TYPES),
            Property(
                "ReadoutTime",
                "Float",
                lambda: format_float(s().readout_ms),
                _float_setter(camera.set_readout),
                limits=(0.0, 1000.0),
            ),
        ],
    )


def z_device(label: str, model: StageModel) -> Device:
    """The DStage focus drive; writing ``Position`` (µm) jumps there at once."""
    lower, upper = model.limits[0]
    state = {"UseSequences": "No"}

    def set_position(value: float) -> bool:
        if not lower <= value <= upper:
            return False
        model.set_now((value,))
        return True

    def set_sequences(value: str) -> bool:
        state["UseSequences"] = value
        return True

    return Device(
        label,
        "DStage",
        "z",
        [
            Property(
                "Position",
                "Float",
                lambda: format_float(model.position()[0]),
                _float_setter(set_position),
                limits=(lower, upper),
            ),
            Property("UseSequences", "String", lambda: state["UseSequences"], set_sequences, ("No", "Yes")),
        ],
    )


def plain_device(label: str, adapter: str, role: str) -> Device:
    """A device that is listed and has Name/Description, but does nothing."""
    return Device(label, adapter, role, [])

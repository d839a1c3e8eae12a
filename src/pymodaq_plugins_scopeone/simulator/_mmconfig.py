"""Micro-Manager configuration files: a small parser and the built-in demo configuration.

Only what the stand-in needs is interpreted: ``Device,<label>,<library>,<adapter>`` (which
devices to create), ``Property,Core,Camera|Focus|XYStage,<label>`` (current devices),
``Property,<label>,<name>,<value>`` (initial values) and the ``System``/``Startup`` preset of
``ConfigGroup`` lines, applied after loading as Micro-Manager does. Other known keywords are
accepted and ignored; an unknown keyword makes the file invalid.

:data:`DEMO_CONFIG_TEXT` re-creates the devices of ScopeOne's ``config/MMConfig_demo.cfg``
(reference §5): Camera (DCam), Z (DStage), XY (DXYStage) and the do-nothing DHub, DWheel ×3,
DObjective, DLightPath, DShutter and DAutoFocus.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List, Tuple

DEMO_CONFIG_NAME = "MMConfig_demo.cfg"

DEMO_CONFIG_TEXT = """\
# Micro-Manager demo configuration, as loaded by the ScopeOne stand-in.
# Devices
Device,DHub,DemoCamera,DHub
Device,Camera,DemoCamera,DCam
Device,Dichroic,DemoCamera,DWheel
Device,Emission,DemoCamera,DWheel
Device,Excitation,DemoCamera,DWheel
Device,Objective,DemoCamera,DObjective
Device,Z,DemoCamera,DStage
Device,Path,DemoCamera,DLightPath
Device,XY,DemoCamera,DXYStage
Device,Shutter,DemoCamera,DShutter
Device,Autofocus,DemoCamera,DAutoFocus
# Pre-initialization and parents
Property,Core,Initialize,0
Parent,Camera,DHub
Parent,Z,DHub
Parent,XY,DHub
Property,Core,Initialize,1
# Roles
Property,Core,Camera,Camera
Property,Core,Shutter,Shutter
Property,Core,Focus,Z
Property,Core,AutoShutter,1
# Configuration presets
ConfigGroup,Camera,HighRes,Camera,Binning,1
ConfigGroup,Camera,HighRes,Camera,BitDepth,12
ConfigGroup,Camera,MedRes,Camera,Binning,2
ConfigGroup,Camera,MedRes,Camera,BitDepth,10
ConfigGroup,Camera,LowRes,Camera,Binning,4
ConfigGroup,Camera,LowRes,Camera,BitDepth,8
ConfigGroup,System,Startup,Camera,BitDepth,16
ConfigGroup,System,Startup,Camera,Binning,1
# Pixel sizes
ConfigPixelSize,Res10x,Objective,Label,Nikon 10X S Fluor
PixelSize_um,Res10x,1.0
"""

KNOWN_KEYWORDS = frozenset(
    {
        "Device",
        "Property",
        "Parent",
        "Label",
        "Config",
        "ConfigGroup",
        "ConfigPixelSize",
        "PixelSize_um",
        "PixelSizeAffine",
        "PixelSizedxdz",
        "PixelSizedydz",
        "PixelSizeOptimalZ_Um",
        "Delay",
        "FocusDirection",
        "Equipment",
        "ImageSynchro",
    }
)

ADAPTER_ROLES = {
    ("DemoCamera", "DCam"): "camera",
    ("DemoCamera", "DXYStage"): "xy",
    ("DemoCamera", "DStage"): "z",
    ("DemoCamera", "DHub"): "hub",
    ("DemoCamera", "DWheel"): "wheel",
    ("DemoCamera", "DObjective"): "objective",
    ("DemoCamera", "DLightPath"): "lightpath",
    ("DemoCamera", "DShutter"): "shutter",
    ("DemoCamera", "DAutoFocus"): "autofocus",
}
"""Devices the stand-in can create; only camera, xy and z do something."""


class ConfigFileError(ValueError):
    """The configuration file cannot be used."""


@dataclasses.dataclass(frozen=True)
class DeviceSpec:
    """One ``Device`` line."""

    label: str
    library: str
    adapter: str

    @property
    def role(self) -> str:
        """``camera``, ``xy``, ``z``, a do-nothing role, or ``""`` when not supported."""
        return ADAPTER_ROLES.get((self.library, self.adapter), "")


@dataclasses.dataclass(frozen=True)
class MMConfig:
    """What a configuration file asks for."""

    devices: Tuple[DeviceSpec, ...]
    core: Dict[str, str]
    properties: Tuple[Tuple[str, str, str], ...]
    startup: Tuple[Tuple[str, str, str], ...]


def parse_mm_config(text: str) -> MMConfig:
    """Parse configuration text; raise :class:`ConfigFileError` on a malformed line."""
    devices: List[DeviceSpec] = []
    core: Dict[str, str] = {}
    properties: List[Tuple[str, str, str]] = []
    startup: List[Tuple[str, str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        keyword = fields[0]
        if keyword not in KNOWN_KEYWORDS or len(fields) < 2:
            raise ConfigFileError(f"Invalid configuration line {number}: {line}")
        if keyword == "Device":
            devices.append(_device(fields, number, line))
        elif keyword == "Property" and len(fields) >= 4:
            _property(fields, core, properties)
        elif keyword == "ConfigGroup" and len(fields) >= 6 and fields[1:3] == ["System", "Startup"]:
            startup.append((fields[3], fields[4], ",".join(fields[5:])))
    return MMConfig(tuple(devices), core, tuple(properties), tuple(startup))


def _device(fields: List[str], number: int, line: str) -> DeviceSpec:
    if len(fields) != 4 or not all(fields[1:]):
        raise ConfigFileError(f"Invalid configuration line {number}: {line}")
    return DeviceSpec(fields[1], fields[2], fields[3])


def _property(fields: List[str], core: Dict[str, str], properties: List[Tuple[str, str, str]]) -> None:
    device, name, value = fields[1], fields[2], ",".join(fields[3:])
    if device == "Core":
        core[name] = value
    else:
        properties.append((device, name, value))


def read_config(path_text: str) -> MMConfig:
    """Read the configuration named by a ``configPath``.

    An existing file is parsed. A path that does not exist but whose file name is
    ``MMConfig_demo.cfg`` (in any folder, Windows or POSIX separators) gives the built-in demo
    configuration, so an agent configured with the microscope PC's path works unchanged.
    """
    path = Path(path_text)
    if path.is_file():
        try:
            return parse_mm_config(path.read_text(encoding="utf-8", errors="strict"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigFileError(f"Cannot read configuration file: {path_text} ({exc})") from None
    if path_text.replace("\\", "/").rsplit("/", 1)[-1] == DEMO_CONFIG_NAME:
        return parse_mm_config(DEMO_CONFIG_TEXT)
    raise ConfigFileError(f"Configuration file not found: {path_text}")


def write_demo_config(directory: Path) -> Path:
    """Write :data:`DEMO_CONFIG_TEXT` as ``<directory>/MMConfig_demo.cfg``; return the path."""
    path = Path(directory) / DEMO_CONFIG_NAME
    path.write_text(DEMO_CONFIG_TEXT, encoding="utf-8")
    return path

"""The agent's settings: command line over ``agent.toml`` over defaults.

``agent.toml`` (every key optional)::

    [agent]
    server = "192.168.1.20:6341"   # HOST[:PORT] of the PyMoDAQ PC
    cameras = ["Camera"]          # default: every camera ScopeOne reports; [] = none
    secret_file = ""              # file holding the PyMoDAQ side's shared secret (if it has one)
    axes = ["X", "Y", "Z"]
    scopeone = "local"            # or a socket path / pipe name
    log_level = "INFO"
    name = "microscope-pc"        # shown in each module's identity

    [stage]
    xy_device = ""                # "" = ScopeOne's current XY stage
    z_device = ""                 # "" = ScopeOne's current focus device
    home_x_um = 0.0
    home_y_um = 0.0
    home_z_um = 0.0
    move_timeout_s = 60.0

    [camera]
    frame_timeout_s = 10.0        # beyond the exposure, before a grab is reported failed
    settings_poll_s = 0.5         # how often ScopeOne-side changes are looked for (<= 1)
"""

from __future__ import annotations

import dataclasses
import math
import socket
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from . import _toml
from ._errors import ConfigError

DEFAULT_PORT = 6341
AXES = ("X", "Y", "Z")


@dataclasses.dataclass(frozen=True)
class AgentConfig:
    """Everything the agent needs to run (see the module docstring for the file keys)."""

    server_host: str = "localhost"
    server_port: int = DEFAULT_PORT
    cameras: Optional[Tuple[str, ...]] = None  # None: every camera ScopeOne reports; (): none
    axes: Tuple[str, ...] = AXES
    scopeone: str = "local"
    log_level: str = "INFO"
    name: str = dataclasses.field(default_factory=socket.gethostname)
    xy_device: str = ""
    z_device: str = ""
    home_um: Tuple[Tuple[str, float], ...] = ()
    move_timeout_s: float = 60.0
    request_timeout_s: float = 5.0
    frame_timeout_s: float = 10.0
    settings_poll_s: float = 0.5
    reconnect_max_s: float = 1.0  # keeps every reconnection within 2 s (issue 7), handshake included
    stall_timeout_s: float = 10.0  # a message from PyMoDAQ begun and not finished within this: reconnect
    secret: Optional[bytes] = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.server_host:
            raise ConfigError("server: the host is empty")
        if not 0 < self.server_port < 65536:
            raise ConfigError(f"server: port must be in 1..65535, got {self.server_port}")
        for axis in self.axes:
            if axis not in AXES:
                raise ConfigError(f"axes: expected some of {', '.join(AXES)}, got {axis!r}")
        if len(set(self.axes)) != len(self.axes):
            raise ConfigError(f"axes: listed twice in {list(self.axes)}")
        timeouts = ("move_timeout_s", "request_timeout_s", "frame_timeout_s", "settings_poll_s")
        for name in (*timeouts, "reconnect_max_s", "stall_timeout_s"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError(f"{name}: expected a number > 0, got {value!r}")
        if self.settings_poll_s > 1.0:
            raise ConfigError(
                f"settings_poll_s: must be <= 1 s (changes are noticed once a second), got {self.settings_poll_s}"
            )
        if self.reconnect_max_s > 2.0:
            raise ConfigError(f"reconnect_max_s: must be <= 2 s, got {self.reconnect_max_s}")

    def home(self, axis: str) -> float:
        """The home position of ``axis`` in µm (0 unless configured)."""
        return dict(self.home_um).get(axis, 0.0)


def parse_server(text: str) -> Tuple[str, int]:
    """``HOST[:PORT]`` (``[v6]:PORT`` for IPv6) → (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ConfigError(f"--server: expected HOST[:PORT], got {text!r}")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"--server: port must be an integer in 1..65535, got {port_text!r}")
    return host, int(port_text)


def parse_axes(text: str) -> Tuple[str, ...]:
    """``X,Y,Z`` → ('X', 'Y', 'Z'); an empty string means no axis."""
    return tuple(part.strip().upper() for part in text.split(",") if part.strip())


def _typed(section: Mapping[str, Any], key: str, kind: Any, where: str) -> Any:
    value = section[key]
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if not ok:
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}.{key}: expected {names}, got {type(value).__name__} {value!r}")
    return value


def _string_list(section: Mapping[str, Any], key: str, where: str) -> Tuple[str, ...]:
    values = _typed(section, key, list, where)
    for value in values:
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{key}: expected a list of strings, got {values!r}")
    return tuple(values)


_KNOWN = {
    "agent": {"server", "cameras", "axes", "scopeone", "log_level", "name", "secret_file"},
    "stage": {"xy_device", "z_device", "home_x_um", "home_y_um", "home_z_um", "move_timeout_s"},
    "camera": {"frame_timeout_s", "settings_poll_s"},
}


def fields_from_toml(path: Path) -> Dict[str, Any]:
    """Read ``agent.toml`` into AgentConfig keyword arguments; ConfigError names bad keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    document = _toml.loads(text)
    for table, content in document.items():
        if table not in _KNOWN or not isinstance(content, dict):
            raise ConfigError(f"{path}: unknown table [{table}]; expected {', '.join(sorted(_KNOWN))}")
        unknown = set(content) - _KNOWN[table]
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))} in [{table}]")
    fields: Dict[str, Any] = {}
    agent = document.get("agent", {})
    stage = document.get("stage", {})
    camera = document.get("camera", {})
    if "server" in agent:
        fields["server_host"], fields["server_port"] = parse_server(_typed(agent, "server", str, "agent"))
    if "cameras" in agent:
        fields["cameras"] = _string_list(agent, "cameras", "agent")
    if "axes" in agent:
        fields["axes"] = tuple(a.upper() for a in _string_list(agent, "axes", "agent"))
    for key in ("scopeone", "log_level", "name"):
        if key in agent:
            fields[key] = _typed(agent, key, str, "agent")
    if agent.get("secret_file"):
        fields["secret"] = read_secret(Path(_typed(agent, "secret_file", str, "agent")))
    for key in ("xy_device", "z_device"):
        if key in stage:
            fields[key] = _typed(stage, key, str, "stage")
    homes = []
    for axis in AXES:
        key = f"home_{axis.lower()}_um"
        if key in stage:
            homes.append((axis, float(_typed(stage, key, (int, float), "stage"))))
    if homes:
        fields["home_um"] = tuple(homes)
    if "move_timeout_s" in stage:
        fields["move_timeout_s"] = float(_typed(stage, "move_timeout_s", (int, float), "stage"))
    for key in ("frame_timeout_s", "settings_poll_s"):
        if key in camera:
            fields[key] = float(_typed(camera, key, (int, float), "camera"))
    return fields


def read_secret(path: Path) -> bytes:
    """The shared secret in ``path`` (surrounding whitespace removed), for the auth challenge."""
    try:
        secret = path.read_bytes().strip()
    except OSError as error:
        raise ConfigError(f"cannot read the secret file {path}: {error}") from None
    if len(secret) < 8:
        raise ConfigError(f"the secret in {path} is {len(secret)} bytes long; use at least 8")
    return secret


def build_config(file_fields: Optional[Dict[str, Any]] = None, **overrides: Any) -> AgentConfig:
    """Defaults, then the file's fields, then non-None command-line overrides."""
    fields: Dict[str, Any] = dict(file_fields or {})
    fields.update({key: value for key, value in overrides.items() if value is not None})
    try:
        return AgentConfig(**fields)
    except TypeError as error:
        raise ConfigError(str(error)) from None

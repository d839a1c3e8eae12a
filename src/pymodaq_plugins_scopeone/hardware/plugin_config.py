"""The package configuration as PyMoDAQ 5 wants it used: through ``GlobalConfig``.

Calling ``Config()`` directly is deprecated in pymodaq_utils 5.3; PyMoDAQ registers our
``utils.Config`` under ``scopeone`` when it is imported (``register_plugin_configs``).
We register it ourselves if a plugin module is imported before that happened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Tuple

from pymodaq_utils.config import GlobalConfig

from ..utils import SHORT_PLUGIN_NAME, Config
from .access import AccessPolicy, parse_networks
from .agent_server import AgentServer, ServerError, shared_server


def package_config() -> Config:
    """The registered ``Config`` instance of this package (``config_scopeone.toml``)."""
    registry = GlobalConfig()
    if SHORT_PLUGIN_NAME not in registry:
        GlobalConfig.register()(Config)
    config: Config = registry[SHORT_PLUGIN_NAME]
    return config


def config_value(*keys: str) -> Any:
    """A value of this package's configuration, e.g. ``config_value('server', 'port')``."""
    return package_config()(*keys)


def server_defaults() -> Tuple[int, str]:
    """(port, bind address) every module starts with; a module may override them."""
    return int(config_value("server", "port")), str(config_value("server", "bind_address"))


def access_policy() -> AccessPolicy:
    """Who may connect, from the ``[access]`` table (an absent table means: anybody, no secret).

    Raises:
        ServerError: a value is invalid or the secret file cannot be read (the message says which).
    """
    try:
        access = dict(config_value("access"))
    except (KeyError, TypeError):
        return AccessPolicy()
    secret = None
    secret_file = str(access.get("secret_file", "") or "")
    try:
        if secret_file:
            secret = Path(secret_file).expanduser().read_bytes().strip()
        return AccessPolicy(
            allowed_networks=parse_networks(str(access.get("allowed_networks", "") or "")),
            max_connections_per_address=int(access.get("max_connections_per_address", 8)),
            secret=secret,
        )
    except (OSError, ValueError) as error:
        raise ServerError(f"config_scopeone.toml [access]: {error}") from error


def configured_server(port: int, bind_address: str) -> AgentServer:
    """The shared server of ``port``, with the access policy of the configuration."""
    return shared_server(port, bind_address, access_policy())

"""The package configuration as PyMoDAQ 5 wants it used: through ``GlobalConfig``.

Calling ``Config()`` directly is deprecated in pymodaq_utils 5.3; PyMoDAQ registers our
``utils.Config`` under ``scopeone`` when it is imported (``register_plugin_configs``).
We register it ourselves if a plugin module is imported before that happened.
"""

from __future__ import annotations

from typing import Any, Tuple

from pymodaq_utils.config import GlobalConfig

from ..utils import SHORT_PLUGIN_NAME, Config


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

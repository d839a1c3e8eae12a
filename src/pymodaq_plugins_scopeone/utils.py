"""PyMoDAQ configuration of this plugin package (PyMoDAQ side only)."""

from pathlib import Path

from pymodaq_utils.config import BaseConfig

SHORT_PLUGIN_NAME = "scopeone"
DEFAULT_TCP_PORT = 6341


class Config(BaseConfig):
    """The package configuration, ``config_scopeone.toml`` in PyMoDAQ's config folders.

    Keys and defaults come from ``resources/config_template.toml``.
    """

    config_template_path = Path(__file__).parent.joinpath("resources/config_template.toml")
    config_name = f"config_{SHORT_PLUGIN_NAME}"

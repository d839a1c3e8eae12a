"""PyMoDAQ plugins and remote agent for a ScopeOne microscope on a distant PC.

This ``__init__`` deliberately imports nothing from PyMoDAQ: the agent
(``pymodaq_plugins_scopeone.agent``) and the codec (``pymodaq_plugins_scopeone.protocol``)
run on the microscope PC with the standard library and numpy only, and importing a
sub-package always runs this file first. The PyMoDAQ ``Config`` lives in ``utils.py``
(see docs/decisions/0002-light-package-init.md).
"""

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``config``: the package configuration, created on first use only (PEP 562).

    PyMoDAQ's plugin checks want ``pymodaq_plugins_scopeone.config``; building it imports
    pymodaq_utils, which the agent must not need, so it is not done at import time.
    """
    if name == "config":
        from .hardware.plugin_config import package_config

        return package_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

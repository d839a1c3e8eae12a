"""Driving PyMoDAQ's dashboard headless: the demo's guard against modal dialogs and bounded event wait.

The helpers live in the package (the demo needs them too); the tests use the very same ones.
From ../shared/reference/daq_scan_recipe/pmd_headless.py (verified with PyMoDAQ 5.3.8).
"""

from pymodaq_plugins_scopeone.demo._pymodaq import install_modal_guard, wait_until

__all__ = ["install_modal_guard", "wait_until"]

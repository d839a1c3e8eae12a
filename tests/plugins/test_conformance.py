"""PyMoDAQ 5.3.8 conformance: its plugin checks, discovery by entry points, check_plugin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymodaq.utils.plugin_testing import PluginPackageChecks
from pymodaq_utils.plugin_tools.checks import check_package_sources, check_plugin_module, find_plugin_modules

PACKAGE = "pymodaq_plugins_scopeone"


class TestScopeOnePackage(PluginPackageChecks):
    package_name = PACKAGE
    fail_on = "error"
    strict_imports = True


def test_both_plugins_pass_the_checks_without_any_warning():
    modules = {module.module_name: module for module in find_plugin_modules(PACKAGE)}
    assert set(modules) >= {"daq_move_ScopeOne", "daq_2Dviewer_ScopeOne"}
    for name in ("daq_move_ScopeOne", "daq_2Dviewer_ScopeOne"):
        result = check_plugin_module(modules[name])
        assert result.problems == [] and result.warnings == [], (name, result.problems, result.warnings)


def test_the_package_sources_have_no_finding_at_all():
    assert check_package_sources(PACKAGE).findings == []


def test_pymodaq_finds_the_plugins_through_the_entry_points():
    from pymodaq.utils.daq_utils import get_plugins

    assert "ScopeOne" in [plugin["name"] for plugin in get_plugins("daq_move")]
    assert "ScopeOne" in [plugin["name"] for plugin in get_plugins("daq_2Dviewer")]


@pytest.mark.timeout(300)
def test_the_check_plugin_console_script_reports_ok():
    script = Path(sys.executable).with_name("check_plugin")
    if not script.exists():
        pytest.skip("check_plugin is not installed next to this Python")
    result = subprocess.run([str(script), PACKAGE], capture_output=True, text=True, timeout=240, env={**os.environ})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{PACKAGE}: OK" in output
    flagged = [line for line in output.splitlines() if "[warning]" in line or "[error]" in line or "[todo]" in line]
    assert flagged == [], output

"""The dashboard experiment: installed into the (sandboxed) PyMoDAQ experiments folder and readable there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pymodaq.utils.config import get_set_experiment_path

from pymodaq_plugins_scopeone import experiment


def test_the_console_script_installs_the_experiment_where_the_dashboard_looks(tmp_path):
    folder = Path(get_set_experiment_path())
    assert str(folder).startswith(os.environ["HOME"].rsplit("/home", 1)[0])  # inside the test sandbox
    target = folder / "ScopeOneTest.xml"
    try:
        assert experiment.main(["--name", "ScopeOneTest"]) == 0
        assert target.read_bytes() == experiment.EXPERIMENT.read_bytes()
        assert experiment.main(["--name", "ScopeOneTest"]) == 1  # no silent overwrite
        assert experiment.main(["--name", "ScopeOneTest", "--force"]) == 0
    finally:
        target.unlink(missing_ok=True)


@pytest.mark.timeout(120)
def test_the_installed_console_script_runs(tmp_path):
    script = Path(sys.executable).with_name("scopeone-install-experiment")
    if not script.exists():
        pytest.skip("the package's console scripts are not installed next to this Python")
    result = subprocess.run([str(script), "--folder", str(tmp_path)], capture_output=True, text=True, timeout=100)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ScopeOne.xml").is_file() and "dashboard -x ScopeOne" in result.stdout


def test_the_experiment_loads_the_viewer_and_the_three_axes_on_one_controller(pmd_app):
    from pymodaq.utils.managers.experiment.experiment_manager import ExperimentManager
    from pymodaq_gui.parameter import ioxml

    manager = ExperimentManager()
    children = ioxml.XML_file_to_parameter(experiment.EXPERIMENT)
    manager.settings.restoreState({"name": "Preset", "type": "group", "children": children})
    groups, _ = manager.list_control_modules_from_experiment()
    plugins = [plugin for group in groups for plugin in group]
    assert {(p.name, p.class_name) for p in plugins} == {
        ("Camera", "ScopeOne"),
        ("StageX", "ScopeOne"),
        ("StageY", "ScopeOne"),
        ("StageZ", "ScopeOne"),
    }
    stage = next(group for group in groups if any(p.name == "StageX" for p in group))
    assert [(p.name, p.axis_name, p.is_master) for p in stage] == [
        ("StageX", "X", True),
        ("StageY", "Y", False),
        ("StageZ", "Z", False),
    ]
    camera = next(p for p in plugins if p.name == "Camera")
    assert camera.daq_type.name == "DAQ2D" and camera.is_master

"""Rules the simulator package promises: stdlib + numpy only, small modules, public API."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pymodaq_plugins_scopeone.simulator as simulator

PACKAGE = Path(simulator.__file__).parent
ROOT = Path(__file__).resolve().parents[2]  # the repository (the package may be installed elsewhere)


def test_simulator_imports_only_the_standard_library_numpy_and_itself():
    stdlib = set(sys.stdlib_module_names)
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [str(node.module).split(".")[0]]
            else:
                continue
            for name in names:
                assert name in stdlib or name == "numpy", f"{module.name} imports {name}"


def test_modules_are_small_and_parse_as_python_3_8():
    for module in PACKAGE.glob("*.py"):
        text = module.read_text()
        assert len(text.splitlines()) <= 400, module.name
        ast.parse(text, filename=str(module), feature_version=(3, 8))


def test_public_api_is_listed_and_importable():
    for name in simulator.__all__:
        assert hasattr(simulator, name), name
    assert {"Simulator", "SimulatorConfig", "estimate_stage_xy", "verify_frame_checksum"} <= set(simulator.__all__)


def test_console_script_is_declared():
    assert '"scopeone-sim = pymodaq_plugins_scopeone.simulator._cli:main"' in (ROOT / "setup.py").read_text()

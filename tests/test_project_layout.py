"""The project's own promises about its layout, CI and README."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pymodaq_plugins_scopeone"


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block, "README.md must open with a bash block of set-up commands"
    return [line.strip() for line in first_block.group(1).splitlines() if line.strip()]


def test_ci_runs_exactly_the_readme_install_and_test_commands():
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    commands = readme_commands()
    assert 'pip install ".[test]"' in commands
    assert any("pytest" in command for command in commands)
    for command in commands:
        assert command in ci_lines, f"{command!r} from the README is not run by .ci/run"


def test_plugin_subpackages_leave_a_module_level_path_for_pymodaq_discovery():
    for folder in ("daq_move_plugins", "daq_viewer_plugins/plugins_2D"):
        tree = ast.parse((PACKAGE / folder / "__init__.py").read_text())
        loops = [node for node in ast.walk(tree) if isinstance(node, ast.For)]
        assert any(isinstance(loop.target, ast.Name) and loop.target.id == "path" for loop in loops), folder


def test_protocol_imports_only_stdlib_numpy_and_itself():
    allowed = {"numpy", "__future__", "collections", "dataclasses", "enum", "math", "numbers", "struct", "sys"}
    allowed |= {"time", "types", "typing", "hashlib", "hmac", "secrets"}
    for module in (PACKAGE / "protocol").glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [str(node.module).split(".")[0]]
            else:
                continue
            assert set(names) <= allowed, f"{module.name} imports {names}"


def test_protocol_modules_parse_as_python_3_8_for_the_microscope_pc():
    for module in (PACKAGE / "protocol").glob("*.py"):
        ast.parse(module.read_text(), filename=str(module), feature_version=(3, 8))

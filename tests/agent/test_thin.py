"""The agent is thin: Python 3.8 syntax, and it serves frames with PyMoDAQ, Qt, pyqtgraph and pint
impossible to import (a subprocess whose meta path refuses them). Also the CLI end to end:
SIGTERM/SIGINT exit 0 after sending Quit, and --simulate."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest

import pymodaq_plugins_scopeone
from pymodaq_plugins_scopeone.protocol import DataActuator, DataReady, MoveAbs, MoveDone, SendData
from pymodaq_plugins_scopeone.simulator import Simulator

from .scripted_server import ScriptedServer

PACKAGE = Path(pymodaq_plugins_scopeone.__file__).parent
THIN_SOURCES = [
    *sorted((PACKAGE / "agent").glob("*.py")),
    PACKAGE / "transport.py",
    *sorted((PACKAGE / "protocol").glob("*.py")),
]
BLOCKED = (
    "pymodaq",
    "pymodaq_utils",
    "pymodaq_gui",
    "pymodaq_data",
    "qtpy",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "PySide6",
    "pyqtgraph",
    "pint",
)

WRAPPER = f"""
import importlib.abc, sys
BLOCKED = {BLOCKED!r}
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("import of " + name + " blocked: the agent must not need it")
        return None
sys.meta_path.insert(0, Blocker())
import atexit
def report():
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    sys.stderr.write("LOADED " + " ".join(loaded) + "\\n")
atexit.register(report)
from pymodaq_plugins_scopeone.agent import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("path", THIN_SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_python38_syntax(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 8))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "dataclass":
            assert not {k.arg for k in node.keywords} & {"slots", "kw_only"}, f"{path}:{node.lineno}: 3.10+ dataclass"
        if isinstance(node, ast.Attribute) and node.attr in ("removeprefix", "removesuffix"):
            pytest.fail(f"{path}:{node.lineno}: str.{node.attr} is Python 3.9+")


def run_agent(args: List[str]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    return subprocess.Popen(
        [sys.executable, "-c", WRAPPER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> str:
    process.send_signal(sig)
    try:
        _out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
        raise AssertionError(f"agent did not exit on signal {sig}:\n{err.decode()[-3000:]}") from None
    return err.decode(errors="replace")


@pytest.mark.timeout(60)
def test_agent_serves_frames_without_pymodaq_qt_or_pint(sim: Simulator, server: ScriptedServer) -> None:
    process = run_agent(
        [
            "--server",
            f"127.0.0.1:{server.port}",
            "--scopeone",
            str(sim.socket_path),
            "--camera",
            "Camera",
            "--axes",
            "Z",
        ]
    )
    try:
        camera = server.wait_peer("camera", "Camera", timeout_s=20.0)
        camera.wait_info(lambda i: i.value == "ready", timeout_s=10.0)
        camera.send(SendData("2D"))
        frame = camera.expect(DataReady, 10.0).data.data[0]  # type: ignore[union-attr]
        assert frame.data[0].dtype == np.uint16 and frame.data[0].shape == (512, 512)
        z = server.wait_peer("axis", "Z")
        z.send(MoveAbs(DataActuator.of(2.0, "µm", "Z")))
        assert z.expect(MoveDone, 5.0).position.value == pytest.approx(2.0)  # type: ignore[union-attr]
    finally:
        err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err[-3000:]
    assert "LOADED \n" in err, err[-3000:]  # nothing blocked was even attempted successfully
    assert "blocked" not in err, err[-3000:]
    assert camera.closed.wait(3.0) and camera.quit_received


@pytest.mark.timeout(60)
def test_simulate_option_and_sigint(server: ScriptedServer) -> None:
    before = set(os.listdir("/dev/shm"))
    process = run_agent(["--simulate", "--server", f"127.0.0.1:{server.port}", "--axes", "X"])
    try:
        camera = server.wait_peer("camera", "Camera", timeout_s=20.0)  # discovered in the stand-in
        camera.wait_info(lambda i: i.value == "ready", timeout_s=10.0)
        camera.send(SendData("2D"))
        assert camera.expect(DataReady, 10.0).data.data[0].shape == (512, 512)  # type: ignore[union-attr]
    finally:
        err = stop(process, signal.SIGINT)
    assert process.returncode == 0, err[-3000:]
    time.sleep(0.1)
    assert set(os.listdir("/dev/shm")) - before == set()


def test_module_entry_point_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pymodaq_plugins_scopeone.agent", "--version"], capture_output=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout.decode().strip() == "scopeone-agent 0.1.0"

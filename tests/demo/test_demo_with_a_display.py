"""The demo with a screen (Xvfb): the dashboard opens, the camera goes live, closing it stops all.

Skipped where Xvfb or Qt's xcb libraries are not installed (``.ci/run`` installs them with
apt-get where it can, and then sets ``SCOPEONE_REQUIRE_DISPLAY=1``, which turns the skip into
a failure); the headless test covers the rest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_DEMO = """
import sys
sys.path.insert(0, {root!r})
from tests import pymodaq_sandbox
pymodaq_sandbox.install()
from pymodaq_plugins_scopeone.demo import _cli, _dashboard

loaded = _dashboard.load_experiment

def load_then_close_later(board, progress):  # a user looks for a few seconds, then closes the window
    loaded(board, progress)
    from qtpy.QtCore import QTimer
    from qtpy.QtWidgets import QApplication

    def look_and_close():
        camera = board.detector_modules[0]
        print("frames seen:", camera.settings["detector_settings", "link", "agent"] != "", flush=True)
        windows = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
        print("windows:", len(windows), "platform:", QApplication.platformName(), flush=True)
        QApplication.quit()

    QTimer.singleShot(6000, look_and_close)

_dashboard.load_experiment = load_then_close_later
sys.exit(_cli.main(["--output", {output!r}, "--port", "0"]))
"""


REQUIRED = os.environ.get("SCOPEONE_REQUIRE_DISPLAY") == "1"


def skip_unless_required(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"SCOPEONE_REQUIRE_DISPLAY=1 but {reason}")
    pytest.skip(reason)


@pytest.mark.timeout(300)
def test_with_a_display_the_dashboard_opens_live_and_closes_cleanly(tmp_path):
    if shutil.which("Xvfb") is None:
        skip_unless_required("needs Xvfb for a real display")
    display = f":{90 + os.getpid() % 100}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
        env["DISPLAY"] = display
        result = subprocess.run(
            [sys.executable, "-c", RUN_DEMO.format(root=str(ROOT), output=str(tmp_path))],
            capture_output=True,
            text=True,
            timeout=240,
            env=env,
        )
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    output = result.stdout + result.stderr
    if "Could not load the Qt platform plugin" in output:
        skip_unless_required("Qt's xcb platform needs system libraries that are not installed here")
    assert result.returncode == 0, output[-3000:]
    assert "Camera is live" in result.stdout and "platform: xcb" in result.stdout
    assert "windows: " in result.stdout and "windows: 0" not in result.stdout
    leftovers = subprocess.run(["pgrep", "-f", "s1demo-"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""

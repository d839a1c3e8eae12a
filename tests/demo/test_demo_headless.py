"""The headless demo end to end: stand-in, agent, dashboard, DAQ_Scan, HDF5 and mosaic.

Runs ``scopeone-demo --headless`` in a subprocess (PyMoDAQ's configuration folders sandboxed
there as in this test session), then checks what it wrote: 9 frames of the camera's shape and
dtype, each showing the sample at its commanded stage position (the stand-in's estimator),
and a seamless 3 × 3 mosaic PNG. Nothing it started may be left running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pymodaq_plugins_scopeone.simulator import SimulatorConfig, estimate_stage_xy

ROOT = Path(__file__).resolve().parents[2]
RUN_DEMO = """
import sys
sys.path.insert(0, {root!r})
from tests import pymodaq_sandbox
pymodaq_sandbox.install()
from pymodaq_plugins_scopeone.demo import main
sys.exit(main(["--headless", "--output", {output!r}, "--port", "0"]))
"""


@pytest.mark.timeout(300)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_the_headless_demo_scans_a_fresh_mosaic_and_stops_everything(tmp_path):
    output = tmp_path / "demo"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    before = {name for name in os.listdir("/dev/shm") if name.startswith("ScopeOne.demo.")}
    result = subprocess.run(
        [sys.executable, "-c", RUN_DEMO.format(root=str(ROOT), output=str(output))],
        capture_output=True,
        text=True,
        timeout=280,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-12000:]  # a crash dumps every thread
    assert "9 fresh frames" in result.stdout and "mosaic:" in result.stdout

    from pymodaq_plugins_scopeone.demo._dashboard import iter_tiles, read_scan

    scan = read_scan(output / "scan.h5", "Scan000", seconds=1.0)
    assert scan.frames.shape == (3, 3, 512, 512) and scan.frames.dtype == np.uint16
    assert np.allclose(scan.x_um, [0, 512, 1024]) and np.allclose(scan.y_um, [0, 512, 1024])
    config = SimulatorConfig()
    for x, y, frame in iter_tiles(scan):
        seen = estimate_stage_xy(frame, (x, y), config=config)
        assert abs(seen[0] - x) < 2.0 and abs(seen[1] - y) < 2.0, f"frame for ({x}, {y}) shows {seen}"

    from qtpy.QtGui import QImage

    mosaic = QImage(str(output / "mosaic.png"))
    assert (mosaic.width(), mosaic.height()) == (1536, 1536)
    after = {name for name in os.listdir("/dev/shm") if name.startswith("ScopeOne.demo.")}
    assert after <= before  # the demo's stand-in removed its shared memory
    # the demo's stand-in and agent use a socket in its own "s1demo-…" folder: none may survive it
    leftovers = subprocess.run(["pgrep", "-f", "s1demo-"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout


@pytest.mark.timeout(200)
def test_a_demo_killed_outright_takes_its_stand_in_and_agent_with_it(tmp_path):
    """Even with no chance to clean up (SIGKILL, a Qt abort), the demo's children do not linger."""
    import signal
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    demo = subprocess.Popen(
        [sys.executable, "-u", "-c", RUN_DEMO.format(root=str(ROOT), output=str(tmp_path / "demo"))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 120
        for line in demo.stdout:
            if "agent is connected" in line or time.monotonic() > deadline:
                break
        assert subprocess.run(["pgrep", "-f", "s1demo-"], capture_output=True, text=True).stdout.strip()
        demo.send_signal(signal.SIGKILL)
        demo.wait(10)
        deadline = time.monotonic() + 15
        while subprocess.run(["pgrep", "-f", "s1demo-"], capture_output=True, text=True).stdout.strip():
            assert time.monotonic() < deadline, "the stand-in or the agent outlived the demo"
            time.sleep(0.2)
    finally:
        if demo.poll() is None:
            demo.kill()
        demo.stdout.close()

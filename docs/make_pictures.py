"""Regenerate the pictures of the README from a real run: ``python docs/make_pictures.py``.

It starts the ScopeOne stand-in and the agent (as ``scopeone-demo`` does), opens PyMoDAQ's
dashboard with the ScopeOne experiment on Qt's offscreen platform, snaps the camera, moves the
stage, grabs the dashboard window as ``docs/dashboard.png``, then runs the demo's 3×3 DAQ_Scan
and saves its mosaic as ``docs/mosaic.png``. PyMoDAQ's settings are changed in memory only.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pymodaq_plugins_scopeone.demo._chain import MicroscopeSide, free_port
    from pymodaq_plugins_scopeone.demo._pymodaq import configure_pymodaq, configure_scan_popups, wait_until

    with tempfile.TemporaryDirectory(prefix="s1pics-", dir="/tmp") as folder:
        work = Path(folder)
        port = free_port(0)
        configure_pymodaq(port, work / "data")
        with MicroscopeSide(work, port):
            from pymodaq.utils.data import DataActuator
            from pymodaq_gui.qt_utils import mkQApp

            from pymodaq_plugins_scopeone.demo._dashboard import (
                iter_tiles,
                load_experiment,
                open_dashboard,
                run_scan,
            )
            from pymodaq_plugins_scopeone.demo._mosaic import build_mosaic, save_png

            mkQApp("ScopeOne pictures")
            dashboard = open_dashboard(show=True)
            configure_scan_popups()
            try:
                load_experiment(dashboard.board, print)
                board = dashboard.board
                window = dashboard.windows[0]
                window.resize(1600, 1000)
                for title, target in (("StageX", 256.0), ("StageY", 128.0)):
                    module = next(m for m in board.actuators_modules if m.title == title)
                    done: list = []
                    module.move_done_signal.connect(done.append)
                    module.move_abs(DataActuator(data=target, units="µm"))
                    wait_until(lambda done=done: bool(done), 30, f"{title} at {target} µm")
                camera = board.detector_modules[0]
                grabbed: list = []
                camera.grab_done_signal.connect(grabbed.append)
                camera.snap()
                wait_until(lambda: bool(grabbed), 30, "a camera frame")
                shown = time.monotonic() + 1.0
                wait_until(lambda: time.monotonic() > shown, 5, "the viewer to draw")
                window.grab().save(str(DOCS / "dashboard.png"))
                print(f"wrote {DOCS / 'dashboard.png'}")
                result = run_scan(dashboard, 3, 512.0, work / "data" / "scan.h5", print)
            finally:
                dashboard.close()
        save_png(build_mosaic(iter_tiles(result)), DOCS / "mosaic.png")
        print(f"wrote {DOCS / 'mosaic.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

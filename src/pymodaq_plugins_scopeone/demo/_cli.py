"""``scopeone-demo``: the whole bridge on one machine, with the ScopeOne stand-in.

It starts the stand-in and ``scopeone-agent`` (as they would run on the microscope PC)
and PyMoDAQ's dashboard with the ScopeOne experiment: the live viewer ``Camera`` and the
actuators ``StageX``, ``StageY``, ``StageZ``, ready for DAQ_Scan. With ``--headless`` (the
default when there is no screen) it runs a mosaic scan through the same plugins and real
PyMoDAQ modules instead, saves the HDF5 file and a PNG mosaic, prints the figures, stops
everything it started and exits 0.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, List, Optional

from ..utils import DEFAULT_TCP_PORT
from ._chain import DemoError, MicroscopeSide, free_port

EXIT_OK, EXIT_FAILED = 0, 1


def display_available() -> bool:
    """Whether Qt can open windows here (on Linux: an X11 or Wayland display)."""
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return False
    on_linux = sys.platform.startswith("linux")
    return not on_linux or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scopeone-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--headless", action="store_true", help="no windows: run a scripted scan and exit")
    parser.add_argument("--points", type=int, default=3, help="scan points per axis (default 3)")
    parser.add_argument("--step-um", type=float, default=512.0, help="scan step in µm (default 512: one field)")
    parser.add_argument("--output", type=Path, help="where the HDF5 file and the mosaic go (default ./scopeone-demo)")
    parser.add_argument("--port", type=int, default=DEFAULT_TCP_PORT, help="PyMoDAQ side port (a free one if taken)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    faulthandler.enable()  # a crash in Qt or PyMoDAQ's threads then shows every thread's Python stack
    headless = args.headless or not display_available()
    if headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    output = (args.output or Path.cwd() / "scopeone-demo").resolve()
    output.mkdir(parents=True, exist_ok=True)
    try:
        return run(headless, args.points, args.step_um, output, free_port(args.port))
    except (DemoError, RuntimeError, TimeoutError, OSError) as error:
        print(f"scopeone-demo: {error}", file=sys.stderr)
        return EXIT_FAILED


def run(headless: bool, points: int, step_um: float, output: Path, port: int) -> int:
    from ._pymodaq import configure_pymodaq

    configure_pymodaq(port, output)

    def progress(text: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    with tempfile.TemporaryDirectory(prefix="s1demo-", dir="/tmp" if os.name == "posix" else None) as folder:
        progress(f"starting the ScopeOne stand-in and scopeone-agent (PyMoDAQ side on port {port})")
        with MicroscopeSide(Path(folder), port):
            return run_dashboard(headless, points, step_um, output, progress)


def run_dashboard(headless: bool, points: int, step_um: float, output: Path, progress: Callable[[str], None]) -> int:
    from pymodaq_gui.qt_utils import mkQApp

    from ._dashboard import iter_tiles, load_experiment, open_dashboard, run_scan
    from ._mosaic import build_mosaic, save_png
    from ._pymodaq import configure_scan_popups

    app = mkQApp("ScopeOne demo")
    dashboard = open_dashboard(show=not headless)
    configure_scan_popups()
    try:
        load_experiment(dashboard.board, progress)
        if not headless:
            dashboard.board.detector_modules[0].grab()  # the live image, as the Grab button does
            progress("dashboard ready: Camera is live, StageX/Y/Z move the stage; DAQ_Scan is in the Extensions menu")
            app.exec_()
            return EXIT_OK
        result = run_scan(dashboard, points, step_um, output / "scan.h5", progress)
    finally:
        dashboard.close()
    mosaic = save_png(build_mosaic(iter_tiles(result)), output / "mosaic.png")
    frames = result.frames
    megabytes = frames.nbytes / 1e6
    progress(f"HDF5 file: {result.h5_path} ({result.scan_name})")
    progress(f"mosaic: {mosaic} ({points}×{points} frames of {frames.shape[2]}×{frames.shape[3]} {frames.dtype})")
    progress(
        f"{frames.shape[0] * frames.shape[1]} fresh frames, {megabytes:.1f} MB, in {result.seconds:.1f} s of scan "
        f"(stage moves included): {megabytes / result.seconds:.1f} MB/s"
    )
    return EXIT_OK

"""The PyMoDAQ side of the demo: a dashboard with the ScopeOne experiment, and a DAQ_Scan mosaic.

Everything goes through PyMoDAQ's real modules and our plugins, as a user's clicks would:
the dashboard loads the experiment (viewer ``Camera``, actuators ``StageX``/``StageY``/
``StageZ``), the modules connect to the agent, DAQ_Scan runs a 2D linear scan with the
camera as detector and writes its HDF5 file. Headless runs follow the recipe of
``daq-scan-headless.md``: no pop-ups, a modal-dialog guard, explicit clean-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import numpy as np

from ._pymodaq import install_modal_guard, wait_until

MODULES = ("Camera", "StageX", "StageY", "StageZ")
CONNECT_TIMEOUT_S = 60.0
SCAN_TIMEOUT_S = 300.0


@dataclass
class ScanResult:
    """What a scan wrote: frames (points, points, height, width), stage positions in µm, timing."""

    h5_path: Path
    scan_name: str
    frames: np.ndarray
    x_um: np.ndarray
    y_um: np.ndarray
    seconds: float


def experiment_path() -> Path:
    """The ScopeOne experiment in PyMoDAQ's experiments folder (installed if missing)."""
    from .. import experiment

    target = experiment.experiments_folder() / "ScopeOne.xml"
    return target if target.exists() else experiment.install("ScopeOne")


def group_of(module: Any) -> str:
    return "detector_settings" if module.title == "Camera" else "actuator_settings"


def load_experiment(board: Any, progress: Callable[[str], None]) -> None:
    """Load the experiment and wait until every module is initialised and has its agent."""
    applied: List[str] = []
    manager = board.experiment_manager
    manager.applied_entry.connect(applied.append)
    manager.execute_entry(experiment_path())
    wait_until(lambda: bool(applied), 120, "experiment loaded")
    modules = board.modules_manager.modules_all
    failed = [module.title for module in modules if not module.initialized_state]
    if sorted(module.title for module in modules) != sorted(MODULES) or failed:
        raise RuntimeError(f"the ScopeOne experiment did not initialise: {failed or [m.title for m in modules]}")
    progress("modules initialised; waiting for the agent")
    wait_until(
        lambda: all(module.settings[group_of(module), "link", "agent"] for module in modules),
        CONNECT_TIMEOUT_S,
        "agent connection to every module",
    )
    progress("the agent is connected to Camera, StageX, StageY and StageZ")


@dataclass
class Dashboard:
    """A dashboard and its windows, closed cleanly (PyMoDAQ's pitfalls P5 and P7 avoided)."""

    board: Any
    windows: List[Any]
    guard: Any
    dialogs: List[str]

    def close(self) -> None:
        from qtpy.QtWidgets import QApplication

        for extension in list(self.board.extensions.values()):
            acquisition = getattr(extension, "scan_acquisition", None)
            if acquisition is not None and acquisition.is_running:
                extension.stop_scan()
        for detector in self.board.detector_modules:
            detector.stop_grab()
        QApplication.processEvents()
        self.board.quit_fun()
        for window in self.windows:
            window.close()
            window.deleteLater()
        QApplication.processEvents()
        self.guard.stop()


def open_dashboard(show: bool) -> Dashboard:
    from pymodaq.dashboard import create_load_dashboard

    guard, dialogs = install_modal_guard()
    shared_ui, board = create_load_dashboard(show_dashboard=show)
    return Dashboard(board, [shared_ui.mainwindow], guard, dialogs)


def run_scan(
    dashboard: Dashboard, points: int, step_um: float, h5_path: Path, progress: Callable[[str], None]
) -> ScanResult:
    """A points × points linear scan over StageX/StageY from (0, 0), one camera frame per point."""
    from pymodaq.extensions import ExtensionEnum

    board = dashboard.board
    daq_scan = board.load_extension(ExtensionEnum.SCANNER)
    dashboard.windows.append(daq_scan.shared_ui.mainwindow)
    daq_scan.override_popups(False)
    h5_path.parent.mkdir(parents=True, exist_ok=True)
    daq_scan.h5saver.init_file(update_h5=True, addhoc_file_path=h5_path)
    modules = daq_scan.modules_manager
    modules.selected_actuators_name = ["StageX", "StageY"]  # first: selecting rebuilds the scanner
    modules.selected_detectors_name = ["Camera"]
    daq_scan.scanner.set_scan_type_and_subtypes("Scan2D", "Linear")
    settings = daq_scan.scanner.scanner.settings
    for axis in ("axis1", "axis2"):
        settings[axis, f"start_{axis}"], settings[axis, f"stop_{axis}"] = 0.0, step_um * (points - 1)
        settings[axis, f"step_{axis}"] = step_um
    total = daq_scan.scanner.n_steps
    done: Dict[str, Any] = {"frames": 0}

    def frame_saved(_: Any) -> None:
        done["frames"] += 1
        progress(f"  frame {done['frames']}/{total} recorded")

    def scan_done() -> None:  # the file is still open here: read its names now (pitfall P9)
        done["file"] = Path(daq_scan.h5saver.settings["current_h5_file"])
        done["scan"] = daq_scan.h5saver.settings["current_scan_name"]

    modules.det_done_signal.connect(frame_saved)
    daq_scan.scan_done_signal.connect(scan_done)
    daq_scan.scan_acquisition.workers_terminated.connect(lambda: done.setdefault("saved", True))
    progress(f"scanning {points}×{points} points, {step_um:g} µm apart")
    started = time.monotonic()
    daq_scan.start_scan()
    wait_until(lambda: "saved" in done, SCAN_TIMEOUT_S, "the scan to be saved")
    seconds = time.monotonic() - started
    if daq_scan.scan_acquisition.timeout_scan_flag:
        raise RuntimeError("DAQ_Scan stopped on a timeout; see the modules' status")
    return read_scan(done["file"], done["scan"], seconds)


def read_scan(h5_path: Path, scan_name: str, seconds: float) -> ScanResult:
    """The frames and the stage positions of a scan, from its HDF5 file."""
    import warnings

    from pymodaq_data.h5modules.data_saving import DataLoader

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyMoDAQ's loader warns while rebuilding the nav axes
        with DataLoader(h5_path) as loader:
            dwa = loader.load_data(f"/RawData/{scan_name}/Detector000/Data2D/CH00/Data00")
            nav = {axis.label: np.asarray(axis.get_data()) for axis in dwa.get_nav_axes()}
            frames = np.array(dwa.data[0])
    return ScanResult(h5_path, scan_name, frames, nav["StageX"], nav["StageY"], seconds)


def iter_tiles(result: ScanResult) -> Iterator[Tuple[float, float, np.ndarray]]:
    """(x_um, y_um, frame) for every point of the scan (axis 0 is StageX, axis 1 StageY)."""
    for i, x in enumerate(result.x_um):
        for j, y in enumerate(result.y_um):
            yield float(x), float(y), result.frames[i, j]

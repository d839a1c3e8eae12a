"""Issue 5 item 7c: a real DAQ_Scan through the dashboard, with the ScopeOne experiment.

The dashboard loads the package's experiment (``resources/ScopeOne.xml``, installed with
``scopeone-install-experiment``'s function into the sandboxed experiments folder): viewer
``Camera``, actuators ``StageX`` (Master), ``StageY``/``StageZ`` (Slaves). A real agent serves
a real stand-in to them; DAQ_Scan runs a 2D linear 3×3 scan over StageX and StageY (0, 40,
80 µm) with the camera as detector, and the test reads the HDF5 file it wrote. Every frame is
checked with the stand-in's position estimator: it must show the sample at the commanded
position. The stage starts elsewhere, so even a stale first frame would be caught.

See ../shared/reference/daq-scan-headless.md for the headless recipe and its pitfalls (P1–P13).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

from pymodaq_plugins_scopeone import experiment
from pymodaq_plugins_scopeone.demo._pymodaq import install_modal_guard, wait_until
from pymodaq_plugins_scopeone.hardware.qt_bridge import server_params
from pymodaq_plugins_scopeone.simulator import estimate_stage_xy

from .conftest import wait_linked

pytestmark = pytest.mark.e2e

STEPS_UM = [0.0, 40.0, 80.0]
SHAPE = (512, 512)
TOLERANCE_UM = 2.0
ACTUATORS = ("StageX", "StageY", "StageZ")


@pytest.fixture
def experiment_on_port(monkeypatch, port):
    """Our plugins start with ``port`` on loopback instead of the package config's 6341.

    The dashboard's loader does not apply plugin settings from an experiment file (recipe §2.3),
    so the plugins' default server settings are what the modules get: point them at a free port.
    """
    from pymodaq_plugins_scopeone.daq_move_plugins.daq_move_ScopeOne import DAQ_Move_ScopeOne
    from pymodaq_plugins_scopeone.daq_viewer_plugins.plugins_2D.daq_2Dviewer_ScopeOne import DAQ_2DViewer_ScopeOne

    for plugin in (DAQ_2DViewer_ScopeOne, DAQ_Move_ScopeOne):
        params = [server_params(port, "127.0.0.1") if p.get("name") == "server" else p for p in plugin.params]
        monkeypatch.setattr(plugin, "params", params)
    path = experiment.install("ScopeOneE2E", force=True)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def dashboard(pmd_app, experiment_on_port) -> Iterator[Any]:
    """A hidden dashboard with the ScopeOne experiment loaded (modules initialised, no agent yet)."""
    from pymodaq.dashboard import create_load_dashboard
    from qtpy.QtWidgets import QApplication

    guard, dialogs = install_modal_guard()
    shared_ui, board = create_load_dashboard(show_dashboard=False)
    board.test_dialogs = dialogs
    windows: List[Any] = [shared_ui.mainwindow]
    board.test_windows = windows
    try:
        applied: List[str] = []
        manager = board.experiment_manager
        manager.applied_entry.connect(applied.append)
        manager.execute_entry(experiment_on_port)  # asynchronous: modules are created and initialised one by one
        wait_until(lambda: bool(applied), 120, "the experiment to be applied")
        yield board
    finally:
        for extension in list(board.extensions.values()):
            acquisition = getattr(extension, "scan_acquisition", None)
            if acquisition is not None and acquisition.is_running:
                extension.stop_scan()  # else DAQScan refuses to quit with a modal message (P7)
        for detector in board.detector_modules:
            detector.stop_grab()  # a detector waiting for data makes quit_fun hang (P5)
        QApplication.processEvents()
        board.quit_fun()  # quits the extensions, then every module (plugin close, thread stop)
        for window in windows:
            window.close()
            window.deleteLater()
        QApplication.processEvents()
        guard.stop()


@pytest.mark.timeout(180)
# PyMoDAQ's saver pre-fills the scan arrays with NaN in the data's dtype: for the camera's
# uint16 that is numpy's "invalid value encountered in cast" (harmless there; every point is
# written afterwards), which the suite's filterwarnings=error would turn into a failed save.
@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
# PyMoDAQ's DataLoader rebuilds the saved (3, 3, 512, 512) node as Data2D with 2 nav axes and
# warns on the way; pymodaq_data ignores its own warning at import, pytest's filter undoes that.
@pytest.mark.filterwarnings("ignore::pymodaq_data.data.DataDimWarning")
def test_daq_scan_2d_records_a_fresh_frame_at_every_position(
    dashboard, qtbot, port, standin, start_agent, children, tmp_path
):
    from pymodaq.extensions import ExtensionEnum
    from pymodaq_data.h5modules.data_saving import DataLoader

    modules = dashboard.modules_manager
    assert sorted(m.title for m in modules.modules_all) == ["Camera", *ACTUATORS]
    assert all(m.initialized_state for m in modules.modules_all), "a module failed to initialise"

    start_agent(port, "--camera", "Camera", "--axes", "X,Y,Z")
    for module in modules.modules_all:
        group = "detector_settings" if module.title == "Camera" else "actuator_settings"
        wait_linked(qtbot, module.settings.child(group), children)

    standin.move_xy(-60.0, 55.0)  # away from every scan point: a stale frame cannot pass

    daq_scan = dashboard.load_extension(ExtensionEnum.SCANNER)
    dashboard.test_windows.append(daq_scan.shared_ui.mainwindow)
    daq_scan.override_popups(False)
    scan_modules = daq_scan.modules_manager
    scan_modules.selected_actuators_name = ["StageX", "StageY"]  # select first: it rebuilds the scanner (§2.6)
    scan_modules.selected_detectors_name = ["Camera"]
    daq_scan.scanner.set_scan_type_and_subtypes("Scan2D", "Linear")
    settings = daq_scan.scanner.scanner.settings
    for axis in ("axis1", "axis2"):
        settings[axis, f"start_{axis}"], settings[axis, f"stop_{axis}"] = STEPS_UM[0], STEPS_UM[-1]
        settings[axis, f"step_{axis}"] = STEPS_UM[1] - STEPS_UM[0]
    assert daq_scan.scanner.n_steps == 9

    reached: List[Dict[str, float]] = []  # what the actuators reported with move_done at each step
    scan_modules.move_done_signal.connect(lambda dte: reached.append({d.name: float(d.value()) for d in dte}))
    names = {}

    def on_scan_done() -> None:  # read the names while the file is open (P9)
        names["file"] = Path(daq_scan.h5saver.settings["current_h5_file"])
        names["scan"] = daq_scan.h5saver.settings["current_scan_name"]

    daq_scan.scan_done_signal.connect(on_scan_done)
    with qtbot.waitSignals(
        [daq_scan.scan_done_signal, daq_scan.scan_acquisition.workers_terminated], timeout=90000, order="strict"
    ):
        daq_scan.start_scan()
    assert not daq_scan.scan_acquisition.timeout_scan_flag
    assert dashboard.test_dialogs == []
    camera_error = modules.get_mod_from_name("Camera").settings["detector_settings", "link", "last_error"]
    assert camera_error == ""

    path = f"/RawData/{names['scan']}/Detector000/Data2D/CH00/Data00"
    with DataLoader(names["file"]) as loader:
        dwa = loader.load_data(path)
        frames = dwa.data[0]
        nav = {axis.label: np.asarray(axis.get_data()) for axis in dwa.get_nav_axes()}
    assert dwa.nav_indexes == (0, 1)
    assert frames.shape == (3, 3, *SHAPE) and frames.dtype == np.uint16
    assert set(nav) == {"StageX", "StageY"}
    np.testing.assert_allclose(nav["StageX"], STEPS_UM)
    np.testing.assert_allclose(nav["StageY"], STEPS_UM)
    reported = {(round(p["StageX"], 6), round(p["StageY"], 6)) for p in reached if len(p) == 2}
    assert reported >= {(x, y) for x in STEPS_UM for y in STEPS_UM}, reached  # move_done at every point

    outer = next(axis for axis in dwa.get_nav_axes() if axis.index == 0).label
    found = np.empty((3, 3, 2))
    for i, first in enumerate(STEPS_UM):
        for j, second in enumerate(STEPS_UM):
            commanded = (first, second) if outer == "StageX" else (second, first)
            found[i, j] = estimate_stage_xy(frames[i, j], commanded, config=standin.config)
            error = np.abs(found[i, j] - np.asarray(commanded)).max()
            assert error < TOLERANCE_UM, f"point {(i, j)}: frame shows {found[i, j]}, commanded {commanded}"
    assert len({frame.tobytes() for frame in frames.reshape(9, -1)}) == 9  # nine different pictures

    # The frames' metadata is saved too (as Data0D channels, since DAQ_Scan drops extra attributes).
    import h5py

    with h5py.File(names["file"], "r") as h5:
        group = h5[f"/RawData/{names['scan']}/Detector000/Data0D/CH00"]
        assert group.attrs["TITLE"] == "Camera_metadata"
        saved = {str(node.attrs["label"]).split("'")[1]: np.asarray(node[()]) for node in group.values()}
    indexes = saved["frame_index"].reshape(-1)
    assert np.all(np.diff(indexes) > 0), indexes  # one fresh frame per point, in scan order
    assert np.all(saved["exposure_ms"] > 0) and np.all(saved["roi_width"] == SHAPE[1])

"""PyMoDAQ's side of the demo: settings for this process only, and headless helpers.

PyMoDAQ reads several settings when its modules are imported (DAQ_Scan's pop-ups, the
HDF5 folder, the environment backup), so :func:`configure_pymodaq` must run before
``pymodaq.dashboard`` is imported. It changes PyMoDAQ's configuration in memory only:
nothing is written to the user's configuration files.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, List, Tuple


def configure_pymodaq(port: int, data_folder: Path) -> None:
    """Point the ScopeOne plugins at ``port`` on this PC, save scans in ``data_folder``,
    and keep PyMoDAQ from opening pop-ups or backing up the environment."""
    import pymodaq_data  # noqa: F401 - registers the 'data' configuration
    from pymodaq_utils.config import GlobalConfig

    from ..hardware.plugin_config import package_config

    configs = GlobalConfig()
    configs["utils"]["backup", "keep_backup"] = False
    configs["data"]["data_saving", "h5file", "save_path"] = str(data_folder)
    package = package_config()
    package["server", "port"] = port
    package["server", "bind_address"] = "127.0.0.1"


def configure_scan_popups() -> None:
    """DAQ_Scan's metadata pop-ups off (the 'pymodaq' configuration exists once pymodaq is imported)."""
    from pymodaq_utils.config import GlobalConfig

    GlobalConfig()["pymodaq"]["scan", "show_popups"] = False


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> float:
    """Process Qt events until ``predicate()``; TimeoutError after ``timeout_s``. The time waited."""
    from qtpy.QtWidgets import QApplication

    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"no {what} within {timeout_s:g} s")
        QApplication.processEvents()
        time.sleep(0.005)
    return time.monotonic() - started


def install_modal_guard(interval_ms: int = 100) -> Tuple[Any, List[str]]:
    """Answer any modal dialog at once, so that nothing can block a run without a screen.

    A QTimer of the main thread keeps firing inside the nested event loop of ``exec()`` and
    accepts the active modal widget (a QMessageBox: its default or first button). Returns the
    timer (keep it alive, stop it at the end) and a line per dialog answered (class, title,
    text), so a caller can report them or a test assert there was none.
    """
    from qtpy import QtCore, QtWidgets

    seen: List[str] = []

    def answer() -> None:
        widget = QtWidgets.QApplication.activeModalWidget()
        if widget is None:
            return
        is_box = isinstance(widget, QtWidgets.QMessageBox)
        text = f": {widget.text()}" if is_box else ""
        seen.append(f"{type(widget).__name__} {widget.windowTitle()!r}{text}")
        if is_box and widget.buttons():
            (widget.defaultButton() or widget.buttons()[0]).click()
        elif isinstance(widget, QtWidgets.QDialog):
            widget.accept()
        else:
            widget.close()

    timer = QtCore.QTimer()
    timer.timeout.connect(answer)
    timer.start(interval_ms)
    return timer, seen

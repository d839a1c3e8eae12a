"""Driving PyMoDAQ's dashboard headless: a guard against modal dialogs, a bounded event wait.

From ../shared/reference/daq_scan_recipe/pmd_headless.py (verified with PyMoDAQ 5.3.8).
"""

from __future__ import annotations

import time
from typing import Any, Callable, List, Tuple


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str = "condition") -> float:
    """Process Qt events until ``predicate()``; AssertionError after ``timeout_s``. The time waited."""
    from qtpy.QtWidgets import QApplication

    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"timeout ({timeout_s} s) waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.005)
    return time.monotonic() - started


def install_modal_guard(interval_ms: int = 100) -> Tuple[Any, List[Tuple[str, str, str]]]:
    """Answer any modal dialog at once, so nothing can block a headless run.

    A QTimer of the main thread keeps firing inside the nested event loop of ``exec()`` and
    accepts the active modal widget (a QMessageBox: its default or first button). Returns
    ``(timer, seen)``: keep the timer alive and stop it at the end; ``seen`` lists (class,
    title, text) of every dialog answered, so a test can assert there was none.
    """
    from qtpy import QtCore, QtWidgets

    seen: List[Tuple[str, str, str]] = []

    def check() -> None:
        widget = QtWidgets.QApplication.activeModalWidget()
        if widget is None:
            return
        text = widget.text() if isinstance(widget, QtWidgets.QMessageBox) else ""
        seen.append((type(widget).__name__, widget.windowTitle(), text))
        if isinstance(widget, QtWidgets.QMessageBox):
            buttons = widget.buttons()
            button = widget.defaultButton() or (buttons[0] if buttons else None)
            if button is not None:
                button.click()
            else:
                widget.accept()
        elif isinstance(widget, QtWidgets.QDialog):
            widget.accept()
        else:
            widget.close()

    timer = QtCore.QTimer()
    timer.timeout.connect(check)
    timer.start(interval_ms)
    return timer, seen

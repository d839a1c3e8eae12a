"""What the two PyMoDAQ 4.4.11 session scripts share; importing it isolates PyMoDAQ first.

Both scripts (``pymodaq44_client_session.py``, ``pymodaq44_tcpserver_session.py``) run in the
side environment as ``python <script>``, so this sibling module is importable by name. It must
be imported before anything from PyMoDAQ: it points PyMoDAQ's configuration folders into a
sandbox (tests/side_env.py) at import time.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _isolate_pymodaq() -> None:
    """Load tests/side_env.py (stdlib only) by path and isolate PyMoDAQ before importing it."""
    side_env = sys.modules.get("scopeone_side_env")
    if side_env is None:
        spec = importlib.util.spec_from_file_location(
            "scopeone_side_env", Path(__file__).resolve().parents[1] / "side_env.py"
        )
        if spec is None or spec.loader is None:
            raise ImportError("cannot load tests/side_env.py")
        side_env = importlib.util.module_from_spec(spec)
        sys.modules["scopeone_side_env"] = side_env
        spec.loader.exec_module(side_env)
    side_env.isolate_pymodaq()


_isolate_pymodaq()

from qtpy import QtCore, QtWidgets  # noqa: E402


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout (the caller's only channel from us)."""
    sys.stdout.write(json.dumps({"event": event, **fields}, default=str) + "\n")
    sys.stdout.flush()


def stdin_line_event() -> threading.Event:
    """An event set when the caller writes a line on our stdin (or closes it)."""
    go = threading.Event()

    def read_stdin() -> None:
        sys.stdin.readline()  # a line or EOF
        go.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    return go


class QtSession:
    """Qt event pumping with bounded waits; failed waits are noted in ``errors``."""

    def __init__(self, app: QtWidgets.QApplication, deadline: float) -> None:
        self.app = app
        self.deadline = deadline
        self.errors: list[str] = []

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.app.processEvents(QtCore.QEventLoop.AllEvents, 20)
            time.sleep(0.002)

    def wait_for(self, what: str, condition: Callable[[], bool], timeout_s: float) -> bool:
        """Pump Qt events until ``condition()`` (True) or the timeout / global deadline (False, noted)."""
        end = min(time.monotonic() + timeout_s, self.deadline)
        while True:
            self.app.processEvents(QtCore.QEventLoop.AllEvents, 20)
            if condition():
                return True
            if time.monotonic() >= end:
                self.errors.append(f"timed out after {timeout_s:g} s waiting for {what}")
                return False
            time.sleep(0.002)

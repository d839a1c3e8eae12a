"""Headless PyMoDAQ control modules with the ScopeOne plugins (offscreen Qt, sandboxed config)."""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Iterator, List

import pytest

INIT_TIMEOUT_MS = 20000


def free_port() -> int:
    """A loopback port free right now (the plugin opens it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def pmd_app() -> Any:
    """PyMoDAQ's QApplication with its theme (a bare pytest-qt app lacks it)."""
    from pymodaq_gui.qt_utils import mkQApp

    return mkQApp("scopeone-tests")


class StatusLog:
    """Every status line a control module shows, for assertions and waits."""

    def __init__(self, module: Any) -> None:
        self.lines: List[str] = []
        module.status_sig.connect(self.lines.append)

    def has(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def wait_for(self, qtbot: Any, text: str, timeout_ms: int = 5000) -> None:
        qtbot.waitUntil(lambda: self.has(text), timeout=timeout_ms)


def process_events(duration_s: float = 0.05) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.005)


def assert_no_frame_after_stop(frames: List[Any]) -> None:
    """Call right after ``stop_grab()``: frames already on their way land, then none may follow."""
    process_events(0.3)
    count = len(frames)
    process_events(0.5)
    assert len(frames) == count, "frames kept coming after stop"


@pytest.fixture
def make_viewer(pmd_app, qtbot, port) -> Iterator[Callable[..., Any]]:
    """``make_viewer(**settings)``: an initialised headless DAQ_Viewer with the ScopeOne plugin."""
    from pymodaq.control_modules.daq_viewer import DAQ_Viewer

    made: List[Any] = []

    def make(title: str = "Camera", init: bool = True, **settings: Any) -> Any:
        viewer = DAQ_Viewer(title=title)
        made.append(viewer)
        viewer.daq_type = "DAQ2D"
        viewer.detector = "ScopeOne"
        detector = viewer.settings.child("detector_settings")
        detector.child("server", "port").setValue(port)
        detector.child("server", "bind_address").setValue("127.0.0.1")
        for path, value in settings.items():
            detector.child(*path.split("__")).setValue(value)
        viewer.status_log = StatusLog(viewer)
        if init:
            with qtbot.waitSignal(viewer.init_signal, timeout=INIT_TIMEOUT_MS) as blocker:
                viewer.init_hardware(True)
            assert blocker.args == [True]
        return viewer

    yield make
    for viewer in made:  # stop first, or a worker still waiting for data blocks the quit
        viewer.stop_grab()
        process_events()
        viewer.quit_fun()
    process_events()


@pytest.fixture
def make_move(pmd_app, qtbot, port) -> Iterator[Callable[..., Any]]:
    """``make_move(axis, master=True, controller_id=...)``: an initialised headless DAQ_Move."""
    from pymodaq.control_modules.daq_move import DAQ_Move

    made: List[Any] = []

    def make(axis: str, master: bool = True, controller_id: int = 4242, **settings: Any) -> Any:
        move = DAQ_Move(title=f"Stage{axis}")
        made.append(move)
        move.actuator = "ScopeOne"
        actuator = move.settings.child("actuator_settings")
        actuator.child("server", "port").setValue(port)
        actuator.child("server", "bind_address").setValue("127.0.0.1")
        actuator.child("controller", "axis").setValue(axis)
        actuator.child("controller", "controller_status").setValue("Master" if master else "Slave")
        actuator.child("controller", "controller_ID").setValue(controller_id)
        for path, value in settings.items():
            actuator.child(*path.split("__")).setValue(value)
        move.status_log = StatusLog(move)
        return move

    yield make
    for move in reversed(made):  # slaves first, the master (who opened the port) last
        move.quit_fun()
    process_events()


def init_move(qtbot: Any, move: Any, master: Any = None) -> None:
    """Initialise a DAQ_Move; a Slave shares its Master's controller and thread, as the dashboard does."""
    if master is not None:
        move.controller_and_thread.controller = master.controller_and_thread.controller
        move.controller_and_thread.thread = master.controller_and_thread.thread
    with qtbot.waitSignal(move.init_signal, timeout=INIT_TIMEOUT_MS) as blocker:
        move.init_hardware(True)
    assert blocker.args == [True]


@pytest.fixture(autouse=True)
def no_threads_left_behind() -> Iterator[None]:
    """Every test ends with its server, connection, deadline and fake-agent threads gone."""
    import threading

    yield
    ours = ("scopeone-", "fake-")
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        alive = [t.name for t in threading.enumerate() if t.name.startswith(ours)]
        if not alive:
            return
        time.sleep(0.02)
    raise AssertionError(f"threads left behind: {alive}")

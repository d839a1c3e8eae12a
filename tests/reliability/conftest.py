"""Fault tests: shared sizing, figures, resource counts and the fixtures they reuse.

CI sizes by default; ``SCOPEONE_SOAK=1`` runs the soak sizes (issue 7). Every test records
its figures (counts, detection and reconnect times) with :func:`record_figure`; they are
printed at the end of the run and, if ``SCOPEONE_FIGURES`` names a file, written there as
JSON (docs/reliability-readme-section.md quotes them).

Real processes (the ScopeOne stand-in, scopeone-agent) come from tests/e2e's fixtures; the
PyMoDAQ control modules and the thread-leak check from tests/plugins'.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import pytest

from ..e2e.conftest import children, standin, start_agent  # noqa: F401 (fixtures re-exported)
from ..plugins.conftest import (  # noqa: F401 (fixtures re-exported)
    make_move,
    make_viewer,
    no_threads_left_behind,
    pmd_app,
    port,
)
from .agent_side import running_agent  # noqa: F401 (fixture)

SOAK = os.environ.get("SCOPEONE_SOAK") == "1"


def sized(ci: int, soak: int) -> int:
    """The count of a fault test: ``ci`` by default, ``soak`` with SCOPEONE_SOAK=1."""
    return soak if SOAK else ci


FIGURES: Dict[str, Dict[str, Any]] = {}


def summary(values: Sequence[float], unit_scale: float = 1000.0) -> Dict[str, Any]:
    """count, min, median, max (in ms by default) of ``values`` (in s)."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "min": round(min(values) * unit_scale, 1),
        "median": round(statistics.median(values) * unit_scale, 1),
        "max": round(max(values) * unit_scale, 1),
    }


def record_figure(test: str, **figures: Any) -> None:
    """Keep figures of ``test`` for the end-of-run report (and the JSON file, if asked)."""
    FIGURES.setdefault(test, {}).update(figures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures (times in ms)")
    for test, figures in FIGURES.items():
        terminalreporter.write_line(f"{test}: {json.dumps(figures, sort_keys=True)}")
    target = os.environ.get("SCOPEONE_FIGURES")
    if target:
        previous: Dict[str, Any] = {}
        path = Path(target)
        if path.exists():
            previous = json.loads(path.read_text())
        previous.update(FIGURES)
        path.write_text(json.dumps(previous, indent=1, sort_keys=True))


# -- resources of this process -----------------------------------------------------------------
def resources() -> Dict[str, int]:
    """Python threads, OS threads, open file descriptors and sockets of this process (/proc/self)."""
    fds = sockets = 0
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the fd of the listdir itself, already closed
            continue
        fds += 1
        sockets += target.startswith("socket:")
    os_threads = len(os.listdir("/proc/self/task"))
    return {"threads": threading.active_count(), "os_threads": os_threads, "fds": fds, "sockets": sockets}


def wait_no_growth(
    before: Dict[str, int], timeout_s: float = 5.0, pump: Optional[Callable[[], None]] = None
) -> Dict[str, int]:
    """Resources once they are back to (at most) ``before``; the last count if they never are."""
    deadline = time.monotonic() + timeout_s
    while True:
        now = resources()
        if all(now[key] <= before[key] for key in before) or time.monotonic() > deadline:
            return now
        if pump is not None:
            pump()
        time.sleep(0.02)


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.001) -> float:
    """Poll ``predicate`` (no Qt); the time it took. AssertionError after ``timeout_s``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(step_s)
    return time.monotonic() - start


def free_tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def figures(request: Any) -> Iterator[Callable[..., None]]:
    """``figures(**values)`` records figures under the test's name."""
    name = request.node.name

    def record(**values: Any) -> None:
        record_figure(name, **values)

    yield record


__all__: List[str] = ["SOAK", "record_figure", "resources", "sized", "summary", "wait_for", "wait_no_growth"]

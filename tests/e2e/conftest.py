"""End-to-end fixtures: the stand-in and the agent as real processes, the plugins in real modules.

The control-module fixtures (``make_viewer``, ``make_move``, ``port``, ``pmd_app``, the
thread-leak check) are those of tests/plugins; here the peer is a real ``scopeone-agent``
process serving a real stand-in process instead of a scripted fake.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from ..plugins.conftest import (  # noqa: F401 (fixtures re-exported for this folder)
    make_move,
    make_viewer,
    no_threads_left_behind,
    pmd_app,
    port,
)
from .processes import Child, Children, StandIn, agent_command


@pytest.fixture
def children(short_tmp: Path) -> Iterator[Children]:
    """The test's child processes; all stopped (whole process groups) at teardown, even on failure."""
    started = Children(short_tmp)
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def standin(children: Children, short_tmp: Path) -> Iterator[StandIn]:
    """The ScopeOne stand-in (demo configuration, ``sim_fault`` requests on) in its own process."""
    stand_in = StandIn(children, short_tmp)
    yield stand_in
    # Stop the agents first (they use the stand-in), then the stand-in, and check it cleaned up.
    for child in reversed(children.started):
        if child is not stand_in.child:
            child.stop()
    code = stand_in.child.stop()
    assert code == 0, f"the stand-in exited with {code}\n{children.report()}"
    assert stand_in.leftovers() == [], "the stand-in left its socket or shared memory behind"


@pytest.fixture
def start_agent(children: Children, standin: StandIn) -> Callable[..., Child]:
    """``start_agent(port, *extra_args)``: a scopeone-agent process serving the stand-in to ``port``."""

    def start(server_port: int, *extra: str) -> Child:
        return children.start("agent", agent_command(server_port, standin.socket_path, *extra))

    return start


def wait_linked(qtbot: Any, settings: Any, children: Children, timeout_ms: int = 30000) -> None:
    """Until a module's link status shows a connected agent and ScopeOne ready."""

    def linked() -> bool:
        return settings["link", "agent"] not in ("", "(none)") and settings["link", "scopeone"] == "ready"

    try:
        qtbot.waitUntil(linked, timeout=timeout_ms)
    except AssertionError as error:
        raise AssertionError(f"no agent linked: {settings['link', 'last_error']!r}\n{children.report()}") from error

"""The microscope side of the demo: the ScopeOne stand-in and scopeone-agent, as processes.

Each runs in its own process group with its output in a log file of the demo's folder;
:class:`MicroscopeSide` stops both (SIGTERM, then SIGKILL after a grace period) whatever
happens, and the stand-in removes its socket and shared memory when it stops.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import List, Optional, Type

GRACE_S = 10.0
READY_TIMEOUT_S = 30.0


class DemoError(RuntimeError):
    """The demo could not start or finish (the message says why and what to do)."""


def free_port(preferred: int) -> int:
    """``preferred`` if nothing listens there on this PC, else a free port."""
    for candidate in (preferred, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise DemoError("no free TCP port on 127.0.0.1")


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the demo dies without stopping us (a Qt abort, kill -9)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Child:
    """A child process in its own group, its output in ``log``."""

    def __init__(self, name: str, argv: List[str], log: Path) -> None:
        self.name = name
        self.log = log
        self._log_file = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def output(self) -> str:
        return self.log.read_bytes().decode(errors="replace")

    def wait_for(self, text: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until ``text`` appears in the output; DemoError if the child exits or takes too long."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if self.process.poll() is not None:
                raise DemoError(f"{self.name} stopped ({self.process.returncode}):\n{self.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise DemoError(f"{self.name} not ready within {timeout_s:g} s:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL of the whole group after the grace period (idempotent)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(GRACE_S)
        self._log_file.close()
        return self.process.returncode


class MicroscopeSide:
    """The stand-in and the agent (connected to ``port`` on this PC), started and stopped together.

    Args:
        folder: where the stand-in's socket and both logs go (kept short: AF_UNIX paths).
        port: the PyMoDAQ side's port.
    """

    def __init__(self, folder: Path, port: int) -> None:
        self.folder = folder
        self.port = port
        self.socket_path = folder / "api.sock"
        self.mapping = f"ScopeOne.demo.{os.getpid()}"
        self.children: List[Child] = []

    def __enter__(self) -> MicroscopeSide:
        try:
            standin = self._start(
                "scopeone-sim",
                "pymodaq_plugins_scopeone.simulator",
                ["--socket", str(self.socket_path), "--mapping", self.mapping, "--load-demo", "--log-level", "WARNING"],
            )
            standin.wait_for("scopeone-sim ready")
            agent = self._start(
                "scopeone-agent",
                "pymodaq_plugins_scopeone.agent",
                ["--server", f"127.0.0.1:{self.port}", "--scopeone", str(self.socket_path)],
            )
            agent.wait_for("serving")
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: Optional[Type[BaseException]], error: Optional[BaseException], trace: Optional[TracebackType]
    ) -> None:
        self.stop()

    def _start(self, name: str, module: str, args: List[str]) -> Child:
        child = Child(name, [sys.executable, "-u", "-m", module, *args], self.folder / f"{name}.log")
        self.children.append(child)
        return child

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children.clear()

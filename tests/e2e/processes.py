"""Real processes for the end-to-end tests: the ScopeOne stand-in and scopeone-agent.

Each child runs in its own process group (``start_new_session``) with stdout and stderr in a
log file of the test's private folder; every wait is bounded; :class:`Children` stops what it
started (SIGTERM to the group, SIGKILL after a grace period) even when the test failed. The
stand-in's control socket lives in a short folder under ``/tmp`` (AF_UNIX path limit) and its
frames in ``/dev/shm/<unique name>``: both must be gone once it stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from pymodaq_plugins_scopeone.simulator import SimulatorConfig, unique_mapping_name

from ..simulator.localapi_client import LocalApiClient

STOP_GRACE_S = 10.0
READY_TIMEOUT_S = 30.0


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM if pytest dies without stopping us (kill -9, a Qt abort)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Child:
    """One child process in its own group, its output in ``log_path``.

    Stopped by the fixtures; if pytest itself is killed, the kernel sends the child SIGTERM
    (``PR_SET_PDEATHSIG``), so the stand-in still removes its socket and shared memory.
    """

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self, limit: int = 6000) -> str:
        try:
            return self.log_path.read_bytes().decode(errors="replace")[-limit:]
        except OSError:
            return ""

    def wait_output(self, text: str, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until ``text`` appears in the child's output (AssertionError on exit or timeout)."""
        deadline = time.monotonic() + timeout_s
        while text not in self.output(limit=1 << 20):
            if not self.alive:
                raise AssertionError(f"{self.name} exited ({self.popen.returncode}) before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no {text!r} within {timeout_s} s:\n{self.output()}")
            time.sleep(0.02)

    def kill(self, sig: int = signal.SIGKILL) -> Optional[int]:
        """Send ``sig`` to the whole group and wait (bounded) for the child; its exit status."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)
        try:
            return self.popen.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL of the group after the grace period; the exit status (idempotent)."""
        code = self.popen.poll()
        if code is None:
            code = self.kill(signal.SIGTERM)
            if code is None:
                self.kill(signal.SIGKILL)
        else:  # the leader is gone; make sure nothing of its group survives
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
        self._log.close()
        return code


class Children:
    """Every child started by a test; :meth:`stop_all` stops them, newest first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: List[Child] = []

    def start(self, name: str, argv: Sequence[str]) -> Child:
        index = sum(child.name == name for child in self.started)
        child = Child(name, argv, self.folder / f"{name}-{index}.log")
        self.started.append(child)
        return child

    def stop_all(self) -> Dict[str, Optional[int]]:
        codes = {}
        for child in reversed(self.started):
            codes[f"{child.name}:{child.pid}"] = child.stop()
        return codes

    def report(self) -> str:
        return "\n".join(f"--- {child.name} ({child.pid}):\n{child.output()}" for child in self.started)


def python_module(module: str, *args: str) -> List[str]:
    return [sys.executable, "-u", "-m", module, *args]


class StandIn:
    """The ScopeOne stand-in as a process, and a Local API client to watch and drive it."""

    def __init__(self, children: Children, folder: Path, fault_requests: bool = True) -> None:
        self.socket_path = str(folder / "api.sock")
        self.mapping = unique_mapping_name("s1e2e")
        self.config = SimulatorConfig()  # what estimate_stage_xy must assume: the CLI's defaults
        args = ["--socket", self.socket_path, "--mapping", self.mapping, "--load-demo", "--log-level", "WARNING"]
        if fault_requests:
            args.append("--fault-requests")
        self.child = children.start("stand-in", python_module("pymodaq_plugins_scopeone.simulator", *args))
        self.child.wait_output("scopeone-sim ready")

    @contextlib.contextmanager
    def api(self, timeout_s: float = 10.0) -> Iterator[LocalApiClient]:
        client = LocalApiClient(self.socket_path, timeout=timeout_s)
        try:
            yield client
        finally:
            client.close()

    def call(self, request: str, timeout_s: float = 10.0, **fields: Any) -> Dict[str, Any]:
        with self.api(timeout_s) as client:
            return client.call(request, **fields)

    def xy(self) -> Tuple[float, float]:
        answer = self.call("read_xy_position")
        return float(answer["x"]), float(answer["y"])

    def z(self) -> float:
        return float(self.call("read_z_position")["z"])

    def move_xy(self, x_um: float, y_um: float) -> None:
        """Move the XY stage and return once the stand-in says it is there."""
        self.call("move_xy_to", x=x_um, y=y_um)

    def fault(self, action: str, **fields: Any) -> None:
        """A ``sim_fault`` hook over the wire (the stand-in runs with ``--fault-requests``)."""
        self.call("sim_fault", action=action, **fields)

    def leftovers(self) -> List[str]:
        """What a stopped stand-in must not leave behind."""
        return [path for path in (self.socket_path, f"/dev/shm/{self.mapping}") if os.path.exists(path)]


def agent_command(port: int, socket_path: str, *extra: str) -> List[str]:
    """``scopeone-agent`` serving the stand-in at ``socket_path`` to the plugins' port on loopback."""
    return python_module(
        "pymodaq_plugins_scopeone.agent",
        "--server",
        f"127.0.0.1:{port}",
        "--scopeone",
        socket_path,
        "--log-level",
        "INFO",
        *extra,
    )

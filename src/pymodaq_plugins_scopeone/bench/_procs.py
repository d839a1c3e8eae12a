"""Child processes of the benchmark: started with a deadline, always stopped, their RSS read.

Every child prints one line ``READY <text>`` on stdout once it is ready; :func:`wait_ready`
waits for it with a timeout. :class:`Children` stops what it started (SIGTERM, then SIGKILL
after a grace period) even when a measurement fails, and reads each child's peak RSS from
``/proc/<pid>/status`` just before stopping it.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Dict, List, Optional, Sequence

READY = "READY"
STOP_GRACE_S = 10.0


class BenchError(RuntimeError):
    """A measurement could not be made (a child did not start, a peer went away...)."""


def python_module(module: str, *args: str) -> List[str]:
    """The command line running ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def rss_kib(pid: int, field: str = "VmHWM") -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (current) of a process in KiB; 0 if unknown (not Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def cpu_s(pid: int) -> float:
    """User + system CPU time of a process so far (s); 0 if unknown (not Linux)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (for peers that need a fixed port number)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(process: subprocess.Popen[str], timeout_s: float, what: str, prefix: str = READY) -> str:
    """The text after ``prefix`` in the child's first such line; BenchError on timeout or exit."""
    stdout = process.stdout
    if stdout is None:
        raise BenchError(f"{what}: started without a stdout pipe")
    deadline = time.monotonic() + timeout_s
    with selectors.DefaultSelector() as selector:
        selector.register(stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"{what} not ready within {timeout_s:g} s")
            if not selector.select(remaining):
                continue
            line = stdout.readline()
            if not line:
                code = process.wait(STOP_GRACE_S)
                raise BenchError(f"{what} exited with status {code} before it was ready")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()


class Children:
    """The child processes of one measurement; use as a context manager."""

    def __init__(self) -> None:
        self._processes: List[subprocess.Popen[str]] = []
        self.names: Dict[int, str] = {}
        self.peak_rss_kib: Dict[str, int] = {}

    def start(
        self,
        name: str,
        argv: Sequence[str],
        prefix: Sequence[str] = (),
        stderr: Optional[IO[str]] = None,
    ) -> subprocess.Popen[str]:
        """Start ``prefix + argv`` with stdout piped (for READY lines), stderr to ``stderr`` or nowhere."""
        process = subprocess.Popen(
            [*prefix, *argv],
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self._processes.append(process)
        self.names[process.pid] = name
        return process

    def rss(self, process: subprocess.Popen[str]) -> int:
        """Current RSS of a child, KiB."""
        return rss_kib(process.pid, "VmRSS")

    def stop(self, process: subprocess.Popen[str]) -> Optional[int]:
        """Record the peak RSS, then SIGTERM (SIGKILL after the grace period); the exit status."""
        if process not in self._processes:
            return process.returncode
        self._processes.remove(process)
        name = self.names.get(process.pid, str(process.pid))
        if process.poll() is None:
            self.peak_rss_kib[name] = max(self.peak_rss_kib.get(name, 0), rss_kib(process.pid))
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait(STOP_GRACE_S)
        if process.stdout is not None:
            process.stdout.close()
        return code

    def stop_all(self) -> None:
        for process in reversed(list(self._processes)):
            self.stop(process)

    def __enter__(self) -> Children:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_all()


def self_peak_rss_kib() -> int:
    """Peak RSS of this process, KiB."""
    return rss_kib(os.getpid())

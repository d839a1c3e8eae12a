"""``--link 1gbit``: a network-namespace pair joined by a veth shaped to 1 Gbit/s each way.

The benchmark process stays in the current namespace at ``10.231.N.1``; the far end (the raw
TCP sender, or the agent) runs in the namespace ``s1b<pid>`` at ``10.231.N.2`` through
``ip netns exec``. Both ends of the veth get a ``tbf`` qdisc at the rate, so each direction is
a 1 Gbit/s link (frame and IP/TCP headers count against the rate, as on a wire; no preamble
or inter-frame gap, so the goodput is a little above a real 1 GbE's ≈ 118 MB/s). The stand-in
stays outside: its Unix socket and shared memory do not depend on the network namespace.

Needs root and iproute2; the namespace and the veth are deleted on exit, even after errors.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
from typing import List, Optional, Sequence

RATES = {"1gbit": "1gbit"}
COMMAND_TIMEOUT_S = 10.0


def unavailable_reason() -> Optional[str]:
    """Why a shaped link cannot be built here, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root (network namespaces and tc)"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"needs iproute2 ({', '.join(missing)} not found)"
    return None


def _run(*argv: str) -> None:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise OSError(f"{' '.join(argv)}: {result.stderr.strip() or result.returncode}")


class ShapedLink:
    """The namespace pair (a context manager; see the module docstring)."""

    def __init__(self, rate: str = "1gbit") -> None:
        if rate not in RATES:
            raise ValueError(f"unknown link {rate!r}; known: {', '.join(RATES)}")
        pid = os.getpid()
        self.rate = RATES[rate]
        self.namespace = f"s1b{pid}"
        self._host_if = f"s1h{pid}"
        self._ns_if = f"s1n{pid}"
        subnet = pid % 250
        self.host_address = f"10.231.{subnet}.1"
        self.ns_address = f"10.231.{subnet}.2"
        self._up = False

    @property
    def prefix(self) -> List[str]:
        """Prepend to a command line to run it at the far end."""
        return ["ip", "netns", "exec", self.namespace]

    def __enter__(self) -> ShapedLink:
        atexit.register(self.close)
        self._up = True
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def _build(self) -> None:
        ns, host, far = self.namespace, self._host_if, self._ns_if
        _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", host, "type", "veth", "peer", "name", far, "netns", ns)
        _run("ip", "addr", "add", f"{self.host_address}/30", "dev", host)
        _run("ip", "link", "set", host, "up")
        _run("ip", "-n", ns, "link", "set", "lo", "up")
        _run("ip", "-n", ns, "addr", "add", f"{self.ns_address}/30", "dev", far)
        _run("ip", "-n", ns, "link", "set", far, "up")
        for device, where in ((host, ()), (far, ("ip", "netns", "exec", ns))):
            _shape(where, device, self.rate)

    def close(self) -> None:
        """Delete the veth pair and the namespace (idempotent, never raises)."""
        if not self._up:
            return
        self._up = False
        atexit.unregister(self.close)
        for argv in (("ip", "link", "del", self._host_if), ("ip", "netns", "del", self.namespace)):
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):  # already gone
                _run(*argv)

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _shape(where: Sequence[str], device: str, rate: str) -> None:
    # burst above the largest (GSO) packet a veth passes, or tbf drops it
    _run(*where, "tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", rate, "burst", "256kb", "latency", "50ms")

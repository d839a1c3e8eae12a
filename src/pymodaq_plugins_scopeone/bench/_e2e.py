"""End to end, in its own process: stand-in → agent → TCP → plugin side (this process).

``python -m pymodaq_plugins_scopeone.bench._e2e CONFIG.json RESULT.json``. This process is
the plugin side only (AgentServer + link + conversion, :mod:`._receiver`), so its peak RSS
is the plugin side's. It starts the ScopeOne stand-in (``--width/--height``, the given
readout; exposure and pixel type set through the Local API, preview started) and the real
agent under :mod:`._agent_probe`, measures snap mode (one request at a time) then streaming
mode (``depth`` requests in flight), optionally a long streaming run sampling RSS, stops
both children and writes RESULT.json.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

from ..hardware.agent_server import AgentServer
from ..protocol import ClientType
from ._procs import Children, cpu_s, python_module, rss_kib, self_peak_rss_kib, wait_ready
from ._receiver import Arrival, PluginCopies, Receiver
from ._results import FrameSize

SIMULATOR = "pymodaq_plugins_scopeone.simulator"
PROBE = "pymodaq_plugins_scopeone.bench._agent_probe"
START_TIMEOUT_S = 60.0
WARMUP_FRAMES = 5


@dataclasses.dataclass(frozen=True)
class E2EConfig:
    size: str
    budget_s: float = 3.0
    depth: int = 2
    exposure_ms: float = 1.0
    readout_ms: float = 0.5
    bind: str = "127.0.0.1"
    server_host: str = "127.0.0.1"
    agent_prefix: Tuple[str, ...] = ()
    long_s: float = 0.0
    sample_s: float = 5.0
    snap: bool = True


def _set_up_stand_in(socket_path: str, size: FrameSize, exposure_ms: float) -> None:
    """Exposure and pixel type through the Local API, then start the preview."""
    from ..agent._channel import open_channel
    from ..agent._localapi import LocalApiConnection

    connection = LocalApiConnection(open_channel(socket_path, 5.0)).start()
    try:
        pixel_type = "8bit" if size.dtype == "uint8" else "16bit"
        for name, value in (("Exposure", f"{exposure_ms:g}"), ("PixelType", pixel_type)):
            connection.request("set_property", 5.0, device="Camera", property=name, value=value)
        connection.request("start_preview", 5.0, camera="Camera")
        deadline = time.monotonic() + 10.0
        while True:  # the first frame is there once the camera thread ran
            try:
                connection.request("latest_raw_frame", 5.0, camera="Camera")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    finally:
        connection.close("set-up done")
        connection.join(5.0)


def _snaps(receiver: Receiver, budget_s: float, minimum: int) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline or len(rows) < minimum:
        sent_ns = time.time_ns()
        sent, arrival = receiver.snap()
        if arrival.error:
            raise RuntimeError(f"the agent failed a grab: {arrival.error}")
        rows.append(
            {
                "latency_s": arrival.received_perf - sent,
                "wait_s": (arrival.published_wall_ns - sent_ns) / 1e9,
                "bridge_s": (arrival.received_wall_ns - arrival.published_wall_ns) / 1e9,
                "frame_index": arrival.frame_index,
                "published_ns": arrival.published_wall_ns,
                "received_ns": arrival.received_wall_ns,
            }
        )
    return rows


def _stream(
    receiver: Receiver, depth: int, budget_s: float, on_sample: Optional[Any] = None, sample_s: float = 0.0
) -> Tuple[List[float], List[int], int]:
    """Durations between completions, frame indices, errors (first WARMUP_FRAMES excluded)."""
    durations: List[float] = []
    indices: List[int] = []
    errors = 0
    seen = 0
    previous = 0.0
    receiver.start_streaming(depth)
    deadline = time.monotonic() + budget_s
    next_sample = time.monotonic() + sample_s
    try:
        while time.monotonic() < deadline or len(durations) < 2:
            arrival: Arrival = receiver.arrivals.get(timeout=10.0)
            if arrival.error:
                errors += 1
                continue
            if seen >= WARMUP_FRAMES:
                durations.append(arrival.received_perf - previous)
                indices.append(arrival.frame_index)
            previous, seen = arrival.received_perf, seen + 1
            if on_sample is not None and time.monotonic() >= next_sample:
                on_sample()
                next_sample += sample_s
    finally:
        receiver.stop_streaming()
    while not receiver.arrivals.empty():
        receiver.arrivals.get_nowait()
    return durations, indices, errors


def run(config: E2EConfig) -> Dict[str, Any]:
    size = FrameSize.parse(config.size)
    copies = PluginCopies(size.nbytes)
    undo = copies.install()
    folder = tempfile.mkdtemp(prefix="s1bench-")
    socket_path = os.path.join(folder, "api.sock")
    report_path = os.path.join(folder, "agent.json")
    from ..simulator import unique_mapping_name

    mapping = unique_mapping_name("ScopeOne.Api.frame.bench")
    result: Dict[str, Any] = {"size": size.key, "config": dataclasses.asdict(config)}
    server: Optional[AgentServer] = None
    try:
        with Children() as children:
            stand_in = children.start(
                "stand-in",
                python_module(
                    SIMULATOR,
                    *("--socket", socket_path, "--mapping", mapping, "--log-level", "WARNING", "--load-demo"),
                    *(
                        "--width",
                        str(size.width),
                        "--height",
                        str(size.height),
                        "--readout-ms",
                        f"{config.readout_ms:g}",
                    ),
                ),
            )
            wait_ready(stand_in, START_TIMEOUT_S, "ScopeOne stand-in", prefix="scopeone-sim ready")
            _set_up_stand_in(socket_path, size, config.exposure_ms)
            receiver = Receiver(copies)
            server = AgentServer(0, config.bind)
            server.attach(ClientType.GRABBER, "Camera", receiver)
            agent_args = ["--server", f"{config.server_host}:{server.port}", "--scopeone", socket_path]
            agent_args += ["--camera", "Camera", "--axes", "", "--log-level", "WARNING"]
            agent = children.start("agent", python_module(PROBE, report_path, *agent_args), config.agent_prefix)
            wait_ready(agent, START_TIMEOUT_S, "agent")
            if not receiver.connected.wait(START_TIMEOUT_S):
                raise RuntimeError(f"the agent did not connect within {START_TIMEOUT_S:g} s: {receiver.lost}")
            _snaps(receiver, 0.0, WARMUP_FRAMES)  # warm-up: pools, page faults, learned readout
            copies.direct_bytes = copies.copied_bytes = 0
            if config.snap:
                result["snaps"] = _snaps(receiver, config.budget_s, 5)
            pids = {"stand-in": stand_in.pid, "agent": agent.pid, "plugin side": os.getpid()}
            cpu_before = {name: cpu_s(pid) for name, pid in pids.items()}
            durations, indices, errors = _stream(receiver, config.depth, config.budget_s)
            cpu = {name: cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
            result["stream"] = {"durations_s": durations, "frame_indices": indices, "errors": errors, "cpu_s": cpu}
            frames = len(result.get("snaps", ())) + len(durations) + errors
            result["plugin_copies"] = {
                "direct_bytes": copies.direct_bytes,
                "copied_bytes": copies.copied_bytes,
                "conversion_copies": copies.conversion_copies,
                "pool_reused": copies.pool_reused,
                "pool_allocated": copies.pool_allocated,
                "frames": frames,
            }
            if config.long_s > 0:
                result["long"] = _long_run(receiver, config, children.rss(agent), agent.pid)
            result["rss_kib"] = {"plugin side (this process)": self_peak_rss_kib()}
            if server is not None:
                server.close()
                server = None
            children.stop(agent)
            children.stop(stand_in)
            result["rss_kib"].update(children.peak_rss_kib)
        with open(report_path, encoding="utf-8") as file:
            result["agent"] = json.load(file)
        _join_trace(result.get("snaps", ()), result["agent"].pop("trace", {}))
    finally:
        if server is not None:
            server.close()
        undo()
        shutil.rmtree(folder, ignore_errors=True)
        if os.path.exists(f"/dev/shm/{mapping}"):
            os.unlink(f"/dev/shm/{mapping}")
    return result


SEGMENTS = (  # (name, from event, to event) along a served frame's way, wall clock of this host
    ("published → polled", "published_ns", "poll_start_ns"),
    ("poll (stand-in export)", "poll_start_ns", "polled_ns"),
    ("polled → copied", "polled_ns", "copied_ns"),
    ("copied → send start", "copied_ns", "send_start_ns"),
    ("send", "send_start_ns", "sent_ns"),
    ("sent → DataToExport", "sent_ns", "received_ns"),
)


def _join_trace(snaps: Any, trace: Dict[str, Dict[str, int]]) -> None:
    """Add each snap's way through the agent (from the probe's trace) as ``segments_ms``."""
    for row in snaps:
        events = dict(trace.get(str(row["frame_index"]), {}))
        events["published_ns"] = row["published_ns"]
        events["received_ns"] = row["received_ns"]
        if all(name in events for _, start, end in SEGMENTS for name in (start, end)):
            row["segments_ms"] = {label: (events[end] - events[start]) / 1e6 for label, start, end in SEGMENTS}


def _long_run(receiver: Receiver, config: E2EConfig, agent_rss: int, agent_pid: int) -> Dict[str, Any]:
    """Stream for ``long_s`` seconds, sampling the RSS of both sides every ``sample_s``."""
    samples: List[Tuple[float, int, int]] = []
    start = time.monotonic()

    def sample() -> None:
        samples.append((time.monotonic() - start, rss_kib(os.getpid(), "VmRSS"), rss_kib(agent_pid, "VmRSS")))

    sample()
    durations, _, errors = _stream(receiver, config.depth, config.long_s, sample, config.sample_s)
    sample()
    return {"samples": samples, "frames": len(durations), "errors": errors, "seconds": time.monotonic() - start}


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as file:
        fields = json.load(file)
    fields["agent_prefix"] = tuple(fields.get("agent_prefix", ()))
    result = run(E2EConfig(**fields))
    with open(args[1], "w", encoding="utf-8") as file:
        json.dump(result, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Running the end-to-end worker (:mod:`._e2e`) from the main process, and reading its result."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import tempfile
from typing import Any, Dict, List, Optional, Sequence

from ._procs import BenchError, Children, python_module
from ._report import E2E_SNAP, E2E_STREAM
from ._results import FrameSize, Measurement

WORKER = "pymodaq_plugins_scopeone.bench._e2e"
SETUP_ALLOWANCE_S = 180.0


def run_worker(fields: Dict[str, Any], prefix: Sequence[str] = ()) -> Dict[str, Any]:
    """Run one end-to-end worker with ``fields`` of :class:`._e2e.E2EConfig`; its result document.

    ``prefix`` wraps the worker itself (unused: the worker wraps the agent with ``agent_prefix``).
    """
    budget = float(fields.get("budget_s", 3.0)) * 2 + float(fields.get("long_s", 0.0))
    with tempfile.TemporaryDirectory(prefix="s1bench-run-") as folder:
        config_path = os.path.join(folder, "config.json")
        result_path = os.path.join(folder, "result.json")
        log_path = os.path.join(folder, "worker.log")
        with open(config_path, "w", encoding="utf-8") as file:
            json.dump(fields, file)
        with Children() as children, open(log_path, "w", encoding="utf-8") as log:
            worker = children.start("worker", python_module(WORKER, config_path, result_path), prefix, stderr=log)
            try:
                code = worker.wait(budget + SETUP_ALLOWANCE_S)
            except subprocess.TimeoutExpired:
                code = None
            children.stop(worker)
        if code != 0 or not os.path.exists(result_path):
            with open(log_path, encoding="utf-8") as file:
                tail = "".join(file.readlines()[-15:])
            raise BenchError(f"end-to-end worker for {fields.get('size')} failed (status {code}):\n{tail}")
        with open(result_path, encoding="utf-8") as file:
            result: Dict[str, Any] = json.load(file)
        return result


def measurements(worker: Dict[str, Any], depth: int, suffix: str = "") -> List[Measurement]:
    """The snap and streaming rows of the table from a worker's result."""
    size = FrameSize.parse(worker["size"])
    rows: List[Measurement] = []
    snaps = worker.get("snaps") or []
    if snaps:
        durations = [row["latency_s"] for row in snaps]
        rows.append(Measurement(E2E_SNAP + suffix, size, durations, size.nbytes, note="one request at a time"))
    stream = worker["stream"]
    indices = stream.get("frame_indices") or []
    cpu = stream.get("cpu_s") or {}
    row = Measurement(
        E2E_STREAM + suffix,
        size,
        stream["durations_s"],
        size.nbytes,
        note=f"{depth} requests in flight, {len(set(indices))} distinct camera frames of {len(indices)}",
    )
    elapsed = row.elapsed_s
    row.extra["cpu_share_of_one_core"] = {name: seconds / elapsed for name, seconds in cpu.items()} if elapsed else {}
    agent = worker.get("agent") or {}
    frames = agent.get("frames_sent") or 0
    if frames:
        row.extra["agent_ms_per_frame_sent"] = {
            "waiting for the stand-in's exports": agent["frame_request_s"] / frames * 1e3,
            "exports per frame": agent["frame_requests"] / frames,
            "copy from shared memory": agent["copy_s"] / max(1, agent["copies"]) * 1e3,
            "send (link thread)": agent["send_s"] / frames * 1e3,
        }
    rows.append(row)
    return rows


def rss_drift(long: Dict[str, Any]) -> Dict[str, Any]:
    """RSS drift of both sides over a long run: median of the last 5 samples vs the first 5 after warm-up.

    Warm-up is the first 10 % of the run (pools filled, caches built).
    """
    samples = long.get("samples") or []
    total = samples[-1][0] if samples else 0.0
    settled = [s for s in samples if s[0] >= 0.1 * total] or samples
    drift: Dict[str, Any] = {"seconds": long.get("seconds"), "frames": long.get("frames"), "samples": len(samples)}
    for column, name in ((1, "plugin side"), (2, "agent")):
        values = [s[column] for s in settled if s[column] > 0]
        if len(values) < 2:
            drift[name] = None
            continue
        start, end = statistics.median(values[:5]), statistics.median(values[-5:])
        drift[name] = {"start_kib": start, "end_kib": end, "drift": (end - start) / start, "max_kib": max(values)}
    return drift


def config_fields(size: FrameSize, args: Any, **overrides: Any) -> Dict[str, Any]:
    """Worker fields from the command line, for one frame size."""
    fields: Dict[str, Any] = {
        "size": size.key,
        "budget_s": args.seconds,
        "depth": args.depth,
        "exposure_ms": args.exposure_ms,
        "readout_ms": args.readout_ms,
    }
    fields.update(overrides)
    return fields


@dataclasses.dataclass
class E2EOutcome:
    worker: Optional[Dict[str, Any]]
    rows: List[Measurement]
    error: str = ""

"""``scopeone-bench``: the command line, the run order and the printed report."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import _report
from ._launch import config_fields, measurements, rss_drift, run_worker
from ._output import render, to_json
from ._procs import self_peak_rss_kib
from ._results import FrameSize, Measurement
from ._simple import (
    CODEC,
    PYLECO,
    PYMODAQ_UTILS_LOOP,
    RAW_TCP,
    SERIALIZALL,
    measure_codec,
    measure_pyleco,
    measure_serializall,
    measure_tcp,
)

DEFAULT_SIZES = "512x512:uint16,2048x2048:uint16,2048x2048:uint8"
STEPS = ("raw", "pymodaq_utils", "codec", "serializall", "pyleco", "e2e")
LINK_SUFFIX = " (1 Gbit/s link)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scopeone-bench",
        description="Frame throughput and latency of this bridge next to raw TCP, PyMoDAQ's receive loop, "
        "serializall and PyLECO, measured in one run on this machine (loopback only).",
    )
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"HxW:dtype list (default {DEFAULT_SIZES})")
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement (default 3)")
    parser.add_argument("--depth", type=int, default=2, help="requests in flight when streaming (default 2)")
    parser.add_argument("--exposure-ms", type=float, default=1.0, help="stand-in exposure (default 1 ms)")
    parser.add_argument("--readout-ms", type=float, default=0.5, help="stand-in readout (default 0.5 ms)")
    parser.add_argument("--pmu-frames", type=int, default=3, help="frames for the pymodaq_utils loop (default 3)")
    parser.add_argument("--skip", default="", help=f"comma list of steps to skip: {', '.join(STEPS)}")
    parser.add_argument("--json", metavar="FILE", help="write every figure to FILE (JSON)")
    parser.add_argument("--plot", metavar="FILE.png", help="bar chart of the throughputs (needs matplotlib)")
    parser.add_argument("--long", action="store_true", help="also a long live run checking the RSS drift")
    parser.add_argument("--long-minutes", type=float, default=10.0, help="length of the --long run (default 10)")
    parser.add_argument("--long-size", default="2048x2048:uint16", help="frame size of the --long run")
    parser.add_argument("--link", choices=["1gbit"], help="also measure through a shaped veth (root, iproute2)")
    return parser


def machine() -> Dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in load],
    }


def _guarded(method: str, size: FrameSize, measure: Callable[[], Measurement]) -> Measurement:
    started = time.monotonic()
    try:
        result = measure()
    except Exception as error:  # one broken measurement must not hide the others
        result = Measurement.skip(method, size, f"failed: {type(error).__name__}: {error}")
    _progress(f"{size.label:<18} {method:<38} {time.monotonic() - started:5.1f} s  {_short(result)}")
    return result


def _short(result: Measurement) -> str:
    return result.skipped or f"{result.mb_per_s:,.1f} MB/s"


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> Dict[str, Any]:
    sizes = [FrameSize.parse(text) for text in args.sizes.split(",") if text]
    skip = {step.strip() for step in args.skip.split(",") if step.strip()}
    unknown = skip - set(STEPS)
    if unknown:
        raise SystemExit(f"scopeone-bench: unknown steps in --skip: {', '.join(sorted(unknown))}")
    document: Dict[str, Any] = {"machine": machine(), "args": vars(args), "e2e": {}, "errors": []}
    results: List[Measurement] = []
    workers: Dict[str, Dict[str, Any]] = {}
    for size in sizes:
        steps: List[tuple[str, str, Callable[[], Measurement]]] = [
            ("raw", RAW_TCP, lambda size=size: measure_tcp(size, args.seconds)),  # type: ignore[misc]
            (
                "pymodaq_utils",
                PYMODAQ_UTILS_LOOP,
                lambda size=size: measure_tcp(size, args.seconds, True, args.pmu_frames),  # type: ignore[misc]
            ),
            ("codec", CODEC, lambda size=size: measure_codec(size, args.seconds)),  # type: ignore[misc]
            ("serializall", SERIALIZALL, lambda size=size: measure_serializall(size, args.seconds)),  # type: ignore[misc]
            ("pyleco", PYLECO, lambda size=size: measure_pyleco(size, args.seconds)),  # type: ignore[misc]
        ]
        for step, method, measure in steps:
            if step not in skip:
                results.append(_guarded(method, size, measure))
        if "e2e" not in skip:
            worker = _e2e(size, config_fields(size, args), document)
            if worker is not None:
                workers[size.key] = worker
                results.extend(measurements(worker, args.depth))
    if args.long:
        size = FrameSize.parse(args.long_size)
        long_s = args.long_minutes * 60
        fields = config_fields(size, args, long_s=long_s, snap=False, sample_s=max(1.0, long_s / 120))
        worker = _e2e(size, fields, document, "long live run")
        document["long"] = rss_drift(worker["long"]) if worker else None
    if args.link:
        document["link"] = _link_run(args, sizes, results, document)
    document["results"] = results
    document["workers"] = workers
    document["bench_peak_rss_kib"] = self_peak_rss_kib()
    return document


def _e2e(size: FrameSize, fields: Dict[str, Any], document: Dict[str, Any], what: str = "end to end") -> Any:
    started = time.monotonic()
    try:
        worker = run_worker(fields)
    except Exception as error:
        document["errors"].append(f"{size.label} {what}: {error}")
        _progress(f"{size.label:<18} {what:<38} failed: {error}")
        return None
    _progress(f"{size.label:<18} {what:<38} {time.monotonic() - started:5.1f} s")
    return worker


def _link_run(
    args: argparse.Namespace, sizes: List[FrameSize], results: List[Measurement], document: Dict[str, Any]
) -> Dict[str, Any]:
    from ._link import ShapedLink, unavailable_reason

    reason = unavailable_reason()
    size = FrameSize.parse(_report.TARGET_SIZE)
    if reason is None:
        try:
            with ShapedLink(args.link) as link:
                raw = _guarded(
                    RAW_TCP + LINK_SUFFIX,
                    size,
                    lambda: measure_tcp(size, args.seconds, bind=link.host_address, prefix=link.prefix),
                )
                raw.method = RAW_TCP + LINK_SUFFIX
                results.append(raw)
                fields = config_fields(
                    size, args, bind=link.host_address, server_host=link.host_address, agent_prefix=link.prefix
                )
                worker = _e2e(size, fields, document, "end to end" + LINK_SUFFIX)
                if worker is not None:
                    results.extend(measurements(worker, args.depth, LINK_SUFFIX))
                    return {"worker": worker}
                return {"error": "the end-to-end run through the link failed"}
        except OSError as error:
            reason = f"cannot build the namespace pair: {error}"
    _progress(f"--link {args.link} skipped: {reason}")
    return {"skipped": reason}


def _clean(value: Any) -> Any:
    """JSON without NaN/inf (they become null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(item) for item in value]
    return value


def main(argv: Optional[List[str]] = None) -> int:
    """Run, print the report, write --json/--plot; 1 if a target failed, 2 on bad arguments."""
    args = build_parser().parse_args(argv)
    try:
        sizes = [FrameSize.parse(text) for text in args.sizes.split(",") if text]
    except ValueError as error:
        print(f"scopeone-bench: --sizes: {error}", file=sys.stderr)
        return 2
    if args.plot:
        from ._plot import INSTALL_HINT

        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(f"scopeone-bench: {INSTALL_HINT}", file=sys.stderr)
            return 2
    document = run(args)
    lines, verdicts = render(document, sizes, args)
    print("\n".join(lines), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as file:
            json.dump(_clean(to_json(document, verdicts, args)), file, indent=1)
    if args.plot:
        from ._plot import plot

        plot(document["results"], sizes, args.plot)
    return 1 if any(verdict.status == "FAIL" for verdict in verdicts) else 0

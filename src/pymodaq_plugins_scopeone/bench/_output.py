"""The printed report and the JSON document of a run."""

from __future__ import annotations

import math
from typing import Any, Dict, List, Sequence, Tuple

from . import _report
from ._report import Verdict
from ._results import FrameSize, Measurement, find, ratio
from ._simple import RAW_TCP


def render(document: Dict[str, Any], sizes: Sequence[FrameSize], args: Any) -> Tuple[List[str], List[Verdict]]:
    results: List[Measurement] = document["results"]
    workers: Dict[str, Dict[str, Any]] = document["workers"]
    info = document["machine"]
    lines = [
        f"scopeone-bench on {info['cpu']} ({info['cores']} cores), Python {info['python']}, numpy {info['numpy']}, "
        f"load average at start {info['load_average_at_start']}",
        f"stand-in: exposure {args.exposure_ms:g} ms, readout {args.readout_ms:g} ms; streaming keeps "
        f"{args.depth} requests in flight; {args.seconds:g} s per measurement",
        "",
    ]
    for size in sizes:
        lines += _report.table(results, size)
        lines += _e2e_notes(results, size)
        lines.append("")
    lines += _report.FRAME_PERIOD_NOTE_LINES
    lines.append("")
    snap_worker = workers.get(_report.SNAP_SIZE)
    for key, worker in workers.items():
        if worker.get("snaps") and (key == _report.SNAP_SIZE or snap_worker is None):
            lines += _report.snap_section(worker, args.exposure_ms)
            lines.append("")
    lines += _copies_and_rss(workers, document)
    verdicts = _report.throughput_targets(results)
    verdicts.append(_report.snap_target(snap_worker, args.exposure_ms))
    verdicts.append(_report.copies_target(list(workers.values())))
    verdicts.append(_long_verdict(document.get("long"), bool(args.long)))
    verdicts.append(_link_verdict(document.get("link"), results, args.link))
    for error in document["errors"]:
        lines.append(f"error: {error}")
    lines.append("Targets:")
    lines += ["  " + verdict.line() for verdict in verdicts]
    return lines, verdicts


def _e2e_notes(results: Sequence[Measurement], size: FrameSize) -> List[str]:
    lines = []
    for row in results:
        if row.size.key != size.key or not row.ok or not row.method.startswith(_report.E2E_STREAM):
            continue
        lines.append(f"  {row.method}: {row.note}")
        shares = row.extra.get("cpu_share_of_one_core") or {}
        if shares:
            parts = ", ".join(f"{name} {share * 100:.0f} %" for name, share in shares.items())
            lines.append(f"    CPU while streaming (% of one core): {parts}")
        agent = row.extra.get("agent_ms_per_frame_sent") or {}
        if agent:
            waiting = agent["waiting for the stand-in's exports"]
            frame_ms = 1e3 / row.frames_per_s
            lines.append(
                f"    agent, per frame sent: {waiting:.2f} ms waiting for the stand-in's exports "
                f"({agent['exports per frame']:.2f} exports, {waiting / frame_ms * 100:.0f} % of the {frame_ms:.2f} ms "
                f"frame time), copy {agent['copy from shared memory']:.2f} ms, "
                f"send {agent['send (link thread)']:.2f} ms (overlapped)"
            )
    return lines


def _copies_and_rss(workers: Dict[str, Dict[str, Any]], document: Dict[str, Any]) -> List[str]:
    lines = ["Pixel copies per frame (measured on the frame path, see bench/_agent_probe.py and bench/_receiver.py):"]
    for worker in workers.values():
        figures = _report.copy_figures(worker)
        lines.append(
            f"  {FrameSize.parse(worker['size']).label:<18} agent {figures['agent_copies_per_frame_sent']:.3f} "
            f"(shared memory → the sent array; {figures['agent_unbacked_frames']:.0f} frames sent from another "
            f"buffer) | plugin {figures['plugin_copied_fraction'] * 100:.2f} % of pixel bytes "
            f"({figures['plugin_copied_bytes_per_frame'] / 1024:.1f} KiB/frame) copied from the 64 KiB header read, "
            f"the rest recv_into the final array; {figures['plugin_conversion_copies']:.0f} copies converting to "
            f"PyMoDAQ; pooled arrays reused {figures['plugin_pool_reused']:.0f}, "
            f"allocated {figures['plugin_pool_allocated']:.0f}"
        )
    lines += ["", "Peak RSS (MiB):"]
    for worker in workers.values():
        parts = ", ".join(f"{name} {kib / 1024:.0f}" for name, kib in (worker.get("rss_kib") or {}).items())
        lines.append(f"  {FrameSize.parse(worker['size']).label:<18} {parts}")
    lines.append(
        f"  benchmark process (codecs, PyLECO director, receivers): {document['bench_peak_rss_kib'] / 1024:.0f}"
    )
    long = document.get("long")
    if long:
        lines.append(
            f"Long live run: {long['frames']} frames in {long['seconds']:.0f} s, {long['samples']} RSS samples"
        )
        for side in ("plugin side", "agent"):
            figures = long.get(side)
            if figures:
                lines.append(
                    f"  {side}: {figures['start_kib'] / 1024:.1f} → {figures['end_kib'] / 1024:.1f} MiB "
                    f"({figures['drift'] * 100:+.2f} %), max {figures['max_kib'] / 1024:.1f} MiB"
                )
    lines.append("")
    return lines


def _long_verdict(long: Any, asked: bool) -> Verdict:
    target = "--long: RSS drift ≤ 5 % over a live run"
    if not asked:
        return Verdict(target, "SKIP", "run with --long (10 minutes)")
    if not long or not long.get("plugin side") or not long.get("agent"):
        return Verdict(target, "FAIL", "the long run did not complete")
    drifts = {side: long[side]["drift"] for side in ("plugin side", "agent")}
    ok = all(value <= 0.05 for value in drifts.values())
    detail = ", ".join(f"{side} {value * 100:+.2f} %" for side, value in drifts.items())
    return Verdict(target, "PASS" if ok else "FAIL", f"{detail} over {long['seconds'] / 60:.1f} min")


def _link_verdict(link: Any, results: Sequence[Measurement], asked: Any) -> Verdict:
    target = "--link 1gbit: end-to-end streaming ≥ 0.93 × raw TCP goodput on the link"
    if not asked:
        return Verdict(target, "SKIP", "run with --link 1gbit (root, iproute2)")
    if not link or "skipped" in link:
        return Verdict(target, "SKIP", (link or {}).get("skipped", "not measured"))
    from ._cli import LINK_SUFFIX

    stream = find(results, _report.E2E_STREAM + LINK_SUFFIX, _report.TARGET_SIZE)
    raw = find(results, RAW_TCP + LINK_SUFFIX, _report.TARGET_SIZE)
    value = ratio(stream, raw)
    if not math.isfinite(value) or stream is None or raw is None:
        return Verdict(target, "FAIL", "not measured through the link")
    return Verdict(
        target,
        "PASS" if value >= 0.93 else "FAIL",
        f"{value:.3f} × ({stream.mb_per_s:.1f} vs {raw.mb_per_s:.1f} MB/s)",
    )


def to_json(document: Dict[str, Any], verdicts: Sequence[Verdict], args: Any) -> Dict[str, Any]:
    workers = document["workers"]
    e2e = {
        key: {
            "snap": _report.snap_figures(worker, args.exposure_ms) if worker.get("snaps") else None,
            "copies": _report.copy_figures(worker),
            "peak_rss_kib": worker.get("rss_kib"),
            "agent_counters": worker.get("agent"),
        }
        for key, worker in workers.items()
    }
    return {
        "machine": document["machine"],
        "args": document["args"],
        "results": [result.to_json() for result in document["results"]],
        "end_to_end": e2e,
        "long": document.get("long"),
        "link": {k: v for k, v in (document.get("link") or {}).items() if k != "worker"} or None,
        "bench_peak_rss_kib": document["bench_peak_rss_kib"],
        "errors": document["errors"],
        "targets": [{"target": v.target, "status": v.status, "detail": v.detail} for v in verdicts],
    }

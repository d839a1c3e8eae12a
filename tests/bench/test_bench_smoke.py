"""A seconds-long run of ``scopeone-bench`` on tiny frames, so the benchmark cannot rot.

It checks the structure of the report and of ``--json`` and that every figure is a finite,
positive number; it asserts nothing about speed (the full run is not part of CI).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = [sys.executable, "-m", "pymodaq_plugins_scopeone.bench"]
METHODS = {
    "raw TCP (recv_into)",
    "pymodaq_utils receive loop",
    "scopeone codec (encode+decode)",
    "PyMoDAQ 5 serializall (ser+deser)",
    "scopeone end to end, snap",
    "scopeone end to end, streaming",
}


def _bench_leftovers() -> set:
    return {name for name in os.listdir("/dev/shm") if name.startswith("ScopeOne.Api.frame.bench")}


@pytest.mark.timeout(240)
def test_a_tiny_run_reports_finite_positive_figures_and_cleans_up(tmp_path: Path) -> None:
    before = _bench_leftovers()
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [*BENCH, "--sizes", "64x64:uint16,32x48:uint8", "--seconds", "0.3", "--pmu-frames", "2", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for text in ("64x64 uint16", "32x48 uint8", "Snap latency", "Pixel copies per frame", "Peak RSS", "Targets:"):
        assert text in run.stdout
    document = json.loads(out.read_text())
    assert set(document) >= {"machine", "results", "end_to_end", "targets", "errors"}
    assert document["errors"] == []
    measured = [r for r in document["results"] if not r["skipped"]]
    assert {r["method"] for r in measured} >= METHODS
    for result in measured:
        for key in ("mb_per_s", "frames_per_s", "ms_min", "ms_median", "ms_max"):
            assert math.isfinite(result[key]) and result[key] > 0, (result["method"], key, result[key])
        assert result["frames"] >= 2
    for size in ("64x64:uint16", "32x48:uint8"):
        e2e = document["end_to_end"][size]
        assert e2e["snap"]["snaps"] >= 5 and e2e["snap"]["bridge_median_ms"] > 0
        assert 0 < e2e["copies"]["agent_copies_per_frame_sent"] <= 1
        assert all(kib > 0 for kib in e2e["peak_rss_kib"].values())
    statuses = {t["target"]: t["status"] for t in document["targets"]}
    assert len(statuses) == 7 and set(statuses.values()) <= {"PASS", "SKIP"}
    assert _bench_leftovers() <= before


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path: Path) -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        run = subprocess.run([*BENCH, "--plot", str(tmp_path / "p.png")], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2
        assert "pip install" in run.stderr and "[bench]" in run.stderr
    else:
        pytest.skip("matplotlib is installed: --plot works")

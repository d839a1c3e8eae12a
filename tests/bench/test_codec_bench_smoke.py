"""A seconds-long run of ``benchmarks/bench_codec.py`` on small frames, so the codec benchmark cannot rot.

The benchmark stops with an error by itself if the decoded pixels differ from the encoded
ones, if its minimal decode gives another message than the decoder, or if its no-parse floor
reads unexpected bytes; this checks that it prints, for each message and regime, finite
positive ratios for encode, decode, the minimal decode and the floor. Nothing about
speed: small frames are all header cost.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_CODEC = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_codec.py"


@pytest.mark.timeout(120)
def test_a_small_run_prints_encode_decode_minimal_and_floor_ratios_per_message_and_regime() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH_CODEC), "--rounds", "2", "--size", "64"],
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert run.returncode == 0, run.stderr
    lines = [line.strip() for line in run.stdout.splitlines() if line.strip().startswith(("streaming", "in-cache"))]
    assert [line.split()[0] for line in lines] == ["streaming", "in-cache"] * 3
    for line in lines:
        ratios = [float(ratio) for ratio in re.findall(r"(\d+\.\d+) x \(", line)]
        assert len(ratios) == 4 and all(math.isfinite(ratio) and ratio > 0 for ratio in ratios), line
    assert "Goals of issue 2, judged streaming" in run.stdout

"""Regenerate tests/golden/pymodaq44_vectors.json with the real PyMoDAQ 4.4.11.

Run from the repository root with the main environment::

    python -m tests.golden.regenerate           # rewrite the vectors file
    python -m tests.golden.regenerate --check   # exit 1 if the committed file differs

It builds the side environment on first use (tests/side_env.py, a few minutes, needs PyPI), then
runs generate_pymodaq44_vectors.py in it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.side_env import SideEnvUnavailable, ensure_side_python, run_in_side_env, side_env_unavailable_reason

GOLDEN_DIR = Path(__file__).resolve().parent
GENERATOR = GOLDEN_DIR / "generate_pymodaq44_vectors.py"
VECTORS = GOLDEN_DIR / "pymodaq44_vectors.json"


def generate(output: Path) -> str:
    """Run the generator in the side environment, writing ``output``; return what it printed."""
    python = ensure_side_python()
    if python is None:
        raise SideEnvUnavailable(side_env_unavailable_reason() or "side environment unavailable")
    result = run_in_side_env(GENERATOR, "--output", output, timeout_s=600, python=python)
    return result.stdout.decode().strip()


def main() -> int:
    """Regenerate or check the vectors file; return the exit status."""
    parser = argparse.ArgumentParser(description="Regenerate the PyMoDAQ 4.4.11 golden vectors.")
    parser.add_argument("--check", action="store_true", help="only compare with the committed file")
    args = parser.parse_args()
    if not args.check:
        print(generate(VECTORS))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / VECTORS.name
        generate(fresh)
        if fresh.read_bytes() == VECTORS.read_bytes():
            print(f"{VECTORS} is up to date")
            return 0
    print(f"{VECTORS} differs from what PyMoDAQ 4.4.11 writes: run python -m tests.golden.regenerate", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

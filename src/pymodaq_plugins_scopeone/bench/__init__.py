"""``scopeone-bench``: this bridge's throughput and latency side by side with the alternatives.

One run, on loopback, bounded in time, measures the physical reference (raw TCP with
``recv_into``), this project end to end (stand-in → agent → TCP → plugin side producing a
PyMoDAQ DataToExport) in snap and streaming mode, the codec alone, PyMoDAQ 5's serializall,
the receive loop still shipped in pymodaq_utils and PyLECO through a Coordinator, then checks
the targets of issue 6. See ``scopeone-bench --help`` and docs/bench-readme-section.md.

Every process it starts is stopped, every blocking call has a timeout, and it leaves no
socket, shared-memory block or network namespace behind.
"""

from typing import List, Optional

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark (the ``scopeone-bench`` console script)."""
    from ._cli import main as cli_main

    return cli_main(argv)

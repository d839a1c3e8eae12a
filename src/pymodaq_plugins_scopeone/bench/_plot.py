"""``--plot FILE.png``: throughput of every method at every size, as grouped bars (log scale)."""

from __future__ import annotations

from typing import List, Sequence

from ._results import FrameSize, Measurement

INSTALL_HINT = (
    'matplotlib is needed for --plot: pip install "pymodaq_plugins_scopeone[bench]" (or pip install matplotlib)'
)


def plot(results: Sequence[Measurement], sizes: Sequence[FrameSize], path: str) -> None:
    """Write the bar chart; ImportError with :data:`INSTALL_HINT` when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    methods: List[str] = []
    for result in results:
        if result.ok and result.method not in methods:
            methods.append(result.method)
    figure, axes = plt.subplots(figsize=(11, 5.5))
    width = 0.8 / max(1, len(methods))
    for number, method in enumerate(methods):
        values = []
        for size in sizes:
            found = [r.mb_per_s for r in results if r.ok and r.method == method and r.size.key == size.key]
            values.append(found[0] if found else 0.0)
        positions = [index + (number - (len(methods) - 1) / 2) * width for index in range(len(sizes))]
        axes.bar(positions, values, width, label=method)
    axes.set_xticks(range(len(sizes)))
    axes.set_xticklabels([size.label for size in sizes])
    axes.set_yscale("log")
    axes.set_ylabel("MB/s (log scale)")
    axes.set_title("scopeone-bench: frame throughput on this machine (loopback)")
    axes.legend(fontsize="small")
    axes.grid(axis="y", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)

"""Histograms and a CDF of token lengths (matplotlib, imported only when plotting).

Each PNG is written through :func:`~qmsum_fast.files.atomic_open`, so a failed
or interrupted run leaves an older plot as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .files import atomic_open
from .stats import WINDOWS

PLOT_NAMES = ("input_tokens.png", "summary_tokens.png", "input_cdf.png")


def plot_paths(out_dir: Path) -> list[Path]:
    """The files :func:`write_plots` writes into ``out_dir``, in its order."""
    return [Path(out_dir) / name for name in PLOT_NAMES]


def write_plots(inputs: Sequence[int], summaries: Sequence[int], out_dir: Path, reserve: int, title: str) -> list[Path]:
    """Writes input and summary histograms and an input-length CDF; returns the paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    input_path, summary_path, cdf_path = plot_paths(out_dir)
    return [
        _histogram(plt, inputs, input_path, f"{title}: input tokens"),
        _histogram(plt, summaries, summary_path, f"{title}: summary tokens"),
        _cdf(plt, inputs, cdf_path, f"{title}: input length CDF", reserve),
    ]


def save_figure(plt, fig, path: Path) -> Path:
    """Saves ``fig`` as a PNG at ``path`` atomically and closes it."""
    try:
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=120)
    finally:
        plt.close(fig)
    return path


def _histogram(plt, lengths: Sequence[int], path: Path, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.hist(lengths, bins=40, color="#3b6ea5", edgecolor="white")
    ax.set_title(title)
    ax.set_xlabel("tokens")
    ax.set_ylabel("examples")
    fig.tight_layout()
    return save_figure(plt, fig, path)


def _cdf(plt, lengths: Sequence[int], path: Path, title: str, reserve: int) -> Path:
    ordered = sorted(lengths)
    shares = [(i + 1) / len(ordered) for i in range(len(ordered))]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.step(ordered, shares, where="post", color="#3b6ea5")
    top = max(ordered) if ordered else 1
    for window in WINDOWS:
        budget = window - reserve
        if budget <= top * 1.5:
            ax.axvline(budget, color="#c0392b", linestyle="--", linewidth=0.8)
            ax.text(budget, 0.95, f" {window // 1024}k window", color="#c0392b", fontsize=8)
    ax.set_xscale("log")
    ticks = [2**k for k in range(7, 18) if 2**k <= top * 2 and 2**k >= (ordered[0] if ordered else 1) / 2]
    ax.set_xticks(ticks, [f"{t // 1024}k" if t >= 1024 else str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_title(title + (f" (reserve {reserve})" if reserve else ""))
    ax.set_xlabel("input tokens (log scale)")
    ax.set_ylabel("share of examples")
    ax.set_ylim(0, 1.02)
    fig.tight_layout()
    return save_figure(plt, fig, path)

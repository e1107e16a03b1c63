"""Results across runs: model x R-1/R-2/R-L, as Markdown and a bar chart.

Like the results table of the original QMSum experiments: one row per run
(model), mean F-measures in percent of ROUGE-1, ROUGE-2 and ROUGE-L, plus the
SCROLLS geometric mean. matplotlib is imported only to draw the chart. Files are
written through :mod:`qmsum_fast.files` (atomically).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .data.runs import load_run
from .evaluate import GEOMETRIC_MEAN_TYPES, Settings, aggregate, geometric_mean, score_run
from .files import atomic_write
from .plots import save_figure

LABELS = {"rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L"}


@dataclass(frozen=True)
class ReportRow:
    name: str
    path: Path
    count: int
    fmeasures: dict[str, float]  # percent, per type in GEOMETRIC_MEAN_TYPES

    @property
    def geometric_mean(self) -> float:
        """SCROLLS' geometric mean of R-1, R-2 and R-L, in percent."""
        return geometric_mean(self.fmeasures)


def build_report(paths: Sequence[Path], use_stemmer: bool = True) -> list[ReportRow]:
    """Mean R-1/R-2/R-L F-measures (percent) of each run, in the order given."""
    settings = Settings(rouge_types=GEOMETRIC_MEAN_TYPES, use_stemmer=use_stemmer, bootstrap=0)
    rows = []
    for path in paths:
        run = load_run(path)
        means = aggregate(score_run(run, settings), settings)
        fmeasures = {t: 100 * float(means[t].mid.fmeasure) for t in GEOMETRIC_MEAN_TYPES}
        rows.append(ReportRow(run.name, Path(path), len(run.predictions), fmeasures))
    return _distinct_names(rows)


def _distinct_names(rows: list[ReportRow]) -> list[ReportRow]:
    """Runs of the same model are told apart by their file names."""
    names = [row.name for row in rows]
    return [
        ReportRow(f"{row.name} ({row.path})", row.path, row.count, row.fmeasures) if names.count(row.name) > 1 else row
        for row in rows
    ]


def markdown_table(rows: Sequence[ReportRow]) -> str:
    header = "| Model | n | " + " | ".join(LABELS[t] for t in GEOMETRIC_MEAN_TYPES) + " | Geo-mean |"
    lines = [header, "|" + "---|" + "--:|" * (len(GEOMETRIC_MEAN_TYPES) + 2)]
    for row in rows:
        cells = " | ".join(f"{row.fmeasures[t]:.2f}" for t in GEOMETRIC_MEAN_TYPES)
        lines.append(f"| {row.name} | {row.count} | {cells} | {row.geometric_mean:.2f} |")
    return "\n".join(lines)


def write_chart(rows: Sequence[ReportRow], path: Path) -> Path:
    """Grouped bars: one group per ROUGE type, one bar per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.5 + 1.2 * len(rows)), 4))
    for k, row in enumerate(rows):
        xs = [i + (k - (len(rows) - 1) / 2) * width for i in range(len(GEOMETRIC_MEAN_TYPES))]
        bars = ax.bar(xs, [row.fmeasures[t] for t in GEOMETRIC_MEAN_TYPES], width, label=row.name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(GEOMETRIC_MEAN_TYPES)), [LABELS[t] for t in GEOMETRIC_MEAN_TYPES])
    ax.set_ylabel("F-measure (%)")
    ax.set_title("ROUGE by model")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(plt, fig, path)


def write_markdown(rows: Sequence[ReportRow], path: Path) -> Path:
    """The Markdown table, written atomically."""
    return atomic_write(path, markdown_table(rows) + "\n")

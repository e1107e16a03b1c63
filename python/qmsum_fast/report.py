"""Results across runs: one table, rows = runs, columns = each metric's figures.

With the default metric, rouge-score, like the results table of the original
QMSum experiments: mean F-measures in percent of ROUGE-1, ROUGE-2 and ROUGE-L,
plus the SCROLLS geometric mean. Peer metrics (:mod:`qmsum_fast.metrics`) add
their own figures, printed as the peer prints them. matplotlib is imported only
to draw the chart. Files are written through :mod:`qmsum_fast.files` (atomically).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .data.runs import Run, load_predictions
from .evaluate import GEOMETRIC_MEAN_TYPES, Settings, aggregate, geometric_mean, score_run
from .faithfulness import faithfulness_result
from .files import atomic_write
from .metrics import ROUGE_SCORE, MetricResult, peer_metric
from .plots import save_figure

LABELS = {"rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L"}
GEO_MEAN = "Geo-mean"


@dataclass(frozen=True)
class ReportRow:
    name: str
    path: Path
    count: int
    results: tuple[MetricResult, ...]  # one per metric, in the order asked

    def result(self, metric: str) -> MetricResult | None:
        return next((r for r in self.results if r.metric == metric), None)


def build_report(
    paths: Sequence[Path],
    metrics: Sequence[str] = (ROUGE_SCORE,),
    use_stemmer: bool = True,
    max_depth: int | None = None,
    faithfulness: bool = False,
    judgments: Sequence[Path] = (),
) -> list[ReportRow]:
    """Each run's ``metrics``, in the order given, then with ``faithfulness``
    its mean faithfulness signals, then the judge's figures from each of
    ``judgments``. ``max_depth``: see :func:`~qmsum_fast.metrics.peer_metric`."""
    rows = []
    for path in paths:
        run = load_predictions(Path(path))
        results = tuple(
            rouge_score_result(run, use_stemmer) if metric == ROUGE_SCORE else peer_metric(run, metric, max_depth)
            for metric in metrics
        )
        if faithfulness:
            results += (faithfulness_result(run),)
        several = len(judgments) > 1
        results += tuple(
            judge_result(run, Path(judged), f"judge:{judged}" if several else "judge") for judged in judgments
        )
        rows.append(ReportRow(run.name, Path(path), len(run.predictions), results))
    return _distinct_names(rows)


def rouge_score_result(run: Run, use_stemmer: bool = True) -> MetricResult:
    """Mean R-1/R-2/R-L F-measures (percent) and their geometric mean, 2 decimals."""
    settings = Settings(rouge_types=GEOMETRIC_MEAN_TYPES, use_stemmer=use_stemmer, bootstrap=0)
    means = aggregate(score_run(run, settings), settings)
    fmeasures = {t: 100 * float(means[t].mid.fmeasure) for t in GEOMETRIC_MEAN_TYPES}
    figures = {LABELS[t]: fmeasures[t] for t in GEOMETRIC_MEAN_TYPES}
    figures[GEO_MEAN] = geometric_mean(fmeasures)
    return MetricResult(ROUGE_SCORE, GEO_MEAN, figures, tuple(figures), 2, {})


def judge_result(run: Run, judgments: Path, label: str = "judge") -> MetricResult:
    """The judge's mean recall, precision, fluency and score over the examples
    of ``run`` it judged, and how many it did not (no valid verdict, or not in
    ``judgments``), 3 decimals (docs/judge.md)."""
    from .judge import MEASURES, judge_example_scores

    scores = judge_example_scores(judgments, run.path)
    ids = [str(p.fields.get("id")) for p in run.predictions]
    judged = [scores[i] for i in ids if i in scores and scores[i]["score"] is not None]
    figures: dict[str, Any] = {
        measure: sum(float(s[measure] or 0.0) for s in judged) / len(judged) if judged else "n/a"
        for measure in MEASURES
    }
    figures["not judged"] = len(ids) - len(judged)
    return MetricResult(label, "score", figures, (*MEASURES, "not judged"), 3, {})


def _distinct_names(rows: list[ReportRow]) -> list[ReportRow]:
    """Runs of the same model are told apart by their file names."""
    names = [row.name for row in rows]
    return [replace(row, name=f"{row.name} ({row.path})") if names.count(row.name) > 1 else row for row in rows]


def markdown_table(rows: Sequence[ReportRow]) -> str:
    """One row per run; a column per figure of each metric, labelled by the
    figure's name (prefixed with the metric's when there are several)."""
    first = rows[0].results
    several = len(first) > 1
    labels = [f"{r.metric} {name}" if several else name for r in first for name in r.columns]
    lines = ["| Model | n | " + " | ".join(labels) + " |", "|---|" + "--:|" * (len(labels) + 1)]
    for row in rows:
        cells = " | ".join(result.text(name) for result in row.results for name in result.columns)
        lines.append(f"| {row.name} | {row.count} | {cells} |")
    return "\n".join(lines)


def write_chart(rows: Sequence[ReportRow], path: Path) -> Path:
    """Grouped bars of rouge-score's R-1/R-2/R-L: one group per type, one bar per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [LABELS[t] for t in GEOMETRIC_MEAN_TYPES]
    width = 0.8 / max(len(rows), 1)
    fig, ax = plt.subplots(figsize=(max(6, 1.5 + 1.2 * len(rows)), 4))
    for k, row in enumerate(rows):
        result = row.result(ROUGE_SCORE)
        if result is None:
            raise ValueError("the chart draws rouge-score's figures: score the runs with rouge-score")
        xs = [i + (k - (len(rows) - 1) / 2) * width for i in range(len(labels))]
        bars = ax.bar(xs, [result.figures[label] for label in labels], width, label=row.name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("F-measure (%)")
    ax.set_title("ROUGE by model")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(plt, fig, path)


def write_markdown(rows: Sequence[ReportRow], path: Path) -> Path:
    """The Markdown table, written atomically."""
    return atomic_write(path, markdown_table(rows) + "\n")

"""A run's faithfulness signals against the transcripts its predictions answer
(:mod:`qmsum_fast.fragments`: fragment coverage and density, novel n-gram
share), for ``score --faithfulness``, ``report --faithfulness`` and ``view``.
"""

from __future__ import annotations

from pathlib import Path

from .data.runs import Run
from .examples_of_runs import data_source, load_data, run_examples
from .fragments import Faithfulness, faithfulness_of, mean_signals
from .metrics import MetricResult

FAITHFULNESS = "faithfulness"


def run_faithfulness(run: Run, data_path: Path | None = None, split: str | None = None) -> list[Faithfulness]:
    """Each prediction's faithfulness signals against the transcript and query
    of the example it answers, in the run's order. The data and split are the
    ones the run's header names unless given (as ``view`` finds them)."""
    data, split = data_source([run], data_path, split)
    examples = run_examples(run, load_data(data, split))
    return faithfulness_of([p.prediction for p in run.predictions], examples)


def faithfulness_result(run: Run) -> MetricResult:
    """The run's mean faithfulness signals against its transcripts (coverage,
    density, share of novel 2-grams), 3 decimals."""
    means = mean_signals(run_faithfulness(run))
    return MetricResult(FAITHFULNESS, "coverage", dict(means), tuple(means), 3, {})

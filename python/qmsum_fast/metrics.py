"""ROUGE on QMSum as each leaderboard ecosystem computes it.

``score --metric`` and ``report --metric``. Each peer metric gives the peer's
own figures, under the peer's names, rounded (or printed) as the peer does;
``docs/leaderboards.md`` cites the file and version each rule comes from.

- ``scrolls``: the SCROLLS metric (``tau/scrolls`` ``metrics/scrolls.py``,
  config ``qmsum``): rouge-score without stemming, each type maxed over the
  references, mean x 100, ``scrolls_score`` the geometric mean of R-1, R-2,
  R-L, every figure rounded to 4 decimals. Its rougeLsum splits sentences with
  NLTK's pretrained Punkt; ours with :func:`~qmsum_fast.rouge.split_summary_sentences`
  (rougeLsum is not part of the headline).
- ``lm-eval-scrolls``: lm-evaluation-harness ``scrolls_qmsum``: the SCROLLS
  metric's rouge1, rouge2 and rougeL, named as in lm-eval's results.
- ``longbench``: LongBench's ``eval.py``: the ROUGE-L F of the ``rouge``
  package 1.0.1 (0.0 where it raises), best answer, ``round(100 * total / n, 2)``.
- ``lm-eval-longbench``: lm-evaluation-harness ``longbench_qmsum``: the same
  score of the stripped prediction, mean and standard error as fractions.

Per-example scores come from the Rust core; the aggregation is the peer's own
Python arithmetic (``sum``, ``round``), so figures are equal to the peer's run
on the same interpreter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._core import longbench_rouge_scores
from .data.runs import Run
from .rouge import RougeScorer

ROUGE_SCORE = "rouge-score"
PEER_METRICS = ("scrolls", "lm-eval-scrolls", "longbench", "lm-eval-longbench")
METRICS = (ROUGE_SCORE, *PEER_METRICS)

# rouge 1.0.1 backtracks its LCS recursively; Python raises RecursionError (and
# the peer scores 0.0) once the stack is full. The backtrack frames that fit under
# Python's default limit of 1000: LongBench's eval.py run as a script, measured on
# CPython 3.11-3.13 (990 on 3.7-3.10); lm-eval's `lm-eval run` console script
# holds 9 more frames above the call (counted in the source of lm_eval 0.4.13).
LONGBENCH_MAX_DEPTH = 991
LM_EVAL_MAX_DEPTH = 982
DEFAULT_MAX_DEPTH = {"longbench": LONGBENCH_MAX_DEPTH, "lm-eval-longbench": LM_EVAL_MAX_DEPTH}

TITLES = {
    "scrolls": "SCROLLS (tau/scrolls metrics/scrolls.py, qmsum): rouge-score without stemmer, "
    "best reference, mean x 100, 4 decimals",
    "lm-eval-scrolls": "lm-evaluation-harness scrolls_qmsum (the SCROLLS metric)",
    "longbench": "LongBench eval.py: rouge 1.0.1 ROUGE-L F, best answer, mean x 100, 2 decimals",
    "lm-eval-longbench": "lm-evaluation-harness longbench_qmsum: rouge 1.0.1 ROUGE-L F of the stripped "
    "prediction, best answer, mean (fraction)",
}

_SCROLLS_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_SCROLLS_DISPLAY = ("rouge/rouge1", "rouge/rouge2", "rouge/rougeL")
_LM_EVAL_SCROLLS = ("rouge1", "rouge2", "rougeL")
_LM_EVAL_LONGBENCH = ("score", "rouge_score")
# lm-eval names each result "<metric>,<filter>"; these tasks use no filter.
_NO_FILTER = ",none"


@dataclass(frozen=True)
class MetricResult:
    """One metric's figures for one run.

    ``figures``: the peer's names and values as the peer reports them;
    ``headline``: the name of the peer's headline figure; ``columns``: the
    figures a table shows, in order; ``decimals``: how the peer prints numbers;
    ``stderr``: figure name -> the name of its standard error (lm-eval)."""

    metric: str
    headline: str
    figures: dict[str, Any]
    columns: tuple[str, ...]
    decimals: int
    stderr: dict[str, str]

    @property
    def score(self) -> Any:
        return self.figures[self.headline]

    def as_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "score": self.score, **self.figures}

    def text(self, name: str) -> str:
        """A figure as the peer prints it (lm-eval: ``value ± stderr``)."""
        value = _format(self.figures[name], self.decimals)
        if name in self.stderr:
            value += " ± " + _format(self.figures[self.stderr[name]], self.decimals)
        return value


def _format(value: Any, decimals: int) -> str:
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def parse_metrics(values: Sequence[str]) -> tuple[str, ...]:
    """Metric names from repeated and comma-separated option values, in order,
    each once; an unknown name raises ValueError."""
    names: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name:
                continue
            if name not in METRICS:
                raise ValueError(f"unknown metric {name!r} (choose from {', '.join(METRICS)})")
            if name not in names:
                names.append(name)
    return tuple(names)


def peer_metric(run: Run, metric: str, max_depth: int | None = None) -> MetricResult:
    """``metric`` (one of :data:`PEER_METRICS`) of ``run``. ``max_depth``: the
    backtrack frames rouge 1.0.1 may nest (longbench metrics; default: the peer's,
    :data:`DEFAULT_MAX_DEPTH`; 0: no limit)."""
    if metric == "scrolls":
        return scrolls(run)
    if metric == "lm-eval-scrolls":
        return lm_eval_scrolls(run)
    depth = DEFAULT_MAX_DEPTH[metric] if max_depth is None else max_depth or None
    if metric == "longbench":
        return longbench(run, depth)
    if metric == "lm-eval-longbench":
        return lm_eval_longbench(run, depth)
    raise ValueError(f"unknown metric {metric!r}")


# --- SCROLLS and lm-eval's scrolls_qmsum ------------------------------------------------


def scrolls_example_scores(run: Run) -> dict[str, list[float]]:
    """Per type, each example's best F-measure x 100 over its references, as
    SCROLLS' ``_compute_helper`` keeps it (rouge-score, no stemmer; rougeLsum on
    the sentences of our splitter, SCROLLS' ``postprocess_text`` uses Punkt)."""
    scorer = RougeScorer(_SCROLLS_TYPES, use_stemmer=False, split_summaries=True)
    rows = scorer.score_batch([list(p.references) for p in run.predictions], [p.prediction for p in run.predictions])
    return {t: [row[t].fmeasure * 100 for row in rows] for t in _SCROLLS_TYPES}


def scrolls(run: Run) -> MetricResult:
    """The SCROLLS metric's figures for config ``qmsum``."""
    means = {t: sum(values) / len(values) for t, values in scrolls_example_scores(run).items()}
    means["geometric_mean"] = (means["rouge1"] * means["rouge2"] * means["rougeL"]) ** (1.0 / 3.0)
    figures: dict[str, Any] = {f"rouge/{name}": value for name, value in means.items()}
    lengths = [len(p.prediction) for p in run.predictions]
    figures["num_predicted"] = len(lengths)
    figures["mean_prediction_length_characters"] = sum(lengths) / len(lengths)
    figures = {name: round(value, 4) for name, value in figures.items()}
    figures["scrolls_score"] = figures["rouge/geometric_mean"]
    figures["display_keys"] = list(_SCROLLS_DISPLAY)
    figures["display"] = [figures[name] for name in _SCROLLS_DISPLAY]
    return MetricResult("scrolls", "scrolls_score", figures, (*_SCROLLS_DISPLAY, "scrolls_score"), 4, {})


def lm_eval_scrolls(run: Run) -> MetricResult:
    """lm-eval's ``scrolls_qmsum`` results: the SCROLLS metric's values; its
    aggregation has no standard error ("N/A")."""
    computed = scrolls(run).figures
    figures: dict[str, Any] = {}
    for name in _LM_EVAL_SCROLLS:
        figures[name + _NO_FILTER] = computed[f"rouge/{name}"]
        figures[name + "_stderr" + _NO_FILTER] = "N/A"
    columns = tuple(name + _NO_FILTER for name in _LM_EVAL_SCROLLS)
    stderr = {name + _NO_FILTER: name + "_stderr" + _NO_FILTER for name in _LM_EVAL_SCROLLS}
    return MetricResult("lm-eval-scrolls", columns[0], figures, columns, 4, stderr)


# --- LongBench and lm-eval's longbench_qmsum ------------------------------------------


def longbench_example_scores(run: Run, max_depth: int | None, *, strip: bool = False) -> list[float]:
    """Each example's best rouge 1.0.1 ROUGE-L F over its references (0.0 where
    rouge raises); ``strip``: of the stripped prediction, as lm-eval scores it."""
    predictions = [p.prediction.strip() if strip else p.prediction for p in run.predictions]
    return longbench_rouge_scores(predictions, [list(p.references) for p in run.predictions], max_depth)


def longbench(run: Run, max_depth: int | None = LONGBENCH_MAX_DEPTH) -> MetricResult:
    """LongBench's ``scorer``: the result.json entry ``"qmsum"``."""
    scores = longbench_example_scores(run, max_depth)
    total_score = 0.0
    for score in scores:  # a running sum, as eval.py adds (not sum(), which Python 3.12 compensates)
        total_score += score
    figures = {"qmsum": round(100 * total_score / len(scores), 2)}
    return MetricResult("longbench", "qmsum", figures, ("qmsum",), 2, {})


def lm_eval_longbench(run: Run, max_depth: int | None = LM_EVAL_MAX_DEPTH) -> MetricResult:
    """lm-eval's ``longbench_qmsum`` results: ``score`` and ``rouge_score`` (the same
    per-example values) with lm-eval's ``mean`` and ``mean_stderr``."""
    scores = longbench_example_scores(run, max_depth, strip=True)
    mean = sum(scores) / len(scores)
    stderr: Any = _mean_stderr(scores, mean) if len(scores) > 1 else "N/A"
    figures: dict[str, Any] = {}
    for name in _LM_EVAL_LONGBENCH:
        figures[name + _NO_FILTER] = mean
        figures[name + "_stderr" + _NO_FILTER] = stderr
    columns = tuple(name + _NO_FILTER for name in _LM_EVAL_LONGBENCH)
    stderrs = {name + _NO_FILTER: name + "_stderr" + _NO_FILTER for name in _LM_EVAL_LONGBENCH}
    return MetricResult("lm-eval-longbench", columns[0], figures, columns, 4, stderrs)


def _mean_stderr(values: list[float], mean: float) -> float:
    """lm-eval's ``mean_stderr``: the sample standard deviation over sqrt(n)."""
    sample_stddev = math.sqrt(sum([(x - mean) ** 2 for x in values]) / (len(values) - 1))
    return sample_stddev / math.sqrt(len(values))


def render(result: MetricResult, count: int) -> str:
    """Text lines: the metric, then each figure (lists left to JSON) as the peer prints it."""
    shown_with = set(result.stderr.values())
    names = [n for n, v in result.figures.items() if n not in shown_with and not isinstance(v, list)]
    width = max(len(name) for name in names)
    lines = [TITLES[result.metric], f"{count} examples; headline: {result.headline}", ""]
    lines += [f"{name:<{width}}  {result.text(name)}" for name in names]
    return "\n".join(lines)

"""Scoring runs: per-example ROUGE, bootstrap intervals, groups, tables.

Behind ``qmsum-fast score`` and ``qmsum-fast report``. Per-example scores are
rouge-score's (best reference by F-measure per type when there are several).
Intervals resample either meetings (``resample="meeting"``: the plain mean and
the cluster bootstrap of :mod:`qmsum_fast.resample`; the queries about one
meeting are not independent) or examples (``"example"``: rouge-score's own
bootstrap, :class:`~qmsum_fast.rouge.BootstrapAggregator`, so its figures stay
equal to rouge-score's).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .data.runs import Run
from .errors import InputError
from .resample import RESAMPLE_EXAMPLE, RESAMPLE_MEETING, bootstrap_interval
from .rouge import AggregateScore, BootstrapAggregator, RougeScorer, Score

DEFAULT_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
GEOMETRIC_MEAN_TYPES = ("rouge1", "rouge2", "rougeL")
MEASURES = ("precision", "recall", "fmeasure")


def geometric_mean(fmeasures: Mapping[str, float]) -> float:
    """SCROLLS' summary figure: the geometric mean of the R-1, R-2 and R-L
    F-measures in ``fmeasures``, in the unit they are given in (fractions give
    a fraction, percentages a percentage)."""
    return math.prod(float(fmeasures[t]) for t in GEOMETRIC_MEAN_TYPES) ** (1 / 3)


@dataclass(frozen=True)
class Group:
    """Aggregated scores of a set of examples (``label`` is ``all`` or ``field=value``)."""

    label: str
    count: int
    scores: dict[str, AggregateScore]

    @property
    def geometric_mean(self) -> float | None:
        """:func:`geometric_mean` of the mid F-measures; None unless R-1, R-2 and R-L were computed."""
        if not all(t in self.scores for t in GEOMETRIC_MEAN_TYPES):
            return None
        return geometric_mean({t: self.scores[t].mid.fmeasure for t in GEOMETRIC_MEAN_TYPES})


@dataclass(frozen=True)
class Settings:
    rouge_types: tuple[str, ...] = DEFAULT_TYPES
    use_stemmer: bool = True
    split_sentences: bool = False
    bootstrap: int = 1000
    seed: int | None = 0
    confidence_interval: float = 0.95
    # What the bootstrap resamples: RESAMPLE_EXAMPLE (rouge-score's method, the
    # drop-in default of this API) or RESAMPLE_MEETING (needs each example's meeting).
    resample: str = RESAMPLE_EXAMPLE


def score_run(run: Run, settings: Settings) -> list[dict[str, Score]]:
    """Per-example scores of a run, computed in parallel."""
    try:
        scorer = RougeScorer(settings.rouge_types, settings.use_stemmer, settings.split_sentences)
    except ValueError as exc:
        raise InputError(f"--rouge-types: {exc}") from None
    targets = [list(p.references) for p in run.predictions]
    return scorer.score_batch(targets, [p.prediction for p in run.predictions])


def aggregate(
    scores: Sequence[dict[str, Score]], settings: Settings, meetings: Sequence[Hashable] | None = None
) -> dict[str, AggregateScore]:
    """Bootstrap intervals of the mean; without bootstrap, low = mid = high = the mean.
    With ``settings.resample`` meeting, ``mid`` is the mean and the interval
    resamples the ``meetings`` (one per example)."""
    means = {}
    for score_type in settings.rouge_types:
        mean = Score(*np.mean(np.vstack([s[score_type] for s in scores]), axis=0))
        means[score_type] = AggregateScore(mean, mean, mean)
    if settings.bootstrap == 0:
        return means
    if settings.resample == RESAMPLE_MEETING:
        if meetings is None or len(meetings) != len(scores):
            raise ValueError("resampling meetings needs the meeting of every example")
        return _meeting_intervals(scores, settings, meetings, means)
    aggregator = BootstrapAggregator(settings.confidence_interval, settings.bootstrap, settings.seed)
    aggregator.add_batch(scores)
    return aggregator.aggregate()


def _meeting_intervals(
    scores: Sequence[dict[str, Score]],
    settings: Settings,
    meetings: Sequence[Hashable],
    means: dict[str, AggregateScore],
) -> dict[str, AggregateScore]:
    columns = {
        (score_type, measure): [s[score_type][k] for s in scores]
        for score_type in settings.rouge_types
        for k, measure in enumerate(MEASURES)
    }
    seed = 0 if settings.seed is None else settings.seed
    bounds = bootstrap_interval(columns, meetings, settings.bootstrap, seed, settings.confidence_interval)
    result = {}
    for score_type in settings.rouge_types:
        low = Score(*(bounds[score_type, measure][0] for measure in MEASURES))
        high = Score(*(bounds[score_type, measure][1] for measure in MEASURES))
        result[score_type] = AggregateScore(low, means[score_type].mid, high)
    return result


def evaluate(
    run: Run, settings: Settings, by: Sequence[str] = (), meetings: Sequence[Hashable] | None = None
) -> list[Group]:
    """The ``all`` group, then one group per value of each field in ``by``.
    ``meetings``: each prediction's meeting (needed to resample meetings)."""
    check_fields(run, by)
    scores = score_run(run, settings)
    groups = [Group("all", len(scores), aggregate(scores, settings, meetings))]
    for field in by:
        members: dict[str, list[int]] = {}
        for index, prediction in enumerate(run.predictions):
            members.setdefault(str(prediction.fields[field]), []).append(index)
        for value in sorted(members):
            chosen = members[value]
            subset = None if meetings is None else [meetings[i] for i in chosen]
            aggregate_scores = aggregate([scores[i] for i in chosen], settings, subset)
            groups.append(Group(f"{field}={value}", len(chosen), aggregate_scores))
    return groups


def check_fields(run: Run, by: Sequence[str]) -> None:
    """Refuses a run whose predictions lack a ``--by`` field, naming the first."""
    for field in by:
        for prediction in run.predictions:
            if field not in prediction.fields:
                line = prediction.fields.get("line", "?")
                raise InputError(f"{run.path}:{line}: no '{field}' field (needed by --by)")


def group_json(group: Group) -> dict:
    """Per type and measure, ``low``/``mid``/``high`` as fractions (rouge-score's aggregate)."""
    payload: dict = {
        score_type: {
            measure: {bound: float(getattr(getattr(agg, bound), measure)) for bound in ("low", "mid", "high")}
            for measure in MEASURES
        }
        for score_type, agg in group.scores.items()
    }
    payload["count"] = group.count
    payload["geometric_mean"] = group.geometric_mean
    return payload


def render_table(groups: Sequence[Group], settings: Settings) -> str:
    """Text tables in percent: P/R/F of all examples, then F per group."""
    interval = (
        f"{settings.confidence_interval:.0%} bootstrap interval {resampling_text(settings.resample)}, "
        f"{settings.bootstrap} samples, seed {settings.seed}"
        if settings.bootstrap
        else "no bootstrap: means only"
    )
    lines = [
        f"ROUGE in % ({interval}; stemmer {'on' if settings.use_stemmer else 'off'}"
        f"{'; sentence splitting' if settings.split_sentences else ''})",
        "",
        f"{'type':<10} {'precision':>21} {'recall':>21} {'F-measure':>21}",
    ]
    overall = groups[0]
    for score_type, agg in overall.scores.items():
        cells = [_cell(agg, measure, settings) for measure in MEASURES]
        lines.append(f"{score_type:<10} " + " ".join(f"{c:>21}" for c in cells))
    label_width = max(12, *(len(g.label) for g in groups))
    header = f"{'group':<{label_width}} {'n':>5} " + " ".join(f"{t:>21}" for t in overall.scores)
    lines += ["", "F-measure by group:", header + f" {'geo-mean':>9}"]
    for group in groups:
        fmeasures = " ".join(f"{_cell(group.scores[t], 'fmeasure', settings):>21}" for t in overall.scores)
        geo = group.geometric_mean
        geo_text = "-" if geo is None else f"{100 * geo:.2f}"
        lines.append(f"{group.label:<{label_width}} {group.count:>5} {fmeasures} {geo_text:>9}")
    return "\n".join(lines)


def resampling_text(resample: str) -> str:
    """How a table's header names what its intervals resample."""
    if resample == RESAMPLE_MEETING:
        return "resampling meetings (mid: the mean)"
    return "resampling examples (rouge-score's)"


def _cell(agg: AggregateScore, measure: str, settings: Settings) -> str:
    mid = 100 * float(getattr(agg.mid, measure))
    if not settings.bootstrap:
        return f"{mid:.2f}"
    low = 100 * float(getattr(agg.low, measure))
    high = 100 * float(getattr(agg.high, measure))
    return f"{mid:.2f} [{low:.2f}-{high:.2f}]"

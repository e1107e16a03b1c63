"""Runs against a baseline on their common examples: paired differences with
meeting-resampled intervals, sign-flip tests by meeting, Holm's adjustment,
wins/ties/losses and the design effect (``qmsum-fast compare``; the
statistics are :mod:`qmsum_fast.resample`'s, docs/statistics.md).

Per-example scores come from the scoring code each metric already has, one
*score source* per metric (:data:`SCORE_SOURCES`): a function of a run, the
ids of its predictions and :class:`ScoreOptions` that returns ``{example id:
{type: value}}`` in fractions. Another per-example metric plugs in by adding
its source there. Each prediction's id and meeting come from its stable id
(``test/Bed003/s2``), else from matching the run against its data
(:func:`qmsum_fast.examples_of_runs.run_examples`), so peer prediction files compare too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .data import load_examples
from .data.model import parse_example_id
from .data.runs import Prediction, Run
from .errors import InputError
from .evaluate import DEFAULT_TYPES, MEASURES, Settings, score_run
from .examples_of_runs import data_source, run_examples
from .judge import JUDGE_PREFIX, judge_example_scores
from .judge import MEASURES as JUDGE_MEASURES
from .metrics import DEFAULT_MAX_DEPTH, ROUGE_SCORE, longbench_example_scores, scrolls_example_scores
from .resample import EXACT_MAX_CLUSTERS, bootstrap_interval, clustered_variance, holm, sign_flip_test

# How many missing ids an error or note names before it only counts the rest.
SHOWN_IDS = 10


# --- which example, which meeting ----------------------------------------------------------


def example_meetings(run: Run, data_path: Path | None = None, split: str | None = None) -> list[tuple[str, str]]:
    """``(id, meeting)`` of each prediction, in the run's order. Stable ids
    name both; otherwise the predictions are matched against the data (``--data``
    and ``--split``, else what the run's header records, else the bundled test
    split). Meetings are named ``split/meeting``."""
    stable = [_stable_id(p) for p in run.predictions]
    if all(item is not None for item in stable):
        return [item for item in stable if item is not None]
    data, split = data_source([run], data_path, split)
    try:
        examples = load_examples(data, split=split)
    except InputError as exc:
        raise InputError(f"{run.path}: its meetings need its data: {exc} (give --data and --split)") from None
    return [(example.id, f"{example.split}/{example.meeting}") for example in run_examples(run, examples)]


def _stable_id(prediction: Prediction) -> tuple[str, str] | None:
    value = prediction.fields.get("id")
    parsed = parse_example_id(value) if isinstance(value, str) else None
    if parsed is None or not isinstance(value, str):
        return None
    split, meeting, _, _ = parsed
    return value, f"{split}/{meeting}"


# --- per-example scores --------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreOptions:
    """What a score source needs besides the run."""

    measure: str = "fmeasure"  # rouge-score: precision, recall or fmeasure
    use_stemmer: bool = True  # rouge-score
    max_depth: int | None = None  # longbench metrics (None: the peer's default; 0: no limit)


ExampleScores = dict[str, dict[str, float]]
ScoreSource = Callable[[Run, Sequence[str], ScoreOptions], ExampleScores]


def rouge_score_source(run: Run, ids: Sequence[str], options: ScoreOptions) -> ExampleScores:
    """rouge-score's per-example scores (best reference by F-measure), the chosen measure."""
    settings = Settings(DEFAULT_TYPES, options.use_stemmer)
    measure = MEASURES.index(options.measure)
    rows = score_run(run, settings)
    return {key: {t: float(row[t][measure]) for t in DEFAULT_TYPES} for key, row in zip(ids, rows)}


def scrolls_source(run: Run, ids: Sequence[str], options: ScoreOptions) -> ExampleScores:
    """The SCROLLS metric's per-example R-1, R-2 and R-L F-measures, as fractions."""
    columns = scrolls_example_scores(run)
    types = ("rouge1", "rouge2", "rougeL")
    return {key: {t: columns[t][i] / 100 for t in types} for i, key in enumerate(ids)}


def _longbench_source(metric: str) -> ScoreSource:
    def source(run: Run, ids: Sequence[str], options: ScoreOptions) -> ExampleScores:
        depth = DEFAULT_MAX_DEPTH[metric] if options.max_depth is None else options.max_depth or None
        values = longbench_example_scores(run, depth, strip=metric == "lm-eval-longbench")
        return {key: {"rougeL": value} for key, value in zip(ids, values)}

    source.__doc__ = f"{metric}'s per-example ROUGE-L F (rouge 1.0.1), a fraction."
    return source


SCORE_SOURCES: dict[str, ScoreSource] = {
    ROUGE_SCORE: rouge_score_source,
    "scrolls": scrolls_source,
    "lm-eval-scrolls": scrolls_source,
    "longbench": _longbench_source("longbench"),
    "lm-eval-longbench": _longbench_source("lm-eval-longbench"),
}


def judge_source(judgments: Path) -> ScoreSource:
    """``judge:FILE``: the judge's per-example score, recall, precision and
    fluency; an example the judge left without a verdict has no scores (it is
    left out, never counted as 0)."""

    def source(run: Run, ids: Sequence[str], options: ScoreOptions) -> ExampleScores:
        judged = judge_example_scores(judgments, run.path)
        return {
            key: {m: float(value) for m in JUDGE_MEASURES if (value := judged[key][m]) is not None}
            for key in ids
            if key in judged and judged[key]["score"] is not None
        }

    return source


def source_of(metric: str) -> ScoreSource:
    """The score source of ``--metric`` (``judge:FILE`` included)."""
    if metric.startswith(JUDGE_PREFIX):
        return judge_source(Path(metric[len(JUDGE_PREFIX) :]))
    source = SCORE_SOURCES.get(metric)
    if source is None:
        raise InputError(f"--metric {metric} has no per-example scores to compare")
    return source


@dataclass(frozen=True)
class ScoredRun:
    """One run's per-example scores under one metric, by example id."""

    label: str
    path: Path
    ids: list[str]  # in the run's order
    meetings: dict[str, str]
    scores: ExampleScores
    fields: dict[str, dict]
    unscored: list[str] = field(default_factory=list)  # ids the metric gave no score (a judge's unjudged)


def score_examples(
    run: Run, label: str, metric: str, options: ScoreOptions, data_path: Path | None = None, split: str | None = None
) -> ScoredRun:
    """``run``'s per-example scores from the metric's score source. Examples
    without scores (a judge's unjudged ones) are left out, like missing ones."""
    source = source_of(metric)
    keyed = example_meetings(run, data_path, split)
    ids = [key for key, _ in keyed]
    scores = source(run, ids, options)
    fields = {key: p.fields for key, p in zip(ids, run.predictions)}
    scored = [key for key in ids if key in scores]
    if not scored:
        raise InputError(f"{run.path}: no example has {metric} scores")
    meetings = dict(keyed)
    unscored = [key for key in ids if key not in scores]
    return ScoredRun(label, run.path, scored, {key: meetings[key] for key in scored}, scores, fields, unscored)


# --- comparisons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareSettings:
    samples: int = 10_000
    seed: int = 0
    confidence: float = 0.95
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class TypeComparison:
    """RUN − BASE for one type, in fractions."""

    baseline: float
    run: float
    difference: float
    low: float
    high: float
    p_value: float
    p_holm: float
    wins: int
    ties: int
    losses: int
    meeting_wins: int
    meeting_ties: int
    meeting_losses: int
    design_effect: float | None
    minimum_detectable: float | None


@dataclass(frozen=True)
class GroupComparison:
    label: str  # "all" or "field=value"
    n: int
    meetings: int
    exact: bool  # the p-values enumerate every sign vector
    types: dict[str, TypeComparison]


@dataclass(frozen=True)
class Comparison:
    """One run against the baseline."""

    run: str
    path: Path
    only_baseline: list[str]  # ids the run lacks
    only_run: list[str]  # ids the baseline lacks
    groups: list[GroupComparison] = field(default_factory=list)

    def as_json(self) -> dict:
        overall = self.groups[0]
        payload = {
            "run": self.run,
            "path": str(self.path),
            "n": overall.n,
            "meetings": overall.meetings,
            "exact": overall.exact,
            "missing": {"run": self.only_baseline, "baseline": self.only_run},
            "types": {t: asdict(c) for t, c in overall.types.items()},
        }
        if len(self.groups) > 1:
            payload["groups"] = {
                g.label: {
                    "n": g.n,
                    "meetings": g.meetings,
                    "exact": g.exact,
                    "types": {t: asdict(c) for t, c in g.types.items()},
                }
                for g in self.groups[1:]
            }
        return payload


def missing_ids(base: ScoredRun, run: ScoredRun) -> tuple[list[str], list[str]]:
    """The ids only the baseline has, and those only the run has."""
    in_run, in_base = set(run.ids), set(base.ids)
    return [i for i in base.ids if i not in in_run], [i for i in run.ids if i not in in_base]


def describe_missing(base: ScoredRun, run: ScoredRun, only_base: list[str], only_run: list[str]) -> str:
    """One line naming the ids one side lacks."""
    parts = []
    if only_base:
        parts.append(f"{run.path} lacks {len(only_base)} of the baseline's examples: {_named(only_base)}")
    if only_run:
        parts.append(f"{base.path} lacks {len(only_run)} of {run.path}'s examples: {_named(only_run)}")
    return "; ".join(parts)


def _named(ids: list[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def compare_runs(base: ScoredRun, runs: Sequence[ScoredRun], settings: CompareSettings) -> list[Comparison]:
    """Each run against ``base`` on their common examples, overall and per
    ``settings.by`` group; p-values Holm-adjusted across the runs per group and type."""
    comparisons = [_compare(base, run, settings) for run in runs]
    return _with_holm(comparisons)


def _compare(base: ScoredRun, run: ScoredRun, settings: CompareSettings) -> Comparison:
    only_base, only_run = missing_ids(base, run)
    common = [i for i in base.ids if i in run.meetings]
    if not common:
        raise InputError(f"{run.path} and {base.path} share no example")
    for key in common:
        if base.meetings[key] != run.meetings[key]:
            raise InputError(
                f"{run.path}: example {key} is about meeting {run.meetings[key]}, "
                f"but {base.path} says {base.meetings[key]}"
            )
    types = [t for t in base.scores[common[0]] if t in run.scores[common[0]]]
    groups = [_compare_group("all", common, base, run, types, settings)]
    for name in settings.by:
        members: dict[str, list[str]] = {}
        for key in common:
            members.setdefault(_field_value(base, run, key, name), []).append(key)
        groups += [
            _compare_group(f"{name}={value}", members[value], base, run, types, settings) for value in sorted(members)
        ]
    return Comparison(run.label, run.path, only_base, only_run, groups)


def _field_value(base: ScoredRun, run: ScoredRun, key: str, name: str) -> str:
    for scored in (base, run):
        if name in scored.fields[key]:
            return str(scored.fields[key][name])
    raise InputError(f"{base.path}: example {key} has no '{name}' field (needed by --by)")


def _compare_group(
    label: str, ids: list[str], base: ScoredRun, run: ScoredRun, types: list[str], settings: CompareSettings
) -> GroupComparison:
    meetings = [base.meetings[key] for key in ids]
    differences = {t: [run.scores[key][t] - base.scores[key][t] for key in ids] for t in types}
    bounds = bootstrap_interval(differences, meetings, settings.samples, settings.seed, settings.confidence)
    p_values, exact = sign_flip_test(differences, meetings, settings.samples, settings.seed)
    result = {}
    for t in types:
        variance = clustered_variance(differences[t], meetings)
        by_meeting: dict[str, float] = {}
        for meeting, d in zip(meetings, differences[t]):
            by_meeting[meeting] = by_meeting.get(meeting, 0.0) + d
        result[t] = TypeComparison(
            baseline=_mean([base.scores[key][t] for key in ids]),
            run=_mean([run.scores[key][t] for key in ids]),
            difference=variance.mean,
            low=bounds[t][0],
            high=bounds[t][1],
            p_value=p_values[t],
            p_holm=p_values[t],
            **_wins(differences[t], ""),
            **_wins(list(by_meeting.values()), "meeting_"),
            design_effect=variance.design_effect,
            minimum_detectable=variance.minimum_detectable,
        )
    return GroupComparison(label, len(ids), len(set(meetings)), exact, result)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _wins(differences: list[float], prefix: str) -> dict[str, int]:
    return {
        prefix + "wins": sum(d > 0 for d in differences),
        prefix + "ties": sum(d == 0 for d in differences),
        prefix + "losses": sum(d < 0 for d in differences),
    }


def _with_holm(comparisons: list[Comparison]) -> list[Comparison]:
    """Holm's adjustment over the runs, for each group label and type."""
    family: dict[tuple[str, str], list[TypeComparison]] = {}
    for comparison in comparisons:
        for group in comparison.groups:
            for t, c in group.types.items():
                family.setdefault((group.label, t), []).append(c)
    adjusted: dict[int, float] = {}
    for members in family.values():
        for member, q in zip(members, holm([m.p_value for m in members])):
            adjusted[id(member)] = q
    for comparison in comparisons:
        for group in comparison.groups:
            for t, c in group.types.items():
                group.types[t] = replace(c, p_holm=adjusted[id(c)])
    return comparisons


# --- output --------------------------------------------------------------------------------


def comparison_json(base: ScoredRun, comparisons: Sequence[Comparison], header: Mapping) -> dict:
    """``{"baseline": ..., "comparisons": [...]}`` with the settings in ``header``."""
    return {"baseline": base.label, "path": str(base.path), **header, "comparisons": [c.as_json() for c in comparisons]}


def markdown_table(base: ScoredRun, comparisons: Sequence[Comparison], caption: str) -> str:
    """One row per run, group and type; figures in percent."""
    lines = [
        caption,
        "",
        "| run | group | n | meetings | type | baseline | run | difference [interval] | p | p Holm "
        "| examples W/T/L | meetings W/T/L | design effect | detectable |",
        "|---|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for comparison in comparisons:
        for group in comparison.groups:
            for t, c in group.types.items():
                lines.append(
                    f"| {comparison.run} | {group.label} | {group.n} | {group.meetings} | {t} "
                    f"| {100 * c.baseline:.2f} | {100 * c.run:.2f} "
                    f"| {100 * c.difference:+.2f} [{100 * c.low:+.2f}, {100 * c.high:+.2f}] "
                    f"| {_p(c.p_value)} | {_p(c.p_holm)} | {c.wins}/{c.ties}/{c.losses} "
                    f"| {c.meeting_wins}/{c.meeting_ties}/{c.meeting_losses} "
                    f"| {_optional(c.design_effect, 1, '.2f')} | {_optional(c.minimum_detectable, 100, '.2f')} |"
                )
    return "\n".join(lines)


def _p(value: float) -> str:
    return f"{value:.4f}" if value >= 0.001 else f"{value:.1e}"


def _optional(value: float | None, scale: float, spec: str) -> str:
    return "–" if value is None else format(scale * value, spec)


def exact_note(comparisons: Sequence[Comparison], samples: int) -> str:
    """How the p-values were found."""
    exact = {group.exact for c in comparisons for group in c.groups}
    if exact == {True}:
        return f"exact (every sign vector; at most {EXACT_MAX_CLUSTERS} meetings)"
    if exact == {False}:
        return f"{samples} seeded sign-flip draws"
    return f"exact up to {EXACT_MAX_CLUSTERS} meetings, else {samples} seeded sign-flip draws"

"""``qmsum-fast view``: runs side by side in one self-contained HTML file.

:func:`build_view` reads the runs (anything ``score`` reads, through
:mod:`qmsum_fast.data.runs`), the examples they answer (through
:func:`~qmsum_fast.data.load_examples`), and computes everything the page
shows; :func:`render_html` writes it into the page template
(``view_assets/``: HTML, CSS and JavaScript, all inlined, so the file opens
from disk with no server and no network).

What is computed here, so that the page only displays it:

- headline figures of each run and of each domain and query type, as
  ``report`` computes them (:func:`qmsum_fast.report.rouge_score_result`, or
  the peer's :func:`qmsum_fast.metrics.peer_metric`);
- per-example scores: rouge-score's F-measures (always) and the chosen peer
  metric's per-example values;
- the words ROUGE-1 counted: each prediction token is marked while the best
  reference still has an unmatched copy of it (and the reference's tokens
  the same way), so a prediction has exactly ``overlap`` marked tokens and
  its ROUGE-1 precision is ``marked / tokens``;
- with several runs, each run's paired difference from the first per type
  of the chosen metric, with its 95% interval and sign-flip p-value, both
  resampling meetings (``resample``; :mod:`qmsum_fast.resample`);
- faithfulness signals (:mod:`qmsum_fast.fragments`): fragment coverage and
  density against the transcript and the novel bigram share;
- the gold spans and, where a run chose turns (``--input gold`` or
  ``locator``), the turns it fed the model, as its records say (runs
  written before records said so show none, and the note says why).
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import __version__
from .data import DOMAINS, QUERY_TYPES, Example, turn_text
from .data.runs import Prediction, Run, load_predictions, load_run, read_submission
from .errors import InputError
from .examples_of_runs import data_source, load_data, run_examples
from .fragments import DEFAULT_NGRAM, Faithfulness, faithfulness_of, mean_signals
from .gen.config import HeaderError, RunConfig, ServedModel
from .metrics import (
    DEFAULT_MAX_DEPTH,
    ROUGE_SCORE,
    MetricResult,
    longbench_example_scores,
    peer_metric,
    scrolls_example_scores,
)
from .report import rouge_score_result
from .resample import RESAMPLE_MEETING, bootstrap_interval, sign_flip_test
from .rouge import RougeScorer, tokenize

ASSETS = Path(__file__).resolve().parent / "view_assets"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
# Per-example values the page can show and sort by: key, label, scale for display, decimals.
ROUGE_KEYS = (("r1", "R-1", 100, 2), ("r2", "R-2", 100, 2), ("rL", "R-L", 100, 2), ("rLsum", "R-Lsum", 100, 2))
SCROLLS_KEYS = (("s1", "rouge1", 1, 2), ("s2", "rouge2", 1, 2), ("sL", "rougeL", 1, 2))  # SCROLLS keeps percents
SCROLLS_TYPES = ("rouge1", "rouge2", "rougeL")
LONGBENCH_KEY = ("lb", "ROUGE-L", 100, 2)
FAITHFULNESS_KEYS = (
    ("cov", "coverage", 1, 3),
    ("den", "density", 1, 2),
    ("nov", f"novel {DEFAULT_NGRAM}-grams %", 100, 1),
    ("nt", "tokens", 1, 0),
    ("ni", "prompt tokens", 1, 0),
)
_TOKEN_RUN = re.compile(r"[a-z0-9]+")


# --- runs and their examples ------------------------------------------------------------


@dataclass(frozen=True)
class ViewRun:
    """One run as the page shows it: its label and its predictions by example id."""

    run: Run
    label: str
    examples: list[Example]  # parallel to run.predictions

    @property
    def config(self) -> dict:
        config = self.run.header.get("config")
        return config if isinstance(config, dict) else {}


def load_view_run(path: Path, reference_paths: Sequence[Path] = ()) -> Run:
    """A run as ``score`` reads it. ``reference_paths`` serve the files that
    hold no references: a SCROLLS / ZeroSCROLLS submission (its SCROLLS-format
    reference file) and plain-text predictions (plain-text references); runs
    and LongBench predictions carry their own."""
    path = Path(path)
    if reference_paths and (read_submission(path) is not None or not _looks_like_jsonl(path)):
        return load_predictions(path, reference_paths)
    return load_run(path)


def _looks_like_jsonl(path: Path) -> bool:
    from .data.jsonio import read_bytes  # as every reader: .gz decompressed, a byte-order mark dropped

    first = next((line for line in read_bytes(path).split(b"\n") if line.strip()), b"")
    return first.lstrip(b" \t").startswith(b"{")


def distinct_labels(runs: Sequence[Run]) -> list[str]:
    """Run names, told apart by their file names where two are the same."""
    names = [run.name for run in runs]
    labels = [f"{name} ({run.path.name})" if names.count(name) > 1 else name for name, run in zip(names, runs)]
    return [f"{label} #{i + 1}" if labels.count(label) > 1 else label for i, label in enumerate(labels)]


# --- the words ROUGE counted ---------------------------------------------------------------


def rouge_token_spans(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """rouge-score's unstemmed tokens of ``text`` and where each lies in it
    (code point offsets). rouge-score lowercases the whole text first, so a
    character whose lowercase is ASCII (the Kelvin sign; 'İ' gives 'i' and a
    combining dot) is part of a token."""
    if text.isascii():
        matches = list(_TOKEN_RUN.finditer(text.lower()))
        return [m.group() for m in matches], [m.span() for m in matches]
    lowered: list[str] = []
    origin: list[int] = []  # the text offset of each lowered character
    for offset, character in enumerate(text):
        lower = character.lower()
        lowered.append(lower)
        origin.extend([offset] * len(lower))
    joined = "".join(lowered)
    matches = list(_TOKEN_RUN.finditer(joined))
    return [m.group() for m in matches], [(origin[m.start()], origin[m.end() - 1] + 1) for m in matches]


def stemmed(tokens: Sequence[str], use_stemmer: bool) -> list[str]:
    """The tokens as ROUGE compares them (one stem per token)."""
    if not use_stemmer:
        return list(tokens)
    stems = tokenize(" ".join(tokens), use_stemmer=True)
    assert len(stems) == len(tokens), "every [a-z0-9] run is one stem"
    return stems


def counted(tokens: Sequence[str], other: Sequence[str]) -> list[bool]:
    """Marks each token while ``other`` still has an unmatched copy of it: as
    many marks per word as ROUGE-1's clipped overlap counts."""
    remaining = Counter(other)
    marks = []
    for token in tokens:
        marks.append(remaining[token] > 0)
        remaining[token] -= 1
    return marks


def best_reference(prediction: Sequence[str], references: Sequence[Sequence[str]]) -> int:
    """The reference rouge-score's ``score_multi`` picks for ROUGE-1: the
    highest F-measure, the first on ties (the same arithmetic as rouge-score)."""
    best, best_f = 0, -1.0
    for index, reference in enumerate(references):
        overlap = sum(counted(prediction, reference))
        precision = overlap / max(len(prediction), 1)
        recall = overlap / max(len(reference), 1)
        f = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        if f > best_f:
            best, best_f = index, f
    return best


def utf16_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Code point spans as JavaScript string offsets (UTF-16 code units)."""
    if len(text.encode("utf-16-le")) == 2 * len(text):
        return spans
    units = [0]
    for character in text:
        units.append(units[-1] + (2 if ord(character) > 0xFFFF else 1))
    return [(units[start], units[end]) for start, end in spans]


def packed_spans(text: str, spans: list[tuple[int, int]]) -> list[int]:
    """Spans as the page reads them: gap before each token, then its length."""
    packed: list[int] = []
    position = 0
    for start, end in utf16_spans(text, spans):
        packed += [start - position, end - start]
        position = end
    return packed


def bits(marks: Sequence[bool]) -> str:
    return "".join("1" if mark else "0" for mark in marks)


# --- turns fed to the model ---------------------------------------------------------------


def run_config(view_run: ViewRun) -> RunConfig | str:
    """The run's configuration read back from its header, or why it cannot be."""
    if not view_run.config:
        return "no run header"
    try:
        return RunConfig.from_dict(view_run.config)
    except HeaderError as exc:
        return f"the run header cannot be read: {exc}"


def fed_turns(config: RunConfig | str, fields: dict) -> tuple[list[tuple[int, int]] | None, str]:
    """The inclusive turn spans a record says were fed (None: the whole
    transcript, or not known) and a note; nothing is recomputed."""
    if isinstance(config, str):
        return None, f"input: not recorded ({config})"
    how = _chunked(config, fields.get("chunks")) + _sent(config)
    if config.input == "full":
        return None, "input: the whole transcript" + how
    label = "the gold spans" if config.input == "gold" else "located turns"
    if "fed_turns" not in fields:
        return None, f"input: {label} (not recorded: the run file predates records of what was fed){how}"
    spans = _spans(fields["fed_turns"])
    if spans is None:
        return None, "input: the whole transcript" + how
    if config.input == "gold":
        return spans, "input: the gold spans" + how
    budget = fields.get("located_budget")
    beside = "" if config.locate_budget is not None else ": the room beside the prompt"
    return spans, f"input: located turns ({config.locate_method}, {budget} tokens{beside}; recorded){how}"


def _spans(value: Any) -> list[tuple[int, int]] | None:
    if not isinstance(value, list):
        return None
    spans = [tuple(span) for span in value if isinstance(span, list) and len(span) == 2]
    return [(int(start), int(end)) for start, end in spans if isinstance(start, int) and isinstance(end, int)]


def _chunked(config: RunConfig, chunks: Any) -> str:
    if config.strategy != "map-reduce":
        return ""
    if not isinstance(chunks, list) or not chunks:
        return "; in map-reduce chunks"
    bounds = ", ".join(f"{c[0]}-{c[1]}" for c in chunks if isinstance(c, list) and len(c) == 2)
    return f"; in {len(chunks)} map-reduce chunks (turns {bounds})"


def _sent(config: RunConfig) -> str:
    if isinstance(config.engine, ServedModel) and config.engine.api == "chat":
        return "; sent as one chat message (prompt tokens counted in the served model's chat template)"
    return ""


# --- scores -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    metric: str = ROUGE_SCORE
    use_stemmer: bool = True
    max_depth: int | None = None  # longbench metrics (None: the peer's default; 0: no limit)
    resample: str = RESAMPLE_MEETING  # what the paired intervals resample: meeting or example


def metric_keys(metric: str) -> tuple[tuple[str, str, int, int], ...]:
    """The per-example keys a peer metric adds to rouge-score's."""
    if metric in ("scrolls", "lm-eval-scrolls"):
        return tuple((key, f"{metric} {label}", scale, decimals) for key, label, scale, decimals in SCROLLS_KEYS)
    if metric in ("longbench", "lm-eval-longbench"):
        key, label, scale, decimals = LONGBENCH_KEY
        return ((key, f"{metric} {label}", scale, decimals),)
    return ()


def example_scores(run: Run, options: Options) -> list[dict[str, float | None]]:
    """Per example: rouge-score's F-measures (fractions) and the peer metric's values."""
    scorer = RougeScorer(ROUGE_TYPES, use_stemmer=options.use_stemmer)
    rows = scorer.score_batch([list(p.references) for p in run.predictions], [p.prediction for p in run.predictions])
    values: list[dict[str, float | None]] = [
        {key: float(row[rouge_type].fmeasure) for (key, *_), rouge_type in zip(ROUGE_KEYS, ROUGE_TYPES)} for row in rows
    ]
    for key, column in _peer_columns(run, options):
        for value, score in zip(values, column):
            value[key] = score
    return values


def _peer_columns(run: Run, options: Options) -> list[tuple[str, list[float]]]:
    metric = options.metric
    if metric in ("scrolls", "lm-eval-scrolls"):
        scores = scrolls_example_scores(run)
        return [(key, scores[t]) for (key, *_), t in zip(SCROLLS_KEYS, SCROLLS_TYPES)]
    if metric in ("longbench", "lm-eval-longbench"):
        depth = DEFAULT_MAX_DEPTH[metric] if options.max_depth is None else options.max_depth or None
        return [(LONGBENCH_KEY[0], longbench_example_scores(run, depth, strip=metric == "lm-eval-longbench"))]
    return []


def headline(run: Run, options: Options) -> MetricResult:
    """The figures ``report`` gives the run (or a group of its predictions)."""
    if options.metric == ROUGE_SCORE:
        return rouge_score_result(run, options.use_stemmer)
    return peer_metric(run, options.metric, options.max_depth)


def group_table(runs: Sequence[ViewRun], options: Options) -> list[dict]:
    """Rows ``all``, each domain, each query type: per run, its count and figures."""
    groups: list[tuple[str, Any]] = [("all", lambda e: True)]
    groups += [(f"domain={d}", lambda e, d=d: e.domain == d) for d in DOMAINS]
    groups += [(f"query_type={q}", lambda e, q=q: e.query_type == q) for q in QUERY_TYPES]
    rows = []
    for label, member in groups:
        cells = [_group_cell(view_run, member, options) for view_run in runs]
        if any(cell["n"] for cell in cells):
            rows.append({"label": label, "cells": cells})
    return rows


def _group_cell(view_run: ViewRun, member: Any, options: Options) -> dict:
    chosen = [p for p, e in zip(view_run.run.predictions, view_run.examples) if member(e)]
    if not chosen:
        return {"n": 0, "figures": {}}
    result = headline(replace(view_run.run, predictions=chosen), options)
    return {"n": len(chosen), "figures": {name: result.text(name) for name in result.columns}}


# Samples and seed of the paired differences' intervals and sign-flip draws.
PAIRED_SAMPLES = 10_000
PAIRED_SEED = 0


def paired_keys(metric: str) -> tuple[tuple[str, str, int, int], ...]:
    """The per-example values a paired difference is taken of: the peer's, else rouge-score's F."""
    return metric_keys(metric) or ROUGE_KEYS


def paired_differences(runs: Sequence[ViewRun], options: Options) -> list[dict]:
    """Each run after the first against the first, on the examples both answer:
    per value of :func:`paired_keys`, the mean difference with its 95% interval
    and the two-sided sign-flip p-value, resampling ``options.resample`` units
    (meetings, or examples as if independent)."""
    if len(runs) < 2:
        return []
    keys = paired_keys(options.metric)
    scores = [dict(zip((e.id for e in r.examples), example_scores(r.run, options))) for r in runs]
    meetings = {e.id: f"{e.split}/{e.meeting}" for r in runs for e in r.examples}
    rows = []
    for view_run, run_scores in zip(runs[1:], scores[1:]):
        common = [key for key in scores[0] if key in run_scores]
        if not common:
            continue
        units = [meetings[key] for key in common] if options.resample == RESAMPLE_MEETING else common
        differences = {
            k: [float(run_scores[i][k] or 0) - float(scores[0][i][k] or 0) for i in common] for k, *_ in keys
        }
        bounds = bootstrap_interval(differences, units, PAIRED_SAMPLES, PAIRED_SEED)
        p_values, _ = sign_flip_test(differences, units, PAIRED_SAMPLES, PAIRED_SEED)
        figures = {
            label: {"d": sum(differences[k]) / len(common), "lo": bounds[k][0], "hi": bounds[k][1], "p": p_values[k]}
            for k, label, *_ in keys
        }
        rows.append({"label": view_run.label, "n": len(common), "scale": keys[0][2], "figures": figures})
    return rows


# --- the page's data --------------------------------------------------------------------


@dataclass
class View:
    """Everything the page shows (``payload`` is its JSON)."""

    payload: dict
    runs: list[ViewRun]
    examples: list[Example]
    options: Options
    groups: list[dict]


def build_view(
    paths: Sequence[Path],
    *,
    reference_paths: Sequence[Path] = (),
    data_path: Path | None = None,
    split: str | None = None,
    domain: str | None = None,
    options: Options = Options(),
    judgments: Path | None = None,
) -> View:
    """Reads the runs and their examples and computes what the page shows.
    ``split`` None: the runs' own (:func:`data_source`); ``domain``: only
    that domain's examples are shown; ``judgments``: a file of ``qmsum-fast
    judge`` whose verdicts the cards show."""
    runs = [load_view_run(Path(path), reference_paths) for path in paths]
    data, split = data_source(runs, data_path, split)
    examples = load_data(data, split)
    view_runs = [ViewRun(run, label, run_examples(run, examples)) for run, label in zip(runs, distinct_labels(runs))]
    if domain is not None:
        view_runs = [_only_domain(view_run, domain) for view_run in view_runs]
    shown = _shown_examples(examples, view_runs)
    if not shown:
        raise InputError(f"no example of domain {domain} in the runs")
    groups = group_table(view_runs, options)
    payload = _payload(view_runs, shown, options, data or "bundled", split)
    payload["groups"] = groups
    if judgments is not None:
        _add_judgments(payload, view_runs, judgments)
    payload["paired"] = paired_differences(view_runs, options)
    return View(payload, view_runs, shown, options, groups)


def _add_judgments(payload: dict, runs: Sequence[ViewRun], judgments: Path) -> None:
    """Each judged prediction's card gets the judge's key points, which it found,
    the figures, the last reply of each prompt (its reasoning) and any errors."""
    from .fingerprints import file_fingerprint
    from .judge import judged_run, read_judgments

    header, records = read_judgments(judgments)
    for index, view_run in enumerate(runs):
        label = judged_run(header, file_fingerprint(view_run.run.path))
        judged = {r["id"]: r for r in records if r["run"] == label} if label is not None else {}
        for item in payload["examples"]:
            card, record = item["p"][index], judged.get(item["id"])
            if card is not None and record is not None:
                card["j"] = _judge_item(record)


def _judge_item(record: dict) -> dict:
    counts, replies = record.get("counts", {}), record.get("replies", {})

    def last(texts: Any) -> str | None:
        return texts[-1] if isinstance(texts, list) and texts else None

    return {
        "sc": record.get("score"),
        "re": record.get("recall"),
        "pr": record.get("precision"),
        "fl": record.get("fluency"),
        "kp": record.get("key_points", []),
        "sp": counts.get("supported_key_points", []),
        "fo": counts.get("found", []),
        "ps": counts.get("supported"),
        "sn": counts.get("sentence_count"),
        "rr": [last(texts) for texts in replies.get("recall", [])],
        "rp": last(replies.get("precision")),
        "rf": last(replies.get("fluency")),
        "er": record.get("errors", []),
    }


def _only_domain(view_run: ViewRun, domain: str) -> ViewRun:
    kept = [(p, e) for p, e in zip(view_run.run.predictions, view_run.examples) if e.domain == domain]
    run = replace(view_run.run, predictions=[p for p, _ in kept])
    return ViewRun(run, view_run.label, [e for _, e in kept])


def _shown_examples(examples: Sequence[Example], runs: Sequence[ViewRun]) -> list[Example]:
    """The examples any run answers, in data order (a run's missing ones stay)."""
    answered = {example.id for view_run in runs for example in view_run.examples}
    return [example for example in examples if example.id in answered]


def _payload(runs: list[ViewRun], examples: list[Example], options: Options, data: str, split: str) -> dict:
    needed: dict[str, set[int]] = {}
    signals = [faithfulness_of([p.prediction for p in r.run.predictions], r.examples) for r in runs]
    records = [_run_records(view_run, options, signal, needed) for view_run, signal in zip(runs, signals)]
    keys = [*ROUGE_KEYS, *metric_keys(options.metric), *FAITHFULNESS_KEYS]
    items = []
    for example in examples:
        item = _example_item(example, needed)
        item["p"] = [by_id.get(example.id) for by_id in records]
        items.append(item)
    return {
        "version": __version__,
        "data": data,
        "split": split,
        "metric": options.metric,
        "stemmer": options.use_stemmer,
        "ngram": DEFAULT_NGRAM,
        "keys": [{"k": k, "l": label, "x": scale, "d": decimals} for k, label, scale, decimals in keys],
        "runs": [_run_summary(view_run, options, signal) for view_run, signal in zip(runs, signals)],
        "examples": items,
        "turns": _turn_texts(examples, needed),
    }


def _example_item(example: Example, needed: dict[str, set[int]]) -> dict:
    from .gen.inputs import merged_spans

    gold = merged_spans(example.spans, len(example.turns)) if example.turns else []
    key = _turns_key(example)
    needed.setdefault(key, set()).update(i for start, end in gold for i in range(start, end + 1))
    return {
        "id": example.id,
        "m": example.meeting,
        "d": example.domain,
        "q": example.query_type,
        "k": example.query,
        "r": list(example.references),
        "ro": [packed_spans(r, rouge_token_spans(r)[1]) for r in example.references],
        "g": gold,
        "tk": key,
    }


def _turns_key(example: Example) -> str:
    return f"{example.split}/{example.meeting}"


def _turn_texts(examples: Sequence[Example], needed: dict[str, set[int]]) -> dict:
    """The text of every turn a card can show (gold or fed), once per meeting."""
    meetings = {_turns_key(e): e for e in examples}
    texts = {}
    for key, indices in needed.items():
        turns = meetings[key].turns
        texts[key] = {"n": len(turns), "t": {str(i): turn_text(turns[i]) for i in sorted(indices) if i < len(turns)}}
    return texts


def _run_records(
    view_run: ViewRun, options: Options, signals: list[Faithfulness], needed: dict[str, set[int]]
) -> dict[str, dict]:
    """Each prediction's card data, by example id."""
    run = view_run.run
    config = run_config(view_run)
    scores = example_scores(run, options)
    records = {}
    for prediction, example, score, signal in zip(run.predictions, view_run.examples, scores, signals):
        record = _prediction_item(prediction, example, score, signal, options)
        spans, note = fed_turns(config, prediction.fields)
        record["fed"], record["fn"] = spans, note
        if spans:
            needed.setdefault(_turns_key(example), set()).update(i for s, e in spans for i in range(s, e + 1))
        records[example.id] = record
    return records


def _prediction_item(
    prediction: Prediction, example: Example, score: dict, signal: Faithfulness, options: Options
) -> dict:
    tokens, spans = rouge_token_spans(prediction.prediction)
    compared = stemmed(tokens, options.use_stemmer)
    references = [stemmed(rouge_token_spans(r)[0], options.use_stemmer) for r in prediction.references]
    best = best_reference(compared, references)
    fields = prediction.fields
    item: dict[str, Any] = {
        "t": prediction.prediction,
        "o": packed_spans(prediction.prediction, spans),
        "h": bits(counted(compared, references[best])),
        "rb": best,
        "rh": bits(counted(references[best], compared)),
        "f": [[start, length] for start, _, length in signal.fragments],
        "s": {
            **score,
            "cov": signal.coverage,
            "den": signal.density,
            "nov": signal.novel_ngrams,
            "nt": signal.tokens,
            "ni": fields.get("n_input_tokens") if isinstance(fields.get("n_input_tokens"), int) else None,
        },
        "tr": fields.get("truncated") if isinstance(fields.get("truncated"), bool) else None,
        "st": fields.get("strategy") if isinstance(fields.get("strategy"), str) else None,
    }
    if tuple(prediction.references) != example.references:
        item["rr"] = list(prediction.references)
        item["rro"] = [packed_spans(r, rouge_token_spans(r)[1]) for r in prediction.references]
    return item


def _run_summary(view_run: ViewRun, options: Options, signals: list[Faithfulness]) -> dict:
    result = headline(view_run.run, options)
    return {
        "label": view_run.label,
        "path": str(view_run.run.path),
        "n": len(view_run.run.predictions),
        "headline": {name: result.text(name) for name in result.columns},
        "faithfulness": mean_signals(signals),
        "config": _config_summary(view_run.config),
    }


CONFIG_FIELDS = (
    "kind",
    "model",
    "model_path",
    "strategy",
    "input",
    "preprocess",
    "max_input_tokens",
    "locate_method",
    "locate_budget",
    "locate_window",
    "baseline",
    "generation",
    "data",
    "split",
    "domain",
    "limit",
)


def _config_summary(config: dict) -> dict:
    """The header fields a reader compares runs by (the template text is left out)."""
    return {name: config[name] for name in CONFIG_FIELDS if config.get(name) not in (None, {}, "")}


# --- the page ---------------------------------------------------------------------------


def render_html(view: View, title: str | None = None) -> str:
    """The self-contained page: the template with its CSS, JavaScript, the
    overview tables and the data inlined."""
    page = (ASSETS / "view.html").read_text(encoding="utf-8")
    title = title or "qmsum-fast view: " + ", ".join(run.label for run in view.runs)
    parts = {
        "{{TITLE}}": html.escape(title),
        "{{CSS}}": (ASSETS / "view.css").read_text(encoding="utf-8"),
        "{{OVERVIEW}}": overview_html(view),
        "{{DATA}}": script_json(view.payload),
        "{{JS}}": (ASSETS / "view.js").read_text(encoding="utf-8"),
    }
    return re.sub("|".join(map(re.escape, parts)), lambda m: parts[m.group()], page)


def script_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``<`` can end or comment it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def overview_html(view: View) -> str:
    """The runs table and the per-domain / per-query-type table."""
    return _runs_table(view) + _paired_table(view) + _groups_table(view)


def _runs_table(view: View) -> str:
    runs = view.payload["runs"]
    columns = list(runs[0]["headline"])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    head += "<th>coverage</th><th>density</th>" + f"<th>novel {DEFAULT_NGRAM}-grams</th>"
    rows = []
    for index, run in enumerate(runs):
        cells = "".join(f'<td class="num">{html.escape(run["headline"][c])}</td>' for c in columns)
        cells += "".join(
            f'<td class="num">{_mean_text(name, value)}</td>' for name, value in run["faithfulness"].items()
        )
        config = ", ".join(f"{k}={_short(v)}" for k, v in run["config"].items()) or "no header"
        rows.append(
            f'<tr><td class="run r{index}">{html.escape(run["label"])}</td><td class="num">{run["n"]}</td>{cells}'
            f'<td class="config" title="{html.escape(run["path"])}">{html.escape(config)}</td></tr>'
        )
    return (
        f'<table class="runs"><caption>Runs: {html.escape(view.options.metric)}'
        f"{_stemmer_note(view.options)}; faithfulness: means over predictions</caption>"
        f"<thead><tr><th>run</th><th>n</th>{head}<th>configuration</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _paired_table(view: View) -> str:
    rows = view.payload["paired"]
    if not rows:
        return ""
    labels = list(rows[0]["figures"])
    head = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
    body = []
    for row in rows:
        scale = row["scale"]
        cells = "".join(
            f'<td class="num">{scale * f["d"]:+.2f} [{scale * f["lo"]:+.2f}, {scale * f["hi"]:+.2f}]'
            f" p {f['p']:.4f}</td>"
            for f in row["figures"].values()
        )
        body.append(f'<tr><td>{html.escape(row["label"])}</td><td class="num">{row["n"]}</td>{cells}</tr>')
    units = "meetings" if view.options.resample == RESAMPLE_MEETING else "examples (as if independent)"
    caption = (
        f"Paired differences from {html.escape(view.runs[0].label)} on the examples both answer "
        f"({'%' if rows[0]['scale'] == 100 else 'points'}): mean with its 95% interval and the sign-flip p-value, "
        f"resampling {units} ({PAIRED_SAMPLES} samples, seed {PAIRED_SEED}; docs/statistics.md)"
    )
    return (
        f'<table class="paired"><caption>{caption}</caption><thead><tr><th>run</th><th>n</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _stemmer_note(options: Options) -> str:
    if options.metric != ROUGE_SCORE:
        return ""
    return " (F-measures in %, stemmer " + ("on" if options.use_stemmer else "off") + ")"


def _mean_text(name: str, mean: float | None) -> str:
    if mean is None:
        return "–"
    return f"{100 * mean:.1f}%" if name.startswith("novel") else f"{mean:.3f}" if name == "coverage" else f"{mean:.2f}"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 60 else text[:57] + "..."


def _groups_table(view: View) -> str:
    runs = view.payload["runs"]
    columns = list(runs[0]["headline"])
    top = "".join(
        f'<th colspan="{len(columns) + 1}" class="r{i}">{html.escape(r["label"])}</th>' for i, r in enumerate(runs)
    )
    sub = ("<th>n</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns)) * len(runs)
    body = []
    for row in view.groups:
        cells = ""
        for cell in row["cells"]:
            figures = [cell["figures"].get(c, "–") for c in columns]
            cells += f'<td class="num">{cell["n"]}</td>' + "".join(
                f'<td class="num">{html.escape(f)}</td>' for f in figures
            )
        body.append(f"<tr><th>{html.escape(row['label'])}</th>{cells}</tr>")
    return (
        '<table class="groups"><caption>By domain and query type (each run over its own predictions)</caption>'
        f"<thead><tr><th></th>{top}</tr><tr><th>group</th>{sub}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def write_view(view: View, out: Path, title: str | None = None) -> Path:
    """Writes the page to ``out`` (atomically)."""
    from .files import atomic_write

    return atomic_write(out, render_html(view, title))

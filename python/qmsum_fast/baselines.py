"""Extractive baselines: summaries made of transcript units, no model needed.

``make_predictor(name, options)`` returns a function ``Example -> str`` whose
output is the chosen units in transcript order, one per line. Ranking,
selection and the oracle run in the Rust core (``rust/src/rank.rs``,
``bm25.rs``, ``textrank.rs``, ``oracle.rs``).

The defaults reproduce the baseline rows of the QMSum paper (Table 3) on the
ALL test split within 1.5 ROUGE points (``benches/reproduce_table3.py``,
``docs/baselines.md``). Each baseline keeps its own documented setting:

- ``random`` (and ``lead``): 4 sentences of the raw turn contents (split after
  ``.``, ``?``, ``!``), no speaker names;
- ``textrank`` (and ``bm25``): whole turns with QMSum's ``{ disfmarker }``-style
  annotations removed, shown as ``Speaker: text``, taken best first until 40
  words of text are reached (speaker names are shown, not ranked or counted);
- ``oracle``: whole raw turns shown as ``Speaker: text``, chosen greedily on
  ROUGE-1 F + ROUGE-2 F against the reference (rouge-score tokens, stemmed)
  while the summary stays within 120 ROUGE tokens.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace

from . import _core
from .data import Example, Turn, transcript_key, turn_text
from .errors import InputError

BASELINES = ("random", "lead", "textrank", "oracle", "bm25")
UNITS = ("turn", "sentence")
BUDGET_KINDS = ("units", "words", "tokens", "none")

# Annotations in QMSum transcripts ("{ disfmarker }", "{vocalsound}") that are
# not speech; they would otherwise be the most "central" words of a meeting.
_ANNOTATION = re.compile(r"\{\s*\w+\s*\}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Options:
    unit: str = "sentence"  # "turn" or "sentence"
    budget: int = 4
    # "units"; "words" (whitespace words of text); "tokens" (ROUGE tokens,
    # oracle only); "none" (no limit: every unit, or the oracle's own stop).
    budget_kind: str = "units"
    clean: bool = True  # drop "{ vocalsound }"-style annotations
    speaker: bool = False  # prefix units with "Speaker: "
    seed: int = 0  # random only
    stem: bool = True  # oracle: optimise the stemmed ROUGE score


_SAMPLED = Options(unit="sentence", clean=False, budget=4, budget_kind="units")
_RANKED = Options(unit="turn", clean=True, speaker=True, budget=40, budget_kind="words")
DEFAULTS = {
    "random": _SAMPLED,
    "lead": _SAMPLED,
    "textrank": _RANKED,
    "bm25": _RANKED,
    "oracle": Options(unit="turn", clean=False, speaker=True, budget=120, budget_kind="tokens"),
}


def options_for(name: str, options: dict | None = None) -> Options:
    """The defaults of baseline ``name`` updated with ``options``; bad values
    raise InputError. Options set to None keep their default (a CLI passes
    the options a user left out as None)."""
    if name not in BASELINES:
        raise InputError(f"unknown baseline {name!r} (use one of {', '.join(BASELINES)})")
    options = {key: value for key, value in (options or {}).items() if value is not None}
    unknown = sorted(set(options) - set(Options.__dataclass_fields__))
    if unknown:
        raise InputError(f"baseline {name}: unknown option(s) {', '.join(unknown)}")
    chosen = replace(DEFAULTS[name], **options)
    if chosen.unit not in UNITS:
        raise InputError(f"baseline {name}: unit must be one of {', '.join(UNITS)}, not {chosen.unit!r}")
    if chosen.budget_kind not in BUDGET_KINDS:
        raise InputError(f"baseline {name}: budget_kind must be one of {', '.join(BUDGET_KINDS)}")
    if chosen.budget_kind == "words" and name == "oracle":
        raise InputError("baseline oracle: budget_kind must be units or tokens (ROUGE tokens)")
    if chosen.budget_kind == "tokens" and name != "oracle":
        raise InputError(f"baseline {name}: a token budget is for the oracle only (use units or words)")
    if isinstance(chosen.budget, bool) or not isinstance(chosen.budget, int) or chosen.budget < 1:
        raise InputError(f"baseline {name}: budget must be a positive integer, not {chosen.budget!r}")
    return chosen


def make_predictor(name: str, options: dict | None = None) -> Callable[[Example], str]:
    """A function that writes baseline ``name``'s summary of an example."""
    chosen = options_for(name, options)
    units_of = _UnitCache(chosen)
    if name == "oracle":
        tokenized: dict = {"lines": None, "oracle": None}

        def oracle(example: Example) -> str:
            lines = units_of(example)[1]
            if tokenized["lines"] is not lines:  # a new meeting: tokenize it once
                tokenized.update(lines=lines, oracle=_core.OracleUnits(lines, stem=chosen.stem))
            return _oracle(example, lines, tokenized["oracle"], chosen)

        return oracle
    order = _ranking(name, chosen)

    def predict(example: Example) -> str:
        texts, lines = units_of(example)
        chosen_units = _select(order(example, texts), texts, chosen)
        return "\n".join(lines[i] for i in chosen_units)

    return predict


def _ranking(name: str, options: Options) -> Callable[[Example, list[str]], list[int]]:
    """How baseline ``name`` (not the oracle) orders a meeting's units, best first."""
    if name == "random":
        rng = random.Random(options.seed)

        def order(example: Example, units: list[str]) -> list[int]:
            shuffled = list(range(len(units)))
            rng.shuffle(shuffled)
            return shuffled

    elif name == "lead":

        def order(example: Example, units: list[str]) -> list[int]:
            return list(range(len(units)))

    elif name == "textrank":
        # TextRank ignores the query: rank each meeting's units once.
        ranked: dict = {"units": None, "order": []}

        def order(example: Example, units: list[str]) -> list[int]:
            if ranked["units"] is not units:
                scores = _core.score_units(units, "", "textrank")
                ranked.update(units=units, order=sorted(range(len(scores)), key=lambda i: (-scores[i], i)))
            return ranked["order"]

    else:
        method = name

        def order(example: Example, units: list[str]) -> list[int]:
            try:
                scores = _core.score_units(units, example.query, method)
            except InputError as exc:
                raise InputError(f"{example.id}: {exc}") from None
            return sorted(range(len(scores)), key=lambda i: (-scores[i], i))

    return order


def transcript_units(example: Example, unit: str = "sentence", clean: bool = True, speaker: bool = False) -> list[str]:
    """The units of an example's transcript (turns, or sentences of turns),
    as they appear in a summary: ``"Speaker: text"`` with ``speaker``."""
    return [turn_text(Turn(who, text)) if speaker else text for who, text in _unit_parts(example, unit, clean)]


def _unit_parts(example: Example, unit: str, clean: bool) -> list[tuple[str, str]]:
    """(speaker, text) of each unit; empty units (a turn of annotations) are dropped."""
    parts: list[tuple[str, str]] = []
    for turn in _turns(example):
        content = clean_annotations(turn.content) if clean else turn.content.strip()
        texts = _core.split_turn_sentences(content) if unit == "sentence" else ([content] if content else [])
        parts.extend((turn.speaker, text) for text in texts)
    return parts


def clean_annotations(text: str) -> str:
    """``text`` without ``{ vocalsound }``-style annotations, spaces collapsed."""
    return _SPACES.sub(" ", _ANNOTATION.sub(" ", text)).strip()


def _turns(example: Example):
    if example.turns:
        return example.turns
    if example.raw_transcript:
        # Formats that carry one transcript string: one line, one turn.
        from .data import parse_turns

        return parse_turns(example.raw_transcript)
    return ()


class _UnitCache:
    """Units of the last meeting seen (queries about one meeting share them):
    the texts that are ranked and measured, and the lines a summary shows.
    Speaker names only ever appear in the lines, so they neither link units
    in TextRank nor count against a word budget."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.key: Hashable = None
        # The example the units are of: holding it keeps its transcript, and
        # so the identity in its key, alive.
        self.example: Example | None = None
        self.units: tuple[list[str], list[str]] = ([], [])

    def __call__(self, example: Example) -> tuple[list[str], list[str]]:
        key = transcript_key(example)
        if self.example is None or self.key != key:
            o = self.options
            parts = _unit_parts(example, o.unit, o.clean)
            texts = [text for _, text in parts]
            lines = [turn_text(Turn(who, text)) for who, text in parts] if o.speaker else texts
            self.units = (texts, lines)
            self.key = key
            self.example = example
        return self.units


def _select(order: list[int], units: list[str], options: Options) -> list[int]:
    if options.budget_kind == "none":
        return sorted(order)
    if options.budget_kind == "units":
        return sorted(order[: options.budget])
    lengths = [len(u.split()) for u in units]
    return _core.select_within_budget(order, lengths, options.budget, "reach")


def _oracle(example: Example, lines: list[str], oracle: _core.OracleUnits, options: Options) -> str:
    references = [r for r in example.references if r.strip()]
    if not references:
        raise InputError(f"{example.id}: the oracle needs a reference summary, and this example has none")
    max_units = options.budget if options.budget_kind == "units" else None
    max_tokens = options.budget if options.budget_kind == "tokens" else None
    return "\n".join(lines[i] for i in oracle.select(references, max_units, max_tokens))


def oracle_batch(examples: list[Example], options: dict | None = None) -> list[str]:
    """Oracle summaries of many examples at once: each meeting's units are
    tokenized once and the queries run in parallel in Rust."""
    chosen = options_for("oracle", options)
    meetings: dict[Hashable, int] = {}
    unit_lists: list[list[str]] = []
    queries = []
    for example in examples:
        key = transcript_key(example)
        if key not in meetings:
            meetings[key] = len(unit_lists)
            unit_lists.append(transcript_units(example, chosen.unit, chosen.clean, chosen.speaker))
        references = [r for r in example.references if r.strip()]
        if not references:
            raise InputError(f"{example.id}: the oracle needs a reference summary, and this example has none")
        queries.append((meetings[key], references))
    max_units = chosen.budget if chosen.budget_kind == "units" else None
    max_tokens = chosen.budget if chosen.budget_kind == "tokens" else None
    selections = _core.oracle_select_batch(
        unit_lists, queries, stem=chosen.stem, max_units=max_units, max_tokens=max_tokens
    )
    return ["\n".join(unit_lists[m][i] for i in chosen_units) for (m, _), chosen_units in zip(queries, selections)]

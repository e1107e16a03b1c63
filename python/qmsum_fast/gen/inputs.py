"""Which part of a meeting goes into the model: full, gold spans, or located.

``full`` is the whole transcript; ``gold`` the turns of a specific query's
relevant spans (the whole meeting for general queries), as the upstream
gold-span setting; ``locator`` the turns a query locator ranks highest within
a token budget. The choice is made on turns; the text is then built by
:func:`qmsum_fast.preprocess.prepare` in the chosen preprocessing mode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..data import Example
from ..errors import InputError
from .config import RunConfig
from .prompting import PromptBuilder


@dataclass(frozen=True)
class Source:
    example: Example  # the original example (its id, query, references)
    selected: Example  # the same with only the turns that go in
    query: str  # the query as preprocessed
    transcript: str  # the selected turns as preprocessed
    # What went in, as the record says it: the inclusive turn spans of a subset
    # (None: the whole transcript), and the tokens a locator selected for.
    fed_turns: tuple[tuple[int, int], ...] | None = None
    located_budget: int | None = None


@dataclass(frozen=True)
class Located:
    """The turns a query locator picked for one example, within ``budget`` tokens."""

    spans: list[tuple[int, int]]
    budget: int


Locate = Callable[[Example], Located]


@dataclass(frozen=True)
class Chosen:
    """An example with only the turns that go in, and which they are."""

    example: Example
    spans: tuple[tuple[int, int], ...] | None  # None: the whole transcript
    located_budget: int | None = None


def merged_spans(spans: Sequence[tuple[int, int]], n_turns: int) -> list[tuple[int, int]]:
    """Sorted, non-overlapping inclusive spans clipped to the transcript."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(n_turns - 1, e)) for s, e in spans):
        if start > end:
            continue
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def with_turns(example: Example, spans: Sequence[tuple[int, int]]) -> Example:
    """The example with only the turns of ``spans``."""
    turns = tuple(example.turns[i] for s, e in merged_spans(spans, len(example.turns)) for i in range(s, e + 1))
    return dataclasses.replace(example, turns=turns, raw_transcript=None)


def select(example: Example, mode: str, locate: Locate | None = None) -> Example:
    return choose(example, mode, locate).example


def choose(example: Example, mode: str, locate: Locate | None = None) -> Chosen:
    """The turns of ``example`` that go in under input ``mode``."""
    if mode == "full":
        return Chosen(example, None)
    if not example.turns:
        raise InputError(f"example {example.id}: --input {mode} needs turns, but it holds one raw transcript")
    if mode == "gold":
        if example.query_type != "specific" or not example.spans:
            return Chosen(example, None)
        return _subset(example, example.spans)
    if mode == "locator":
        assert locate is not None
        located = locate(example)
        return dataclasses.replace(_subset(example, located.spans), located_budget=located.budget)
    raise InputError(f"--input: unknown input {mode!r} (full, gold, locator)")


def _subset(example: Example, spans: Sequence[tuple[int, int]]) -> Chosen:
    merged = tuple(merged_spans(spans, len(example.turns)))
    return Chosen(with_turns(example, merged), merged)


def load_locator(method: str, window: int, budget: int, counter) -> Locate:
    """``qmsum_fast.locate.locate_turns`` bound to a method, window and budget."""
    from ..locate import locate_turns

    def locate(example: Example) -> Located:
        return Located(list(locate_turns(example, budget, counter, method=method, window=window)), budget)

    return locate


def bound_locator(method: str, window: int, budget: int | None, builder: PromptBuilder, counter: Any) -> Locate:
    """The locator of a model run: it selects ``budget`` tokens, or (None) as
    many as fit beside each query's prompt in ``builder``."""
    by_budget: dict[int, Locate] = {}

    def locate(example: Example) -> Located:
        chosen = budget or builder.room(example.query)
        if chosen is None:
            raise InputError("--input locator needs --locate-budget or --max-input-tokens")
        if chosen not in by_budget:
            by_budget[chosen] = load_locator(method, window, chosen, counter)
        return by_budget[chosen](example)

    return locate


def prepare_function(mode: str) -> Callable[[Sequence[Example]], list]:
    """``qmsum_fast.preprocess.prepare`` in ``mode``."""
    from ..preprocess import prepare

    def run(examples: Sequence[Example]) -> list:
        return list(prepare(list(examples), mode=mode))

    return run


def build_sources(
    examples: Sequence[Example],
    mode: str,
    prepare: Callable[[Sequence[Example]], list],
    locate: Locate | None = None,
) -> list[Source]:
    chosen = [choose(example, mode, locate) for example in examples]
    prepared = prepare([c.example for c in chosen])
    return [
        Source(example, c.example, item.query, item.transcript, c.spans, c.located_budget)
        for example, c, item in zip(examples, chosen, prepared)
    ]


def fed_fields(source: Source, mode: str) -> dict:
    """What a record says went in: under ``--input gold`` or ``locator``, the
    inclusive turn spans of the transcript fed (None: all of it) and the
    tokens the locator selected for (the room beside the prompt, or
    ``--locate-budget``). ``view`` shows these; it never reruns the choice."""
    if mode == "full":
        return {}
    turns = [list(span) for span in source.fed_turns] if source.fed_turns is not None else None
    fields: dict[str, Any] = {"fed_turns": turns}
    if source.located_budget is not None:
        fields["located_budget"] = source.located_budget
    return fields


def original_turns(source: Source) -> list[int]:
    """The index in the whole transcript of each selected turn."""
    if source.fed_turns is None:
        return list(range(len(source.selected.turns)))
    return [index for start, end in source.fed_turns for index in range(start, end + 1)]


class PromptSources:
    """What the prompt-building runners (in-process and served) share: their
    sources, and the budget check made before anything is written or sent.
    Subclasses set ``config``, ``builder``, ``prepare`` and ``locate``."""

    config: RunConfig
    builder: PromptBuilder
    prepare: Callable[[Sequence[Example]], list]
    locate: Locate | None

    def sources(self, examples: Sequence[Example]) -> list[Source]:
        return build_sources(examples, self.config.input, self.prepare, self.locate)

    def check(self, sources: Sequence[Source]) -> None:
        """Refuses a budget that the prompt alone fills."""
        if self.builder.budget is None:
            return
        if self.config.strategy == "map-reduce":
            self.builder.room(self.config.map_instruction or "")
        else:
            for source in sources:
                self.builder.room(source.query)

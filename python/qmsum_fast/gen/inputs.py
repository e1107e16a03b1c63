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


@dataclass(frozen=True)
class Source:
    example: Example  # the original example (its id, query, references)
    selected: Example  # the same with only the turns that go in
    query: str  # the query as preprocessed
    transcript: str  # the selected turns as preprocessed


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


def select(example: Example, mode: str, locate: Callable[[Example], list] | None = None) -> Example:
    if mode == "full":
        return example
    if not example.turns:
        raise InputError(f"example {example.id}: --input {mode} needs turns, but it holds one raw transcript")
    if mode == "gold":
        if example.query_type != "specific" or not example.spans:
            return example
        return with_turns(example, example.spans)
    if mode == "locator":
        assert locate is not None
        return with_turns(example, locate(example))
    raise InputError(f"--input: unknown input {mode!r} (full, gold, locator)")


def load_locator(method: str, window: int, budget: int, counter) -> Callable[[Example], list]:
    """``qmsum_fast.locate.locate_turns`` bound to a method, window and budget."""
    from ..locate import locate_turns

    def locate(example: Example) -> list:
        return list(locate_turns(example, budget, counter, method=method, window=window))

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
    locate: Callable[[Example], list] | None = None,
) -> list[Source]:
    selected = [select(example, mode, locate) for example in examples]
    prepared = prepare(selected)
    return [
        Source(example, chosen, item.query, item.transcript)
        for example, chosen, item in zip(examples, selected, prepared)
    ]


class PromptSources:
    """What the prompt-building runners (in-process and served) share: their
    sources, and the budget check made before anything is written or sent.
    Subclasses set ``config``, ``builder``, ``prepare`` and ``locate``."""

    config: Any  # gen.config.RunConfig
    builder: Any  # gen.prompting.PromptBuilder
    prepare: Callable[[Sequence[Example]], list]
    locate: Callable[[Example], list] | None

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

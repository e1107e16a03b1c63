"""How a long meeting becomes a summary: truncate, map-reduce, extractive.

- truncate: one prompt per query, the transcript cut to the input budget
  (``locate`` is truncate over the turns a query locator picked);
- map-reduce: the transcript is cut on turn boundaries into chunks that fit
  the window (exact counts, in the Rust core), each chunk is summarized with
  a fixed instruction, and the joined sub-summaries, cut to a budget, are
  answered with the query. Chunk prompts do not depend on the query, so each
  distinct chunk is summarized once per run however many queries share it;
- extractive: a baseline predictor picks transcript text, no model.

Each finished example is handed to ``emit`` at once, so it can be written
durably before the next batch starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..chunk import chunk_turns
from ..data import meeting_of, turn_text
from ..stats import TokenCounter
from .batching import Batcher, Result
from .inputs import Source
from .prompting import Prompt, PromptBuilder, cut_to_tokens


@dataclass(frozen=True)
class Finished:
    source: Source
    prediction: str
    n_input_tokens: int
    truncated: bool
    seconds: float
    error: str | None = None
    new_tokens: int = 0


Emit = Callable[[Finished], None]


def run_truncate(sources: Sequence[Source], builder: PromptBuilder, batcher: Batcher, emit: Emit, reuse=None) -> None:
    prompts = [builder.build(source.query, source.transcript) for source in sources]
    if reuse is not None:  # gen/reuse.py: shared prefixes, per-example sampling seeds
        reuse.run(sources, prompts, emit)
        return

    def done(result: Result) -> None:
        prompt = prompts[result.index]
        emit(
            Finished(
                sources[result.index],
                result.output.text if result.output is not None else "",
                prompt.n_tokens,
                prompt.truncated,
                result.seconds,
                result.error,
                result.output.new_tokens if result.output is not None else 0,
            )
        )

    batcher.run([p.text for p in prompts], [p.n_tokens for p in prompts], done)


@dataclass
class MapReduce:
    """Map-reduce over chunks; ``prepare`` turns turn-subset examples into text."""

    map_builder: PromptBuilder
    reduce_builder: PromptBuilder
    map_instruction: str
    reduce_tokens: int
    counter: TokenCounter  # of the model's tokenizer
    prepare: Callable
    batcher: Batcher
    overlap: int = 0

    def __post_init__(self) -> None:
        # map prompt text -> (summary, seconds, error, new tokens)
        self.summaries: dict[str, tuple[str, float, str | None, int]] = {}

    def run(self, sources: Sequence[Source], emit: Emit) -> None:
        # A meeting's queries share its chunks: do them together.
        for group in _by_meeting(sources):
            plans = [self._map_prompts(source) for source in group]
            self._summarize_chunks([p for plan in plans for p in plan])
            self._reduce(group, plans, emit)

    def chunk_texts(self, source: Source) -> list[str]:
        """The preprocessed text of each chunk of a source's selected turns."""
        from .inputs import with_turns

        selected = source.selected
        if not selected.turns:
            return [source.transcript]
        turn_texts = [turn_text(turn) for turn in selected.turns]
        budget = self.map_builder.room(self.map_instruction)
        assert budget is not None, "map-reduce needs an input budget"
        chunks = chunk_turns(turn_texts, budget, self.counter, overlap=self.overlap)
        pieces = [with_turns(selected, [(c.start, c.end)]) for c in chunks]
        return [item.transcript for item in self.prepare(pieces)]

    def _map_prompts(self, source: Source) -> list[Prompt]:
        return [self.map_builder.build(self.map_instruction, text) for text in self.chunk_texts(source)]

    def _summarize_chunks(self, prompts: list[Prompt]) -> None:
        todo: dict[str, Prompt] = {}
        for prompt in prompts:
            if prompt.text not in self.summaries:
                todo.setdefault(prompt.text, prompt)
        texts = list(todo)

        def done(result: Result) -> None:
            output = result.output
            text, new_tokens = (output.text, output.new_tokens) if output is not None else ("", 0)
            self.summaries[texts[result.index]] = (text, result.seconds, result.error, new_tokens)

        self.batcher.run(texts, [todo[t].n_tokens for t in texts], done)

    def _reduce(self, group: list[Source], plans: list[list[Prompt]], emit: Emit) -> None:
        reduce_prompts = []
        for source, plan in zip(group, plans):
            joined = "\n".join(self.summaries[p.text][0] for p in plan)
            cut, was_cut = cut_to_tokens(self.reduce_builder.tokenizer, joined, self.reduce_tokens)
            reduce_prompts.append((self.reduce_builder.build(source.query, cut), was_cut))

        def done(result: Result) -> None:
            source, plan = group[result.index], plans[result.index]
            prompt, was_cut = reduce_prompts[result.index]
            map_results = [self.summaries[p.text] for p in plan]
            errors = [m[2] for m in map_results if m[2]] + ([result.error] if result.error else [])
            new_tokens = sum(m[3] for m in map_results)
            new_tokens += result.output.new_tokens if result.output is not None else 0
            emit(
                Finished(
                    source,
                    result.output.text if result.output is not None else "",
                    sum(p.n_tokens for p in plan) + prompt.n_tokens,
                    was_cut or prompt.truncated or any(p.truncated for p in plan),
                    sum(m[1] for m in map_results) + result.seconds,
                    errors[0] if errors else None,
                    new_tokens,
                )
            )

        prompts = [p for p, _ in reduce_prompts]
        self.batcher.run([p.text for p in prompts], [p.n_tokens for p in prompts], done)


def run_extractive(sources: Sequence[Source], predict: Callable, emit: Emit) -> None:
    for source in sources:
        started = time.perf_counter()
        prediction = predict(source.selected)
        emit(Finished(source, prediction, 0, False, time.perf_counter() - started))


def _by_meeting(sources: Sequence[Source]) -> list[list[Source]]:
    groups: dict[tuple, list[Source]] = {}
    for source in sources:
        groups.setdefault(meeting_of(source.example), []).append(source)
    return list(groups.values())

"""How a long meeting becomes a summary: truncate, map-reduce, extractive.

- truncate: one prompt per query, the transcript cut to the input budget
  (``locate`` is truncate over the turns a query locator picked); each
  engine runs these prompts its own way (in-process: gen/local/reuse.py,
  served: gen/served/runner.py);
- map-reduce: the transcript is cut on turn boundaries into chunks that fit
  the window (exact counts, in the Rust core), each chunk is summarized with
  a fixed instruction, and the joined sub-summaries, cut to a budget, are
  answered with the query. Chunk prompts do not depend on the query, so with
  ``--reuse auto`` a meeting's chunks are summarized once for all its queries;
- extractive: a baseline predictor picks transcript text, no model.

Each finished example is handed to ``emit`` at once, so it can be written
durably before the next batch starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..chunk import chunk_turns
from ..data import indexes_by_meeting, turn_text
from ..stats import TokenCounter
from .config import Reuse
from .engine import Batcher, Emit, Finished, Result, SeededRun, example_seed
from .inputs import Source
from .prompting import Prompt, PromptBuilder, cut_to_tokens


@dataclass(frozen=True)
class _Summary:
    """One chunk's summary and what computing it cost."""

    text: str
    seconds: float
    error: str | None
    new_tokens: int


@dataclass
class MapReduce:
    """Map-reduce over chunks; ``prepare`` turns turn-subset examples into text.

    The map step does not depend on the query, so with ``reuse="auto"`` a
    meeting's distinct chunk prompts are summarized once and every query's
    reduce step reads them; with ``"off"`` each query summarizes its own (the
    reference the shared path is checked against). With ``sampling``, each
    chunk summary is seeded from the run seed and its prompt text and each
    reduce from the run seed and the example id, and each runs alone, so any
    grouping, order or resume samples alike; greedy prompts run batched.
    ``seeded`` None (greedy, or a served run: the server samples) batches
    unseeded.
    """

    map_builder: PromptBuilder
    reduce_builder: PromptBuilder
    map_instruction: str
    reduce_tokens: int
    counter: TokenCounter  # of the model's tokenizer
    prepare: Callable
    batcher: Batcher
    overlap: int = 0
    seed: int = 0
    reuse: Reuse = Reuse.AUTO
    seeded: SeededRun | None = None  # in-process sampling: each prompt alone from its own seed

    def run(self, sources: Sequence[Source], emit: Emit) -> None:
        # A meeting's queries share its chunks: do them together.
        for group in by_meeting(sources):
            planned = [self._plan(source) for source in group]
            plans = [prompts for prompts, _ in planned]
            if self.reuse is Reuse.OFF:
                summaries = [self._summarize(plan) for plan in plans]
            else:
                summaries = self._shared(plans)
            chunks = [bounds for _, bounds in planned]
            self._reduce(group, plans, summaries, chunks, emit)

    def chunk_texts(self, source: Source) -> list[str]:
        """The preprocessed text of each chunk of a source's selected turns."""
        return self._chunks(source)[0]

    def _chunks(self, source: Source) -> tuple[list[str], list[list[int]] | None]:
        """Each chunk's text, and its first and last turn in the whole transcript
        (None for a transcript without turns: it is one chunk)."""
        from .inputs import original_turns, with_turns

        selected = source.selected
        if not selected.turns:
            return [source.transcript], None
        turn_texts = [turn_text(turn) for turn in selected.turns]
        budget = self.map_builder.room(self.map_instruction)
        assert budget is not None, "map-reduce needs an input budget"
        chunks = chunk_turns(turn_texts, budget, self.counter, overlap=self.overlap)
        pieces = [with_turns(selected, [(c.start, c.end)]) for c in chunks]
        index = original_turns(source)
        bounds = [[index[c.start], index[c.end]] for c in chunks]
        return [item.transcript for item in self.prepare(pieces)], bounds

    def _plan(self, source: Source) -> tuple[list[Prompt], list[list[int]] | None]:
        """A source's chunk prompts and the chunks' turn bounds."""
        texts, bounds = self._chunks(source)
        return [self.map_builder.build(self.map_instruction, text) for text in texts], bounds

    def _shared(self, plans: list[list[Prompt]]) -> list[dict[str, _Summary]]:
        """Each plan's summaries from one pass over the meeting's distinct chunk
        prompts; a summary is in the dict of the first plan that needs it only."""
        computed = self._summarize([p for plan in plans for p in plan])
        owned: list[dict[str, _Summary]] = []
        for plan in plans:
            owned.append({p.text: computed.pop(p.text) for p in plan if p.text in computed})
        return owned

    def _summarize(self, prompts: list[Prompt]) -> dict[str, _Summary]:
        """A summary of each distinct prompt, by prompt text."""
        todo: dict[str, Prompt] = {}
        for prompt in prompts:
            todo.setdefault(prompt.text, prompt)
        texts = list(todo)
        summaries: dict[str, _Summary] = {}

        def done(result: Result) -> None:
            output = result.output
            text, new_tokens = (output.text, output.new_tokens) if output is not None else ("", 0)
            summaries[texts[result.index]] = _Summary(text, result.seconds, result.error, new_tokens)

        self._generate(texts, [todo[t].n_tokens for t in texts], ["map:" + t for t in texts], done)
        return summaries

    def _generate(self, texts: list[str], lengths: list[int], keys: list[str], done: Callable[[Result], None]) -> None:
        """Greedy (or served): one batched pass. Sampling: each prompt alone,
        seeded from the run seed and its key, so its draw is independent of
        what ran before it."""
        if self.seeded is None:
            self.batcher.run(texts, lengths, done)
            return
        self.seeded(texts, lengths, [example_seed(self.seed, key) for key in keys], done)

    def _reduce(
        self,
        group: list[Source],
        plans: list[list[Prompt]],
        owned: list[dict[str, _Summary]],
        chunks: list[list[list[int]] | None],
        emit: Emit,
    ) -> None:
        everything = {text: summary for mine in owned for text, summary in mine.items()}
        reduce_prompts = []
        for source, plan in zip(group, plans):
            joined = "\n".join(everything[p.text].text for p in plan)
            cut, was_cut = cut_to_tokens(self.reduce_builder.tokenizer, joined, self.reduce_tokens)
            reduce_prompts.append((self.reduce_builder.build(source.query, cut), was_cut))

        def done(result: Result) -> None:
            source, plan, mine = group[result.index], plans[result.index], owned[result.index]
            prompt, was_cut = reduce_prompts[result.index]
            errors = [everything[p.text].error for p in plan if everything[p.text].error]
            emit(
                self._finished(
                    source,
                    result,
                    sum(p.n_tokens for p in plan) + prompt.n_tokens,
                    was_cut or prompt.truncated or any(p.truncated for p in plan),
                    errors + ([result.error] if result.error else []),
                    {**_accounting(plan, mine, prompt.n_tokens), "chunks": chunks[result.index]},
                    list(mine.values()),
                )
            )

        prompts = [p for p, _ in reduce_prompts]
        keys = [source.example.id for source in group]
        self._generate([p.text for p in prompts], [p.n_tokens for p in prompts], keys, done)

    @staticmethod
    def _finished(source, result: Result, n_tokens, truncated, errors, extra, mine: list[_Summary]) -> Finished:
        """The record of one query: the cost of the chunk summaries computed for
        it (not those it took from another query) and of its reduce step."""
        output = result.output
        return Finished(
            source,
            output.text if output is not None else "",
            n_tokens,
            truncated,
            sum(s.seconds for s in mine) + result.seconds,
            errors[0] if errors else None,
            sum(s.new_tokens for s in mine) + (output.new_tokens if output is not None else 0),
            extra=extra,
        )


def _accounting(plan: list[Prompt], mine: dict[str, _Summary], reduce_prompt_tokens: int) -> dict:
    """Prompt tokens computed for this query: its reduce prompt and the chunk
    prompts summarized for it (with reuse, the chunks a meeting's first query
    needs); shared: the chunk prompts whose summaries it took from an earlier
    query of its meeting (or from its own plan, for a chunk repeated in it)."""
    computed, shared, seen = reduce_prompt_tokens, 0, set()
    for prompt in plan:
        if prompt.text in mine and prompt.text not in seen:
            computed += prompt.n_tokens
            seen.add(prompt.text)
        else:
            shared += prompt.n_tokens
    return {"computed_tokens": computed, "prefix_tokens": shared}


def run_extractive(sources: Sequence[Source], predict: Callable, emit: Emit) -> None:
    for source in sources:
        started = time.perf_counter()
        prediction = predict(source.selected)
        emit(Finished(source, prediction, 0, False, time.perf_counter() - started))


def by_meeting(sources: Sequence[Source]) -> list[list[Source]]:
    """Sources grouped by meeting, meetings in the order first seen."""
    return [[sources[i] for i in group] for group in indexes_by_meeting([s.example for s in sources])]

"""Shared-prefix reuse: a meeting's prompts computed once up to where they differ.

A meeting's ~7 queries share one transcript. Per meeting, in this order:

- Identical prompts (a template without ``{query}``) decoded deterministically
  (greedy or beam search, any model, seq2seq included) are generated once; the
  other queries' records copy the prediction and say ``shared_with``.
- For a causal model, the longest common token prefix of the remaining prompts
  runs once (``logits_to_keep=1``, so no prefix x vocab logits) and its KV
  cache is kept. Each query continues from it: one at a time (the cache
  cropped back to the prefix after each), or, when the run's batch size allows
  more than one and decoding is not sampled, as a batch from the cache
  expanded across it, each query's tail left-padded between the prefix and
  the tail (prefix | pads | tail, the mask zero on the pads; generate derives
  position ids from the mask, so each tail continues at the prefix's end).
  The cache is checked against each prompt's first tokens before use, since
  ``generate`` does not check it. With sampling and a query-free template the
  prefix is the whole prompt but its last token, and each query samples from
  its own seed.

Where continuation is not known to be exact (seq2seq models, remote code,
beam search, transformers' own MPT attention, cache layers that are not plain
per-token ``DynamicLayer``s or no cache at all, a model without
``logits_to_keep``: all decided before any prefix is computed), for a meeting
whose prompts can reach past a length-dependent RoPE's switch, or where the
prefix is too short to matter, the plain batched path runs, and stderr says
why once (gen/local/exactness.py). Models whose forward takes no position ids
(MPT's ALiBi counts the pads as distance), local attention windows counted by
index (GPT-Neo), and runs with a repetition penalty or n-gram blocking (they
read the pads among the prompt's ids), batch only tails of equal length.

Sampling is seeded per example (run seed and example id), set before each
example's generation on both paths, so grouping and resuming sample alike.
"""

from __future__ import annotations

import inspect
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...data import indexes_by_meeting
from ..config import LocalModel, Reuse, RunConfig
from ..engine import Emit, Finished, Generated, Result, example_seed
from ..inputs import Source
from ..prompting import Prompt
from .batching import Batcher, free_cuda_memory, is_out_of_memory, run_seeded
from .exactness import batch_limits, cache_reason, index_window_reason, length_switch
from .generate_call import GenerateCall, Output

# Shorter shared prefixes save less than a cache copy costs.
MIN_PREFIX_TOKENS = 64


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Length of the longest common prefix of token id lists."""
    if not rows:
        return 0
    length = min(len(row) for row in rows)
    first = rows[0]
    for row in rows[1:]:
        index = 0
        while index < length and row[index] == first[index]:
            index += 1
        length = index
    return length


def unsupported_reason(engine: GenerateCall, remote_code: bool) -> str | None:
    """Why this model's continuation from a cache may not be exact; None if it is."""
    loaded = engine.loaded
    if loaded.is_seq2seq:
        return "a seq2seq model"
    if remote_code:
        return "a remote-code model"
    if engine.generation.get("num_beams", 1) > 1:
        return "beam search"
    if loaded.model_type == "mpt" and loaded.attention != "sdpa-blocked":
        # transformers' own MPT attention aligns ALiBi to the last key, so a prompt split into
        # cache and continuation rounds differently from the whole (gen/local/mpt_attention.py does not).
        return f"MPT with {loaded.attention} attention (ALiBi continues exactly only with sdpa-blocked)"
    if "logits_to_keep" not in inspect.signature(loaded.model.forward).parameters:
        return "the model's forward takes no logits_to_keep"
    return cache_reason(loaded.model)


def meeting_groups(sources: Sequence[Source], prompts: Sequence[Prompt]) -> list[list[int]]:
    """Indexes of each meeting's examples, the meeting with the longest prompt first.

    Longest first, as the batcher sorts prompts: the first batch is the
    hardest, so a batch size that fits it fits the rest.
    """
    groups = indexes_by_meeting([source.example for source in sources])
    return sorted(groups, key=lambda group: (-max(prompts[i].n_tokens for i in group), group[0]))


@dataclass
class _Shared:
    """One meeting's distinct prompts, continued from the KV cache of their shared prefix."""

    indexes: list[int]  # into the run's sources and prompts
    example_ids: list[str]  # each query's sampling seed derives from its id
    ids: list[list[int]]  # each prompt's token ids
    prefix: int  # tokens in the cache
    cache: Any
    unpaid_seconds: float  # the prefix's time, charged to the first query that finishes
    first: bool = True  # the first query to finish is the one that computed the prefix


Done = Callable[[int, "Generated | None", float, "str | None"], None]


class PrefixReuse:
    """Runs the truncate strategy's prompts, reusing what each meeting's prompts share."""

    def __init__(
        self, engine: GenerateCall, batcher: Batcher, seed: int, reason_off: str | None, dedupe: bool = True
    ) -> None:
        self.engine, self.batcher, self.seed = engine, batcher, seed
        self.reason_off = reason_off  # None: prefix reuse where a prefix is long enough
        self.sampling = bool(engine.generation.get("do_sample", False))
        # Identical prompts give identical outputs only when decoding is deterministic.
        self.dedupe = dedupe and not self.sampling
        self.pads_ok = _pads_are_exact(engine)
        self.switch = length_switch(engine.loaded.model)
        self.new_tokens = engine.generation.get("max_new_tokens")
        self._said: set[str] = set()
        self._copies: dict[str, list[int]] = {}  # computing example's id -> indexes sharing its prediction

    def run(self, sources: Sequence[Source], prompts: Sequence[Prompt], emit: Emit) -> None:
        emit = self._emitting_copies(sources, prompts, emit)
        plain: list[int] = []
        for group in meeting_groups(sources, prompts):
            group = self._distinct(sources, prompts, group)
            if self.reason_off is None and len(group) > 1 and self._shared(sources, prompts, group, emit):
                continue
            plain += group
        self._run_plain(sources, prompts, plain, emit)

    def _distinct(self, sources, prompts, group: list[int]) -> list[int]:
        """The group's first example of each distinct prompt; the others are noted as its copies."""
        if not self.dedupe:
            return group
        first_of: dict[str, int] = {}
        for index in group:
            first = first_of.setdefault(prompts[index].text, index)
            if first != index:
                self._copies.setdefault(sources[first].example.id, []).append(index)
        if len(first_of) < len(group):
            self._say(
                "a meeting's identical prompts (a template without {query}), decoded deterministically, "
                "are generated once; the other records copy the prediction and say shared_with"
            )
        return list(first_of.values())

    def _emitting_copies(self, sources, prompts, emit: Emit) -> Emit:
        """``emit``, followed by the records of the examples that share the finished one's prompt."""

        def emit_with_copies(finished: Finished) -> None:
            emit(finished)
            for index in self._copies.pop(finished.source.example.id, []):
                prompt = prompts[index]
                emit(
                    Finished(
                        sources[index],
                        finished.prediction,
                        prompt.n_tokens,
                        prompt.truncated,
                        0.0,
                        finished.error,
                        0,
                        extra={
                            "computed_tokens": 0,
                            "prefix_tokens": prompt.n_tokens,
                            "shared_with": finished.source.example.id,
                        },
                    )
                )

        return emit_with_copies

    def _shared(self, sources, prompts, group: list[int], emit: Emit) -> bool:
        """Runs a group from its shared prefix; False (nothing run) if there is no usable prefix."""
        ids = [self._ids(prompts[index].text) for index in group]
        # At least one token of each prompt must remain for generate to feed.
        prefix = min(common_prefix_length(ids), min(len(row) for row in ids) - 1)
        if prefix < MIN_PREFIX_TOKENS:
            self._say(f"shared prefixes under {MIN_PREFIX_TOKENS} tokens run without reuse")
            return False
        if self.switch is not None and any(self.switch.crossed_by(len(row), self.new_tokens) for row in ids):
            # The prefix alone would get other frequencies than the whole prompt gets.
            self._say(
                f"{self.switch.scheme} changes its frequencies past {self.switch.positions} positions: "
                "meetings whose prompts can reach past it run without reuse"
            )
            return False
        started = time.perf_counter()
        cache = self._prefix_cache_or_none(ids[0][:prefix])
        if cache is None:
            return False
        cache = _preallocated(cache, 1, max(len(row) for row in ids) + self._new_tokens())
        for index, row in zip(group, ids):
            if row[:prefix] != ids[0][:prefix]:  # the cache must hold exactly this prompt's first tokens
                raise AssertionError(f"{sources[index].example.id}: prompt does not start with the cached prefix")
        example_ids = [sources[index].example.id for index in group]
        shared = _Shared(group, example_ids, ids, prefix, cache, time.perf_counter() - started)

        def done(k: int, output: Generated | None, seconds: float, error: str | None) -> None:
            index, row = shared.indexes[k], shared.ids[k]
            # The first query to finish computed the prefix; the others take it from the cache.
            computed, from_cache = (len(row), 0) if shared.first else (len(row) - prefix, prefix)
            seconds += shared.unpaid_seconds
            shared.first, shared.unpaid_seconds = False, 0.0
            emit(self._finished(sources[index], prompts[index], output, seconds, error, computed, from_cache))

        # Longest tails first, as the batcher sorts: the first batch is the hardest.
        order = sorted(range(len(group)), key=lambda k: (-len(ids[k]), k))
        position = 0
        while position < len(order):
            batch = self._next_batch(order[position:], ids, prefix)
            self._run_continuations(shared, batch, done)
            position += len(batch)
        return True

    def _next_batch(self, rest: list[int], ids: list[list[int]], prefix: int) -> list[int]:
        """The next queries to continue together: up to the batch size, one when sampling
        (each example starts from its own seed), equal tails only where pads are not exact."""
        size = 1 if self.sampling else max(1, self.batcher.size)
        batch = [rest[0]]
        for k in rest[1:size]:
            if not self.pads_ok and len(ids[k]) != len(ids[rest[0]]):
                break
            batch.append(k)
        return batch

    def _run_continuations(self, shared: _Shared, batch: list[int], done: Done) -> None:
        """As the batcher runs a batch (gen/local/batching.py): out of memory halves the batch
        size and retries in halves, and at one query fails that example alone."""
        if self.sampling:
            self._seed(shared.example_ids[batch[0]])
        self.batcher.run_halving(
            batch,
            lambda part: self._continue(shared.cache, [shared.ids[k] for k in part], shared.prefix),
            lambda result: done(result.index, result.output, result.seconds, result.error),
            describe=lambda exc: f"out of memory continuing from the shared prefix: {str(exc).strip()[:200]}",
        )

    def _run_plain(self, sources, prompts, indexes: list[int], emit: Emit) -> None:
        # Sampled examples run one by one so each starts from its own seed.
        seeds = [example_seed(self.seed, sources[i].example.id) for i in indexes] if self.sampling else None

        def done(result: Result) -> None:
            index = indexes[result.index]
            prompt = prompts[index]
            emit(
                self._finished(sources[index], prompt, result.output, result.seconds, result.error, prompt.n_tokens, 0)
            )

        texts = [prompts[i].text for i in indexes]
        run_seeded(self.batcher, texts, [prompts[i].n_tokens for i in indexes], seeds, done)

    def _finished(self, source, prompt: Prompt, output: Generated | None, seconds, error, computed, shared) -> Finished:
        return Finished(
            source,
            output.text if output is not None else "",
            prompt.n_tokens,
            prompt.truncated,
            seconds,
            error,
            output.new_tokens if output is not None else 0,
            extra={"computed_tokens": computed, "prefix_tokens": shared},
        )

    def _ids(self, text: str) -> list[int]:
        # Encoded as GenerateCall._encode encodes one prompt (no padding).
        return list(self.engine.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _prefix_cache_or_none(self, prefix: list[int]) -> Any | None:
        """The prefix's cache; None (the meeting runs plain) if it does not fit in memory or is not plain."""
        try:
            return self._prefix_cache(prefix)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            free_cuda_memory()
            self._say("a shared prefix did not fit in memory; its meeting runs without reuse")
            return None

    def _prefix_cache(self, prefix: list[int]) -> Any | None:
        """The KV cache of ``prefix``, or None (said once) if it is not a plain per-token cache."""
        import torch
        from transformers import DynamicCache

        loaded = self.engine.loaded
        input_ids = torch.tensor([prefix], device=loaded.device)
        self.engine.fresh_state()
        with torch.inference_mode():
            out = loaded.model(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                **{_cache_argument(loaded.model): DynamicCache(config=loaded.model.config)},
                use_cache=True,
                logits_to_keep=1,
            )
        cache = out[_cache_argument(loaded.model)]
        layers = getattr(cache, "layers", None)
        plain = (
            type(cache) is DynamicCache and layers and all(type(layer).__name__ == "DynamicLayer" for layer in layers)
        )
        if not plain or cache.get_seq_length() != len(prefix):
            # cache_reason checks this before any prefix runs; this catches what a forward does otherwise.
            kinds = ", ".join(sorted({type(layer).__name__ for layer in layers or ()})) or type(cache).__name__
            self._say(f"the model's cache ({kinds}) is not a plain per-token cache; running without reuse")
            self.reason_off = "cache type"
            return None
        return cache

    def _continue(self, cache: Any, rows: list[list[int]], prefix: int) -> list[Output]:
        """Generates for ``rows``, which all start with the ``prefix`` tokens in ``cache``.

        One row continues from ``cache`` itself, which is cropped back to the
        prefix afterwards (generate only appends to it: no copy is needed). A
        batch continues from a copy expanded across it; each tail is
        left-padded after the prefix so all end where generation starts.
        Either way the cache has room for the whole generation (see
        ``_preallocated``).
        """
        import torch

        loaded = self.engine.loaded
        pad = self.engine.generation.get("pad_token_id")
        input_ids, attention_mask = _padded_after_prefix(rows, prefix, 0 if pad is None else pad)
        input_ids, attention_mask = input_ids.to(loaded.device), attention_mask.to(loaded.device)
        if len(rows) == 1:
            work = cache
        else:
            work = _preallocated(cache, len(rows), input_ids.shape[1] + self._new_tokens())
        self.engine.fresh_state()
        try:
            with torch.inference_mode():
                sequences = loaded.model.generate(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    **{_cache_argument(loaded.model): work},
                    **self.engine.generation,
                )
            if work.get_seq_length() < input_ids.shape[1]:
                # The model dropped the cache and recomputed the prompt (Phi-3 does when a LongRoPE
                # switch is crossed): the records would claim a prefix taken from the cache.
                raise AssertionError("the model did not continue from the shared prefix's cache")
        finally:
            if work is cache:
                _crop_to(cache, prefix)
        return [self.engine._decode(row[input_ids.shape[1] :]) for row in sequences]

    def _new_tokens(self) -> int:
        """Room to leave in a cache for the generated tokens (it grows if a run asks for more)."""
        return int(self.engine.generation.get("max_new_tokens") or 0)

    def _seed(self, example_id: str) -> None:
        if self.sampling:
            import torch

            torch.manual_seed(example_seed(self.seed, example_id))

    def _say(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            sys.stderr.write(f"qmsum-fast: --reuse auto: {message}\n")


def _pads_are_exact(engine: GenerateCall) -> bool:
    """Whether pads between the prefix and a tail leave that row's outputs as they are: the
    positions must come from the mask (not ALiBi's key distance, as in MPT), no attention
    window may count them (GPT-Neo's local layers), and no logits processor may read the
    prompt's token ids (a repetition penalty would see the pads)."""
    generation = engine.generation
    reads_prompt = generation.get("repetition_penalty", 1.0) not in (None, 1.0) or generation.get(
        "no_repeat_ngram_size"
    )
    if reads_prompt or index_window_reason(getattr(engine.loaded.model, "config", None)) is not None:
        return False
    return "position_ids" in inspect.signature(engine.loaded.model.forward).parameters


def _padded_after_prefix(rows: list[list[int]], prefix: int, pad: int):
    """``prefix | pads | tail`` per row, and its attention mask (zero on the pads)."""
    import torch

    width = max(len(row) for row in rows) - prefix
    ids, mask = [], []
    for row in rows:
        pads = width - (len(row) - prefix)
        ids.append(row[:prefix] + [pad] * pads + row[prefix:])
        mask.append([1] * prefix + [0] * pads + [1] * (len(row) - prefix))
    return torch.tensor(ids), torch.tensor(mask)


def _preallocated(cache: Any, rows: int, capacity: int) -> Any:
    """A DynamicCache with ``cache``'s tokens (its one row repeated ``rows`` times) in buffers
    with room for ``capacity`` tokens; ``cache`` itself is left as it was.

    transformers' DynamicLayer concatenates each step's keys and values onto the
    whole cache, copying all of it every generated token (at 8k tokens, most of
    a decoding step's time on a CPU); these layers write the new tokens in place
    and hand attention a view of the filled part. The values are the same, so
    the attention computes the same.
    """
    from transformers import DynamicCache

    layer_class = _preallocated_layer_class()
    result = DynamicCache()
    result.layers = [layer_class(layer.keys, layer.values, rows, capacity) for layer in cache.layers]
    return result


def _preallocated_layer_class():
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        """A DynamicLayer whose keys and values are views of buffers filled in place."""

        def __init__(self, keys, values, rows: int, capacity: int) -> None:
            super().__init__()
            length = keys.shape[-2]
            capacity = max(capacity, length)
            self._keys = keys.new_empty((rows, keys.shape[1], capacity, keys.shape[3]))
            self._values = values.new_empty((rows, values.shape[1], capacity, values.shape[3]))
            self._keys[:, :, :length] = keys  # one row, broadcast to all
            self._values[:, :, :length] = values
            self.device, self.is_initialized = keys.device, True
            self._fill_to(length)

        def _fill_to(self, length: int) -> None:
            self.length = length
            self.keys, self.values = self._keys[:, :, :length], self._values[:, :, :length]

        def update(self, key_states, value_states, *args, **kwargs):
            end = self.length + key_states.shape[-2]
            if end > self._keys.shape[-2]:  # more tokens than foreseen: a larger buffer, once
                self._keys = _grown(self._keys, self.length, 2 * end)
                self._values = _grown(self._values, self.length, 2 * end)
            self._keys[:, :, self.length : end] = key_states
            self._values[:, :, self.length : end] = value_states
            self._fill_to(end)
            return self.keys, self.values

        def crop(self, tokens_to_remove: int) -> None:
            if tokens_to_remove > 0:
                raise ValueError("crop takes the (negative) number of tokens to remove")
            self._fill_to(self.length - abs(tokens_to_remove))

        def _unsupported(self, *args, **kwargs):
            # Beam search and batch selection are not used on the reuse path (see unsupported_reason).
            raise NotImplementedError("a preallocated reuse cache does not reorder or select rows")

        reorder_cache = batch_repeat_interleave = batch_select_indices = _unsupported

    return PreallocatedLayer


def _grown(buffer: Any, length: int, capacity: int) -> Any:
    grown = buffer.new_empty((*buffer.shape[:2], capacity, buffer.shape[3]))
    grown[:, :, :length] = buffer[:, :, :length]
    return grown


def _crop_to(cache: Any, length: int) -> None:
    """Back to its first ``length`` tokens, layer by layer (a failed forward may leave them uneven)."""
    for layer in cache.layers:
        extra = layer.get_seq_length() - length
        if extra > 0:
            layer.crop(-extra)
    if any(layer.get_seq_length() != length for layer in cache.layers):
        raise AssertionError("the shared prefix's cache could not be cropped back to the prefix")


def _cache_argument(model: Any) -> str:
    """transformers 5 names the KV cache ``cache`` (in and out), earlier versions ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def prefix_reuse(engine: GenerateCall, batcher: Batcher, config: RunConfig) -> PrefixReuse:
    """The truncate strategy's runner for the run's ``--reuse``; with auto, says once why a model runs without it."""
    local = config.engine
    assert isinstance(local, LocalModel), "an in-process model run's configuration"
    # Which prompts may share a padded batch, on every path that batches (map-reduce too).
    batcher.limits = batch_limits(engine.loaded, engine.generation)
    off = local.reuse is Reuse.OFF
    reason = "--reuse off" if off else unsupported_reason(engine, local.trust_remote_code)
    if not off and reason is not None:
        sys.stderr.write(f"qmsum-fast: --reuse auto: {reason}: running without prefix reuse\n")
    return PrefixReuse(engine, batcher, config.seed, reason, dedupe=not off)

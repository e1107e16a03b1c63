"""Shared-prefix reuse: a meeting's prompts computed once up to where they differ.

With templates that put the transcript before the query, a meeting's ~7
prompts share thousands of leading tokens. For a causal model the longest
common token prefix of a meeting's prompts runs once (``logits_to_keep=1``,
so no prefix x vocab logits), its KV cache is kept, and each query continues
from a copy of it, one query at a time. The cache is checked against each
prompt's first tokens before use, since ``generate`` does not check it.

Where continuation is not known to be exact (seq2seq models, remote code,
beam search, a cache that is not a plain DynamicCache, a model without
``logits_to_keep``) or the prefix is too short to matter, the plain batched
path runs, and stderr says why once.

Sampling is seeded per example (run seed and example id), set before each
example's generation on both paths, so grouping and resuming sample alike.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..data import meeting_of
from .batching import Batcher, Result, _free_cuda_memory, is_out_of_memory
from .config import RunConfig
from .engine import Engine, Output
from .inputs import Source
from .prompting import Prompt
from .strategies import Emit, Finished

REUSE_MODES = ("auto", "off")
# Shorter shared prefixes save less than a cache copy costs.
MIN_PREFIX_TOKENS = 64


@dataclass(frozen=True)
class ReusedFinished(Finished):
    """A finished example with its prompt-token accounting (written to the record)."""

    extra: dict = field(default_factory=dict)


def example_seed(run_seed: int, example_id: str) -> int:
    """A stable per-example seed: the same whatever the grouping, order or resume."""
    digest = hashlib.blake2b(f"{run_seed}\0{example_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % 2**63


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


def unsupported_reason(engine: Engine, remote_code: bool) -> str | None:
    """Why this model's continuation from a cache may not be exact; None if it is."""
    loaded = engine.loaded
    if loaded.is_seq2seq:
        return "a seq2seq model"
    if remote_code:
        return "a remote-code model"
    if engine.generation.get("num_beams", 1) > 1:
        return "beam search"
    if loaded.model_type == "mpt":  # its ALiBi bias is sized for the new tokens only, not the cached ones
        return "MPT (ALiBi attention does not continue from a given cache)"
    if "logits_to_keep" not in inspect.signature(loaded.model.forward).parameters:
        return "the model's forward takes no logits_to_keep"
    return None


class PrefixReuse:
    """Runs the truncate strategy's prompts, reusing each meeting's shared prefix."""

    def __init__(self, engine: Engine, batcher: Batcher, seed: int, reason_off: str | None) -> None:
        self.engine, self.batcher, self.seed = engine, batcher, seed
        self.reason_off = reason_off  # None: reuse where a prefix is long enough
        self.sampling = bool(engine.generation.get("do_sample", False))
        self._said: set[str] = set()

    def run(self, sources: Sequence[Source], prompts: Sequence[Prompt], emit: Emit) -> None:
        plain: list[int] = []
        for group in _by_meeting(sources):
            if self.reason_off is None and len(group) > 1 and self._shared(sources, prompts, group, emit):
                continue
            plain += group
        self._run_plain(sources, prompts, plain, emit)

    def _shared(self, sources, prompts, group: list[int], emit: Emit) -> bool:
        """Runs a group from its shared prefix; False (nothing run) if the prefix is too short."""
        ids = [self._ids(prompts[index].text) for index in group]
        # At least one token of each prompt must remain for generate to feed.
        prefix = min(common_prefix_length(ids), min(len(row) for row in ids) - 1)
        if prefix < MIN_PREFIX_TOKENS:
            self._say(f"shared prefixes under {MIN_PREFIX_TOKENS} tokens run without reuse")
            return False
        started = time.perf_counter()
        try:
            cache = self._prefix_cache(ids[0][:prefix])
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            _free_cuda_memory()
            self._say("a shared prefix did not fit in memory; its meeting runs without reuse")
            return False
        if cache is None:
            return False
        prefix_seconds = time.perf_counter() - started
        for position, (index, row) in enumerate(zip(group, ids)):
            if row[:prefix] != ids[0][:prefix]:  # the cache must hold exactly this prompt's first tokens
                raise AssertionError(f"{sources[index].example.id}: prompt does not start with the cached prefix")
            started = time.perf_counter()
            self._seed(sources[index])
            output, error = self._continue_or_error(cache, row)
            seconds = time.perf_counter() - started + (prefix_seconds if position == 0 else 0.0)
            # The first query of a group computes the prefix; the others take it from the cache.
            computed = len(row) if position == 0 else len(row) - prefix
            shared = 0 if position == 0 else prefix
            emit(self._finished(sources[index], prompts[index], output, seconds, error, computed, shared))
        return True

    def _continue_or_error(self, cache: Any, ids: list[int]) -> tuple[Output | None, str | None]:
        """As the batcher does at batch size 1: out of memory fails this example alone, and the run goes on."""
        try:
            return self._continue(cache, ids), None
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            _free_cuda_memory()
            return None, f"out of memory continuing from the shared prefix: {str(exc).strip()[:200]}"

    def _run_plain(self, sources, prompts, indexes: list[int], emit: Emit) -> None:
        # Sampled examples run one by one so each starts from its own seed.
        batches = [[index] for index in indexes] if self.sampling else [indexes]
        for batch in batches:
            if not batch:
                continue
            if self.sampling:
                self._seed(sources[batch[0]])

            def done(result: Result, batch=batch) -> None:
                index = batch[result.index]
                n_tokens = prompts[index].n_tokens
                emit(
                    self._finished(
                        sources[index], prompts[index], result.output, result.seconds, result.error, n_tokens, 0
                    )
                )

            self.batcher.run([prompts[i].text for i in batch], [prompts[i].n_tokens for i in batch], done)

    def _finished(self, source, prompt: Prompt, output: Output | None, seconds, error, computed, shared) -> Finished:
        return ReusedFinished(
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
        # Encoded as Engine._encode encodes one prompt (no padding).
        return list(self.engine.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _prefix_cache(self, prefix: list[int]) -> Any | None:
        """The KV cache of ``prefix``, or None (said once) if it is not a plain per-token cache."""
        import torch
        from transformers import DynamicCache

        loaded = self.engine.loaded
        input_ids = torch.tensor([prefix], device=loaded.device)
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
            self._say(
                f"the model's cache ({type(cache).__name__}) is not a plain per-token cache; running without reuse"
            )
            self.reason_off = "cache type"
            return None
        return cache

    def _continue(self, cache: Any, ids: list[int]) -> Output:
        import torch

        loaded = self.engine.loaded
        input_ids = torch.tensor([ids], device=loaded.device)
        with torch.inference_mode():
            sequences = loaded.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                # A copy: generate extends the cache it is given.
                **{_cache_argument(loaded.model): copy.deepcopy(cache)},
                **self.engine.generation,
            )
        return self.engine._decode(sequences[0, len(ids) :])

    def _seed(self, source: Source) -> None:
        if self.sampling:
            import torch

            torch.manual_seed(example_seed(self.seed, source.example.id))

    def _say(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            sys.stderr.write(f"qmsum-fast: --reuse auto: {message}\n")


def _cache_argument(model: Any) -> str:
    """transformers 5 names the KV cache ``cache`` (in and out), earlier versions ``past_key_values``."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _by_meeting(sources: Sequence[Source]) -> list[list[int]]:
    groups: dict[tuple, list[int]] = {}
    for index, source in enumerate(sources):
        groups.setdefault(meeting_of(source.example), []).append(index)
    return list(groups.values())


def prefix_reuse(engine: Engine, batcher: Batcher, config: RunConfig) -> PrefixReuse:
    """The truncate strategy's runner for ``config.reuse``; with auto, says once why a model runs without it."""
    reason = "--reuse off" if config.reuse == "off" else unsupported_reason(engine, config.trust_remote_code)
    if config.reuse != "off" and reason is not None:
        sys.stderr.write(f"qmsum-fast: --reuse auto: {reason}: running without prefix reuse\n")
    return PrefixReuse(engine, batcher, config.seed, reason)

"""Length-sorted batches, automatic batch size, and halving on out-of-memory.

Prompts run longest first: the first batch is the hardest, so once a batch
size fits it fits for the rest, and similar lengths waste little padding.
On CUDA out-of-memory a batch is split in halves and retried, down to single
prompts; a single prompt that still does not fit fails alone, with a message,
and the run goes on. Where the model's outputs would depend on a batch's
composition (gen/local/exactness.py), ``limits`` keeps such prompts alone or
with prompts of their own length, and says so once on stderr.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..engine import Result
from .exactness import BatchLimits

AUTO_START_CUDA = 32
AUTO_START_CPU = 4


def start_batch_size(batch_size: int | str, count: int, on_cuda: bool) -> int:
    """An explicit size, or for "auto" a first try the halving narrows down."""
    if batch_size == "auto":
        size = AUTO_START_CUDA if on_cuda else AUTO_START_CPU
    else:
        size = int(batch_size)
    return max(1, min(size, max(count, 1)))


def is_out_of_memory(exc: BaseException) -> bool:
    try:
        import torch

        if isinstance(exc, torch.cuda.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover - torch is present whenever models run
        pass
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def free_cuda_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass


class Batcher:
    """Runs ``generate(texts) -> outputs`` over prompts in length-sorted batches.

    ``size`` is shared across calls: a size found to fit stays in use.
    """

    def __init__(self, generate: Callable[[Sequence[str]], list], size: int, limits: BatchLimits | None = None) -> None:
        self.generate = generate
        self.size = size
        self.limits = limits or BatchLimits()
        self._said: set[str] = set()

    def run(
        self,
        texts: Sequence[str],
        lengths: Sequence[int],
        on_result: Callable[[Result], None],
    ) -> None:
        order = sorted(range(len(texts)), key=lambda i: (-lengths[i], i))
        position = 0
        while position < len(order):
            batch = self.limits.batches(order[position:], lengths, self.size)
            if len(batch) < min(self.size, len(order) - position):
                self._say_limits()
            self._run_batch(texts, batch, on_result)
            position += len(batch)

    def _say_limits(self) -> None:
        """Why a batch is smaller than the batch size, once per reason."""
        for note in self.limits.notes():
            if note not in self._said:
                self._said.add(note)
                sys.stderr.write(f"qmsum-fast: batching: {note}\n")

    def _run_batch(self, texts, batch: list[int], on_result) -> None:
        self.run_halving(batch, lambda part: self.generate([texts[i] for i in part]), on_result)

    def run_halving(
        self,
        batch: list[int],
        generate: Callable[[list[int]], list],
        on_result: Callable[[Result], None],
        describe: Callable[[BaseException], str] | None = None,
    ) -> None:
        """``generate(batch)`` with its outputs handed to ``on_result`` by index; out
        of memory shrinks ``size`` and retries in halves, and at one prompt fails it
        alone, with ``describe(error)`` (default: the batcher's own message)."""
        describe = describe or _oom_message
        started = time.perf_counter()
        try:
            outputs = generate(batch)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            free_cuda_memory()
            if len(batch) == 1:
                on_result(Result(batch[0], None, time.perf_counter() - started, describe(exc)))
                return
            # Smaller batches from now on; retry this one in halves.
            self.size = max(1, len(batch) // 2)
            half = (len(batch) + 1) // 2
            self.run_halving(batch[:half], generate, on_result, describe)
            self.run_halving(batch[half:], generate, on_result, describe)
            return
        share = (time.perf_counter() - started) / len(batch)
        for index, output in zip(batch, outputs):
            on_result(Result(index, output, share))


def run_seeded(
    batcher: Any,
    texts: Sequence[str],
    lengths: Sequence[int],
    seeds: Sequence[int] | None,
    on_result: Callable[[Result], None],
) -> None:
    """``batcher.run`` over the prompts; with ``seeds``, each prompt alone, in the
    given order, after ``torch.manual_seed`` with its own seed, so what it samples
    does not depend on what ran before it (results keep their place in ``texts``)."""
    if seeds is None:
        batcher.run(texts, lengths, on_result)
        return
    import torch

    for index, (text, length, seed) in enumerate(zip(texts, lengths, seeds)):
        torch.manual_seed(seed)
        batcher.run([text], [length], lambda result, index=index: on_result(dataclasses.replace(result, index=index)))


def _oom_message(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"out of memory even at batch size 1: {first}"

"""Chunking a transcript's turns into token budgets, on turn boundaries.

The work runs in the Rust core (``rust/src/chunk.rs``): chunks are packed
greedily from per-turn counts, then each chunk's joined text is counted exactly
with the model's tokenizer. A single turn longer than the budget becomes a
chunk of its own with ``tokens > budget``; callers cut its text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import _core
from .errors import InputError
from .stats import TokenCounter


@dataclass(frozen=True)
class Chunk:
    start: int  # first turn index
    end: int  # last turn index, inclusive
    tokens: int  # exact token count of the joined text (no special tokens)


def chunk_turns(
    turns: Sequence[str],
    budget: int,
    counter: TokenCounter,
    overlap: int = 0,
    separator: str = "\n",
) -> list[Chunk]:
    """Chunks of ``separator.join(turns[start:end + 1])`` of at most ``budget``
    tokens each, repeating at most ``overlap`` tokens of whole turns."""
    return _chunks(_core.chunk_turns, counter._core, list(turns), budget, overlap, separator)


def chunk_turn_counts(
    turn_tokens: Sequence[int], budget: int, overlap: int = 0, separator_tokens: int = 0
) -> list[Chunk]:
    """Chunks from per-turn token counts, with ``separator_tokens`` between turns."""
    return _chunks(_core.chunk_turn_counts, list(turn_tokens), budget, overlap, separator_tokens)


def _chunks(chunker: Callable[..., list[tuple[int, int, int]]], *args: object) -> list[Chunk]:
    """The chunks the core ``chunker`` finds; its InputError says it was chunking."""
    try:
        found = chunker(*args)
    except InputError as exc:
        raise InputError(f"chunking: {exc}") from None
    return [Chunk(*triple) for triple in found]

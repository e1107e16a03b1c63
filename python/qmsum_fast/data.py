"""The QMSum data model and loaders.

One :class:`Example` is one query about one meeting. Queries about the same
meeting share the same ``turns`` tuple object, so callers can process a
transcript once per meeting (``id(example.turns)`` identifies it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

DOMAINS = ("academic", "product", "committee")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Turn:
    speaker: str
    content: str


@dataclass(frozen=True)
class Example:
    id: str  # stable: "<split>/<meeting>/<g|s><index>", e.g. "test/Bed003/s2"
    meeting: str
    domain: str  # one of DOMAINS
    split: str  # one of SPLITS
    query_type: str  # "general" or "specific"
    query: str
    references: tuple[str, ...]
    turns: tuple[Turn, ...]
    # Inclusive turn ranges the answer is drawn from; empty for general queries.
    spans: tuple[tuple[int, int], ...] = field(default=())
    # The transcript as given, for formats that carry it as one string
    # (SCROLLS, LongBench, alpaca); None when it is built from turns.
    raw_transcript: str | None = None

"""The QMSum data model and loaders.

One :class:`Example` is one query about one meeting. Queries about the same
meeting share the same ``turns`` tuple object, so callers can process a
transcript once per meeting (``id(example.turns)`` identifies it).

:func:`load_examples` reads every format the package knows (upstream QMSum,
SCROLLS, LongBench, alpaca JSON), chosen by what the path holds; with no path it
reads the QMSum dataset bundled in the package.
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

DOMAINS = ("academic", "product", "committee")
SPLITS = ("train", "val", "test")
QUERY_TYPES = ("general", "specific")


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


def example_id(split: str, meeting: str, query_type: str, index: int) -> str:
    """The stable id of the ``index``-th query of its type about a meeting."""
    return f"{split}/{meeting}/{query_type[0]}{index}"


_ID = re.compile(r"(train|val|test)/([^/]+)/([gs])(\d+)")


def parse_example_id(text: str) -> tuple[str, str, str, int] | None:
    """``(split, meeting, query_type, index)`` of a stable id, None for other ids."""
    match = _ID.fullmatch(text)
    if match is None:
        return None
    split, meeting, kind, index = match.groups()
    return split, meeting, "general" if kind == "g" else "specific", int(index)


def plain_transcript(example: Example) -> str:
    """The transcript with no preprocessing: ``raw_transcript`` when the source
    carried one string, else one ``Speaker: content`` line per turn."""
    if example.raw_transcript is not None:
        return example.raw_transcript
    return render_turns(example.turns)


def render_turns(turns: tuple[Turn, ...]) -> str:
    return "\n".join(f"{turn.speaker}: {turn.content}" for turn in turns)


def parse_turns(transcript: str) -> tuple[Turn, ...]:
    """Turns of a one-string transcript, one per non-blank line.

    A line ``Speaker: content`` gives that speaker; a line without ``": "``
    becomes a turn with an empty speaker. ``render_turns`` inverts this for
    transcripts it wrote.
    """
    turns = []
    for line in transcript.split("\n"):
        if not line.strip():
            continue
        speaker, sep, content = line.partition(": ")
        turns.append(Turn(speaker, content) if sep else Turn("", line))
    return tuple(turns)


# ICSI meetings are named B<room><number> (Bed003, Bmr016, Bro019, Bdb001, Buw001),
# AMI meetings <site><number><session> (ES2004a, IS1003b, TS3011d).
_ICSI = re.compile(r"B[a-z]{2}\d{3}")
_AMI = re.compile(r"(ES|IS|TS)\d{4}[a-z]")


def domain_of_meeting(meeting: str) -> str:
    """The domain a QMSum meeting name implies: ICSI is academic, AMI product,
    everything else (the parliamentary committees) committee."""
    if _ICSI.fullmatch(meeting):
        return "academic"
    if _AMI.fullmatch(meeting):
        return "product"
    return "committee"


def check_filters(split: str, domain: str | None) -> tuple[str, str | None]:
    """Normalised ``(split, domain)`` filters; InputError for unknown values."""
    split_name = SPLIT_ALIASES.get(str(split).lower())
    if split_name is None:
        raise InputError(f"--split: unknown split {split!r} (choose from all, train, val, test)")
    if domain is None or str(domain).lower() == "all":
        return split_name, None
    domain_name = str(domain).lower()
    if domain_name not in DOMAINS:
        raise InputError(f"--domain: unknown domain {domain!r} (choose from all, academic, product, committee)")
    return split_name, domain_name


SPLIT_ALIASES = {
    "all": "all",
    "train": "train",
    "val": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
}


def load_examples(path: str | Path | None = None, split: str = "all", domain: str | None = None) -> list[Example]:
    """Load QMSum examples from ``path`` (None: the bundled dataset).

    ``split`` is ``"all"`` or one of :data:`SPLITS`; ``domain`` is None (all) or
    one of :data:`DOMAINS`. What ``path`` holds picks the reader: an upstream data
    root, split folder, meeting file or JSONL, a SCROLLS or LongBench JSONL, or an
    alpaca JSON list. Bad input raises :class:`InputError` naming the file, line
    and field.
    """
    from . import readers  # readers build Examples, so they import this module

    split, domain = check_filters(split, domain)
    source = readers.bundled_root() if path is None else Path(path)
    # Loading makes ~130k long-lived objects and no cycles; pausing the cyclic
    # collector meanwhile saves it from rescanning them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        examples = readers.read_path(source, split, domain)
    finally:
        if collecting:
            gc.enable()
    examples = [ex for ex in examples if (split == "all" or ex.split == split) and (domain is None or ex.domain == domain)]
    if not examples:
        raise InputError(f"{source}: no examples for split={split} domain={domain or 'all'}")
    return examples

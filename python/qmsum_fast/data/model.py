"""The QMSum data model: turns, examples, stable ids and domains.

One :class:`Example` is one query about one meeting. Queries about the same
meeting share the same ``turns`` tuple object, so callers can process a
transcript once per meeting (``id(example.turns)`` identifies it).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

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
    # (SCROLLS, ZeroSCROLLS, LongBench, alpaca); None when it is built from turns.
    raw_transcript: str | None = None
    # The id a peer's file gave the example (SCROLLS and ZeroSCROLLS ``id``,
    # LongBench ``_id``): leaderboards know it by that id, so run records and
    # exports carry it. None for the package's own ids (``test/Bed003/s2``).
    source_id: str | None = None
    # SCROLLS and ZeroSCROLLS ``pid`` of each row of the example, in file order.
    source_pids: tuple[str, ...] = ()


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


def turn_text(turn: Turn) -> str:
    """A turn as a transcript shows it: ``Speaker: content``."""
    return f"{turn.speaker}: {turn.content}"


def render_turns(turns: Sequence[Turn]) -> str:
    """A transcript: one :func:`turn_text` line per turn."""
    return "\n".join(map(turn_text, turns))


def transcript_key(example: Example) -> Hashable:
    """What identifies an example's transcript within one loaded data set:
    queries about one meeting share their ``turns`` tuple, so its identity
    serves; a transcript given as one string is keyed by its text (its
    ``turns`` may be a shared empty tuple). A subset of turns
    (``--input gold``/``locator``) is a new tuple, so a key of its own."""
    if example.raw_transcript is not None:
        return ("raw", example.raw_transcript)
    return ("turns", id(example.turns))


def meeting_of(example: Example) -> tuple[str, str]:
    """``(split, meeting)``: the meeting an example asks about, by name."""
    return example.split, example.meeting


def indexes_by_meeting(examples: Sequence[Example]) -> list[list[int]]:
    """The positions of each meeting's examples, meetings in the order first seen."""
    groups: dict[tuple[str, str], list[int]] = {}
    for index, example in enumerate(examples):
        groups.setdefault(meeting_of(example), []).append(index)
    return list(groups.values())


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

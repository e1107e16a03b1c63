"""Preprocessing: the query, transcript and references a model sees.

``mode="none"`` keeps the data as given: the transcript is one ``speaker: content`` line
per turn (or the raw transcript of formats that carry one string).

``mode="qmsum"`` is the upstream QMSum data-processing recipe (Yale-LILY/QMSum), which the
original experiments used: everything lowercased and word-tokenized as
``nltk.word_tokenize`` did it (Punkt sentences, then the Treebank tokenizer), tokens
joined by single spaces; each turn is ``speaker.lower() + ": " + tokens``, turns joined
by one space, then the noise markers (``{ vocalsound } ``, ``{ disfmarker } ``, ...) are
removed. Queries and references are tokenized with no replacements. The work runs in
the Rust core (``rust/src/preprocess.rs``), in parallel.

Each meeting's transcript is built once and the same string object is shared by all the
queries about it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from . import _core
from .data import Example, plain_transcript, transcript_key
from .errors import InputError

MODES = ("none", "qmsum")


@dataclass(frozen=True)
class Prepared:
    query: str
    transcript: str
    references: tuple[str, ...]


def prepare(examples: Sequence[Example], mode: str = "none") -> list[Prepared]:
    """The query, transcript and references of each example, preprocessed by ``mode``."""
    if mode not in MODES:
        raise InputError(f"unknown preprocessing {mode!r}: use one of {', '.join(MODES)}")
    examples = list(examples)
    transcripts = _transcripts(examples, mode)
    if mode == "none":
        return [
            Prepared(example.query, transcripts[transcript_key(example)], tuple(example.references))
            for example in examples
        ]
    texts = [text for example in examples for text in (example.query, *example.references)]
    tokenized = iter(_core.qmsum_tokenize_texts(texts))
    prepared = []
    for example in examples:
        query = next(tokenized)
        references = tuple(next(tokenized) for _ in example.references)
        prepared.append(Prepared(query, transcripts[transcript_key(example)], references))
    return prepared


def _transcripts(examples: list[Example], mode: str) -> dict[Hashable, str]:
    """Each distinct meeting's transcript, computed once."""
    meetings: dict[Hashable, Example] = {}
    for example in examples:
        meetings.setdefault(transcript_key(example), example)
    if mode == "none":
        return {key: plain_transcript(example) for key, example in meetings.items()}
    with_turns = [key for key, example in meetings.items() if example.raw_transcript is None]
    raw = [key for key, example in meetings.items() if example.raw_transcript is not None]
    turns = [[(t.speaker, t.content) for t in meetings[key].turns] for key in with_turns]
    built = dict(zip(with_turns, _core.qmsum_transcripts(turns)))
    raw_texts = [meetings[key].raw_transcript or "" for key in raw]
    built.update(zip(raw, _core.qmsum_raw_transcripts(raw_texts)))
    return built

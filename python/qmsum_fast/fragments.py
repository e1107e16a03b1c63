"""Faithfulness signals of a prediction against its meeting's transcript.

Computed in Rust (``rust/src/fragments.rs``) over rouge-score's tokens
(lowercase ``[a-z0-9]`` runs; Porter-stemmed with ``stem=True``):

- ``coverage`` and ``density`` of the extractive fragments (Grusky et al.
  2018, *Newsroom*, section 4.1): the paper's greedy algorithm finds, for
  each prediction position, the first longest run of tokens shared with the
  transcript, and moves past it; ``coverage = sum |f| / |prediction|`` (the
  share of tokens copied), ``density = sum |f|^2 / |prediction|`` (how long
  the copied runs are: an extractive baseline's density is in the hundreds);
- ``novel_ngrams``: the share of the prediction's ``n``-grams (``n = 2`` by
  default; each occurrence counted) found in neither the transcript nor the
  query, a proxy for content the model made up.

A prediction without tokens has no coverage or density (None), and one
shorter than ``n`` tokens no novelty share.

Typical use, one run against its examples::

    from qmsum_fast.fragments import faithfulness_of
    signals = faithfulness_of([p.prediction for p in run.predictions], examples)
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from ._core import DEFAULT_NGRAM, fragment_signals
from .data import Example, plain_transcript, transcript_key

__all__ = ["DEFAULT_NGRAM", "Faithfulness", "faithfulness", "faithfulness_batch", "faithfulness_of", "mean_signals"]


@dataclass(frozen=True)
class Faithfulness:
    """The signals of one prediction. ``fragments``: ``(prediction token,
    transcript token, length)`` of each extractive fragment, in order."""

    tokens: int
    coverage: float | None
    density: float | None
    novel_ngrams: float | None
    n: int
    fragments: tuple[tuple[int, int, int], ...]

    def as_json(self) -> dict:
        """The figures (not the fragments), e.g. for ``score --json``: ``novel_2grams`` names its n."""
        return {
            "tokens": self.tokens,
            "coverage": self.coverage,
            "density": self.density,
            f"novel_{self.n}grams": self.novel_ngrams,
        }


def faithfulness(
    prediction: str, transcript: str, query: str = "", *, n: int = DEFAULT_NGRAM, stem: bool = False
) -> Faithfulness:
    """The signals of one prediction written from ``transcript`` for ``query``."""
    return faithfulness_batch([prediction], [transcript], [query], n=n, stem=stem)[0]


def faithfulness_batch(
    predictions: Sequence[str],
    transcripts: Sequence[str],
    queries: Sequence[str],
    *,
    n: int = DEFAULT_NGRAM,
    stem: bool = False,
) -> list[Faithfulness]:
    """The signals of ``predictions[i]`` against ``transcripts[i]`` and
    ``queries[i]``, in parallel; equal transcripts are tokenized once."""
    index: dict[str, int] = {}
    source_of = [index.setdefault(text, len(index)) for text in transcripts]
    return _signals(predictions, list(index), queries, source_of, n, stem)


def faithfulness_of(
    predictions: Sequence[str], examples: Sequence[Example], *, n: int = DEFAULT_NGRAM, stem: bool = False
) -> list[Faithfulness]:
    """The signals of ``predictions[i]`` against the transcript (as given,
    ``Speaker: text`` lines) and the query of ``examples[i]``; each meeting's
    transcript is built and tokenized once."""
    if len(predictions) != len(examples):
        raise ValueError(f"{len(predictions)} predictions but {len(examples)} examples")
    index: dict[Hashable, int] = {}
    transcripts: list[str] = []
    source_of = []
    for example in examples:
        key = transcript_key(example)
        if key not in index:
            index[key] = len(transcripts)
            transcripts.append(plain_transcript(example))
        source_of.append(index[key])
    return _signals(predictions, transcripts, [e.query for e in examples], source_of, n, stem)


def _signals(
    predictions: Sequence[str],
    transcripts: list[str],
    queries: Sequence[str],
    source_of: list[int],
    n: int,
    stem: bool,
) -> list[Faithfulness]:
    rows = fragment_signals(list(predictions), transcripts, list(queries), source_of, n=n, stem=stem)
    return [
        Faithfulness(tokens, coverage, density, novel, n, tuple(fragments))
        for tokens, coverage, density, novel, fragments in rows
    ]


def mean_signals(signals: Sequence[Faithfulness]) -> dict[str, float | None]:
    """A run's figures (``view``'s runs table, a ``report`` column): the mean of
    each signal over the predictions that have it (None when none has)."""
    n = signals[0].n if signals else DEFAULT_NGRAM
    columns = {"coverage": [s.coverage for s in signals], "density": [s.density for s in signals]}
    columns[f"novel_{n}grams"] = [s.novel_ngrams for s in signals]
    means: dict[str, float | None] = {}
    for name, values in columns.items():
        present = [v for v in values if v is not None]
        means[name] = sum(present) / len(present) if present else None
    return means

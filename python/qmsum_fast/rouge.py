"""ROUGE equal to rouge-score 0.1.2, computed in Rust.

A drop-in for ``rouge_score.rouge_scorer`` and ``rouge_score.scoring``::

    from qmsum_fast.rouge import RougeScorer, BootstrapAggregator

    scorer = RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    scorer.score(target, prediction)          # {"rouge1": Score(precision, recall, fmeasure), ...}
    scorer.score_multi(targets, prediction)   # best F-measure per type over the targets
    scorer.score_batch(targets, predictions)  # many pairs in parallel, GIL released

Per-example precision, recall and F-measure are equal (``==``) to
rouge-score's. With ``split_summaries=True`` rougeLsum uses our rule-based
sentence splitter (:func:`split_summary_sentences`) instead of NLTK's Punkt model.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple, cast

from ._core import RougeCore, rouge_tokenize, split_summary_sentences

__all__ = [
    "AggregateScore",
    "BootstrapAggregator",
    "RougeScorer",
    "Score",
    "split_summary_sentences",
    "tokenize",
]


class Score(NamedTuple):
    """Precision, recall and F-measure, like rouge-score's ``scoring.Score``."""

    precision: float
    recall: float
    fmeasure: float


class AggregateScore(NamedTuple):
    """Low, mid and high bounds of a bootstrap interval, like rouge-score's."""

    low: Score
    mid: Score
    high: Score


def tokenize(text: str, use_stemmer: bool = False) -> list[str]:
    """rouge-score's tokens of ``text`` (lowercase ``[a-z0-9]`` runs, Porter-stemmed
    when longer than 3 characters and ``use_stemmer``)."""
    return rouge_tokenize(text, stem=use_stemmer)


class RougeScorer:
    """Scores predictions against targets for the given ROUGE types.

    ``rouge_types``: any of ``rouge1`` .. ``rouge9``, ``rougeL``, ``rougeLsum``.
    Unknown types raise ``ValueError`` here rather than at the first score.
    """

    def __init__(
        self,
        rouge_types: Sequence[str],
        use_stemmer: bool = False,
        split_summaries: bool = False,
    ) -> None:
        if isinstance(rouge_types, str):
            raise TypeError("rouge_types must be a list of names, not one string")
        self.rouge_types = list(rouge_types)
        self._core = RougeCore(
            self.rouge_types, use_stemmer=use_stemmer, split_summaries=split_summaries, score_class=Score
        )

    def score(self, target: str, prediction: str) -> dict[str, Score]:
        """Scores of ``prediction`` against one ``target``."""
        # The core builds each value with score_class=Score.
        return cast("dict[str, Score]", self._core.score(target, prediction))

    def score_multi(self, targets: Sequence[str], prediction: str) -> dict[str, Score]:
        """Per type, the score against the target with the highest F-measure
        (the first one on ties), as rouge-score's ``score_multi``."""
        if not targets:
            raise ValueError("score_multi needs at least one target")
        return cast("dict[str, Score]", self._core.score_multi(list(targets), prediction))

    def score_batch(
        self,
        targets: Sequence[str] | Sequence[Sequence[str]],
        predictions: Sequence[str],
    ) -> list[dict[str, Score]]:
        """Scores of many pairs, computed in parallel in Rust with the GIL released.

        Each target is a string (as :meth:`score`) or a list of strings (as
        :meth:`score_multi`).
        """
        targets = list(targets)
        predictions = list(predictions)
        if len(targets) != len(predictions):
            raise ValueError(f"{len(targets)} targets but {len(predictions)} predictions")
        if all(isinstance(t, str) for t in targets):
            return _without_gc(self._core.score_batch, targets, predictions)
        lists = [[t] if isinstance(t, str) else list(t) for t in targets]
        if any(not t for t in lists):
            raise ValueError("every prediction needs at least one target")
        return _without_gc(self._core.score_multi_batch, lists, predictions)


def _without_gc(function, *args):
    """Calls ``function`` with the cyclic garbage collector paused: building
    many result dicts would otherwise trigger collections that find nothing
    (the results hold no reference cycles)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return function(*args)
    finally:
        if was_enabled:
            gc.enable()


class BootstrapAggregator:
    """Bootstrap confidence intervals of mean scores, rouge-score's method.

    Each aggregate draws ``n_samples`` resamples (with replacement) of the added
    examples, takes the mean of each, and reports the percentiles
    ``(1 - confidence_interval) / 2``, 50 and ``1 - (1 - confidence_interval) / 2``
    of those means (numpy's linear percentile), as rouge-score does.

    With ``seed=None`` the draws come from numpy's global random state, exactly
    as rouge-score's (so ``np.random.seed(s)`` before either gives the same
    intervals). With a ``seed``, a private ``numpy.random.RandomState(seed)``
    is used: the result is reproducible, and equal to rouge-score's after
    ``np.random.seed(seed)``.

    Samples are drawn in chunks of about ``chunk_indices`` indices, so memory
    stays bounded however large ``n_samples`` is (beyond its ``n_samples`` x 3
    means); the result does not depend on the chunk size.
    """

    chunk_indices = 2**21

    def __init__(
        self,
        confidence_interval: float = 0.95,
        n_samples: int = 1000,
        seed: int | None = None,
    ) -> None:
        if confidence_interval < 0 or confidence_interval > 1:
            raise ValueError("confidence_interval must be in range [0, 1]")
        if n_samples <= 0:
            raise ValueError("n_samples must be positive")
        self._confidence_interval = confidence_interval
        self._n_samples = n_samples
        self._seed = seed
        self._scores: dict[str, list] = {}

    def add_scores(self, scores: Mapping[str, tuple]) -> None:
        """Adds one example's scores (a dict of score type to Score)."""
        for score_type, score in scores.items():
            self._scores.setdefault(score_type, []).append(score)

    def add_batch(self, batch: Iterable[Mapping[str, tuple]]) -> None:
        """Adds the scores of many examples (e.g. ``score_batch``'s result)."""
        for scores in batch:
            self.add_scores(scores)

    def aggregate(self) -> dict[str, AggregateScore]:
        """Intervals per score type, in the order the types were first added."""
        import numpy as np  # lazily: scoring alone does not need numpy

        random_state = np.random if self._seed is None else np.random.RandomState(self._seed)
        result = {}
        for score_type, scores in self._scores.items():
            matrix = np.vstack(tuple(scores))
            percentiles = self._bootstrap_resample(matrix, random_state)
            low, mid, high = (scores[0].__class__(*percentiles[j, :]) for j in range(3))
            result[score_type] = AggregateScore(low=low, mid=mid, high=high)
        return result

    def _bootstrap_resample(self, matrix, random_state):
        import numpy as np

        rows = matrix.shape[0]
        # Resampling all at once would hold n_samples x rows indices and three
        # times as many floats; chunks of whole samples bound that memory.
        per_chunk = max(1, self.chunk_indices // rows)
        chunk_means = []
        for start in range(0, self._n_samples, per_chunk):
            samples = min(per_chunk, self._n_samples - start)
            # RandomState.choice with replacement draws one index after another,
            # so consecutive calls continue the one stream that rouge-score's
            # one call per sample draws.
            sample_idx = random_state.choice(np.arange(rows), size=(samples, rows))
            # Summing along axis 1 of (sample, row, measure) adds rows in the same
            # order as rouge-score's np.mean(sample, axis=0) per sample.
            chunk_means.append(np.mean(matrix[sample_idx, :], axis=1))
        sample_mean = np.concatenate(chunk_means)
        percentile_delta = (1 - self._confidence_interval) / 2
        q = 100 * np.array([percentile_delta, 0.5, 1 - percentile_delta])
        return np.percentile(sample_mean, q, axis=0)

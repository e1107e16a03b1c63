"""Intervals and paired tests that resample meetings, not queries.

About eight QMSum queries ask about each meeting, and a model that handles a
meeting badly does so for all its queries: the queries are not independent,
and an interval that resamples them as if they were is too narrow. Here the
unit of resampling is the meeting (docs/statistics.md):

- :func:`bootstrap_interval`: the cluster bootstrap: each sample draws as many
  meetings as there are, with replacement, and keeps all their examples;
- :func:`sign_flip_test`: the paired permutation test that flips the sign of
  each meeting's differences together (exact up to
  :data:`EXACT_MAX_CLUSTERS` meetings, else seeded draws);
- :func:`holm`: Holm's adjustment when several runs face one baseline;
- :func:`clustered_variance`: the design effect and the smallest difference
  the data can detect at 80% power and the 5% level.

The arithmetic lives in the Rust core (``rust/src/resample.rs``), seeded
(SplitMix64) and deterministic; this module names the meetings and shapes the
results.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from . import _core
from ._core import EXACT_MAX_CLUSTERS, TIE_TOLERANCE

__all__ = [
    "EXACT_MAX_CLUSTERS",
    "RESAMPLE_EXAMPLE",
    "RESAMPLE_MEETING",
    "RESAMPLINGS",
    "TIE_TOLERANCE",
    "ClusteredVariance",
    "bootstrap_interval",
    "cluster_indexes",
    "clustered_variance",
    "holm",
    "interval_percentiles",
    "sign_flip_test",
]

Key = TypeVar("Key", bound=Hashable)

RESAMPLE_MEETING = "meeting"
RESAMPLE_EXAMPLE = "example"
RESAMPLINGS = (RESAMPLE_MEETING, RESAMPLE_EXAMPLE)


def cluster_indexes(meetings: Sequence[Hashable]) -> list[int]:
    """Each example's meeting as an index ``0..k``, meetings numbered in the order first seen."""
    numbers: dict[Hashable, int] = {}
    return [numbers.setdefault(meeting, len(numbers)) for meeting in meetings]


def interval_percentiles(confidence: float) -> list[float]:
    """The low and high percentiles of a ``confidence`` interval, computed as
    rouge-score computes them (``100 * (1 - confidence) / 2`` and its mirror)."""
    delta = (1 - confidence) / 2
    return [100 * delta, 100 * (1 - delta)]


def bootstrap_interval(
    columns: Mapping[Key, Sequence[float]],
    meetings: Sequence[Hashable],
    samples: int,
    seed: int,
    confidence: float = 0.95,
) -> dict[Key, tuple[float, float]]:
    """Per column, the ``confidence`` interval of the mean from ``samples``
    meeting-bootstrap samples (the same draws for every column)."""
    bounds = _core.cluster_bootstrap_percentiles(
        [list(map(float, c)) for c in columns.values()],
        cluster_indexes(meetings),
        samples,
        seed,
        interval_percentiles(confidence),
    )
    return {name: (low, high) for name, (low, high) in zip(columns, bounds)}


def sign_flip_test(
    differences: Mapping[Key, Sequence[float]], meetings: Sequence[Hashable], samples: int, seed: int
) -> tuple[dict[Key, float], bool]:
    """Per column of paired differences, the two-sided p-value of the sign-flip
    test by meeting, and whether it is exact (all ``2**k`` sign vectors) rather
    than from ``samples`` seeded draws."""
    p_values, exact = _core.sign_flip_p_values(
        [list(map(float, c)) for c in differences.values()], cluster_indexes(meetings), samples, seed
    )
    return dict(zip(differences, p_values)), exact


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment, each value in its place."""
    return _core.holm_adjust(list(map(float, p_values)))


@dataclass(frozen=True)
class ClusteredVariance:
    """The variance of a mean two ways; None where undefined (one meeting, one
    example, or no spread at all)."""

    mean: float
    clustered: float | None  # cluster-robust variance of the mean
    independent: float | None  # s^2 / n, as if the examples were independent
    design_effect: float | None  # clustered / independent
    minimum_detectable: float | None  # (z_0.975 + z_0.80) * sqrt(clustered)


def clustered_variance(values: Sequence[float], meetings: Sequence[Hashable]) -> ClusteredVariance:
    """:class:`ClusteredVariance` of the mean of ``values``."""
    return ClusteredVariance(*_core.clustered_variance(list(map(float, values)), cluster_indexes(meetings)))

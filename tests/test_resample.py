"""The meeting-resampling statistics (rust/src/resample.rs via qmsum_fast.resample)
against plain Python and numpy references."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from qmsum_fast import _core
from qmsum_fast.errors import InputError
from qmsum_fast.resample import (
    EXACT_MAX_CLUSTERS,
    TIE_TOLERANCE,
    bootstrap_interval,
    cluster_indexes,
    clustered_variance,
    holm,
    interval_percentiles,
    sign_flip_test,
)

MASK = 2**64 - 1


class SplitMix64:
    """The reference generator, written from Steele, Lea and Flood (2014) and
    Lemire (2019), for checking the core's draws."""

    def __init__(self, seed: int) -> None:
        self.state = seed

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        threshold = (2**64 - n) % n
        while True:
            product = self.next() * n
            if product & MASK >= threshold:
                return product >> 64


def reference_draws(clusters: int, samples: int, seed: int) -> list[list[int]]:
    rng = SplitMix64(seed)
    return [[rng.below(clusters) for _ in range(clusters)] for _ in range(samples)]


def reference_means(columns, meetings, draws):
    """numpy: per-meeting sums in example order, drawn sums added in draw order."""
    index = np.array(cluster_indexes(meetings))
    k = index.max() + 1
    sizes = np.bincount(index, minlength=k)
    sums = np.zeros((len(columns), k))
    for i, c in enumerate(index):  # sequential, in example order
        sums[:, c] += [column[i] for column in columns]
    drawn = np.array(draws)
    totals = np.cumsum(sums[:, drawn], axis=2)[:, :, -1]  # cumsum adds left to right
    return totals / sizes[drawn].sum(axis=1)


def small_case(seed: int, meetings: int, per_meeting: tuple[int, int] = (1, 5)):
    rng = random.Random(seed)
    labels = [f"m{m}" for m in range(meetings) for _ in range(rng.randint(*per_meeting))]
    rng.shuffle(labels)
    values = [rng.uniform(-0.3, 0.3) for _ in labels]
    return values, labels


def test_draws_are_splitmix64_with_unbiased_indexes():
    assert _core.cluster_bootstrap_draws(7, 40, 123) == reference_draws(7, 40, 123)
    assert _core.cluster_bootstrap_draws(35, 3, 2**32 - 1) == reference_draws(35, 3, 2**32 - 1)
    assert SplitMix64(0).next() == 0xE220A8397B1DCDAF


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bootstrap_means_equal_numpy_on_the_same_draws(seed):
    values, labels = small_case(seed, 9)
    columns = [values, [v * v for v in values]]
    means = _core.cluster_bootstrap_means(columns, cluster_indexes(labels), 300, seed)
    expected = reference_means(columns, labels, reference_draws(9, 300, seed))
    assert np.array_equal(np.array(means), expected)


def test_interval_is_numpys_percentile_of_those_means():
    values, labels = small_case(4, 12)
    interval = bootstrap_interval({"a": values}, labels, 999, 8)
    means = reference_means([values], labels, reference_draws(12, 999, 8))[0]
    low, high = np.percentile(means, interval_percentiles(0.95))
    assert interval == {"a": (low, high)}
    data = [random.Random(1).random() for _ in range(57)]
    q = [0, 2.5000000000000022, 13.1, 50, 97.5, 100]
    assert _core.linear_percentiles(data, q) == list(np.percentile(data, q))


def brute_force_p(values, labels):
    """Every sign vector over the meetings, listed one by one."""
    meetings = list(dict.fromkeys(labels))
    # Sums in example order, as the core adds them.
    sums = [0.0] * len(meetings)
    for v, m in zip(values, labels):
        sums[meetings.index(m)] += v
    observed = abs(sum(sums))
    threshold = observed - TIE_TOLERANCE * sum(abs(s) for s in sums)
    hits = 0
    for signs in itertools.product((1, -1), repeat=len(sums)):
        total = 0.0
        for sign, s in zip(signs, sums):
            total += s if sign == 1 else -s
        hits += abs(total) >= threshold
    return hits / 2 ** len(sums)


@pytest.mark.parametrize("seed", range(6))
def test_exact_sign_flip_equals_brute_force(seed):
    values, labels = small_case(seed, 3 + 2 * seed)
    p, exact = sign_flip_test({"d": values}, labels, 0, 0)
    assert exact
    assert p["d"] == brute_force_p(values, labels)


def test_sign_flip_ties_count_as_hits():
    # Two meetings of equal and opposite sums: every vector reaches |T_obs| = 0.
    assert sign_flip_test({"d": [0.1, -0.1]}, ["a", "b"], 0, 0)[0]["d"] == 1.0
    # Meeting sums 0.1 + 0.2 (0.30000000000000004), -0.3 and 0.5: |T| is 0.5 in exact
    # arithmetic whenever a and b share a sign, however the sum rounds; with 1.1: 6 of 8.
    p, _ = sign_flip_test({"d": [0.1, 0.2, -0.3, 0.5]}, ["a", "a", "b", "c"], 0, 0)
    assert p["d"] == 0.75


def test_sampled_sign_flip_equals_the_reference_draws():
    k = EXACT_MAX_CLUSTERS + 3
    values, labels = small_case(11, k, (2, 3))
    p, exact = sign_flip_test({"d": values}, labels, 500, 42)
    assert not exact
    meetings = list(dict.fromkeys(labels))
    sums = [0.0] * k
    for v, m in zip(values, labels):
        sums[meetings.index(m)] += v
    observed = 0.0
    for s in sums:
        observed += s
    threshold = abs(observed) - TIE_TOLERANCE * sum(abs(s) for s in sums)
    rng = SplitMix64(42)
    hits = 0
    for _ in range(500):
        word = rng.next()  # k <= 64: one word per draw, cluster c takes bit c
        total = 0.0
        for c, s in enumerate(sums):
            total += -s if word >> c & 1 else s
        hits += abs(total) >= threshold
    assert p["d"] == (1 + hits) / 501


def plain_holm(p_values):
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def test_holm_equals_a_plain_reference():
    rng = random.Random(3)
    for m in (1, 2, 5, 9):
        p = [rng.random() ** 3 for _ in range(m)]
        assert holm(p) == plain_holm(p)
    assert holm([0.01, 0.04, 0.03, 0.005]) == [0.03, 0.06, 0.06, 0.02]
    with pytest.raises(InputError, match="not between 0 and 1"):
        holm([1.2])


def test_clustered_variance_equals_numpy():
    values, labels = small_case(5, 8)
    result = clustered_variance(values, labels)
    y = np.array(values)
    index = np.array(cluster_indexes(labels))
    k, n = index.max() + 1, len(y)
    sums = np.bincount(index, weights=y)
    sizes = np.bincount(index)
    clustered = k / (k - 1) * np.sum((sums - sizes * y.mean()) ** 2) / n**2
    independent = y.var(ddof=1) / n
    assert result.clustered == pytest.approx(clustered, rel=1e-12)
    assert result.independent == pytest.approx(independent, rel=1e-12)
    assert result.design_effect == pytest.approx(clustered / independent, rel=1e-12)
    assert result.minimum_detectable == pytest.approx((1.959963984540054 + 0.8416212335729143) * clustered**0.5)


def test_bad_input_is_an_input_error():
    with pytest.raises(InputError, match="no examples"):
        bootstrap_interval({"a": []}, [], 10, 0)
    with pytest.raises(InputError, match="2 values for 3 examples"):
        bootstrap_interval({"a": [0.1, 0.2]}, ["a", "b", "c"], 10, 0)
    with pytest.raises(InputError, match="cluster 1 holds no example"):
        _core.cluster_bootstrap_means([[0.1, 0.2]], [0, 2], 5, 0)
    with pytest.raises(InputError, match="samples >= 1"):
        bootstrap_interval({"a": [0.1]}, ["a"], 0, 0)


def coverage(repetitions: int, samples: int, meetings: int = 30, per_meeting: int = 8, seed: int = 0):
    """Shares of 95% intervals that cover the true mean 0.3 of synthetic scores
    with meeting effects (sd 0.1) and example noise (sd 0.1): resampling
    meetings, and resampling examples as if independent."""
    rng = np.random.default_rng(seed)
    labels = [m for m in range(meetings) for _ in range(per_meeting)]
    each = list(range(len(labels)))
    covered = {"meeting": 0, "example": 0}
    for repetition in range(repetitions):
        effects = rng.normal(0, 0.1, meetings)
        values = 0.3 + effects[labels] + rng.normal(0, 0.1, len(labels))
        for name, clusters in (("meeting", labels), ("example", each)):
            low, high = bootstrap_interval({"v": values}, clusters, samples, repetition)["v"]
            covered[name] += low <= 0.3 <= high
    return {name: count / repetitions for name, count in covered.items()}


def test_meeting_intervals_cover_and_example_intervals_do_not():
    shares = coverage(repetitions=150, samples=400)
    assert 0.86 <= shares["meeting"] <= 0.99, shares
    assert shares["example"] < 0.8, shares

"""Meeting resampling speed: the Rust core against numpy, and the coverage of
meeting- vs example-resampled intervals.

Workload: the bm25 and lead baselines on the bundled test split (281 queries,
35 meetings), rouge-score F-measures of rouge1, rouge2, rougeL and rougeLsum.

- bootstrap: 10,000 meeting-bootstrap samples of the 281 x 4 differences
  (bm25 - lead), and the 2.5/97.5 percentiles of each type's means;
- permutation: a 10,000-draw sign-flip test by meeting (35 meetings, beyond
  exact enumeration) of the same differences.

First numpy, fed the core's own draws (``cluster_bootstrap_draws``,
``sign_flip_draws``), is asserted to give equal (==) means, bounds and
p-values; then both are timed, numpy drawing with its own generator, best of
--repeats. The coverage part repeats a synthetic experiment (true mean 0.3,
meeting effects sd 0.1, example noise sd 0.1, 35 meetings of 8 queries) and
counts how often each 95% interval covers the true mean.

    python benches/bench_compare.py
    python benches/bench_compare.py --coverage 1000
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np

from qmsum_fast import _core
from qmsum_fast.baselines import make_predictor
from qmsum_fast.data import load_examples
from qmsum_fast.data.runs import Prediction, Run
from qmsum_fast.evaluate import DEFAULT_TYPES, Settings, score_run
from qmsum_fast.resample import TIE_TOLERANCE, bootstrap_interval, cluster_indexes, interval_percentiles

SAMPLES = 10_000


def differences() -> tuple[np.ndarray, list[int]]:
    """(types x examples) bm25 - lead F-measures and each example's meeting index."""
    examples = load_examples(split="test")
    scores = []
    for name in ("bm25", "lead"):
        predict = make_predictor(name)
        run = Run(Path(f"{name}.jsonl"), {}, [Prediction(predict(e), tuple(e.references)) for e in examples])
        rows = score_run(run, Settings(DEFAULT_TYPES))
        scores.append(np.array([[row[t].fmeasure for row in rows] for t in DEFAULT_TYPES]))
    return scores[0] - scores[1], cluster_indexes([e.meeting for e in examples])


def cluster_sums(values: np.ndarray, clusters: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster sums in example order (sequential, as the core adds) and sizes."""
    k = max(clusters) + 1
    sums = np.zeros((values.shape[0], k))
    for i, c in enumerate(clusters):
        sums[:, c] += values[:, i]
    return sums, np.bincount(clusters, minlength=k)


def numpy_bootstrap(values, clusters, draws, q):
    """Means of the drawn clusters' sums (added left to right) and their percentiles."""
    sums, sizes = cluster_sums(values, clusters)
    means = np.cumsum(sums[:, draws], axis=2)[:, :, -1] / sizes[draws].sum(axis=1)
    return means, np.percentile(means, q, axis=1).T


def numpy_sign_flip(values, clusters, negative):
    """p-value of the sampled sign-flip test, ``negative``: samples x clusters booleans."""
    sums, _ = cluster_sums(values, clusters)
    signs = np.where(negative, -1.0, 1.0)
    totals = np.cumsum(sums[:, None, :] * signs[None, :, :], axis=2)[:, :, -1]
    observed = np.cumsum(sums, axis=1)[:, -1]
    threshold = np.abs(observed) - TIE_TOLERANCE * np.abs(sums).sum(axis=1)
    hits = (np.abs(totals) >= threshold[:, None]).sum(axis=1)
    return (1 + hits) / (1 + negative.shape[0])


def words_to_signs(words: list[list[int]], k: int) -> np.ndarray:
    bits = np.array(words, dtype=np.uint64)
    shifts = np.arange(k, dtype=np.uint64)
    return ((bits[:, shifts // 64] >> (shifts % 64)) & np.uint64(1)).astype(bool)


def check_equal(values, clusters, seed):
    k = max(clusters) + 1
    q = interval_percentiles(0.95)
    columns = [list(row) for row in values]
    draws = np.array(_core.cluster_bootstrap_draws(k, SAMPLES, seed))
    means, bounds = numpy_bootstrap(values, clusters, draws, q)
    assert np.array_equal(np.array(_core.cluster_bootstrap_means(columns, clusters, SAMPLES, seed)), means)
    assert np.array_equal(np.array(_core.cluster_bootstrap_percentiles(columns, clusters, SAMPLES, seed, q)), bounds)
    negative = words_to_signs(_core.sign_flip_draws(k, SAMPLES, seed), k)
    p, exact = _core.sign_flip_p_values(columns, clusters, SAMPLES, seed)
    assert not exact and np.array_equal(np.array(p), numpy_sign_flip(values, clusters, negative))
    return bounds, p


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def coverage(repetitions: int, samples: int, meetings: int = 35, per_meeting: int = 8) -> dict[str, float]:
    rng = np.random.default_rng(2026)
    labels = [m for m in range(meetings) for _ in range(per_meeting)]
    each = list(range(len(labels)))
    covered = {"meeting": 0, "example": 0}
    for repetition in range(repetitions):
        values = 0.3 + rng.normal(0, 0.1, meetings)[labels] + rng.normal(0, 0.1, len(labels))
        for name, clusters in (("meeting", labels), ("example", each)):
            low, high = bootstrap_interval({"v": values}, clusters, samples, repetition)["v"]
            covered[name] += low <= 0.3 <= high
    return {name: count / repetitions for name, count in covered.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--coverage", type=int, default=1000, help="synthetic repetitions (0: skip)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, python {platform.python_version()}, numpy {np.__version__}")
    values, clusters = differences()
    k = max(clusters) + 1
    bounds, p = check_equal(values, clusters, seed=0)
    print(f"{values.shape[1]} examples, {k} meetings, {values.shape[0]} types: equal means, bounds and p asserted")
    for t, (low, high), p_value in zip(DEFAULT_TYPES, bounds, p):
        print(
            f"  bm25 - lead {t}: mean {100 * values[DEFAULT_TYPES.index(t)].mean():+.2f} [{100 * low:+.2f}, "
            f"{100 * high:+.2f}], p {p_value:.4g}"
        )
    columns = [list(row) for row in values]
    q = interval_percentiles(0.95)
    rng = np.random.default_rng(0)
    timings = {
        "bootstrap": (
            best(lambda: _core.cluster_bootstrap_percentiles(columns, clusters, SAMPLES, 0, q), args.repeats),
            best(lambda: numpy_bootstrap(values, clusters, rng.integers(0, k, (SAMPLES, k)), q), args.repeats),
        ),
        "permutation": (
            best(lambda: _core.sign_flip_p_values(columns, clusters, SAMPLES, 0), args.repeats),
            best(lambda: numpy_sign_flip(values, clusters, rng.integers(0, 2, (SAMPLES, k)) == 1), args.repeats),
        ),
    }
    for name, (ours, theirs) in timings.items():
        print(f"{name:<12} qmsum-fast {1000 * ours:8.2f} ms   numpy {1000 * theirs:8.2f} ms   {theirs / ours:6.1f}x")
    if args.coverage:
        shares = coverage(args.coverage, 2000)
        print(
            f"coverage of 95% intervals over {args.coverage} synthetic repetitions (2000 samples each): "
            f"meeting {shares['meeting']:.3f}, example {shares['example']:.3f}"
        )


if __name__ == "__main__":
    main()

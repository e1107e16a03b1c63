"""Benchmark: the extractive oracle over the whole QMSum ALL test split.

qmsum-fast (Rust: incremental n-gram counts, meetings tokenized once, queries
in parallel) against a straightforward Python greedy oracle on rouge-score
(rebuild and rescore the joined summary for every candidate unit). The
Python oracle is too slow for the whole split, so it runs on a subset and its
time is scaled to 281 pairs. Both use the default oracle setting (turns shown
as "Speaker: text", at most 120 ROUGE tokens, stemmed ROUGE-1 F + ROUGE-2 F).
The selections are asserted identical first.

    python benches/bench_baselines.py [--subset 6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize

from qmsum_fast import _core
from qmsum_fast.baselines import make_predictor, options_for, oracle_batch, transcript_units
from qmsum_fast.data import load_examples

OPTIONS = options_for("oracle")
SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)
STEMMER = porter.PorterStemmer()


def python_oracle(units: list[str], reference: str, max_tokens: int) -> list[int]:
    """Greedy: add the unit that most raises R-1 F + R-2 F of the joined summary."""
    lengths = [len(tokenize.tokenize(u, STEMMER)) for u in units]
    selected: list[int] = []
    current, used = 0.0, 0
    while True:
        best, best_score = None, current
        for unit in range(len(units)):
            if unit in selected or not lengths[unit] or used + lengths[unit] > max_tokens:
                continue
            summary = "\n".join(units[i] for i in sorted([*selected, unit]))
            scores = SCORER.score(reference, summary)
            score = scores["rouge1"].fmeasure + scores["rouge2"].fmeasure
            if score > best_score:
                best, best_score = unit, score
        if best is None:
            return sorted(selected)
        selected.append(best)
        used += lengths[best]
        current = best_score


def best_of(repeat: int, run):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", type=int, default=6, help="pairs for the Python oracle")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    examples = load_examples(None, split="test")
    units_of = lambda e: transcript_units(e, OPTIONS.unit, OPTIONS.clean, OPTIONS.speaker)

    # Same selections first: Rust against the Python oracle on the subset.
    step = max(1, len(examples) // args.subset)
    subset = examples[::step][: args.subset]
    start = time.perf_counter()
    expected = [python_oracle(units_of(e), e.references[0], OPTIONS.budget) for e in subset]
    python_seconds = time.perf_counter() - start
    got = [_core.oracle_select(units_of(e), [e.references[0]], stem=True, max_tokens=OPTIONS.budget) for e in subset]
    assert got == expected, "Rust and Python oracles chose different units"
    predict = make_predictor("oracle", {})
    batch = oracle_batch(examples)
    assert batch == [predict(e) for e in examples], "batch and per-example oracles differ"

    batch_seconds, _ = best_of(args.repeat, lambda: oracle_batch(examples))

    def one_at_a_time() -> list[str]:
        predict = make_predictor("oracle", {})  # tokenizes each meeting once
        return [predict(e) for e in examples]

    single_seconds, _ = best_of(args.repeat, one_at_a_time)
    python_scaled = python_seconds / len(subset) * len(examples)
    units = sum(len(units_of(e)) for e in examples)
    print(f"oracle over the ALL test split: {len(examples)} pairs, {units} candidate turns in all")
    print(f"same selections on {len(subset)} pairs: yes (Rust == Python greedy on rouge-score)")
    print("| implementation | seconds (281 pairs) | vs Python |")
    print("|---|---:|---:|")
    print(f"| Python greedy on rouge-score ({len(subset)} pairs, scaled) | {python_scaled:.1f} | 1x |")
    print(f"| qmsum-fast, one query at a time | {single_seconds:.2f} | {python_scaled / single_seconds:.0f}x |")
    label = "qmsum-fast oracle_batch (meetings tokenized once, parallel)"
    print(f"| {label} | {batch_seconds:.2f} | {python_scaled / batch_seconds:.0f}x |")


if __name__ == "__main__":
    main()

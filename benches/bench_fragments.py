"""Faithfulness signals speed: qmsum-fast's Rust fragments against Python.

Workload: every example of a split of the bundled QMSum with three summaries
each, against its meeting's transcript and its query: the gold summary
(abstractive, partly copied), and the bm25 and oracle baselines (extractive).

- python (paper): the greedy fragment algorithm of Grusky et al. (2018) as the
  paper prints it, scanning every transcript position for each summary
  position; plus the novel-bigram share with Python sets. Slow (seconds per
  summary on long meetings), so it runs on --paper-pairs summaries spread over
  the split, and Rust is timed on the same ones.
- python (indexed): the same algorithm with a posting list per transcript
  token (the next position where the tokens agree, as the paper's scan would
  stop), on the whole workload.
- rust: ``qmsum_fast.fragments.faithfulness_of`` (rust/src/fragments.rs,
  indexed, parallel over transcripts then summaries).

Every way's fragments, coverage, density and novel share are asserted equal
(==) to Rust's before anything is timed. Tokens are rouge-score's (the same
tokenizer call in every way, included in every time). Rust is timed best of
--repeats on all cores (wall) and, in a child process, on one thread
(RAYON_NUM_THREADS=1).

    python benches/bench_fragments.py                 # the test split
    python benches/bench_fragments.py --split all     # every split
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from qmsum_fast.baselines import make_predictor
from qmsum_fast.data import Example, load_examples, plain_transcript
from qmsum_fast.fragments import faithfulness_of
from qmsum_fast.rouge import tokenize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fragments_reference import paper_fragments

N = 2


def workload(split: str) -> tuple[list[str], list[Example]]:
    """(summaries, the example each answers): gold, bm25 and oracle per example."""
    examples = load_examples(split=split)
    summaries, answered = [], []
    for name in ("gold", "bm25", "oracle"):
        predict = (lambda e: e.references[0]) if name == "gold" else make_predictor(name)
        for example in examples:
            summaries.append(predict(example))
            answered.append(example)
    return summaries, answered


# --- Python -----------------------------------------------------------------------------


def indexed_fragments(summary: list[str], article: list[str], positions: dict) -> list[tuple[int, int, int]]:
    """The same scan, jumping between the positions of each summary token."""
    fragments = []
    i = 0
    while i < len(summary):
        best = None
        resume = 0
        for j in positions.get(summary[i], ()):
            if j < resume:
                continue
            length = 0
            while i + length < len(summary) and j + length < len(article):
                if summary[i + length] != article[j + length]:
                    break
                length += 1
            if best is None or best[2] < length:
                best = (i, j, length)
            resume = j + length
        i += best[2] if best else 1
        if best:
            fragments.append(best)
    return fragments


def signals(fragments: list, summary: list[str], known: set) -> tuple:
    coverage = sum(f[2] for f in fragments) / len(summary) if summary else None
    density = sum(f[2] ** 2 for f in fragments) / len(summary) if summary else None
    grams = [tuple(summary[i : i + N]) for i in range(len(summary) - N + 1)]
    novel = sum(g not in known for g in grams) / len(grams) if grams else None
    return tuple(fragments), coverage, density, novel


def ngrams(tokens: list[str]) -> set:
    return {tuple(tokens[i : i + N]) for i in range(len(tokens) - N + 1)}


def python_signals(summaries: list[str], examples: list[Example], indexed: bool) -> list[tuple]:
    """Each meeting's transcript tokenized (and indexed) once, as Rust does."""
    meetings: dict = {}
    out = []
    for summary, example in zip(summaries, examples):
        key = (example.split, example.meeting)
        if key not in meetings:
            article = tokenize(plain_transcript(example))
            positions = defaultdict(list)
            for position, token in enumerate(article):
                positions[token].append(position)
            meetings[key] = (article, positions, ngrams(article))
        article, positions, article_grams = meetings[key]
        tokens = tokenize(summary)
        found = indexed_fragments(tokens, article, positions) if indexed else paper_fragments(tokens, article)
        out.append(signals(found, tokens, article_grams | ngrams(tokenize(example.query))))
    return out


def rust_signals(summaries: list[str], examples: list[Example]) -> list[tuple]:
    return [(f.fragments, f.coverage, f.density, f.novel_ngrams) for f in faithfulness_of(summaries, examples)]


# --- timing -----------------------------------------------------------------------------


def best_of(repeats: int, function, *args) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def spread(count: int, total: int) -> list[int]:
    """``count`` indices spread evenly over ``range(total)``."""
    count = min(count, total)
    return [round(k * (total - 1) / max(count - 1, 1)) for k in range(count)]


def one_thread_time(split: str, repeats: int) -> float:
    """Rust on one thread, in a child process (rayon reads the setting at start)."""
    env = dict(os.environ, RAYON_NUM_THREADS="1")
    child = [sys.executable, __file__, "--split", split, "--repeats", str(repeats), "--rust-only"]
    return float(subprocess.run(child, env=env, check=True, capture_output=True, text=True).stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--paper-pairs", type=int, default=None, help="summaries the paper's loop runs on (all)")
    parser.add_argument("--rust-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    summaries, examples = workload(args.split)
    if args.rust_only:
        print(best_of(args.repeats, rust_signals, summaries, examples))
        return
    tokens = sum(len(tokenize(s)) for s in summaries)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"{args.split}: {len(summaries)} summaries ({tokens} tokens), {len({e.meeting for e in examples})} meetings")

    rust, _ = timed(rust_signals, summaries, examples)
    indexed_out, indexed = timed(python_signals, summaries, examples, True)
    assert indexed_out == rust, "indexed Python differs from Rust"
    chosen = spread(args.paper_pairs or len(summaries), len(summaries))
    few = ([summaries[i] for i in chosen], [examples[i] for i in chosen])
    paper_out, paper = timed(python_signals, *few, False)
    assert paper_out == [rust[i] for i in chosen], "the paper's loop differs from Rust"
    print(f"identical fragments, coverage, density and novel {N}-gram shares asserted (==); python timed once")

    rust_few = best_of(args.repeats, rust_signals, *few)
    rust_all = best_of(args.repeats, rust_signals, summaries, examples)
    rust_one = one_thread_time(args.split, args.repeats)
    cores = os.cpu_count()
    if len(chosen) < len(summaries):
        print(f"  {len(chosen)} summaries: python, the paper's loop {paper:.3f} s; rust {rust_few:.3f} s", end="")
        print(f" ({paper / rust_few:.0f}x)")
    print(f"  all {len(summaries)} summaries                  time     rust ({cores} threads) is")
    if len(chosen) == len(summaries):
        print(f"    python, the paper's loop     {paper:9.3f} s   {paper / rust_all:8.0f}x faster")
    print(f"    python, indexed              {indexed:9.3f} s   {indexed / rust_all:8.1f}x faster")
    print(f"    rust, 1 thread               {rust_one:9.3f} s   {rust_one / rust_all:8.1f}x faster")
    print(f"    rust, {cores} threads              {rust_all:9.3f} s")


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


if __name__ == "__main__":
    main()

"""`--preprocess qmsum`: the Rust core against the recipe run in Python with NLTK.

Workload: all QMSum Academic data (train, val and test: every meeting once, every query
and reference answer), loaded once from the bundled dataset. Both sides produce the
same texts, checked before timing:

  (a) Python: `nltk.word_tokenize` as the recipe ran it (NLTK's untrained Punkt and
      NLTKWordTokenizer with NLTK 3.8.1's rules, `tests/nltk_reference.py`), turn
      format and noise replacements in Python;
  (b) qmsum-fast: `prepare(examples, "qmsum")` (Rust, parallel).

Run: python benches/bench_preprocess.py [--repeat 3] [--domain academic|all]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import nltk_reference as ref
from qmsum_fast.data import load_examples
from qmsum_fast.preprocess import prepare


def python_recipe(examples) -> list[tuple[str, str, tuple[str, ...]]]:
    """The recipe in Python, each meeting's transcript built once."""
    transcripts: dict[int, str] = {}
    out = []
    for example in examples:
        key = id(example.turns)
        if key not in transcripts:
            transcripts[key] = ref.qmsum_transcript((t.speaker, t.content) for t in example.turns)
        references = tuple(ref.qmsum_text(answer) for answer in example.references)
        out.append((ref.qmsum_text(example.query), transcripts[key], references))
    return out


def rust_core(examples) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(p.query, p.transcript, p.references) for p in prepare(examples, "qmsum")]


def best_of(repeat: int, work, examples) -> tuple[float, float, list]:
    """The best wall-clock and CPU seconds (all threads) of `repeat` runs, and the output."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work(examples)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--domain", default="academic", choices=("academic", "all"))
    args = parser.parse_args()

    examples = load_examples(domain=None if args.domain == "all" else args.domain)
    meetings = {id(e.turns): e.turns for e in examples}
    characters = sum(len(t.content) for turns in meetings.values() for t in turns)
    characters += sum(len(e.query) + sum(map(len, e.references)) for e in examples)
    print(
        f"workload: {args.domain} QMSum, {len(examples)} queries, {len(meetings)} meetings, "
        f"{characters / 1e6:.1f}M characters"
    )
    print(f"machine: {platform.machine()}, python {platform.python_version()}, best of {args.repeat}")

    rust_wall, rust_cpu, ours = best_of(args.repeat, rust_core, examples)
    python_wall, python_cpu, theirs = best_of(args.repeat, python_recipe, examples)
    assert ours == theirs, "qmsum-fast and the Python recipe differ"
    print("outputs identical: yes")
    print(f"{'':<28}{'wall s':>9} {'ratio':>7} {'cpu s':>9} {'ratio':>7}")
    print(f"{'python (NLTK 3.8.1 rules)':<28}{python_wall:>9.2f} {1:>6.1f}x {python_cpu:>9.2f} {1:>6.1f}x")
    print(
        f"{'qmsum-fast prepare':<28}{rust_wall:>9.3f} {python_wall / rust_wall:>6.1f}x "
        f"{rust_cpu:>9.3f} {python_cpu / rust_cpu:>6.1f}x"
    )


if __name__ == "__main__":
    main()

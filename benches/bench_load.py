#!/usr/bin/env python3
"""Loading all of QMSum: the bundled dataset against reading the upstream files.

Usage: ``python benches/bench_load.py [UPSTREAM_DATA_ROOT]`` (default
``../shared/data/qmsum/data``). It first checks that every way gives the same
query-summary pairs, then times, best of 5 in one process:

(a) the usual script: ``json.load`` of every upstream meeting file, turns
    joined into ``Speaker: text`` lines (what the original experiments did
    before their own preprocessing);
(b) ``load_examples(UPSTREAM_DATA_ROOT)``: this package on the upstream files;
(c) ``load_examples()``: this package on its bundled gzip JSONL;

and once each as a whole process (interpreter start and imports included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from qmsum_fast.data import load_examples, plain_transcript


def usual_script(root: Path) -> list[tuple[str, str, str, str]]:
    pairs = []
    for split in ("train", "val", "test"):
        for path in sorted((root / "ALL" / split).glob("*.json")):
            with open(path, encoding="utf-8") as f:
                meeting = json.load(f)
            transcript = "\n".join(f"{t['speaker']}: {t['content']}" for t in meeting["meeting_transcripts"])
            for q in meeting["general_query_list"] + meeting["specific_query_list"]:
                pairs.append((f"{split}/{path.stem}", q["query"], q["answer"], transcript))
    return pairs


def as_pairs(examples) -> list[tuple[str, str, str, str]]:
    rendered = {}
    pairs = []
    for ex in examples:
        if id(ex.turns) not in rendered:
            rendered[id(ex.turns)] = plain_transcript(ex)
        pairs.append((f"{ex.split}/{ex.meeting}", ex.query, ex.references[0], rendered[id(ex.turns)]))
    return pairs


def best_of(fn, runs: int = 7) -> tuple[float, float]:
    """Best wall time and best CPU time of ``runs`` calls (CPU time is the
    steadier figure when other jobs share the cores)."""
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def process_time(code: str, runs: int = 3) -> float:
    """Best wall time of a whole ``python -c code`` process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/qmsum/data")
    bundled = load_examples()
    upstream = load_examples(root)
    assert len(bundled) == 1810
    assert sorted(as_pairs(bundled)) == sorted(as_pairs(upstream)) == sorted(usual_script(root))
    assert {ex.id: ex for ex in bundled} == {ex.id: ex for ex in upstream}
    print("identical: 1810 query-summary pairs, 232 meetings, same examples from bundle and upstream files")

    rows = [
        (
            "(a) json.load per upstream file",
            best_of(lambda: usual_script(root)),
            process_time(
                "import json, pathlib, sys; sys.path.insert(0, 'benches'); import bench_load; "
                f"bench_load.usual_script(pathlib.Path({str(root)!r}))"
            ),
        ),
        (
            "(b) load_examples(upstream root)",
            best_of(lambda: load_examples(root)),
            process_time(f"import qmsum_fast; qmsum_fast.load_examples({str(root)!r})"),
        ),
        (
            "(c) load_examples() bundled",
            best_of(load_examples),
            process_time("import qmsum_fast; qmsum_fast.load_examples()"),
        ),
    ]
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'all of QMSum (1810 examples)':36} {'wall':>8} {'CPU':>8} {'whole process':>14}")
    for name, (wall, cpu), whole in rows:
        print(f"{name:36} {wall:7.3f}s {cpu:7.3f}s {whole:13.3f}s")
    (a_wall, a_cpu), a_whole = rows[0][1:]
    (c_wall, c_cpu), c_whole = rows[2][1:]
    print(f"(a) / (c): {a_wall / c_wall:.2f}x wall, {a_cpu / c_cpu:.2f}x CPU, {a_whole / c_whole:.2f}x whole process")


if __name__ == "__main__":
    main()

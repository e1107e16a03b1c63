"""ROUGE speed: qmsum-fast against rouge-score, rouge-score-rs and rapidrouge.

Installs nothing: the peers must already be installed (``pip install rouge-score
rouge-score-rs rapidrouge``); a peer that is missing is reported and skipped.

Workloads, from the QMSum test split (read from ../shared/data, or --data):
  short: every reference answer against every other answer of the same meeting;
  long:  full transcripts (one "speaker: content" line per turn) against answers.
Each with and without the stemmer, types rouge1, rouge2, rougeL, rougeLsum.
Wall and CPU time are both recorded (best of --repeats for the compiled
implementations, one run for the pure-Python ones). Single-thread speed-ups
use CPU time (steadier when other jobs share the cores); all-core speed-ups
use wall time.

First every implementation's scores are compared with rouge-score's (==), then
each is timed on the same pairs. Threads: the script reruns itself with
RAYON_NUM_THREADS=1 (single thread) and unset (all cores); rouge-score and
rapidrouge are pure Python and always single-threaded.

    python benches/bench_rouge.py            # both thread settings
    python benches/bench_rouge.py --long-pairs 12 --short-pairs 800   # quicker
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "qmsum" / "data" / "ALL" / "test"


def load_meetings(folder: Path) -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def answers(meeting: dict) -> list[str]:
    return [q["answer"] for q in meeting["general_query_list"] + meeting["specific_query_list"]]


def short_pairs(meetings: list[dict], limit: int) -> tuple[list[str], list[str]]:
    targets, predictions = [], []
    for meeting in meetings:
        texts = answers(meeting)
        for i, target in enumerate(texts):
            for j, prediction in enumerate(texts):
                if i != j:
                    targets.append(target)
                    predictions.append(prediction)
    return targets[:limit], predictions[:limit]


def long_pairs(meetings: list[dict], limit: int) -> tuple[list[str], list[str]]:
    """Reference = an answer, prediction = the meeting's full transcript."""
    targets, predictions = [], []
    for meeting in meetings:
        transcript = "\n".join(f"{t['speaker']}: {t['content']}" for t in meeting["meeting_transcripts"])
        for answer in answers(meeting)[:2]:
            targets.append(answer)
            predictions.append(transcript)
    return targets[:limit], predictions[:limit]


def implementations(stem: bool) -> dict:
    """name -> function(targets, predictions) -> list of {type: (p, r, f)}."""
    found = {}
    from rouge_score import rouge_scorer

    reference = rouge_scorer.RougeScorer(TYPES, use_stemmer=stem)
    found["rouge-score"] = lambda ts, ps: [reference.score(t, p) for t, p in zip(ts, ps)]
    for name, module in (("rouge-score-rs", "rouge_score_rs"), ("rapidrouge", "rapidrouge")):
        try:
            peer = importlib.import_module(module).RougeScorer(TYPES, use_stemmer=stem)
        except ImportError:
            print(f"  {name}: not installed, skipped")
            continue
        if hasattr(peer, "score_batch"):
            found[name] = peer.score_batch
        else:
            found[name] = lambda ts, ps, peer=peer: [peer.score(t, p) for t, p in zip(ts, ps)]
    from qmsum_fast.rouge import RougeScorer

    ours = RougeScorer(TYPES, use_stemmer=stem)
    found["qmsum-fast"] = ours.score_batch
    found["qmsum-fast (score loop)"] = lambda ts, ps: [ours.score(t, p) for t, p in zip(ts, ps)]
    return found


def as_tuples(results) -> list[tuple]:
    return [tuple(tuple(float(v) for v in scores[t]) for t in TYPES) for scores in results]


def timed(function, targets, predictions, repeats: int) -> tuple[float, float]:
    """Best (wall, CPU) seconds of `repeats` runs; CPU counts all threads."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        function(targets, predictions)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def run_workloads(args, cache: dict) -> list[dict]:
    """Times every implementation; `cache` holds rouge-score's scores per
    workload (filled here when empty, so that a later run can skip it)."""
    meetings = load_meetings(args.data)
    workloads = {
        "short": short_pairs(meetings, args.short_pairs),
        "long": long_pairs(meetings, args.long_pairs),
    }
    rows = []
    for workload, (targets, predictions) in workloads.items():
        for stem in (False, True):
            impls = implementations(stem)
            key = f"{workload}-{stem}"
            expected = cache.get(key)
            rerun = expected is not None  # rouge-score's scores came from an earlier run
            for name, function in impls.items():
                if rerun and name in ("rouge-score", "rapidrouge"):
                    continue  # pure Python, single-threaded: the one-thread run's figures stand
                wall, cpu = time.perf_counter(), time.process_time()
                got = as_tuples(function(targets, predictions))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if expected is None:
                    expected = cache[key] = got  # rouge-score comes first
                mismatches = sum(a != b for a, b in zip(got, expected))
                if name.startswith("qmsum-fast"):
                    assert mismatches == 0, f"{name} differs from rouge-score on {mismatches} pairs"
                if name not in ("rouge-score", "rapidrouge"):
                    more_wall, more_cpu = timed(function, targets, predictions, args.repeats)
                    wall, cpu = min(wall, more_wall), min(cpu, more_cpu)
                rows.append(
                    {
                        "workload": workload,
                        "stem": stem,
                        "name": name,
                        "pairs": len(targets),
                        "wall": wall,
                        "cpu": cpu,
                        "mismatches": mismatches,
                    }
                )
                print(
                    f"  {workload:5} stem={stem!s:5} {name:24} wall {wall:9.4f} s  cpu {cpu:9.4f} s"
                    + (f"  ({mismatches} pairs differ from rouge-score)" if mismatches else ""),
                    flush=True,
                )
    return rows


def print_ratios(rows: list[dict], threads: str, measure: str) -> None:
    """Markdown table; speed-ups from `measure` ("cpu" or "wall")."""
    print(f"\n## {threads} (speed-up from {measure} time)\n")
    print("| workload | stemmer | pairs | implementation | wall s | CPU s | qmsum-fast speed-up |")
    print("|---|---|--:|---|--:|--:|--:|")
    for workload in ("short", "long"):
        for stem in (False, True):
            group = [r for r in rows if r["workload"] == workload and r["stem"] == stem]
            ours = next(r for r in group if r["name"] == "qmsum-fast")[measure]
            for r in group:
                note = " (scores differ!)" if r["mismatches"] else ""
                print(
                    f"| {workload} | {'on' if stem else 'off'} | {r['pairs']} | {r['name']}{note} | "
                    f"{r['wall']:.4f} | {r['cpu']:.4f} | {r[measure] / ours:.1f}x |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of upstream QMSum meeting JSON files")
    parser.add_argument("--short-pairs", type=int, default=2000)
    parser.add_argument("--long-pairs", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3, help="best of N for the compiled implementations")
    parser.add_argument("--child", choices=("1", "all"), help=argparse.SUPPRESS)
    parser.add_argument("--expected", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        cache_path = Path(args.expected)
        cache = (
            {k: [tuple(map(tuple, row)) for row in v] for k, v in json.loads(cache_path.read_text()).items()}
            if cache_path.exists()
            else {}
        )
        rows = run_workloads(args, cache)
        cache_path.write_text(json.dumps(cache))
        print("RESULT " + json.dumps(rows))
        return
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as expected_file:
        pass
    os.unlink(expected_file.name)
    single_thread_rows: list[dict] = []
    for threads in ("1", "all"):
        env = dict(os.environ)
        env.pop("RAYON_NUM_THREADS", None)
        if threads == "1":
            env["RAYON_NUM_THREADS"] = "1"
        label = "single thread" if threads == "1" else f"all cores ({os.cpu_count()})"
        print(f"# {label}", flush=True)
        command = [
            sys.executable,
            __file__,
            "--child",
            threads,
            "--data",
            str(args.data),
            "--short-pairs",
            str(args.short_pairs),
            "--long-pairs",
            str(args.long_pairs),
            "--repeats",
            str(args.repeats),
            "--expected",
            expected_file.name,
        ]
        output = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        lines = output.stdout.splitlines()
        print("\n".join(line for line in lines if not line.startswith("RESULT ")))
        rows = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
        if threads == "1":
            single_thread_rows = rows
        else:  # the pure-Python peers ran once, single-threaded
            rows += [
                dict(r, name=r["name"] + " (1 thread)")
                for r in single_thread_rows
                if r["name"] in ("rouge-score", "rapidrouge")
            ]
        # One thread: CPU time is steadier on a shared machine; all cores: wall time.
        print_ratios(rows, label, "cpu" if threads == "1" else "wall")
    os.unlink(expected_file.name)


if __name__ == "__main__":
    main()

"""Peer metrics speed: qmsum-fast's LongBench and SCROLLS figures against the peers' own scorers.

Workload: the extractive baselines (bm25, lead, textrank, random) on a whole
split of the bundled QMSum, each prediction scored against its references.

- longbench: LongBench's own scorer, i.e. ``eval.py``'s ``scorer`` over
  ``metrics.rouge_score`` (a ``rouge.Rouge()`` per call, ``get_scores(...,
  avg=True)``, a bare except giving 0.0), against ``qmsum_fast.metrics.longbench``
  (Rust, parallel over examples).
- scrolls: SCROLLS' computation with rouge-score itself (no stemmer, every
  (prediction, reference) pair, max per type, mean, geometric mean, rounded to 4;
  ``postprocess_text`` with our sentence splitter, as Punkt is not available here),
  against ``qmsum_fast.metrics.scrolls``.

First each peer's per-example scores and figures are asserted equal (==) to
ours; then both are timed. The peers are pure Python (one run, one thread);
ours is timed best of --repeats, on one thread (CPU time, RAYON_NUM_THREADS=1)
and on all cores (wall time), each in a child process so rayon sees its setting.

    python benches/bench_metrics.py                 # the test split
    python benches/bench_metrics.py --split all     # every split
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from qmsum_fast.baselines import make_predictor
from qmsum_fast.data import load_examples
from qmsum_fast.data.runs import Prediction, Run
from qmsum_fast.metrics import LONGBENCH_MAX_DEPTH, longbench, longbench_example_scores, scrolls, scrolls_example_scores
from qmsum_fast.rouge import split_summary_sentences

BASELINES = ("bm25", "lead", "textrank", "random")
SCROLLS_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")


def baseline_runs(split: str) -> list[Run]:
    examples = load_examples(split=split)
    runs = []
    for name in BASELINES:
        predict = make_predictor(name)
        rows = [Prediction(predict(e), tuple(e.references)) for e in examples]
        runs.append(Run(Path(f"{name}.jsonl"), {}, rows))
    return runs


# --- the peers, as they compute -----------------------------------------------------


def longbench_rouge_score(prediction: str, ground_truth: str) -> float:
    """LongBench's metrics.rouge_score."""
    from rouge import Rouge

    rouge = Rouge()
    try:
        scores = rouge.get_scores([prediction], [ground_truth], avg=True)
    except Exception:
        return 0.0
    return scores["rouge-l"]["f"]


def longbench_scorer(predictions: list[str], answers: list[list[str]]) -> tuple[float, list[float]]:
    """LongBench's eval.py scorer for qmsum, keeping each example's score too."""
    total_score = 0.0
    per_example = []
    for prediction, ground_truths in zip(predictions, answers):
        score = 0.0
        for ground_truth in ground_truths:
            score = max(score, longbench_rouge_score(prediction, ground_truth))
        per_example.append(score)
        total_score += score
    return round(100 * total_score / len(predictions), 2), per_example


def scrolls_with_rouge_score(predictions: list[str], references: list[list[str]]) -> tuple[dict, dict]:
    from rouge_score import rouge_scorer

    def postprocess_text(text: str) -> str:
        return "\n".join(split_summary_sentences(text))

    scorer = rouge_scorer.RougeScorer(list(SCROLLS_TYPES), use_stemmer=False)
    per_example: dict[str, list[float]] = {t: [] for t in SCROLLS_TYPES}
    for prediction, refs in zip(predictions, references):
        pairs = [scorer.score(postprocess_text(r), postprocess_text(prediction)) for r in refs]
        for t in SCROLLS_TYPES:
            per_example[t].append(max(pair[t].fmeasure * 100 for pair in pairs))
    means = {t: sum(v) / len(v) for t, v in per_example.items()}
    means["geometric_mean"] = (means["rouge1"] * means["rouge2"] * means["rougeL"]) ** (1.0 / 3.0)
    figures = {f"rouge/{k}": round(v, 4) for k, v in means.items()}
    return figures, per_example


# --- checks and timing ------------------------------------------------------------


def check_and_time_peers(runs: list[Run]) -> dict[str, float]:
    """Asserts the peers' results equal ours; returns the peers' CPU seconds per workload."""
    seconds = {"longbench": 0.0, "scrolls": 0.0}
    for run in runs:
        predictions = [p.prediction for p in run.predictions]
        references = [list(p.references) for p in run.predictions]
        started = time.process_time()
        figure, per_example = longbench_scorer(predictions, references)
        seconds["longbench"] += time.process_time() - started
        assert longbench_example_scores(run, LONGBENCH_MAX_DEPTH) == per_example, run.path
        assert longbench(run).figures == {"qmsum": figure}, run.path

        started = time.process_time()
        figures, per_type = scrolls_with_rouge_score(predictions, references)
        seconds["scrolls"] += time.process_time() - started
        assert scrolls_example_scores(run) == per_type, run.path
        ours = scrolls(run).figures
        assert {k: ours[k] for k in figures} == figures, run.path
    return seconds


def time_ours(runs: list[Run], repeats: int, measure: str) -> dict[str, float]:
    clock = time.process_time if measure == "cpu" else time.perf_counter
    best = {"longbench": float("inf"), "scrolls": float("inf")}
    for _ in range(repeats):
        for name, metric in (("longbench", longbench), ("scrolls", scrolls)):
            started = clock()
            for run in runs:
                metric(run)
            best[name] = min(best[name], clock() - started)
    return best


def child(args) -> None:
    """Times ours in this process (the parent set RAYON_NUM_THREADS)."""
    measure = "cpu" if os.environ.get("RAYON_NUM_THREADS") == "1" else "wall"
    print(json.dumps(time_ours(baseline_runs(args.split), args.repeats, measure)))


def ours_in_child(args, threads: str | None) -> dict[str, float]:
    env = dict(os.environ)
    env.pop("RAYON_NUM_THREADS", None)
    if threads is not None:
        env["RAYON_NUM_THREADS"] = threads
    command = [sys.executable, __file__, "--child", "--split", args.split, "--repeats", str(args.repeats)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="test", help="bundled QMSum split: train, val, test or all (default: test)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of ours; the best counts (default: 5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    runs = baseline_runs(args.split)
    examples = sum(len(run.predictions) for run in runs)
    pairs = sum(len(p.references) for run in runs for p in run.predictions)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"workload: {', '.join(BASELINES)} on split {args.split}: {examples} examples, {pairs} reference pairs")
    peers = check_and_time_peers(runs)
    print("identical per-example scores and figures asserted (longbench, scrolls)")
    one = ours_in_child(args, "1")
    every = ours_in_child(args, None)
    print("\n| metric | peer (1 thread, CPU s) | qmsum-fast 1 thread (CPU s) | ratio | all cores (wall s) | ratio |")
    print("|---|--:|--:|--:|--:|--:|")
    workloads = (("longbench vs LongBench's scorer (rouge 1.0.1)", "longbench"), ("scrolls vs rouge-score", "scrolls"))
    for name, peer in workloads:
        print(
            f"| {name} | {peers[peer]:.2f} | {one[peer]:.4f} | {peers[peer] / one[peer]:.0f}x "
            f"| {every[peer]:.4f} | {peers[peer] / every[peer]:.0f}x |"
        )


if __name__ == "__main__":
    main()

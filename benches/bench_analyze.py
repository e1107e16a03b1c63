"""Token counting for `qmsum-fast analyze`, against the usual ways of doing it.

For each workload it builds the prompts once (alpaca template, the same
preprocessing as the CLI), asserts that all approaches give identical counts,
then times whole processes side by side:

  (a) the original experiments' approach: a Python loop of `Tokenizer.encode`;
  (b) HF tokenizers `encode_batch_fast` (Rust, parallel, no offsets);
  (c) `qmsum-fast analyze --json` (loads data, preprocesses, counts, summarizes).

Run: python benches/bench_analyze.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qmsum_fast import TokenCounter, count_prompt_tokens, length_summary, load_template
from qmsum_fast.data import load_examples
from qmsum_fast.preprocess import prepare
from qmsum_fast.stats import BUNDLED_TOKENIZER

WORKLOADS = {
    "academic-train": {"split": "train", "domain": "academic"},
    "all-qmsum": {"split": "all", "domain": "all"},
}

LOOP = """
import json, sys
from tokenizers import Tokenizer
tokenizer = Tokenizer.from_file(sys.argv[1])
prompts = json.load(open(sys.argv[2], encoding="utf-8"))
counts = [len(tokenizer.encode(p, add_special_tokens=False).ids) for p in prompts]
json.dump(counts, open(sys.argv[3], "w"))
"""

BATCH = """
import json, sys
from tokenizers import Tokenizer
tokenizer = Tokenizer.from_file(sys.argv[1])
prompts = json.load(open(sys.argv[2], encoding="utf-8"))
counts = [len(e) for e in tokenizer.encode_batch_fast(prompts, add_special_tokens=False)]
json.dump(counts, open(sys.argv[3], "w"))
"""


def build_prompts(split: str, domain: str, preprocess: str) -> tuple[list[str], list[int]]:
    examples = load_examples(split=split, domain=None if domain == "all" else domain)
    prepared = prepare(examples, preprocess)
    template = load_template("alpaca")
    prompts = [template.render(p.query, p.transcript) for p in prepared]
    counts = count_prompt_tokens(
        TokenCounter.load(), template, [p.query for p in prepared], [p.transcript for p in prepared]
    )
    return prompts, counts


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_workload(name: str, split: str, domain: str, preprocess: str, repeat: int, workdir: Path) -> dict:
    prompts, ours = build_prompts(split, domain, preprocess)
    prompts_path = workdir / f"{name}.json"
    prompts_path.write_text(json.dumps(prompts), encoding="utf-8")
    results = {}
    for label, script in (("python loop", LOOP), ("encode_batch_fast", BATCH)):
        out = workdir / f"{name}-{label.replace(' ', '_')}.json"
        argv = [sys.executable, "-c", script, str(BUNDLED_TOKENIZER), str(prompts_path), str(out)]
        seconds = min(timed(argv) for _ in range(repeat))
        counts = json.loads(out.read_text())
        assert counts == ours, f"{label} counts differ from qmsum-fast on {name}"
        results[label] = seconds
    cli = [
        sys.executable,
        "-m",
        "qmsum_fast",
        "analyze",
        "--split",
        split,
        "--domain",
        domain,
        "--preprocess",
        preprocess,
        "--json",
    ]
    report = json.loads(subprocess.run(cli, check=True, capture_output=True, text=True).stdout)
    expected = length_summary(ours).as_dict()
    assert report["input_tokens"] == expected, f"CLI summary differs on {name}"
    results["qmsum-fast analyze"] = min(timed(cli) for _ in range(repeat))
    return {"prompts": len(prompts), "characters": sum(map(len, prompts)), "seconds": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--preprocess", default="qmsum", choices=("qmsum", "none"))
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, selection in WORKLOADS.items():
            result = run_workload(name, **selection, preprocess=args.preprocess, repeat=args.repeat, workdir=Path(tmp))
            seconds = result["seconds"]
            ours = seconds["qmsum-fast analyze"]
            print(
                f"\n{name}: {result['prompts']} prompts, {result['characters'] / 1e6:.1f}M characters, "
                f"preprocess {args.preprocess}; identical counts asserted; best of {args.repeat} whole-process runs"
            )
            for label, value in seconds.items():
                print(f"  {label:<20} {value:8.2f} s   qmsum-fast is {value / ours:6.1f}x faster")


if __name__ == "__main__":
    main()

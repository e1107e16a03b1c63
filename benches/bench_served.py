"""Served generation: the same run at concurrency 1 and 8 against a local server.

``transformers serve`` with continuous batching (explicit paged-cache sizes)
on 127.0.0.1, CPU, ``OMP_NUM_THREADS=1``, serving a tiny random-weight LLaMA
(``make-model``); the run is ``qmsum-fast generate --engine openai`` on the
bundled QMSum test split, greedy, each prompt cut to ``--max-input-tokens``
and a fixed number of new tokens. Each concurrency is timed ``--repeat``
times (best kept, wall time of the whole command in this process, after a
warm-up run); the predictions of every run are asserted identical before
anything is reported.

    python benches/bench_served.py                 # 32 examples, 256-token prompts, 128 new tokens
    python benches/bench_served.py --limit 8 --repeat 1    # a quick look

Nothing but 127.0.0.1 is reached; the server is stopped by its process id.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model: Path, port: int, log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--device", "cpu", "--continuous-batching"]
    command += ["--cb-block-size", "32", "--cb-num-blocks", "1024", "--cb-max-batch-tokens", "2048"]
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    with open(log, "w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + START_SECONDS
    while time.time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    raise SystemExit("the server did not start in time")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def run(model: Path, url: str, out: Path, args, concurrency: int) -> tuple[float, dict, int]:
    """Seconds, predictions by id, and new tokens (the server's count) of one run."""
    from qmsum_fast.cli import main

    out.unlink(missing_ok=True)
    command = ["generate", "--engine", "openai", "--base-url", url, "--model", str(model), "--tokenizer", str(model)]
    command += ["--split", "test", "--limit", str(args.limit), "--max-input-tokens", str(args.input_tokens)]
    command += ["--max-new-tokens", str(args.new_tokens), "--concurrency", str(concurrency), "--no-progress"]
    command += ["--out", str(out)]
    started = time.perf_counter()
    status = main.main(command, standalone_mode=False)
    seconds = time.perf_counter() - started
    if status:
        raise SystemExit(f"generate exited with status {status}")
    rows = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    tokens = sum(row["usage"]["completion_tokens"] for row in rows)
    return seconds, {row["id"]: row["prediction"] for row in rows}, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=32, help="examples of the test split (default 32)")
    parser.add_argument("--input-tokens", type=int, default=256, help="prompt budget (default 256)")
    parser.add_argument("--new-tokens", type=int, default=128, help="new tokens per example (default 128)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per concurrency; the best is kept")
    parser.add_argument("--model", type=Path, help="a model folder to serve (default: a tiny random LLaMA)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = args.model or make_tiny_llama(folder / "tiny-llama")
        port = free_port()
        server = start_server(model, port, folder / "server.log")
        try:
            report(measure(model, f"http://127.0.0.1:{port}/v1", folder, args), args)
        finally:
            stop_server(server)


def make_tiny_llama(folder: Path) -> Path:
    from qmsum_fast.gen.local.make_model import make_model

    return make_model("llama", "tiny", folder)


def measure(model: Path, url: str, folder: Path, args) -> tuple[dict[int, float], int]:
    """The best seconds at each concurrency, and the new tokens of a run."""
    _, reference, tokens = run(model, url, folder / "warm-up.jsonl", args, 8)  # starts batching, loads the tokenizer
    best: dict[int, float] = {}
    for _ in range(args.repeat):
        for concurrency in (1, 8):
            seconds, predictions, _ = run(model, url, folder / f"c{concurrency}.jsonl", args, concurrency)
            if predictions != reference:
                raise SystemExit(f"concurrency {concurrency} changed the predictions")
            best[concurrency] = min(seconds, best.get(concurrency, float("inf")))
    return best, tokens


def report(measured: tuple[dict[int, float], int], args) -> None:
    best, tokens = measured
    print(f"{args.limit} examples, {args.input_tokens}-token prompts, {args.new_tokens} new tokens, greedy")
    print("predictions identical in every run, at concurrency 1 and 8")
    print("| concurrency | seconds | examples/s | new tokens/s |")
    print("|--:|--:|--:|--:|")
    for concurrency, seconds in sorted(best.items()):
        print(f"| {concurrency} | {seconds:.2f} | {args.limit / seconds:.2f} | {tokens / seconds:.0f} |")
    print(f"throughput ratio (8 / 1): {best[1] / best[8]:.2f}x")


if __name__ == "__main__":
    main()

"""Served generation: the same run at concurrency 1 and 8 against a local server;
with ``--measure prefill``, the prefill tokens two replicas compute with and
without keeping a meeting's requests on one replica.

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
    python benches/bench_served.py --measure prefill       # 2 replicas: --reuse off and auto

``--measure prefill``: two replicas are two ports of tests/fault_proxy.py in
front of the one server, each recording the prompts it forwarded and when.
No server that caches prefixes runs here, so each replica is simulated as
one: an unbounded prefix cache in blocks of 16 tokens (vLLM's default block
size), keyed by the token prefix each block ends (``--tokenizer``'s ids,
special tokens included). A request's prefill cost on its replica is its
prompt tokens minus the cached blocks it starts with. Two cache models: a
prompt's blocks are cached as soon as it arrives (the most a cache can give)
or only once its answer came back (a prefix still being computed is not
shared, as with concurrent requests on vLLM). The run is ``generate
--engine openai`` over both ports with a transcript-first template
(``lm-eval-scrolls``), once with ``--reuse off`` and once with ``--reuse
auto``; predictions are asserted identical.

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

START_SECONDS = 180
BLOCK = 16  # tokens per cached block (vLLM's default --block-size)


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


def run(model: Path, urls: list[str], out: Path, args, concurrency: int, *more: str) -> tuple[float, dict, int]:
    """Seconds, predictions by id, and new tokens (the server's count) of one run."""
    from qmsum_fast.cli import main

    out.unlink(missing_ok=True)
    command = ["generate", "--engine", "openai", *[f"--base-url={url}" for url in urls]]
    command += ["--model", str(model), "--tokenizer", str(model)]
    command += [*more, "--split", "test", "--limit", str(args.limit), "--max-input-tokens", str(args.input_tokens)]
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
    parser.add_argument(
        "--measure",
        choices=["speed", "prefill"],
        default="speed",
        help="speed: concurrency 1 and 8 (default); prefill: tokens two replicas compute, --reuse off and auto",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="prefill: requests in flight (default 8)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = args.model or make_tiny_llama(folder / "tiny-llama")
        port = free_port()
        server = start_server(model, port, folder / "server.log")
        try:
            if args.measure == "prefill":
                report_prefill(measure_prefill(model, port, folder, args), args)
            else:
                report(measure(model, f"http://127.0.0.1:{port}/v1", folder, args), args)
        finally:
            stop_server(server)


def make_tiny_llama(folder: Path) -> Path:
    from qmsum_fast.gen.local.make_model import make_model

    return make_model("llama", "tiny", folder)


def measure(model: Path, url: str, folder: Path, args) -> tuple[dict[int, float], int]:
    """The best seconds at each concurrency, and the new tokens of a run."""
    _, reference, tokens = run(model, [url], folder / "warm-up.jsonl", args, 8)  # starts batching, loads the tokenizer
    best: dict[int, float] = {}
    for _ in range(args.repeat):
        for concurrency in (1, 8):
            seconds, predictions, _ = run(model, [url], folder / f"c{concurrency}.jsonl", args, concurrency)
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


# --- prefill tokens over two replicas -----------------------------------------------------------


def measure_prefill(model: Path, port: int, folder: Path, args) -> dict:
    """For --reuse off and auto: each replica's prompts (token ids), arrival and answer times."""
    from transformers import AutoTokenizer

    from fault_proxy import FaultProxy

    tokenizer = AutoTokenizer.from_pretrained(str(model), local_files_only=True)
    replicas = [FaultProxy(port).start() for _ in range(2)]
    measured: dict = {}
    reference = None
    try:
        for reuse in ("off", "auto"):
            for proxy in replicas:
                proxy.requests.clear()
            urls = [proxy.url for proxy in replicas]
            more = ["--template", "lm-eval-scrolls", "--reuse", reuse]
            _, predictions, _ = run(model, urls, folder / f"{reuse}.jsonl", args, args.concurrency, *more)
            if reference is not None and predictions != reference:
                raise SystemExit("--reuse auto changed the predictions")
            reference = predictions
            measured["examples"] = len(predictions)
            measured[reuse] = [[_request(tokenizer, post) for post in proxy.posts()] for proxy in replicas]
    finally:
        for proxy in replicas:
            proxy.stop()
    return measured


def _request(tokenizer, post: dict) -> tuple[list[int], float, float]:
    """A recorded request: its prompt's token ids, when it arrived, when its answer went back."""
    return tokenizer(json.loads(post["body"])["prompt"])["input_ids"], post["at"], post["done"]


def prefill_cost(requests: list[tuple[list[int], float, float]], when_answered: bool) -> tuple[int, int]:
    """Prefill tokens one replica computes, and its prompt tokens, as a prefix cache in
    blocks of BLOCK tokens: a block is cached once a prompt holding it arrived (or, with
    ``when_answered``, once that prompt's answer came back)."""
    cached: set = set()
    waiting: list[tuple[float, list]] = []  # (answered at, block keys): cached from then on
    computed = prompt = 0
    for ids, arrived, answered in sorted(requests, key=lambda request: request[1]):
        for ready in [entry for entry in waiting if entry[0] <= arrived]:
            cached.update(ready[1])
            waiting.remove(ready)
        keys = _block_keys(ids)
        hits = 0
        while hits < len(keys) and keys[hits] in cached:
            hits += 1
        computed += len(ids) - hits * BLOCK
        prompt += len(ids)
        if when_answered:
            waiting.append((answered, keys))
        else:
            cached.update(keys)
    return computed, prompt


def _block_keys(ids: list[int]) -> list:
    """A key per full block: the hash of the whole prefix it ends (so equal keys mean equal prefixes)."""
    keys, key = [], None
    for start in range(0, len(ids) - len(ids) % BLOCK, BLOCK):
        key = hash((key, tuple(ids[start : start + BLOCK])))
        keys.append(key)
    return keys


def report_prefill(measured: dict, args) -> None:
    print(f"{measured['examples']} examples of the test split, {args.input_tokens}-token prompts (lm-eval-scrolls),")
    print(f"{args.new_tokens} new tokens, greedy, concurrency {args.concurrency}, 2 replicas; predictions identical")
    print("| --reuse | cache filled | replica 1 | replica 2 | prefill tokens | prompt tokens | computed share |")
    print("|--|--|--:|--:|--:|--:|--:|")
    totals: dict = {}
    for when_answered, label in ((False, "on arrival"), (True, "when answered")):
        for reuse in ("off", "auto"):
            costs = [prefill_cost(requests, when_answered) for requests in measured[reuse]]
            computed = sum(cost for cost, _ in costs)
            prompt = sum(tokens for _, tokens in costs)
            totals[reuse, label] = computed
            cells = " | ".join(str(cost) for cost, _ in costs)
            print(f"| {reuse} | {label} | {cells} | {computed} | {prompt} | {computed / prompt:.1%} |")
    for label in ("on arrival", "when answered"):
        print(f"prefill tokens, off / auto ({label}): {totals['off', label] / totals['auto', label]:.2f}x")


if __name__ == "__main__":
    main()

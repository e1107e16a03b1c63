"""Map-reduce with its map step shared (``generate --reuse``): one meeting's 7 queries, off against auto.

The ``llama-adapter`` preset as it is (map-reduce: each chunk of at most 400
prompt tokens summarized with "Summarize the following conversation.", then
the query answered from the joined summaries; sampling at temperature 0.1,
top_p 0.75, seeded per chunk and per example) on a random-weight LLaMA
(``qmsum_fast.gen.local.make_model``'s LLaMA config at ``--width``/``--layers``),
fp32 on the CPU, over one real QMSum meeting of the bundled data. Both runs go
through ``qmsum-fast generate`` in this process:

- off: each query summarizes its own chunks (7 times the meeting's chunks);
- auto: the meeting's chunks are summarized once and each query's reduce reads them.

The two runs' predictions are asserted equal (``==``, per example) before any
time is printed; the times are those two runs' wall times (model loading
included, the same for both), after an untimed one-query warm-up.

    python benches/bench_map_reduce.py                               # 256 wide, 4 layers, 128 new tokens
    python benches/bench_map_reduce.py --width 64 --layers 2 --new-tokens 4   # a smoke run
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path


def make_llama(folder: Path, width: int, layers: int, heads: int) -> Path:
    """make_model's random-weight LLaMA at another width and depth, saved with the bundled tokenizer."""
    import torch
    import transformers

    from qmsum_fast.gen.local.make_model import load_bundled_tokenizer, model_config

    tokenizer = load_bundled_tokenizer()
    special = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    config = model_config("llama", "tiny", special)
    config.hidden_size, config.intermediate_size = width, 2 * width
    config.num_hidden_layers, config.num_attention_heads, config.num_key_value_heads = layers, heads, heads
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def meeting_file(folder: Path, split: str, meeting: str) -> Path:
    """The bundled meeting's line alone, in a file named after its split."""
    from qmsum_fast.data.readers import bundled_root

    with gzip.open(bundled_root() / f"{split}.jsonl.gz", "rt", encoding="utf-8") as lines:
        line = next(line for line in lines if json.loads(line)["meeting"] == meeting)
    path = folder / f"{split}.jsonl"
    path.write_text(line, encoding="utf-8")
    return path


def generate(model: Path, data: Path, split: str, out: Path, *args: str) -> float:
    """Wall seconds of one ``qmsum-fast generate`` with the llama-adapter preset."""
    from click.testing import CliRunner

    from qmsum_fast.cli import main

    command = ["generate", "--model", "llama-adapter", "--model-path", str(model), "--data", str(data)]
    command += ["--split", split, "--out", str(out), "--no-progress", "--device", "cpu", *args]
    started = time.perf_counter()
    result = CliRunner().invoke(main, command)
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output + repr(result.exception)
    return seconds


def records(path: Path) -> dict:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]
    return {row["id"]: row for row in rows}


def counting_prompts() -> list[str]:
    """Every prompt the engine is given, from now on."""
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine

    given: list[str] = []
    real = Engine.generate

    def recording(self, texts):
        given.extend(texts)
        return real(self, texts)

    Engine.generate = recording  # type: ignore[method-assign]
    return given


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meeting", default="ES2004a", help="the meeting (default ES2004a: 7 queries, test split)")
    parser.add_argument("--split", default="test", help="its split in the bundled data (default test)")
    parser.add_argument("--width", type=int, default=256, help="hidden size (default 256)")
    parser.add_argument("--layers", type=int, default=4, help="layers (default 4)")
    parser.add_argument("--heads", type=int, default=4, help="attention heads (default 4)")
    parser.add_argument("--new-tokens", type=int, default=128, help="max new tokens per generation (default 128)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = make_llama(folder / "model", args.width, args.layers, args.heads)
        data = meeting_file(folder, args.split, args.meeting)
        budget = ["--max-new-tokens", str(args.new_tokens)]
        generate(model, data, args.split, folder / "warm.jsonl", "--limit", "1", "--max-new-tokens", "2")
        prompts = counting_prompts()
        seconds, runs, calls = {}, {}, {}
        for reuse in ("off", "auto"):
            prompts.clear()
            seconds[reuse] = generate(model, data, args.split, folder / f"{reuse}.jsonl", *budget, "--reuse", reuse)
            runs[reuse], calls[reuse] = records(folder / f"{reuse}.jsonl"), len(prompts)
    off, auto = runs["off"], runs["auto"]
    assert {i: r["prediction"] for i, r in off.items()} == {i: r["prediction"] for i, r in auto.items()}, (
        "reuse changed a prediction"
    )
    computed = {reuse: sum(r["computed_tokens"] for r in rows.values()) for reuse, rows in runs.items()}
    print("| model (layers, width) | queries | generations off / auto | prompt tokens off / auto ", end="")
    print("| off | auto | speed-up |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    print(
        f"| LLaMA ({args.layers}, {args.width}), {args.new_tokens} new tokens | {len(auto)} "
        f"| {calls['off']} / {calls['auto']} | {computed['off']} / {computed['auto']} "
        f"| {seconds['off']:.1f} s | {seconds['auto']:.1f} s | {seconds['off'] / seconds['auto']:.2f}x |"
    )


if __name__ == "__main__":
    main()

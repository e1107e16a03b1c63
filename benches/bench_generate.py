"""Generation speed: the original experiments' approach against qmsum-fast.

Same random-weight full-size models (LED-large-16384, MPT-7B-storywriter
shapes), same QMSum examples, same generation settings and a fixed number of
new tokens (min = max, so random weights cannot stop early):

- original: a transformers ``pipeline``, one example at a time, default dtype
  (fp32), eager attention (LED: the same per-example tokenize-generate-decode
  loop, since transformers 5 has no summarization pipeline);
- qmsum-fast: bf16, SDPA (query-blocked SDPA for MPT), length-sorted batches
  with automatic batch size and halving on out-of-memory.

Before timing, the script asserts that qmsum-fast's batched engine gives the
same greedy tokens as one-at-a-time ``model.generate`` on the same model
(fp32). It prints examples/s, generated tokens/s and the ratio per model.

Needs one CUDA GPU (about 80 GB for MPT-7B at 30k tokens); run from the
repository root in one go (about 8-10 minutes on an H100):

    python benches/bench_generate.py              # LED at 15k, MPT at 30k, then reuse
    python benches/bench_generate.py --tiny       # CPU smoke run of the script

Then ``--reuse off`` against ``auto`` (gen/local/reuse.py) on one meeting's 7
queries: MPT-7B's shape with the ``longbench`` template (transcript first,
query last) at ``--reuse-tokens``, greedy, bf16; predictions are first
asserted equal on a short cut in fp32 (``benches/bench_reuse.py`` is the CPU
version of this comparison and provides its runner).

The original approach cannot hold MPT-7B at 30k tokens in fp32 with eager
attention on one GPU (the fp32 score matrix alone is 115 GB per layer); it is
tried and reported as out of memory, and both are also compared at
``--mpt-compare-tokens`` where it fits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_examples(count: int):
    from qmsum_fast.data import load_examples

    examples = load_examples(None, split="test")
    # The longest meetings first: the benchmark is about long inputs.
    by_length = sorted(examples, key=lambda e: -sum(len(t.content) for t in e.turns))
    return by_length[:count]


def transcripts(examples):
    from qmsum_fast.data import render_turns

    return [render_turns(e.turns) for e in examples]


def settings_for(arch: str, new_tokens: int) -> dict:
    if arch == "led":  # the preset's beam search, at a fixed output length
        from qmsum_fast.gen.presets import LED_BEAMS

        return dict(LED_BEAMS, min_length=new_tokens, max_length=new_tokens)
    return dict(do_sample=False, max_new_tokens=new_tokens, min_new_tokens=new_tokens)


def prompts_for(arch, tokenizer, examples, budget):
    from qmsum_fast.gen.presets import MPT_MARKER
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.templates import load_template, parse_template

    template = load_template("led") if arch == "led" else parse_template("{transcript}" + MPT_MARKER)
    builder = PromptBuilder(tokenizer, template, budget)
    return [builder.build(e.query, text) for e, text in zip(examples, transcripts(examples))]


def qmsum_fast_engine(arch, model, tokenizer, generation, device):
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine
    from qmsum_fast.gen.local.models import LoadedModel
    from qmsum_fast.gen.presets import resolve_settings

    settings = resolve_settings("led" if arch == "led" else "mpt-storywriter", {})
    settings = settings.__class__(**{**settings.as_dict(), "generation": generation, "answer_marker": None})
    loaded = LoadedModel(model, tokenizer, arch == "led", device, arch, "bench")
    return Engine(loaded, settings)


def run_qmsum_fast(engine, prompts, on_cuda):
    from qmsum_fast.gen.local.batching import Batcher, start_batch_size

    outputs = {}
    batcher = Batcher(engine.generate, start_batch_size("auto", len(prompts), on_cuda))
    started = time.perf_counter()
    batcher.run([p.text for p in prompts], [p.n_tokens for p in prompts], lambda r: outputs.__setitem__(r.index, r))
    seconds = time.perf_counter() - started
    failed = [r.error for r in outputs.values() if r.error]
    tokens = sum(r.output.new_tokens for r in outputs.values() if r.output is not None)
    return seconds, tokens, failed, batcher.size


def run_pipeline(arch, model, tokenizer, prompts, generation, device):
    """One example at a time. transformers 5 dropped the summarization
    pipeline the LED script used; for LED this is what it did per example
    (tokenize, generate, decode, no global attention)."""
    import torch
    import transformers

    # Generated tokens per example: min = max length is forced, so this is
    # the same count qmsum-fast reports (the decoder start token excluded).
    if arch == "led":

        def pipe(text):
            inputs = tokenizer(text, return_tensors="pt").to(device)
            ids = model.generate(**inputs, **generation, pad_token_id=tokenizer.pad_token_id)
            tokenizer.decode(ids[0], skip_special_tokens=True)
            return ids.shape[1] - 1
    else:
        generator = transformers.pipeline("text-generation", model=model, tokenizer=tokenizer, device=device)

        def pipe(text):
            generator(text, return_full_text=False, pad_token_id=tokenizer.pad_token_id, **generation)
            return generation["max_new_tokens"]

    started, tokens = time.perf_counter(), 0
    try:
        for prompt in prompts:
            with torch.inference_mode():
                tokens += pipe(prompt.text)
    except torch.cuda.OutOfMemoryError as exc:
        torch.cuda.empty_cache()
        return None, 0, str(exc).splitlines()[0]
    return time.perf_counter() - started, tokens, None


def assert_identical(arch, model, tokenizer, examples, device, new_tokens):
    """Batched engine == one-at-a-time generate, greedy, on short prompts."""
    import torch

    generation = settings_for(arch, new_tokens)
    prompts = prompts_for(arch, tokenizer, examples[:3], 384)
    engine = qmsum_fast_engine(arch, model, tokenizer, generation, device)
    batched = [o.text for o in engine.generate([p.text for p in prompts])]
    single = [engine.generate([p.text])[0].text for p in prompts]
    assert batched == single, f"{arch}: batched and single outputs differ"
    with torch.inference_mode():  # and the engine equals a plain generate call
        plain = []
        for prompt in prompts:
            inputs = engine._encode([prompt.text])
            ids = model.generate(**inputs, **generation, pad_token_id=tokenizer.pad_token_id)
            ids = ids[0] if arch == "led" else ids[0, inputs["input_ids"].shape[1] :]
            plain.append(tokenizer.decode(ids, skip_special_tokens=True).strip())
    assert plain == single, f"{arch}: engine and plain generate differ"
    return len(prompts)


def bench(arch, size, examples, budget, new_tokens, device, fast_dtype, compare_budget=None):
    import torch

    from qmsum_fast.gen.local.make_model import build_model
    from qmsum_fast.gen.local.mpt_attention import enable_blocked_sdpa

    rows = []
    on_cuda = device.startswith("cuda")
    model32, tokenizer = build_model(arch, size, seed=0, device=device, dtype="fp32")
    checked = assert_identical(arch, model32, tokenizer, examples, device, min(new_tokens, 16))
    budgets = [budget] + ([compare_budget] if compare_budget else [])
    generation = settings_for(arch, new_tokens)
    fast = model32.to(getattr(torch, {"bf16": "bfloat16", "fp32": "float32"}[fast_dtype]))
    for length in budgets:
        prompts = prompts_for(arch, tokenizer, examples, length)
        mean_in = sum(p.n_tokens for p in prompts) / len(prompts)
        # The original approach first, on a fresh fp32 copy: default dtype, eager.
        model_fp32, _ = (
            build_model(arch, size, seed=0, device=device, dtype="fp32") if fast_dtype != "fp32" else (model32, None)
        )
        base_s, base_tokens, base_error = run_pipeline(arch, model_fp32, tokenizer, prompts, generation, device)
        del model_fp32
        torch.cuda.empty_cache() if on_cuda else None
        if arch == "mpt":
            enable_blocked_sdpa(fast)
        engine = qmsum_fast_engine(arch, fast, tokenizer, generation, device)
        fast_s, fast_tokens, failed, batch = run_qmsum_fast(engine, prompts, on_cuda)
        rows.append(
            dict(
                model=arch,
                size=size,
                examples=len(prompts),
                mean_input_tokens=round(mean_in),
                new_tokens=new_tokens,
                identical_checked=checked,
                original_s=base_s,
                original_error=base_error,
                original_tok_s=base_tokens / base_s if base_s else None,
                fast_s=fast_s,
                fast_tok_s=fast_tokens / fast_s,
                fast_batch=batch,
                fast_failed=len(failed),
                examples_per_s=(len(prompts) / base_s if base_s else None, len(prompts) / fast_s),
                ratio=(base_s / fast_s) if base_s else None,
            )
        )
    return rows


def bench_reuse(size, device, fast_dtype, tokens, new_tokens):
    """One meeting's queries, --reuse off against auto (batched continuation), MPT's shape."""
    import torch

    from bench_reuse import runner, timed
    from qmsum_fast.gen.local.make_model import build_model
    from qmsum_fast.gen.local.models import LoadedModel
    from qmsum_fast.gen.local.mpt_attention import enable_blocked_sdpa

    model, tokenizer = build_model("mpt", size, seed=0, device=device, dtype="fp32")
    enable_blocked_sdpa(model)
    tokenizer.padding_side = "left"  # as load_model sets it for causal models

    def run(tokens: int, new: int, reuse: str):
        loaded = LoadedModel(model, tokenizer, False, torch.device(device), "mpt", "sdpa-blocked")
        batch = 32 if device.startswith("cuda") else 4
        reuse_runner, sources, prompts = runner(loaded, tokens, new, batch, reuse)
        seconds, found = timed(reuse_runner, sources, prompts, 1)
        return seconds, {i: f.prediction for i, f in found.items()}, found, prompts

    check = min(tokens, 1024)  # fp32, as the engine's identity check
    assert run(check, 16, "off")[1] == run(check, 16, "auto")[1], "mpt: --reuse auto changed a prediction"
    model.to(getattr(torch, {"bf16": "bfloat16", "fp32": "float32"}[fast_dtype]))
    off_s, off, _, prompts = run(tokens, new_tokens, "off")
    auto_s, auto, found, _ = run(tokens, new_tokens, "auto")
    return dict(
        model="mpt",
        size=size,
        queries=len(prompts),
        mean_input_tokens=round(sum(p.n_tokens for p in prompts) / len(prompts)),
        shared_prefix_tokens=max(f.extra["prefix_tokens"] for f in found.values()),
        new_tokens=new_tokens,
        off_s=off_s,
        auto_s=auto_s,
        ratio=off_s / auto_s,
        equal_predictions=sum(off[i] == auto[i] for i in off),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", action="store_true", help="tiny models on CPU: checks the script, times nothing useful"
    )
    parser.add_argument("--examples", type=int, default=8)
    parser.add_argument("--led-tokens", type=int, default=15000)
    parser.add_argument("--mpt-tokens", type=int, default=30000)
    parser.add_argument("--mpt-compare-tokens", type=int, default=4096)
    parser.add_argument("--reuse-tokens", type=int, default=16000, help="prompt tokens of the reuse comparison")
    parser.add_argument("--only", choices=["led", "mpt", "reuse"])
    args = parser.parse_args()
    import torch

    if args.tiny:
        device, size, fast_dtype = "cpu", "tiny", "fp32"
        led_tokens, mpt_tokens, compare, new = 300, 300, 150, (8, 8)
        reuse_tokens = 300
    else:
        if not torch.cuda.is_available():
            sys.exit("bench_generate.py needs a CUDA GPU (use --tiny for a CPU smoke run)")
        device, size, fast_dtype = "cuda", "full", "bf16"
        led_tokens, mpt_tokens, compare, new = args.led_tokens, args.mpt_tokens, args.mpt_compare_tokens, (64, 100)
        reuse_tokens = args.reuse_tokens
    examples = load_examples(args.examples)
    rows = []
    if args.only in (None, "led"):
        rows += bench("led", size, examples, led_tokens, new[0], device, fast_dtype)
    if args.only in (None, "mpt"):
        rows += bench("mpt", size, examples, mpt_tokens, new[1], device, fast_dtype, compare)
    reuse = bench_reuse(size, device, fast_dtype, reuse_tokens, new[0]) if args.only in (None, "reuse") else None
    device_name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
    print(f"device: {device_name}")
    print(
        f"{'model':6} {'in tok':>7} {'n':>3} {'original ex/s':>14} {'qmsum-fast ex/s':>16} "
        f"{'original tok/s':>15} {'qmsum-fast tok/s':>17} {'ratio':>7}"
    )
    for row in rows:
        base_rate, fast_rate = row["examples_per_s"]
        base = f"{base_rate:.3f}" if base_rate else "OOM"
        base_tok = f"{row['original_tok_s']:.1f}" if row["original_tok_s"] else "OOM"
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] else "-"
        print(
            f"{row['model']:6} {row['mean_input_tokens']:>7} {row['examples']:>3} {base:>14} {fast_rate:>16.3f} "
            f"{base_tok:>15} {row['fast_tok_s']:>17.1f} {ratio:>7}"
        )
    if reuse is not None:
        print(
            f"reuse ({reuse['model']}, {reuse['queries']} queries of one meeting, {reuse['mean_input_tokens']} tokens, "
            f"{reuse['shared_prefix_tokens']} shared): off {reuse['off_s']:.2f} s, auto {reuse['auto_s']:.2f} s, "
            f"{reuse['ratio']:.2f}x; {reuse['equal_predictions']} of {reuse['queries']} predictions equal "
            f"in {fast_dtype}"
        )
    out = os.environ.get("OUT")
    if out:
        result = {"device": device_name, "rows": rows, "reuse": reuse}
        Path(out, "bench_generate.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

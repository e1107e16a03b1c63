"""Shared-prefix reuse (``generate --reuse``): one meeting's 7 queries, off against auto.

Random-weight LLaMA-architecture models on the CPU, fp32, greedy, a fixed
number of new tokens (min = max, so random weights cannot stop early), the
``longbench`` template (transcript first, query last) over one real QMSum
meeting cut to each of ``--tokens`` prompt tokens. Before anything is timed,
the predictions and generated-token counts of all paths are asserted equal
(``==``) on the first pass of each. Times are the best of ``--repeats`` whole
passes over the 7 queries (that first one included):

- off: the plain path, length-sorted batches (``--batch-size``);
- auto, one at a time (batch size 1): the shared prefix once
  (``logits_to_keep=1``), each query continued from its KV cache, which is
  cropped back to the prefix after each;
- auto, batched (``--batch-size``): the queries continued together from the
  cache expanded across the batch, tails left-padded after the prefix.

    python benches/bench_reuse.py                  # small and medium, 4000 and 8000 tokens
    python benches/bench_reuse.py --tokens 1000 --repeats 1 --shapes small   # quick smoke run
"""

from __future__ import annotations

import argparse
import time

# Layers, width, heads: "small" is the tests' tiny model; "medium" a 25M-parameter one (without embeddings).
SHAPES = {"small": (2, 64, 4), "medium": (8, 512, 8)}


def build(shape: str):
    import torch
    import transformers

    from qmsum_fast.gen.local.make_model import TOKENIZER_VOCAB, load_bundled_tokenizer
    from qmsum_fast.gen.local.models import LoadedModel

    layers, width, heads = SHAPES[shape]
    tokenizer = load_bundled_tokenizer()
    tokenizer.padding_side = "left"  # as load_model sets it for causal models
    config = transformers.LlamaConfig(
        vocab_size=TOKENIZER_VOCAB,
        hidden_size=width,
        intermediate_size=width * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32, attn_implementation="sdpa")
    return LoadedModel(model.eval(), tokenizer, False, torch.device("cpu"), "llama", "sdpa")


def runner(loaded, tokens: int, new_tokens: int, batch_size: int, reuse: str):
    from qmsum_fast.data import load_examples
    from qmsum_fast.gen.config import Request, build_config
    from qmsum_fast.gen.inputs import build_sources, prepare_function
    from qmsum_fast.gen.local.batching import Batcher
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine
    from qmsum_fast.gen.local.reuse import prefix_reuse
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.templates import parse_template

    request = Request(model="bench/random-llama", template="longbench", max_new_tokens=new_tokens, reuse=reuse)
    config = build_config(request, dtype="fp32")
    engine = Engine(loaded, config)
    engine.generation["min_new_tokens"] = new_tokens
    batcher = Batcher(engine.generate, batch_size)
    examples = [e for e in load_examples(None, split="test") if e.meeting == _meeting()][:7]
    sources = build_sources(examples, "full", prepare_function(config.preprocess))
    builder = PromptBuilder(loaded.tokenizer, parse_template(config.template or ""), tokens)
    prompts = [builder.build(s.query, s.transcript) for s in sources]
    return prefix_reuse(engine, batcher, config), sources, prompts


def _meeting() -> str:
    from collections import Counter

    from qmsum_fast.data import load_examples

    # The meeting with the most queries in the bundled test split.
    return Counter(e.meeting for e in load_examples(None, split="test")).most_common(1)[0][0]


def timed(reuse_runner, sources, prompts, repeats: int) -> tuple[float, dict]:
    best, outputs = float("inf"), {}
    for _ in range(repeats):
        found: dict = {}
        started = time.perf_counter()
        reuse_runner.run(sources, prompts, lambda f, found=found: found.update({f.source.example.id: f}))
        best = min(best, time.perf_counter() - started)
        outputs = found
    return best, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", default="4000,8000", help="prompt budgets in tokens (default 4000,8000)")
    parser.add_argument("--new-tokens", type=int, default=32, help="generated tokens per query (default 32)")
    parser.add_argument(
        "--batch-size", type=int, default=4, help="batch size of the plain path and of batched continuation (default 4)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed passes, best taken (default 3)")
    parser.add_argument("--shapes", default="small,medium", help="model shapes (default small,medium)")
    args = parser.parse_args()
    import torch

    torch.set_grad_enabled(False)
    print("| model | queries | prompt tokens (shared) | off | auto, one at a time | auto, batched | speed-up |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for shape in args.shapes.split(","):
        loaded = build(shape)
        for tokens in (int(value) for value in args.tokens.split(",")):
            print(compare(loaded, shape, tokens, args), flush=True)


PATHS = {"off": ("off", None), "one": ("auto", 1), "batched": ("auto", None)}  # None: --batch-size


def compare(loaded, shape: str, tokens: int, args) -> str:
    """One table row: the three paths at ``tokens``, outputs asserted equal before timing."""

    def make(path: str):
        reuse, size = PATHS[path]
        return runner(loaded, tokens, args.new_tokens, size or args.batch_size, reuse)

    # The first pass of each path is also the equality check; the best of --repeats passes is kept.
    first = {path: timed(*make(path), 1) for path in PATHS}
    outputs = {path: found for path, (_, found) in first.items()}
    expected = {i: (f.prediction, f.new_tokens) for i, f in outputs["off"].items()}
    for path in ("one", "batched"):
        assert {i: (f.prediction, f.new_tokens) for i, f in outputs[path].items()} == expected, (
            f"{path} changed an output"
        )
    assert all(f.new_tokens == args.new_tokens for f in outputs["batched"].values())
    seconds = {path: first[path][0] for path in PATHS}
    if args.repeats > 1:
        seconds = {path: min(seconds[path], timed(*make(path), args.repeats - 1)[0]) for path in PATHS}
    _, _, prompts = make("off")
    shared = max(f.extra["prefix_tokens"] for f in outputs["batched"].values())
    mean_tokens = sum(p.n_tokens for p in prompts) / len(prompts)
    best = min(seconds["one"], seconds["batched"])
    return (
        f"| {shape} {SHAPES[shape]} | {len(prompts)} | {mean_tokens:.0f} ({shared}) | {seconds['off']:.2f} s "
        f"| {seconds['one']:.2f} s | {seconds['batched']:.2f} s | {seconds['off'] / best:.2f}x |"
    )


if __name__ == "__main__":
    main()

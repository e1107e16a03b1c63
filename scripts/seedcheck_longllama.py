#!/usr/bin/env python3
"""LongLLaMA: the authors' code under transformers 4.30.2 against ``qmsum-fast generate`` under this transformers.

Run by ``python scripts/verify_seed_models.py ORIGINAL_CODE_DIR`` (or this script alone,
with the same argument), where ORIGINAL_CODE_DIR holds ``long_llama/`` (a checkout of
CStanKonrad/long_llama) and ``transformers-4.30.2/`` (``pip install --target
DIR/transformers-4.30.2 --no-deps transformers==4.30.2 tokenizers==0.13.3
huggingface-hub==0.16.4``; the rest, torch included, comes from this environment).

:func:`check` builds a tiny random-weight model folder laid out like the hub repo
``syzymon/long_llama_3b_v1_1``: its config (``auto_map``, memory layers, ``mem_dtype``
bfloat16, ``last_context_length`` 1024, a 2048-token window) at a tiny width, the
authors' unmodified ``src/configuration_longllama.py``, ``src/modeling_longllama.py``
and ``src/longllama_utils.py``, and OpenLLaMA's SentencePiece ``tokenizer.model``
(the repo's ``fot_continued_pretraining/tokenizers/``, which LongLLaMA-3B uses). Then:

1. ``qmsum-fast generate --model longllama --model-path FOLDER --trust-remote-code``
   runs in this process on three test queries (prompts of up to 1,500 tokens: past
   ``last_context_length``, so their first tokens go through the memory layers), greedy
   (one left-padded batch) and sampled (the preset's settings, each prompt from its own
   seed), and once more as ``--model FOLDER`` (no preset, greedy); every ``generate``
   call is recorded: its input ids,
   attention mask, arguments, the torch RNG state before it and the ids it returned;
2. a subprocess with ``PYTHONPATH=ORIGINAL_CODE_DIR/transformers-4.30.2`` loads the
   same folder with ``AutoModelForCausalLM.from_pretrained(..., trust_remote_code=True)``
   and ``LlamaTokenizer`` (as the authors' README does) and replays every call: same
   input ids, arguments and RNG state;
3. the token ids are compared with ``==``: the generated ones, and each prompt's ids
   from both tokenizers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from seedcheck_common import Finding, commit_of, report

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "gen_qmsum"
CODE_FILES = ("configuration_longllama.py", "modeling_longllama.py", "longllama_utils.py")
TOKENIZER = Path("fot_continued_pretraining") / "tokenizers" / "tokenizer.model"

# syzymon/long_llama_3b_v1_1's config.json, at a tiny width (4 layers of 64, memory in 2 of them).
HUB_CONFIG = {
    "architectures": ["LongLlamaForCausalLM"],
    "auto_map": {
        "AutoConfig": "configuration_longllama.LongLlamaConfig",
        "AutoModel": "modeling_longllama.LongLlamaModel",
        "AutoModelForCausalLM": "modeling_longllama.LongLlamaForCausalLM",
        "AutoModelForSequenceClassification": "modeling_longllama.LongLlamaForSequenceClassification",
    },
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 0,
    "hidden_act": "silu",
    "hidden_size": 64,
    "initializer_range": 0.02,
    "intermediate_size": 128,
    "last_context_length": 1024,
    "max_position_embeddings": 2048,
    "mem_attention_grouping": None,
    "mem_dtype": "bfloat16",
    "mem_layers": [1, 3],
    "mem_positionals": True,
    "model_type": "longllama",
    "num_attention_heads": 4,
    "num_hidden_layers": 4,
    "rms_norm_eps": 1e-06,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
    "transformers_version": "4.30.0",
    "use_cache": True,
    "vocab_size": 32000,
}
TOKENIZER_CONFIG = {
    "tokenizer_class": "LlamaTokenizer",
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "add_bos_token": True,
    "add_eos_token": False,
}

# The original side: the unmodified code under transformers 4.30.2, replaying the recorded calls.
REPLAY = """
import sys, torch, transformers
folder, calls_path, out_path = sys.argv[1:]
assert transformers.__version__ == "4.30.2", transformers.__version__
tokenizer = transformers.LlamaTokenizer.from_pretrained(folder)
model = transformers.AutoModelForCausalLM.from_pretrained(folder, trust_remote_code=True, torch_dtype=torch.float32)
model.eval()
results = []
for call in torch.load(calls_path):
    torch.set_rng_state(call["rng"])
    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor(call["input_ids"]),
            attention_mask=torch.tensor(call["attention_mask"]),
            **call["generation"],
        )
    results.append({"output": out.tolist(), "prompts": [tokenizer(t)["input_ids"] for t in call["texts"]]})
torch.save(results, out_path)
"""

RUNS = {
    "--model longllama, greedy": ["--model", "longllama", "--greedy"],
    # The preset samples (temperature 1.0, transformers' top_k 50), each example from a seed of its own.
    "--model longllama, sampled": ["--model", "longllama", "--seed", "0"],
    "--model FOLDER, greedy": ["--greedy"],
}


def check(original_dir: str | Path) -> bool:
    """Prints what it compared; True when everything matched."""
    return report(findings, original_dir)


def findings(original_dir: str | Path) -> list[Finding]:
    """``(ok, line)`` for each comparison; ok None for a line that only informs."""
    original = Path(original_dir)
    source, packages = original / "long_llama", original / "transformers-4.30.2"
    lines: list[Finding] = [(None, describe_code(source, packages))]
    with tempfile.TemporaryDirectory(prefix="seedcheck-longllama-") as work:
        folder = build_folder(source, Path(work) / "long_llama_3b_v1_1-tiny")
        for index, (name, args) in enumerate(RUNS.items()):
            model_args = args if "--model" in args else ["--model", str(folder), *args]
            calls, said = run_ours(folder, model_args, Path(work) / f"run{index}.jsonl")
            if index == 0:
                lines.append((None, "the fixes qmsum-fast named: " + "; ".join(said)))
            lines += compare(name, calls, replay_original(folder, packages, calls, Path(work)))
    return lines


def describe_code(source: Path, packages: Path) -> str:
    import torch
    import transformers

    modeling = (source / "src" / "modeling_longllama.py").read_bytes()
    return (
        f"CStanKonrad/long_llama {commit_of(source)} (src/modeling_longllama.py sha256 "
        f"{hashlib.sha256(modeling).hexdigest()[:16]}), transformers {_version(packages)} against "
        f"{transformers.__version__}, torch {torch.__version__}"
    )


def _version(packages: Path) -> str:
    found = sorted(packages.glob("transformers-*.dist-info"))
    return found[0].name.removeprefix("transformers-").removesuffix(".dist-info") if found else "(not installed)"


def build_folder(source: Path, folder: Path) -> Path:
    """The hub repo's layout with tiny random weights (fixed seed)."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    for name in CODE_FILES:
        shutil.copy(source / "src" / name, folder / name)
    shutil.copy(source / TOKENIZER, folder / "tokenizer.model")
    (folder / "config.json").write_text(json.dumps(HUB_CONFIG, indent=2))
    (folder / "tokenizer_config.json").write_text(json.dumps(TOKENIZER_CONFIG, indent=2))
    generator = torch.Generator().manual_seed(0)

    def random(*shape, scale=0.2, around=0.0):
        return around + scale * torch.randn(*shape, generator=generator)

    width, inner, vocab = HUB_CONFIG["hidden_size"], HUB_CONFIG["intermediate_size"], HUB_CONFIG["vocab_size"]
    weights = {
        "model.embed_tokens.weight": random(vocab, width, scale=0.5),
        "model.norm.weight": random(width, scale=0.1, around=1.0),
        "lm_head.weight": random(vocab, width, scale=0.5),
    }
    for layer in range(HUB_CONFIG["num_hidden_layers"]):
        prefix = f"model.layers.{layer}."
        for projection in ("q", "k", "v", "o"):
            weights[f"{prefix}self_attn.{projection}_proj.weight"] = random(width, width)
        weights[f"{prefix}mlp.gate_proj.weight"] = random(inner, width)
        weights[f"{prefix}mlp.up_proj.weight"] = random(inner, width)
        weights[f"{prefix}mlp.down_proj.weight"] = random(width, inner)
        weights[f"{prefix}input_layernorm.weight"] = random(width, scale=0.1, around=1.0)
        weights[f"{prefix}post_attention_layernorm.weight"] = random(width, scale=0.1, around=1.0)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def run_ours(folder: Path, model_args: list[str], out: Path) -> tuple[list[dict], list[str]]:
    """``qmsum-fast generate`` in this process; every generate call recorded, and the fixes it named."""
    import torch
    from click.testing import CliRunner

    from qmsum_fast.cli import main
    from qmsum_fast.gen.local import generate_call, models

    calls: list[dict] = []
    load_model, engine_generate = models.load_model, generate_call.GenerateCall.generate

    def recording_load(options):
        loaded = load_model(options)
        generate = loaded.model.generate

        def recorded(**kwargs):
            call = {key: kwargs[key].tolist() for key in ("input_ids", "attention_mask")}
            call["generation"] = {k: v for k, v in kwargs.items() if k not in call}
            call["rng"] = torch.get_rng_state()
            call["output"] = generate(**kwargs).tolist()
            calls.append(call)
            return torch.tensor(call["output"])

        loaded.model.generate = recorded
        return loaded

    def recording_engine(self, texts):
        outputs = engine_generate(self, texts)
        calls[-1]["texts"] = list(texts)
        return outputs

    args = ["generate", "--data", str(DATA), "--split", "train", "--limit", "3", "--out", str(out), "--no-progress"]
    args += ["--model-path", str(folder)] if "longllama" in model_args else []
    args += [*model_args, "--trust-remote-code", "--max-input-tokens", "1500", "--max-new-tokens", "16"]
    models.load_model, generate_call.GenerateCall.generate = recording_load, recording_engine
    try:
        result = CliRunner().invoke(main, args)
    finally:
        models.load_model, generate_call.GenerateCall.generate = load_model, engine_generate
    if result.exit_code != 0:
        raise RuntimeError(f"qmsum-fast generate {' '.join(model_args)} failed: {result.output}")
    said = [line.split(": ", 2)[2] for line in result.stderr.splitlines() if line.startswith("qmsum-fast: remote code")]
    return calls, said


def replay_original(folder: Path, packages: Path, calls: list[dict], work: Path) -> list[dict]:
    import torch

    calls_path, out_path, script = work / "calls.pt", work / "replayed.pt", work / "replay.py"
    torch.save(calls, calls_path)
    script.write_text(REPLAY)
    environment = dict(os.environ, PYTHONPATH=str(packages), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, str(script), str(folder), str(calls_path), str(out_path)],
        env=environment,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the original code under transformers 4.30.2 failed:\n{done.stderr[-3000:]}")
    return torch.load(out_path)


def compare(name: str, calls: list[dict], replayed: list[dict]) -> list[Finding]:
    prompts = [(row, mask) for call in calls for row, mask in zip(call["input_ids"], call["attention_mask"])]
    lengths = [sum(mask) for _, mask in prompts]
    new = [len(row) - len(call["input_ids"][0]) for call in calls for row in call["output"]]
    ours_prompts = [[token for token, keep in zip(row, mask) if keep] for row, mask in prompts]
    their_prompts = [ids for result in replayed for ids in result["prompts"]]
    same_tokens = [call["output"] for call in calls] == [result["output"] for result in replayed]
    window = calls[0]["generation"].get("last_context_length", HUB_CONFIG["last_context_length"])
    batches = ", ".join(str(len(call["input_ids"])) for call in calls)
    return [
        (
            same_tokens,
            f"{name}: {len(calls)} generate calls ({batches} prompts) of {min(lengths)}-{max(lengths)} tokens "
            f"(last_context_length {window}), {sum(new)} new tokens: token ids {_verdict(same_tokens)}",
        ),
        (
            ours_prompts == their_prompts,
            f"{name}: the prompts' token ids from LlamaTokenizer under 4.30.2 and AutoTokenizer here: "
            f"{_verdict(ours_prompts == their_prompts)}",
        ),
    ]


def _verdict(same: bool) -> str:
    return "equal" if same else "DIFFERENT"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/seedcheck_longllama.py ORIGINAL_CODE_DIR")
    sys.exit(0 if check(sys.argv[1]) else 1)

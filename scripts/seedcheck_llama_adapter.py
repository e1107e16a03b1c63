#!/usr/bin/env python3
"""LLaMA-Adapter v1 through qmsum-fast against the authors' own code.

Usage: ``python scripts/seedcheck_llama_adapter.py ORIGINAL_CODE_DIR``; exit 0
when everything matched. ``check(ORIGINAL_CODE_DIR)`` prints the findings and
returns whether all matched; ``findings(ORIGINAL_CODE_DIR)`` returns them as
``(ok, line)`` pairs (ok None: a line that only informs).

ORIGINAL_CODE_DIR holds:
- ``LLaMA-Adapter/``: OpenGVLab/LLaMA-Adapter, a clone or an archive with a
  ``COMMIT`` file naming its commit; only ``llama/`` (the v1 inference code,
  ``llama/model.py``, ``llama/generation.py``) is imported. From the fetched
  mirror: ``git --git-dir=MIRROR archive HEAD llama example.py alpaca_finetuning_v1
  | tar -x -C ORIGINAL_CODE_DIR/LLaMA-Adapter`` and
  ``git --git-dir=MIRROR rev-parse HEAD > ORIGINAL_CODE_DIR/LLaMA-Adapter/COMMIT``;
- ``LLaMA-Adapter.deps/`` (optional): fairscale, which ``llama/model.py``
  imports, when it is not installed: ``pip install --no-deps --target
  ORIGINAL_CODE_DIR/LLaMA-Adapter.deps fairscale==0.4.13``.

What it runs: a tiny random-weight LLaMA in the authors' layout (their
``Transformer``, fairscale's parallel layers at model-parallel size 1 on a
one-process gloo group, fp32 on CPU, ``.cuda()`` calls made no-ops) loaded as
their ``example.py`` loads it (``adapter_layer = rows / adapter_len``, both state
dicts with ``strict=False``), greedy through their ``LLaMA.generate``
(temperature 0: argmax); and the same weights converted to the transformers
layout (q/k rows permuted per head, as transformers' conversion script does),
with a release-format adapter file (per-head gates on every layer, zero below
the adapted ones), loaded by ``qmsum_fast.gen.local.models.load_model`` and
generated greedily. Tokens must be equal (``==``); the first step's logits are
compared too and their largest difference printed.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import tempfile
from pathlib import Path

from seedcheck_common import Finding, commit_of, report, until_eos

DIM, LAYERS, HEADS, MULTIPLE_OF, NORM_EPS = 64, 4, 4, 32, 1e-6
NEW_TOKENS = 16
PROMPTS = ((5, 17, 3, 88, 41), (900, 31, 7, 7, 1200, 64, 2, 19, 30000, 77, 4, 5), tuple(range(100, 3100, 100)))
# (adapter_len, adapted layers): the release layout (len 10, not every layer) and every layer adapted.
CASES = ((10, 3), (4, 4))
LOGIT_TOLERANCE = 1e-4


def check(original_dir: Path) -> bool:
    """Prints what it compared; True when every case matched."""
    return report(findings, original_dir)


def findings(original_dir: Path) -> list[Finding]:
    """``(ok, line)`` for each comparison; ok None for a line that only informs."""
    repo = Path(original_dir) / "LLaMA-Adapter"
    if not (repo / "llama" / "model.py").is_file():
        return [(False, f"{repo}/llama/model.py not found: not checked")]
    found: list[Finding] = [
        (None, f"OpenGVLab/LLaMA-Adapter at commit {commit_of(repo)} (llama/model.py, llama/generation.py)")
    ]
    deps = Path(original_dir) / "LLaMA-Adapter.deps"
    with _on_path(repo, deps), _model_parallel(), tempfile.TemporaryDirectory() as scratch:
        llama = importlib.import_module("llama")
        for length, adapted in CASES:
            found += _check_case(llama, Path(scratch), length, adapted)
    return found


def _check_case(llama, scratch: Path, adapter_len: int, adapted: int) -> list[Finding]:
    import torch

    torch.manual_seed(adapter_len * 100 + adapted)
    folder, meta_weights, vocab, eos = _hf_folder(scratch / f"model-{adapter_len}-{adapted}")
    adapter_path = scratch / f"llama_adapter_len{adapter_len}_layer{adapted}.pth"
    torch.save(_release_file(adapter_len, adapted), adapter_path)
    theirs = _their_model(llama, meta_weights, torch.load(adapter_path), vocab, adapter_len)
    ours = _our_model(folder, adapter_path, adapter_len)
    generator = llama.LLaMA(theirs, _IdTokenizer(eos))
    case = f"len {adapter_len}, top {adapted} of {LAYERS} layers"
    found: list[Finding] = []
    worst = 0.0
    for prompt in PROMPTS:
        ids = torch.tensor([prompt])
        with torch.no_grad():
            their_logits = theirs.forward(ids, 0)  # the last position's, as their forward returns
            worst = max(worst, (ours(input_ids=ids).logits[:, -1] - their_logits).abs().max().item())
            their_tokens = generator.generate([prompt], max_gen_len=NEW_TOKENS, temperature=0.0)[0]
            our_tokens = until_eos(ours.generate(input_ids=ids, max_new_tokens=NEW_TOKENS, do_sample=False)[0], eos)
        theirs_new, new = their_tokens[len(prompt) :], our_tokens[len(prompt) :]
        same = their_tokens == our_tokens
        shown = f"{len(new)} new tokens, {new[:6]}..." if same else f"theirs {theirs_new}, ours {new}"
        found.append((same, f"{case}, prompt of {len(prompt)}: greedy tokens {'==' if same else '!='} ({shown})"))
    found.append((worst <= LOGIT_TOLERANCE, f"{case}: largest first-step logit difference {worst:.2e}"))
    return found


# --- the two sides ------------------------------------------------------------------------------


def _meta_weights(vocab: int) -> dict:
    """Random weights in the original LLaMA checkpoint layout (consolidated.00.pth names)."""
    import torch

    hidden = _ffn_hidden()
    scale = DIM**-0.5
    weights = {"tok_embeddings.weight": torch.randn(vocab, DIM), "norm.weight": 1 + 0.1 * torch.randn(DIM)}
    weights["output.weight"] = scale * torch.randn(vocab, DIM)
    for i in range(LAYERS):
        for name in ("wq", "wk", "wv", "wo"):
            weights[f"layers.{i}.attention.{name}.weight"] = scale * torch.randn(DIM, DIM)
        weights[f"layers.{i}.feed_forward.w1.weight"] = scale * torch.randn(hidden, DIM)
        weights[f"layers.{i}.feed_forward.w2.weight"] = hidden**-0.5 * torch.randn(DIM, hidden)
        weights[f"layers.{i}.feed_forward.w3.weight"] = scale * torch.randn(hidden, DIM)
        weights[f"layers.{i}.attention_norm.weight"] = 1 + 0.1 * torch.randn(DIM)
        weights[f"layers.{i}.ffn_norm.weight"] = 1 + 0.1 * torch.randn(DIM)
    return weights


def _ffn_hidden() -> int:
    # llama/model.py's FeedForward: 2/3 of 4 * dim, rounded up to a multiple of multiple_of.
    hidden = int(2 * 4 * DIM / 3)
    return MULTIPLE_OF * ((hidden + MULTIPLE_OF - 1) // MULTIPLE_OF)


def _release_file(adapter_len: int, adapted: int) -> dict:
    """The release layout: prompt rows for the adapted layers, a (1, heads, 1, 1) gate for
    every layer, zero below the adapted ones (where training leaves them)."""
    import torch

    state = {"adapter_query.weight": torch.randn(adapter_len * adapted, DIM)}
    for i in range(LAYERS):
        live = i >= LAYERS - adapted
        state[f"layers.{i}.attention.gate"] = torch.randn(1, HEADS, 1, 1) if live else torch.zeros(1, HEADS, 1, 1)
    return state


def _their_model(llama, weights: dict, adapter: dict, vocab: int, adapter_len: int):
    """Their Transformer, built and loaded as example.py's load() does (fp32, CPU)."""
    args = llama.ModelArgs(
        dim=DIM,
        n_layers=LAYERS,
        n_heads=HEADS,
        vocab_size=vocab,
        multiple_of=MULTIPLE_OF,
        norm_eps=NORM_EPS,
        max_batch_size=1,
        max_seq_len=128,
        adapter_len=adapter_len,
    )
    args.adapter_layer = int(adapter["adapter_query.weight"].shape[0] / args.adapter_len)
    model = llama.Transformer(args)
    missing = set(model.state_dict())
    for state in (weights, adapter):
        result = model.load_state_dict(state, strict=False)
        missing &= set(result.missing_keys)
        if result.unexpected_keys:
            raise RuntimeError(f"their Transformer does not know {result.unexpected_keys[:3]}")
    if missing:  # strict=False would leave these uninitialised
        raise RuntimeError(f"their Transformer was not given {sorted(missing)[:3]}")
    return model.eval()


def _hf_folder(folder: Path):
    """The same random model converted to a transformers folder, with the bundled tokenizer."""
    import transformers

    from qmsum_fast.gen.local.make_model import TOKENIZER_VOCAB, load_bundled_tokenizer

    tokenizer = load_bundled_tokenizer()
    meta = _meta_weights(TOKENIZER_VOCAB)
    config = transformers.LlamaConfig(
        vocab_size=TOKENIZER_VOCAB,
        hidden_size=DIM,
        intermediate_size=_ffn_hidden(),
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=HEADS,
        max_position_embeddings=256,
        rms_norm_eps=NORM_EPS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = transformers.LlamaForCausalLM(config)
    result = model.load_state_dict(_to_hf(meta), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder, meta, TOKENIZER_VOCAB, tokenizer.eos_token_id


def _to_hf(meta: dict) -> dict:
    """transformers' names; q and k rows reordered per head from interleaved (complex) rotary
    pairs to rotate-half, which keeps every q.k product."""
    hf = {
        "model.embed_tokens.weight": meta["tok_embeddings.weight"],
        "model.norm.weight": meta["norm.weight"],
        "lm_head.weight": meta["output.weight"],
    }
    names = {
        "attention.wv": "self_attn.v_proj",
        "attention.wo": "self_attn.o_proj",
        "feed_forward.w1": "mlp.gate_proj",
        "feed_forward.w2": "mlp.down_proj",
        "feed_forward.w3": "mlp.up_proj",
    }
    for i in range(LAYERS):
        ours, theirs = f"model.layers.{i}.", f"layers.{i}."
        hf[ours + "self_attn.q_proj.weight"] = _rotate_half_rows(meta[theirs + "attention.wq.weight"])
        hf[ours + "self_attn.k_proj.weight"] = _rotate_half_rows(meta[theirs + "attention.wk.weight"])
        for old, new in names.items():
            hf[f"{ours}{new}.weight"] = meta[f"{theirs}{old}.weight"]
        hf[ours + "input_layernorm.weight"] = meta[theirs + "attention_norm.weight"]
        hf[ours + "post_attention_layernorm.weight"] = meta[theirs + "ffn_norm.weight"]
    return hf


def _rotate_half_rows(weight):
    """Within each head, rows (2j, 2j + 1) -> (j, j + d/2)."""
    rows, cols = weight.shape
    return weight.view(HEADS, rows // HEADS // 2, 2, cols).transpose(1, 2).reshape(rows, cols).contiguous()


def _our_model(folder: Path, adapter: Path, adapter_len: int):
    from qmsum_fast.gen.local.models import LoadOptions, load_model

    options = LoadOptions(path=str(folder), device="cpu", dtype="fp32", adapter=str(adapter), adapter_len=adapter_len)
    return load_model(options).model


class _IdTokenizer:
    """Their generate() encodes and decodes through a tokenizer; the prompts here are
    token ids already, so this one passes ids through (LLaMA's pad id, -1)."""

    pad_id = -1

    def __init__(self, eos: int):
        self.eos_id = eos

    def encode(self, ids, bos: bool, eos: bool) -> list[int]:
        return list(ids)

    def decode(self, ids) -> list[int]:
        return list(ids)


# --- the environment their code expects ----------------------------------------------------------


@contextlib.contextmanager
def _on_path(*folders: Path):
    added = [str(folder) for folder in folders if folder.is_dir()]
    sys.path[:0] = added
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


@contextlib.contextmanager
def _model_parallel():
    """A one-process gloo group on the loopback and fairscale's model parallel of size 1;
    their ``.cuda()`` calls (caches, token buffers) leave tensors on the CPU."""
    from unittest import mock

    import torch
    import torch.distributed as dist

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    with tempfile.TemporaryDirectory() as rendezvous:
        dist.init_process_group("gloo", init_method=f"file://{rendezvous}/store", rank=0, world_size=1)
        try:
            from fairscale.nn.model_parallel.initialize import initialize_model_parallel

            with contextlib.redirect_stdout(sys.stderr):
                initialize_model_parallel(1)
            with mock.patch.object(torch.Tensor, "cuda", lambda self, *args, **kwargs: self):
                yield
        finally:
            dist.destroy_process_group()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(0 if check(Path(sys.argv[1])) else 1)

#!/usr/bin/env python3
"""The mpt-storywriter preset's model against MosaicML's own MPT code.

Usage: ``python scripts/seedcheck_mpt.py ORIGINAL_CODE_DIR``; exit 0 when
everything matched. ``check(ORIGINAL_CODE_DIR)`` prints the findings and
returns whether all matched; ``findings(ORIGINAL_CODE_DIR)`` returns them as
``(ok, line)`` pairs (ok None: a line that only informs).

ORIGINAL_CODE_DIR holds:
- ``mpt/``: mosaicml/llm-foundry at tag v0.1.0 (May 2023, the MPT-7B release:
  the hub repos' ``modeling_mpt.py``, ``attention.py``, ``blocks.py``,
  ``norm.py`` and ``configuration_mpt.py`` are these files flattened), a clone
  or an archive of its ``llmfoundry/`` folder with a ``COMMIT`` file naming the
  commit. From the fetched mirror: ``git --git-dir=MIRROR archive v0.1.0
  llmfoundry | tar -x -C ORIGINAL_CODE_DIR/mpt`` and ``git --git-dir=MIRROR
  rev-parse v0.1.0^{commit} > ORIGINAL_CODE_DIR/mpt/COMMIT``;
- ``mpt.deps/`` (optional): einops, which their attention imports, when it is
  not installed: ``pip install --no-deps --target ORIGINAL_CODE_DIR/mpt.deps einops``.

Only the model's modules are imported (``llmfoundry/models/{layers,mpt,utils}``),
as the hub's remote code holds them: the package ``__init__`` files, which pull
in the Composer training stack, are skipped, the Composer and OmegaConf imports
that only the training wrapper ``ComposerMPTCausalLM`` uses are stubbed, and so
is the prefix-LM converter for other architectures (``hf_prefixlm_converter``,
written against transformers-4 internals), which MPT's forward never calls.

What it runs: transformers' ``MptForCausalLM`` on the project's tiny MPT config
(``make_model``'s), with random weights at a scale that gives the logits real
gaps, saved with the bundled tokenizer and loaded by
``qmsum_fast.gen.local.models.load_model`` (on CPU: our blocked SDPA attention,
``qmsum_fast.gen.local.mpt_attention``); and their ``MPTForCausalLM`` with the
storywriter configuration (ALiBi, ``attn_impl: torch``, no biases,
low-precision LayerNorm, tied embeddings) at the same sizes, given the same
weights. On whole prompts (one longer than a query block of ours), our fp32
logits must be as close to their code's fp64 logits as their own fp32 logits
are (or within 1e-4), and greedy tokens (theirs: a loop over their own KV cache,
as their ``prepare_inputs_for_generation`` feeds it; ours: ``generate``) must be
equal. Everything runs in this process on CPU under the installed transformers
(their model code uses it only for base classes, configs and output types).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
import types
from pathlib import Path

from seedcheck_common import Finding, commit_of, report, until_eos

NEW_TOKENS = 16
PROMPT_LENGTHS = (7, 300, 2100)  # 2100: past one 2048-token query block of our attention
LOGIT_TOLERANCE = 1e-4
SCALES = {"out_proj": 4.0, "down_proj": 4.0}
# Their model's modules, imported from the tree without the package __init__ files.
PACKAGES = (
    "llmfoundry",
    "llmfoundry.models",
    "llmfoundry.models.layers",
    "llmfoundry.models.utils",
    "llmfoundry.models.mpt",
)
STUBBED = ("composer", "composer.metrics", "composer.metrics.nlp", "composer.models", "omegaconf")
PREFIX_LM = "llmfoundry.models.utils.hf_prefixlm_converter"


def check(original_dir: Path) -> bool:
    """Prints what it compared; True when everything matched."""
    return report(findings, original_dir)


def findings(original_dir: Path) -> list[Finding]:
    """``(ok, line)`` for each comparison; ok None for a line that only informs."""
    tree = Path(original_dir) / "mpt"
    if not (tree / "llmfoundry" / "models" / "mpt" / "modeling_mpt.py").is_file():
        return [(False, f"{tree}/llmfoundry/models/mpt/modeling_mpt.py not found: not checked")]
    found: list[Finding] = [
        (
            None,
            f"mosaicml/llm-foundry at commit {commit_of(tree)} "
            "(llmfoundry/models/mpt/modeling_mpt.py, attn_impl torch)",
        )
    ]
    with _their_modules(tree, Path(original_dir) / "mpt.deps") as (modeling, configuration):
        return found + _compare(modeling, configuration)


def _compare(modeling, configuration) -> list[Finding]:
    import copy

    import torch

    with tempfile.TemporaryDirectory() as scratch:
        ours, eos, hf_config, attention = _our_model(Path(scratch) / "tiny-mpt")
        found: list[Finding] = [(None, f"ours: transformers {_version('transformers')} MptForCausalLM, {attention}")]
        theirs = _their_model(modeling, configuration, hf_config, ours.state_dict())
        exact = copy.deepcopy(theirs).double()  # their code in fp64: the yardstick for both fp32 results
        generator = torch.Generator().manual_seed(7)
        for length in PROMPT_LENGTHS:
            ids = torch.randint(0, hf_config.vocab_size, (1, length), generator=generator)
            found.append(_compare_prompt(ours, theirs, exact, ids, eos))
    return found


def _compare_prompt(ours, theirs, exact, ids, eos: int) -> Finding:
    """Greedy tokens equal, and our fp32 logits as close to their fp64 ones as their fp32
    logits are (or within LOGIT_TOLERANCE): at long prompts their ALiBi bias, which grows
    with the distance to the last key, costs fp32 digits that ours (relative to each
    query) keeps."""
    import torch

    with torch.no_grad():
        our_logits, their_logits, exact_logits = ours(input_ids=ids).logits, theirs(ids).logits, exact(ids).logits
        our_tokens = until_eos(ours.generate(input_ids=ids, max_new_tokens=NEW_TOKENS, do_sample=False)[0], eos)
        their_tokens = until_eos(_their_greedy(theirs, ids), eos)
    between = (our_logits - their_logits).abs().max().item()
    our_error = (our_logits.double() - exact_logits).abs().max().item()
    their_error = (their_logits.double() - exact_logits).abs().max().item()
    close = our_error <= max(LOGIT_TOLERANCE, their_error)
    length, same = ids.shape[1], our_tokens == their_tokens
    new, theirs_new = our_tokens[length:], their_tokens[length:]
    shown = f"{len(new)} new tokens, {new[:6]}..." if same else f"theirs {theirs_new}, ours {new}"
    line = (
        f"prompt of {length}: logits ours vs theirs {between:.2e}, vs their fp64: ours {our_error:.2e}, "
        f"theirs {their_error:.2e} ({'ok' if close else 'too far'}); greedy tokens {'==' if same else '!='} ({shown})"
    )
    return (same and close, line)


def _our_model(folder: Path):
    """The project's tiny MPT, re-randomised so that logits have real gaps, through load_model."""
    import torch

    from qmsum_fast.gen.local.make_model import build_model
    from qmsum_fast.gen.local.models import LoadOptions, load_model

    model, tokenizer = build_model("mpt", "tiny", seed=3)
    torch.manual_seed(3)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.ndim == 1:  # LayerNorm weights
                parameter.copy_(1 + 0.1 * torch.randn_like(parameter))
            else:
                # Blocks that outweigh the tied embedding, so that greedy text does not just repeat a token.
                scale = 1.0 if "wte" in name else SCALES.get(name.split(".")[-2], 1.0) * parameter.shape[1] ** -0.5
                parameter.copy_(scale * torch.randn_like(parameter))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    loaded = load_model(LoadOptions(path=str(folder), device="cpu", dtype="fp32"))
    return loaded.model, tokenizer.eos_token_id, loaded.model.config, f"attention {loaded.attention}"


def _their_model(modeling, configuration, hf_config, weights: dict):
    """Their MPTForCausalLM with the storywriter settings at the tiny sizes, given ``weights``."""
    attention = hf_config.attn_config
    config = configuration.MPTConfig(
        d_model=hf_config.d_model,
        n_heads=hf_config.n_heads,
        n_layers=hf_config.n_layers,
        # transformers' MptMLP is 4 x d_model whatever expansion_ratio says (MPT-7B's is 4): the weights decide.
        expansion_ratio=weights["transformer.blocks.0.ffn.up_proj.weight"].shape[0] // hf_config.d_model,
        max_seq_len=hf_config.max_seq_len,
        vocab_size=hf_config.vocab_size,
        no_bias=True,
        norm_type="low_precision_layernorm",
        init_device="cpu",
        logit_scale=None,
        embedding_fraction=1.0,
        tie_word_embeddings=True,  # their default under transformers 4; transformers 5 has none
        attn_config={
            "attn_type": "multihead_attention",
            "attn_pdrop": 0.0,
            "attn_impl": "torch",
            "qk_ln": False,
            "clip_qkv": None,
            "softmax_scale": None,
            "prefix_lm": False,
            "attn_uses_sequence_id": False,
            "alibi": attention.alibi,
            "alibi_bias_max": attention.alibi_bias_max,
        },
    )
    with contextlib.redirect_stdout(sys.stderr):  # their init prints about init_device
        model = modeling.MPTForCausalLM(config)
    state = {name: value for name, value in weights.items() if name != "lm_head.weight"}  # tied to wte
    model.load_state_dict(state, strict=True)
    return model.eval()


def _their_greedy(model, ids):
    """Greedy decoding over their own cache: the prompt once, then one token at a time."""
    import torch

    output = model(ids, use_cache=True)
    tokens = ids
    for _ in range(NEW_TOKENS):
        step = output.logits[:, -1].argmax(-1, keepdim=True)
        tokens = torch.cat([tokens, step], 1)
        output = model(step, past_key_values=output.past_key_values, use_cache=True)
    return tokens[0]


@contextlib.contextmanager
def _their_modules(tree: Path, deps: Path):
    """Their modeling and configuration modules, imported from ``tree``; gone from sys.modules after."""
    sys.path[:0] = [str(deps)] if deps.is_dir() else []
    try:
        for name in PACKAGES:
            package = types.ModuleType(name)
            package.__path__ = [str(tree.joinpath(*name.split(".")))]
            sys.modules[name] = package
        for name in STUBBED:
            sys.modules[name] = _Stub(name)
        sys.modules[PREFIX_LM] = _prefix_lm_stub()
        yield (
            importlib.import_module("llmfoundry.models.mpt.modeling_mpt"),
            importlib.import_module("llmfoundry.models.mpt.configuration_mpt"),
        )
    finally:
        if deps.is_dir():
            sys.path.remove(str(deps))
        ours = ("llmfoundry", *STUBBED)
        for name in [name for name in sys.modules if name.split(".")[0] in ours]:
            del sys.modules[name]


class _Stub(types.ModuleType):
    """A module whose every name is an empty class: enough for imports and base classes
    of code that is never run (the Composer training wrapper)."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return type(name, (), {})


def _prefix_lm_stub():
    module = types.ModuleType(PREFIX_LM)

    def not_here(*args, **kwargs):
        raise NotImplementedError("prefix-LM conversion is not part of this check")

    module.add_bidirectional_mask_if_missing = not_here  # type: ignore[attr-defined]
    module.convert_hf_causal_lm_to_prefix_lm = not_here  # type: ignore[attr-defined]
    return module


def _version(package: str) -> str:
    return importlib.import_module(package).__version__


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(0 if check(Path(sys.argv[1])) else 1)

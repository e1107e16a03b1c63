"""Tiny random-weight models from the real config classes of many architectures.

Every model here uses the bundled gpt-neox-20b tokenizer (vocabulary 50,304) and
is two layers of width 64, so each builds and generates on a CPU in well under a
second. The position schemes whose result depends on length or on call state
are set up so that prompts of about a hundred tokens cross their switch:
``SWITCH`` positions (dynamic and LongRoPE RoPE), a local attention window of
``WINDOW`` tokens (GPT-Neo), sliding windows of ``WINDOW`` (Mistral, Gemma).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

SWITCH = 100  # positions past which length-dependent RoPE changes its frequencies
WINDOW = 24  # local / sliding attention windows, shorter than the prompts
INIT = 0.5  # weights' standard deviation (see build)
MAKE_MODEL = ("llama", "gpt-neox", "mpt", "led")  # what `qmsum-fast make-model` builds


def _llama_like(name: str, **extra) -> Callable[[dict], object]:
    def config(special: dict):
        import transformers

        base = dict(
            vocab_size=50304,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
        )
        base.update(extra)
        return getattr(transformers, name)(**base, **special)

    return config


def _rope(rope_type: str, **parameters) -> dict:
    return {"rope_parameters": {"rope_type": rope_type, "rope_theta": 10000.0, **parameters}}


_HALF_HEAD = 8  # head_dim 16 / 2: one LongRoPE factor per frequency
_LONGROPE = _rope(
    "longrope",
    short_factor=[1.0 + 0.1 * i for i in range(_HALF_HEAD)],
    long_factor=[2.0 + 0.5 * i for i in range(_HALF_HEAD)],
    original_max_position_embeddings=SWITCH,
)


def _plain(name: str, **fields) -> Callable[[dict], object]:
    def config(special: dict):
        import transformers

        return getattr(transformers, name)(vocab_size=50304, **fields, **special)

    return config


CONFIGS: dict[str, Callable[[dict], object]] = {
    "qwen2": _llama_like("Qwen2Config"),
    "qwen3": _llama_like("Qwen3Config", head_dim=16),
    "mistral-sliding": _llama_like("MistralConfig", sliding_window=WINDOW),
    "gemma2": _llama_like("Gemma2Config", head_dim=16, sliding_window=WINDOW),
    "gemma3": _llama_like("Gemma3TextConfig", head_dim=16, sliding_window=WINDOW),
    "phi3-longrope": _llama_like(
        "Phi3Config", max_position_embeddings=4 * SWITCH, original_max_position_embeddings=SWITCH, **_LONGROPE
    ),
    "olmo2": _llama_like("Olmo2Config"),
    "stablelm": _llama_like("StableLmConfig"),
    "llama-linear": _llama_like("LlamaConfig", **_rope("linear", factor=2.0)),
    "llama-yarn": _llama_like(
        "LlamaConfig",
        max_position_embeddings=4 * SWITCH,
        **_rope("yarn", factor=4.0, original_max_position_embeddings=SWITCH),
    ),
    "llama-dynamic": _llama_like("LlamaConfig", max_position_embeddings=SWITCH, **_rope("dynamic", factor=2.0)),
    "llama-longrope": _llama_like("LlamaConfig", max_position_embeddings=4 * SWITCH, **_LONGROPE),
    "gpt2": _plain("GPT2Config", n_embd=64, n_layer=2, n_head=4, n_positions=1024),
    "gpt-bigcode": _plain("GPTBigCodeConfig", n_embd=64, n_layer=2, n_head=4, n_positions=1024),
    "bloom": _plain("BloomConfig", hidden_size=64, n_layer=2, n_head=4),
    "falcon-alibi": _plain(
        "FalconConfig",
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        alibi=True,
        new_decoder_architecture=False,
    ),
    "falcon-rotary": _plain("FalconConfig", hidden_size=64, num_hidden_layers=2, num_attention_heads=4),
    "opt": _plain(
        "OPTConfig", hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=128, word_embed_proj_dim=64
    ),
    "gpt-neo": _plain(
        "GPTNeoConfig",
        hidden_size=64,
        num_layers=2,
        num_heads=4,
        attention_types=[[["global", "local"], 1]],
        window_size=WINDOW,
    ),
    "rwkv": _plain("RwkvConfig", hidden_size=64, num_hidden_layers=2, attention_hidden_size=64, intermediate_size=128),
    "mamba": _plain("MambaConfig", hidden_size=64, num_hidden_layers=2, state_size=8),
    "bart": _plain(
        "BartConfig",
        d_model=64,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
    ),
    "t5": _plain("T5Config", d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4),
}
ALL = (*MAKE_MODEL, *CONFIGS)


@functools.cache
def _tokenizer():
    from qmsum_fast.gen.local.make_model import load_bundled_tokenizer

    return load_bundled_tokenizer()


def build(name: str, seed: int = 0):
    """``(model, tokenizer)``: architecture ``name`` with random weights from ``seed``, fp32 on
    the CPU. Weights are drawn wider than the configs' defaults (``INIT``) so that attention is
    peaked: with the usual 0.02 a tiny random model's next token hardly depends on positions,
    and a wrong position would go unnoticed."""
    import torch
    import transformers

    from qmsum_fast.gen.local.make_model import model_config

    tokenizer = copy.deepcopy(_tokenizer())  # each model its own: its padding side is set per model
    special = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )
    config = model_config(name, "tiny", special) if name in MAKE_MODEL else CONFIGS[name](special)
    for field in ("initializer_range", "init_std", "initializer_factor"):
        if hasattr(config, field):
            setattr(config, field, INIT)
    if getattr(config, "is_encoder_decoder", False):
        if getattr(config, "decoder_start_token_id", None) is None:
            config.decoder_start_token_id = tokenizer.pad_token_id
        auto = transformers.AutoModelForSeq2SeqLM
    else:
        auto = transformers.AutoModelForCausalLM
    torch.manual_seed(seed)
    model = auto.from_config(config, dtype=torch.float32)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer

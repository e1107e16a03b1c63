"""Random-weight models with real architectures, for tests and benchmarks.

``full`` reproduces the published shapes (LED-large-16384, MPT-7B-storywriter,
LLaMA-7B, GPT-NeoX-20B); ``tiny`` keeps each architecture's code path with a
few layers and a small width, so every generation path runs on a CPU in
seconds. All use the bundled gpt-neox-20b tokenizer, so the vocabulary is at
least that tokenizer's size (rounded up to a multiple of 64): LED's 50,265 and
LLaMA's 32,000 grow to 50,304; MPT's 50,432 stays.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import InputError
from ...files import publish_folder, staging_folder, write_error
from ...stats import BUNDLED_TOKENIZER

ARCHITECTURES = ("led", "mpt", "llama", "gpt-neox")
SIZES = ("tiny", "full")
TOKENIZER_VOCAB = 50304  # 50,277 tokens rounded up to a multiple of 64
EOS = "<|endoftext|>"


def load_bundled_tokenizer():
    """The bundled gpt-neox-20b tokenizer as a transformers fast tokenizer."""
    import transformers
    from tokenizers import Tokenizer

    backend = Tokenizer.from_file(str(BUNDLED_TOKENIZER))
    pad = backend.id_to_token(1)  # gpt-neox-20b's second special token
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=EOS, eos_token=EOS, unk_token=EOS, pad_token=pad
    )


def model_config(arch: str, size: str, special: dict):
    """The architecture's config at ``size``; ``special`` holds token ids."""
    import transformers

    tiny = size == "tiny"
    if arch == "led":
        return transformers.LEDConfig(
            vocab_size=TOKENIZER_VOCAB,
            d_model=64 if tiny else 1024,
            encoder_layers=2 if tiny else 12,
            decoder_layers=2 if tiny else 12,
            encoder_attention_heads=4 if tiny else 16,
            decoder_attention_heads=4 if tiny else 16,
            encoder_ffn_dim=128 if tiny else 4096,
            decoder_ffn_dim=128 if tiny else 4096,
            attention_window=[32] * 2 if tiny else [1024] * 12,
            max_encoder_position_embeddings=16384,
            max_decoder_position_embeddings=1024,
            decoder_start_token_id=special["bos_token_id"],
            **special,
        )
    if arch == "mpt":
        return transformers.MptConfig(
            vocab_size=TOKENIZER_VOCAB if tiny else 50432,
            d_model=64 if tiny else 4096,
            n_heads=4 if tiny else 32,
            n_layers=2 if tiny else 32,
            expansion_ratio=4,  # transformers' MPT always makes its MLP 4 x d_model wide
            max_seq_len=4096 if tiny else 65536,
            **special,
        )
    if arch == "llama":
        return transformers.LlamaConfig(
            vocab_size=TOKENIZER_VOCAB,
            hidden_size=64 if tiny else 4096,
            intermediate_size=128 if tiny else 11008,
            num_hidden_layers=2 if tiny else 32,
            num_attention_heads=4 if tiny else 32,
            num_key_value_heads=4 if tiny else 32,
            max_position_embeddings=4096 if tiny else 2048,
            **special,
        )
    if arch == "gpt-neox":
        # Rotary on a quarter of each head (GPT-NeoX-20B) is the config default.
        return transformers.GPTNeoXConfig(
            vocab_size=TOKENIZER_VOCAB if tiny else 50432,
            hidden_size=64 if tiny else 6144,
            intermediate_size=128 if tiny else 24576,
            num_hidden_layers=2 if tiny else 44,
            num_attention_heads=4 if tiny else 64,
            max_position_embeddings=4096 if tiny else 2048,
            **special,
        )
    raise InputError(f"--arch: unknown architecture {arch!r} (one of {', '.join(ARCHITECTURES)})")


def build_model(arch: str, size: str = "tiny", seed: int = 0, device: str = "cpu", dtype: str = "fp32"):
    """A random-weight model and the bundled tokenizer, in memory."""
    import torch
    import transformers

    from .models import resolve_device

    if size not in SIZES:
        raise InputError(f"--size: unknown size {size!r} (tiny or full)")
    device = resolve_device(device)  # cuda without a GPU: one line, before anything is built
    tokenizer = load_bundled_tokenizer()
    special = dict(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    config = model_config(arch, size, special)
    auto = transformers.AutoModelForSeq2SeqLM if arch == "led" else transformers.AutoModelForCausalLM
    torch.manual_seed(seed)
    torch_dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    with torch.device(device):
        model = auto.from_config(config, dtype=torch_dtype)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model.eval(), tokenizer


def make_model(
    arch: str, size: str, out_dir: str | Path, seed: int = 0, device: str = "cpu", dtype: str = "fp32"
) -> Path:
    """Saves a random-weight model and its tokenizer into ``out_dir``: into a
    temporary folder beside it, renamed into place when complete, so a failed
    or killed save leaves no half-written model folder."""
    out = Path(out_dir)
    if os.path.lexists(out) and not (out.is_dir() and not any(out.iterdir())):
        raise InputError(f"{out}: exists and is not an empty folder")
    model, tokenizer = build_model(arch, size, seed, device, dtype)
    import transformers

    transformers.utils.logging.disable_progress_bar()
    with staging_folder(out) as staging:
        try:
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        except OSError as exc:
            raise write_error(out, exc) from None
        except Exception as exc:  # safetensors and tokenizers (Rust) report a full disk as their own errors
            if not _is_os_error(exc):
                raise
            raise InputError(f"{out}: cannot write: {exc}") from None
        publish_folder(staging, out)
    return out


def _is_os_error(exc: Exception) -> bool:
    """A Rust library's error for a failed write (``Os { code: 28, ... }``, ``(os error 28)``)."""
    text = str(exc)
    return "os error" in text.lower() or "Os {" in text

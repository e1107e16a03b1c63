"""Loading a model and its tokenizer for generation.

Seq2seq or causal is read from the model's config. Placement goes through
accelerate (``device_map``, ``max_memory``, an offload folder) instead of
hand-written device maps; the dtype is bf16 on GPU and fp32 on CPU unless
asked; attention is flash-attention when installed on GPU, else SDPA, else
eager for architectures without SDPA support (LED); transformers' MPT gets
our query-blocked SDPA attention (:mod:`qmsum_fast.mpt_attention`).
torch and transformers are imported here, inside functions, only.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

DTYPES = ("auto", "bf16", "fp16", "fp32")
ATTENTION = ("auto", "flash", "sdpa", "eager")


@dataclass(frozen=True)
class LoadOptions:
    path: str  # hub id or folder
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    dtype: str = "auto"
    device_map: str | None = None  # auto | balanced | sequential
    max_memory: dict | None = None
    offload_folder: str | None = None
    attention: str = "auto"
    trust_remote_code: bool = False
    config_overrides: dict = field(default_factory=dict)
    adapter: str | None = None


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    is_seq2seq: bool
    device: Any  # where inputs go (the first parameter's device)
    model_type: str
    attention: str

    def max_positions(self) -> int | None:
        return max_positions(self.model.config)


def parse_max_memory(text: str | None) -> dict | None:
    """``0=70GiB,cpu=200GiB`` -> ``{0: "70GiB", "cpu": "200GiB"}``."""
    if not text:
        return None
    limits: dict = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise InputError(f"--max-memory: {item!r} is not DEVICE=SIZE (e.g. 0=70GiB,cpu=200GiB)")
        limits[int(key) if key.isdigit() else key] = value
    return limits


def check_model_source(path: str) -> None:
    """A local folder must hold a config.json; hub ids are checked on load."""
    folder = Path(path)
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"--model: {path} is a file, not a model folder")
        if not (folder / "config.json").is_file():
            raise InputError(f"--model: {path} holds no config.json (not a model folder)")


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA GPU is available on this machine")
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16 if device.startswith("cuda") else torch.float32
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]


def load_model(options: LoadOptions) -> LoadedModel:
    import transformers

    check_model_source(options.path)
    transformers.utils.logging.disable_progress_bar()
    device = resolve_device(options.device)
    dtype = resolve_dtype(options.dtype, device)
    config = _load_config(options)
    is_seq2seq = bool(getattr(config, "is_encoder_decoder", False))
    auto_class = transformers.AutoModelForSeq2SeqLM if is_seq2seq else transformers.AutoModelForCausalLM
    kwargs: dict = dict(config=config, dtype=dtype, trust_remote_code=options.trust_remote_code)
    if device.startswith("cuda") and options.device_map:
        kwargs.update(device_map=options.device_map)
        if options.max_memory:
            kwargs["max_memory"] = options.max_memory
        if options.offload_folder:
            kwargs["offload_folder"] = options.offload_folder
    model, attention = _from_pretrained(auto_class, options, kwargs, device)
    if "device_map" not in kwargs:
        model.to(device)
    if attention == "eager" and options.attention in ("auto", "sdpa") and getattr(config, "model_type", "") == "mpt":
        from .mpt_attention import enable_blocked_sdpa

        if enable_blocked_sdpa(model):
            attention = "sdpa-blocked"
    if options.adapter:
        from .adapters import load_adapter

        model = load_adapter(model, options.adapter)
    model.eval()
    tokenizer = load_tokenizer(options, is_seq2seq)
    _align_special_tokens(model, tokenizer)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        is_seq2seq=is_seq2seq,
        device=next(model.parameters()).device,
        model_type=getattr(config, "model_type", ""),
        attention=attention,
    )


def _load_config(options: LoadOptions):
    import transformers

    try:
        config = transformers.AutoConfig.from_pretrained(options.path, trust_remote_code=options.trust_remote_code)
    except (OSError, ValueError) as exc:
        raise InputError(f"--model {options.path}: cannot load its config: {_first_line(exc)}") from None
    for key, value in options.config_overrides.items():
        setattr(config, key, value)
    return config


def _attention_choices(requested: str, device: str) -> list[str]:
    if requested == "flash":
        if importlib.util.find_spec("flash_attn") is None:
            raise InputError("--attention flash: the flash_attn package is not installed")
        return ["flash_attention_2"]
    if requested in ("sdpa", "eager"):
        return [requested, "eager"] if requested == "sdpa" else ["eager"]
    flash = device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None
    return (["flash_attention_2"] if flash else []) + ["sdpa", "eager"]


def _from_pretrained(auto_class, options: LoadOptions, kwargs: dict, device: str):
    """Tries the attention implementations in order of speed; architectures
    without SDPA support (MPT, LED) refuse it with a ValueError at load."""
    last_error: Exception | None = None
    for attention in _attention_choices(options.attention, device):
        try:
            model = auto_class.from_pretrained(options.path, attn_implementation=attention, **kwargs)
            return model, attention
        except (ValueError, ImportError) as exc:
            if "attn" not in str(exc).lower() and "attention" not in str(exc).lower():
                raise InputError(f"--model {options.path}: {_first_line(exc)}") from None
            last_error = exc
        except OSError as exc:
            raise InputError(f"--model {options.path}: cannot load weights: {_first_line(exc)}") from None
    raise InputError(f"--model {options.path}: no usable attention implementation: {_first_line(last_error)}")


def load_tokenizer(options: LoadOptions, is_seq2seq: bool):
    import transformers

    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            options.path, trust_remote_code=options.trust_remote_code
        )
    except (OSError, ValueError) as exc:
        raise InputError(f"--model {options.path}: cannot load its tokenizer: {_first_line(exc)}") from None
    # Causal batches are left-padded so every prompt ends where generation starts.
    tokenizer.padding_side = "right" if is_seq2seq else "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def _align_special_tokens(model, tokenizer) -> None:
    generation_config = getattr(model, "generation_config", None)
    if generation_config is not None and generation_config.pad_token_id is None:
        generation_config.pad_token_id = tokenizer.pad_token_id


def max_positions(config) -> int | None:
    """The longest input the architecture accepts, from its config."""
    for key in ("max_encoder_position_embeddings", "max_seq_len", "max_position_embeddings", "n_positions"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _first_line(exc: BaseException | None) -> str:
    text = str(exc).strip() if exc is not None else "unknown error"
    return text.splitlines()[0] if text else type(exc).__name__

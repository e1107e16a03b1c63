"""Loading a model and its tokenizer for generation.

Seq2seq or causal is read from the model's config. Placement goes through
accelerate (``device_map``, ``max_memory``, an offload folder) instead of
hand-written device maps; the dtype is bf16 on GPU and fp32 on CPU unless
asked; attention is flash-attention when installed on GPU and supported by the
architecture, else SDPA, else eager for architectures without SDPA support
(LED); transformers' MPT gets our query-blocked SDPA attention
(:mod:`qmsum_fast.mpt_attention`). The attention implementation is chosen
before loading, so the weights (and remote code) are loaded once.

Everything a user can get wrong (a missing or corrupt file, an unknown hub id
while offline, a folder without a tokenizer) is an :class:`InputError` naming
the model. torch and transformers are imported here, inside functions, only.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import InputError
from . import remote_compat
from .load_errors import corrupt_file_reason, describe_error

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
    adapter_len: int | None = None  # a v1 adapter file's prompt rows per layer; None: adapters' default


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


# Any one of these next to config.json makes a loadable tokenizer; without them
# AutoTokenizer may still build one from the config alone (GPT-NeoX: an empty
# BPE vocabulary), which turns every prompt into no tokens.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "spiece.model", "merges.txt")
TOKENIZER_PATTERNS = ("vocab.*", "*.tiktoken", "sentencepiece*.model", "*.spm")


def check_model_source(path: str, option: str = "--model") -> None:
    """Refuses, before anything loads, a model that cannot be found or lacks a tokenizer.

    A local folder needs a config.json and tokenizer files; anything else must
    be a hub id, which offline must already be in the local Hugging Face cache.
    ``option`` is the flag that named it.
    """
    folder = Path(path)
    if folder.exists():
        _check_model_folder(path, folder)
    elif _looks_like_a_path(path):
        raise InputError(f"{option} {path}: no such folder")
    elif not _in_hub_cache(path) and _hub_offline():
        raise InputError(
            f"{option} {path}: neither a local folder nor in the local Hugging Face cache, "
            "and the machine is offline (HF_HUB_OFFLINE is set)"
        )


def _check_model_folder(path: str, folder: Path) -> None:
    if not folder.is_dir():
        raise InputError(f"--model: {path} is a file, not a model folder")
    if not (folder / "config.json").is_file():
        raise InputError(f"--model: {path} holds no config.json (not a model folder)")
    names = {child.name for child in folder.iterdir() if child.is_file()}
    has_tokenizer = any(name in names for name in TOKENIZER_FILES) or any(
        next(folder.glob(pattern), None) is not None for pattern in TOKENIZER_PATTERNS
    )
    if not has_tokenizer:
        raise InputError(
            f"--model {path}: holds no tokenizer files (tokenizer.json, tokenizer_config.json, "
            "tokenizer.model or vocabulary files); save the tokenizer next to the model"
        )


def _looks_like_a_path(path: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else can only be a
    folder: a name starting with ``/``, ``.`` or ``~``, ending with a
    separator, with more than one ``/``, or whose ``owner`` part is a local
    folder (``models/led-tiny`` mistyped beside ``models/``)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    separators = ("/", os.sep, *((os.altsep,) if os.altsep else ()))
    if path.startswith(("/", ".", "~")) or "\\" in path or path.endswith(separators) or path.count("/") > 1:
        return True
    owner, slash, _ = path.partition("/")
    if slash and Path(owner).is_dir():
        return True
    try:
        validate_repo_id(path)
    except HFValidationError:
        return True
    return False


def _in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _hub_offline() -> bool:
    """The hub library reads HF_HUB_OFFLINE once, at import; a later setting counts too."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return bool(constants.HF_HUB_OFFLINE) or any(flag.upper() in ("1", "ON", "YES", "TRUE") for flag in flags)


def resolve_device(device: str) -> str:
    """``auto`` resolved; a CUDA device that is not there refused in one line."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA GPU is available on this machine")
    index = device.partition(":")[2]
    if index.isdigit() and int(index) >= torch.cuda.device_count():
        raise InputError(f"--device {device}: this machine has {torch.cuda.device_count()} CUDA GPUs (cuda:0 upwards)")
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
    # The tokenizer first: it is cheap, and a useless one must stop the run before the weights load.
    tokenizer = load_tokenizer(options, is_seq2seq)
    auto_class = transformers.AutoModelForSeq2SeqLM if is_seq2seq else transformers.AutoModelForCausalLM
    kwargs: dict = dict(config=config, dtype=dtype, trust_remote_code=options.trust_remote_code)
    if device.startswith("cuda") and options.device_map:
        kwargs.update(device_map=options.device_map)
        if options.max_memory:
            kwargs["max_memory"] = options.max_memory
        if options.offload_folder:
            kwargs["offload_folder"] = options.offload_folder
    # Remote code written for transformers 4 (LongLLaMA): fixed where needed, each fix named (remote_compat).
    remote = remote_compat.prepare(config, auto_class, options.path, options.trust_remote_code)
    model, attention = _from_pretrained(auto_class, options, kwargs, device)
    if remote is not None:
        model = remote.after_load(model, dtype)
    if "device_map" not in kwargs:
        model.to(device)
    if attention == "eager" and options.attention in ("auto", "sdpa") and getattr(config, "model_type", "") == "mpt":
        from .mpt_attention import enable_blocked_sdpa

        if enable_blocked_sdpa(model):
            attention = "sdpa-blocked"
    if options.adapter:
        from .adapters import load_adapter

        model = load_adapter(model, options.adapter, options.adapter_len)
    model.eval()
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
    except Exception as exc:  # anything the files or the hub can raise: the user's to fix
        raise InputError(f"--model {options.path}: cannot load its config: {_hub_reason(exc)}") from None
    for key, value in options.config_overrides.items():
        setattr(config, key, value)
    return config


def _hub_reason(exc: BaseException) -> str:
    """Why a hub id did not resolve, from the hub library's exception types (not its wording)."""
    from huggingface_hub.utils import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    for cause in _causes(exc):
        if isinstance(cause, GatedRepoError):
            return "the model is gated on the Hugging Face hub (accept its terms and log in)"
        if isinstance(cause, RepositoryNotFoundError):
            return "no such model on the Hugging Face hub (or it is private: log in)"
        if isinstance(cause, LocalEntryNotFoundError):
            where = "the machine is offline" if _hub_offline() else "the Hugging Face hub cannot be reached"
            return f"neither a local folder nor in the local Hugging Face cache, and {where}"
    return describe_error(exc)


def _causes(exc: BaseException):
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _attention_request(auto_class, config, options: LoadOptions, device: str) -> str | None:
    """The ``attn_implementation`` to load with; None lets transformers take SDPA
    where the architecture supports it and eager where not, in the one load."""
    if options.attention == "eager":
        return "eager"
    if options.attention == "flash":
        if importlib.util.find_spec("flash_attn") is None:
            raise InputError("--attention flash: the flash_attn package is not installed")
        if _supports_flash(auto_class, config) is False:
            raise InputError(f"--attention flash: {getattr(config, 'model_type', '?')} models do not support it")
        return "flash_attention_2"
    if (
        options.attention == "auto"
        and device.startswith("cuda")
        and _flash_usable()
        and _supports_flash(auto_class, config)
    ):
        return "flash_attention_2"
    return None


def _flash_usable() -> bool:
    import transformers.utils

    return bool(transformers.utils.is_flash_attn_2_available())


def _supports_flash(auto_class, config) -> bool | None:
    """Whether the architecture's class declares FlashAttention-2 support; None
    for remote code, whose class is known only once its code is loaded."""
    mapping = auto_class._model_mapping
    if type(config) not in mapping or auto_class.__name__ in (getattr(config, "auto_map", None) or {}):
        return None
    classes = mapping[type(config)]
    model_class = classes[0] if isinstance(classes, (list, tuple)) else classes
    return bool(
        getattr(model_class, "_supports_flash_attn", False) or getattr(model_class, "_supports_flash_attn_2", False)
    )


def _from_pretrained(auto_class, options: LoadOptions, kwargs: dict, device: str):
    """Loads the weights once, with the attention chosen beforehand; any failure
    (corrupt weights, remote code, an unsupported architecture) is the model's."""
    request = _attention_request(auto_class, kwargs["config"], options, device)
    try:
        model = auto_class.from_pretrained(options.path, attn_implementation=request, **kwargs)
    except Exception as exc:  # every load failure is reported as one line
        reason = _load_reason(options.path, exc) + (remote_compat.where(exc) if options.trust_remote_code else "")
        raise InputError(f"--model {options.path}: cannot load the model: {reason}") from None
    return model, getattr(model.config, "_attn_implementation", None) or request or "eager"


def _load_reason(path: str, exc: BaseException) -> str:
    # transformers may wrap the reader's error in its own (older releases: an OSError).
    corrupt = next(filter(None, map(corrupt_file_reason, _causes(exc))), None)
    if corrupt is None:
        return _hub_reason(exc)
    return f"{', '.join(_weight_files(path)) or 'a weights file'}: {corrupt}"


def _weight_files(path: str) -> list[str]:
    folder = Path(path)
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if p.suffix == ".safetensors" or p.name.endswith(".bin"))
    return names[:3] + (["..."] if len(names) > 3 else [])


def load_tokenizer(options: LoadOptions, is_seq2seq: bool):
    import transformers

    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            options.path, trust_remote_code=options.trust_remote_code
        )
    except Exception as exc:  # tokenizer files, sentencepiece, remote code: the user's to fix
        raise InputError(f"--model {options.path}: cannot load its tokenizer: {_hub_reason(exc)}") from None
    if not tokenizer("Hello world", add_special_tokens=False)["input_ids"]:
        raise InputError(f"--model {options.path}: its tokenizer turns text into no tokens (no vocabulary files?)")
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

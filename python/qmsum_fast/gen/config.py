"""One run configuration: everything that decides a run's outputs.

``generate`` builds a :class:`RunConfig` once from what the user asked for
(:class:`Request`); the runners, the run writer and the run file's header use
only it. Its dict form is the header's ``config``, so a header can repeat its
run, and ``--resume`` compares the whole of it with the header.

What cannot change the outputs (where the model runs, batch sizes, progress
bars, memory limits) is declared in :class:`Runtime`, the one place that
lists such settings; it is written to the header too, but never compared.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..baselines import BASELINES
from ..errors import InputError
from ..fingerprints import data_fingerprint, folder_fingerprint, path_fingerprint
from .presets import GENERIC_GENERATION, MPT_MAX_SEQ_LEN, PRESETS, SUMMARIZE_CHUNK, Preset

INPUTS = ("full", "gold", "locator")
STRATEGIES = ("truncate", "map-reduce", "locate")
# Header fields that may differ when a run is resumed: a larger --limit continues it.
RESUMABLE_CHANGES = frozenset({"limit"})


@dataclass(frozen=True)
class Request:
    """What the user asked for; None means "not given" (the preset or default applies)."""

    model: str
    model_path: str | None = None
    data_path: str | None = None
    split: str = "test"
    domain: str | None = None
    limit: int | None = None
    template: str | None = None
    strategy: str | None = None
    input: str | None = None
    preprocess: str | None = None  # None: the template's default (templates.default_preprocess)
    max_input_tokens: int | None = None
    max_new_tokens: int | None = None
    max_seq_len: int | None = None
    instruction: bool | None = None
    do_sample: bool | None = None
    num_beams: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int = 0
    chunk_overlap: int | None = None
    reduce_tokens: int | None = None
    budget: int | None = None
    unit: str | None = None
    locate_method: str = "bm25"
    locate_window: int | None = None
    locate_budget: int | None = None
    dtype: str = "auto"
    attention: str = "auto"
    trust_remote_code: bool = False
    adapter: str | None = None
    adapter_len: int | None = None  # a v1 adapter file's prompt rows per layer (None: adapters.DEFAULT_ADAPTER_LEN)
    engine: str = "hf"  # hf: in this process; openai: an OpenAI-compatible server (gen/served/config.py)
    served_model: str | None = None
    api: str = "completions"
    tokenizer: str | None = None  # the served model's tokenizer
    reuse: str = "auto"  # auto: a meeting's shared prompt prefix is computed once (gen/local/reuse.py); off


@dataclass(frozen=True)
class Runtime:
    """Settings that cannot change a run's outputs, only where and how fast it runs."""

    device: str = "auto"
    batch_size: int | str = "auto"
    device_map: str | None = None
    max_memory: str | None = None
    offload_folder: str | None = None
    progress: bool | None = None
    # --engine openai: where the replicas are and how requests go (None: not a served run).
    base_url: tuple[str, ...] = ()
    concurrency: int | None = None
    request_timeout: float | None = None
    max_retries: int | None = None
    api_key_env: str | None = None  # the variable's name; the key is never recorded

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's outputs (the run header's ``config``)."""

    kind: str  # "baseline", "preset" or "model": decided here, once
    model: str  # preset, baseline or model name as given
    model_path: str | None  # weights loaded (hub id or folder); None for baselines
    model_fingerprint: Mapping[str, Any] | None  # a local folder's or cached hub snapshot's files (fingerprints.py)
    strategy: str  # truncate, map-reduce, locate or extractive
    template: str | None  # the template text; None for baselines
    preprocess: str
    input: str  # one of INPUTS
    max_input_tokens: int | None
    generation: Mapping[str, Any]
    baseline: Mapping[str, Any] | None  # a baseline's resolved options
    locate_method: str | None  # the locator, with input "locator"
    locate_window: int | None
    locate_budget: int | None  # None: the room beside each prompt
    dtype: str | None
    attention: str | None
    trust_remote_code: bool
    config_overrides: Mapping[str, Any]
    remote_generate_kwargs: Mapping[str, Any]
    answer_marker: str | None
    instruction: bool
    map_instruction: str | None
    chunk_overlap: int
    reduce_tokens: int | None
    adapter: str | None
    adapter_fingerprint: Mapping[str, Any] | None
    seed: int
    data: str  # "bundled" or the data path as given
    data_fingerprint: str  # a hash of the data files read
    split: str
    domain: str  # a domain or "all"
    limit: int | None
    # --engine openai: engine, served name, api, its /v1/models entry, tokenizer, request fields; None in-process.
    served: Mapping[str, Any] | None = None
    # In-process model runs: "auto" computes a meeting's shared prompt prefix once, "off" does not (gen/local/reuse.py).
    # Outputs are equal either way; recorded because it changes the computation. None: baselines, served runs.
    reuse: str | None = None
    # A v1 adapter file's prompt rows per adapted layer; None without one or with a PEFT folder (it records its own).
    adapter_len: int | None = None

    @property
    def is_baseline(self) -> bool:
        return self.kind == "baseline"

    def as_dict(self) -> dict:
        # Through JSON, so the dict equals what a header read back holds.
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def differences(self, recorded: Mapping[str, Any]) -> list[str]:
        """``field was X, now Y`` for each field that differs from a header's
        ``config``, except the fields a resumed run may change."""
        return [
            f"{name} was {old!r}, now {new!r}"
            for name, old, new in _differing(recorded, self.as_dict())
            if name.split(".")[0] not in RESUMABLE_CHANGES
        ]


def build_config(request: Request, dtype: str | None = None, served: Mapping[str, Any] | None = None) -> RunConfig:
    """The run configuration of ``request``; ``dtype`` is the resolved dtype
    name of a model run (``auto`` depends on the device); ``served`` what the
    server's /v1/models reported for an ``--engine openai`` run."""
    data = _data_fields(request)
    if request.adapter_len is not None and request.adapter is None:
        raise InputError("--adapter-len applies only with --adapter (a LLaMA-Adapter v1 file)")
    if request.engine != "hf":
        from .served.config import served_config

        return served_config(request, data, served or {})
    if request.model in BASELINES:
        return _baseline_config(request, data)
    return _model_config(request, data, dtype or request.dtype)


def _data_fields(request: Request) -> dict:
    return {
        "data": request.data_path or "bundled",
        "data_fingerprint": data_fingerprint(request.data_path),
        "split": request.split,
        "domain": request.domain or "all",
        "limit": request.limit,
    }


def _baseline_config(request: Request, data: dict) -> RunConfig:
    from ..baselines import options_for
    from ..templates import default_preprocess

    _refuse_model_options(request)
    options = options_for(request.model, {"unit": request.unit, "budget": request.budget, "seed": request.seed})
    input_mode = request.input or "full"
    if request.strategy not in (None, "extractive"):
        raise InputError(f"--strategy {request.strategy}: baselines are extractive (no --strategy)")
    if input_mode == "locator" and request.locate_budget is None:
        raise InputError("--input locator with a baseline needs --locate-budget (tokens to select)")
    return RunConfig(
        kind="baseline",
        model=request.model,
        model_path=None,
        model_fingerprint=None,
        strategy="extractive",
        template=None,
        preprocess=request.preprocess or default_preprocess(None),
        input=input_mode,
        max_input_tokens=None,
        generation={},
        baseline=dataclasses.asdict(options),
        **_locator_fields(request, input_mode),
        dtype=None,
        attention=None,
        trust_remote_code=False,
        config_overrides={},
        remote_generate_kwargs={},
        answer_marker=None,
        instruction=True,
        map_instruction=None,
        chunk_overlap=0,
        reduce_tokens=None,
        adapter=None,
        adapter_fingerprint=None,
        seed=request.seed,
        **data,
    )


def _refuse_model_options(request: Request) -> None:
    """Model-only options given to a baseline would be silently ignored: refuse them."""
    given = [
        flag
        for flag, value in (
            ("--model-path", request.model_path),
            ("--template", request.template),
            ("--max-input-tokens", request.max_input_tokens),
            ("--max-new-tokens", request.max_new_tokens),
            ("--adapter", request.adapter),
        )
        if value is not None
    ]
    if given:
        raise InputError(f"--model {request.model} is an extractive baseline: {', '.join(given)} does not apply")


def _model_config(request: Request, data: dict, dtype: str) -> RunConfig:
    preset = _preset_for(request)
    generation = _generation(preset.generation, request)
    config_overrides, max_input = _context(preset, request, generation)
    model_path = request.model_path or preset.model
    return RunConfig(
        kind="preset" if request.model in PRESETS else "model",
        model=request.model,
        model_path=model_path,
        model_fingerprint=folder_fingerprint(model_path),
        **prompt_fields(request, preset, generation, max_input),
        dtype=dtype,
        attention=request.attention,
        trust_remote_code=_trust_remote_code(preset, request),
        config_overrides=config_overrides,
        remote_generate_kwargs=dict(preset.remote_generate_kwargs),
        adapter=request.adapter,
        adapter_fingerprint=_adapter_fingerprint(request.adapter),
        **data,
        reuse=request.reuse,
        adapter_len=_adapter_len(request),
    )


def prompt_fields(request: Request, preset: Preset, generation: dict, max_input: int | None) -> dict:
    """The fields that decide a model run's prompts and strategy, from the preset
    and the request: the same for in-process and served models."""
    from ..templates import default_preprocess, template_from

    strategy = request.strategy or preset.strategy
    input_mode = request.input or ("locator" if strategy == "locate" else "full")
    if input_mode == "locator":
        strategy = "locate"
    map_reduce = strategy == "map-reduce"
    if map_reduce and max_input is None:
        raise InputError("--strategy map-reduce needs --max-input-tokens (the window of one chunk prompt)")
    return {
        "strategy": strategy,
        "template": template_from(request.template or preset.template).text,
        "preprocess": request.preprocess or default_preprocess(request.template or preset.template),
        "input": input_mode,
        "max_input_tokens": max_input,
        "generation": generation,
        "baseline": None,
        **_locator_fields(request, input_mode),
        "answer_marker": preset.answer_marker,
        "instruction": request.instruction is not False,
        "map_instruction": (preset.map_instruction or SUMMARIZE_CHUNK) if map_reduce else None,
        "chunk_overlap": request.chunk_overlap or 0,
        "reduce_tokens": (request.reduce_tokens or preset.reduce_tokens or 500) if map_reduce else None,
        "seed": request.seed,
    }


def _preset_for(request: Request) -> Preset:
    """The named preset (LED without instruction: its own variant), or the
    generic settings for a hub id or a model folder."""
    model = request.model
    if model in PRESETS:
        preset = PRESETS[model]
        if request.instruction is False and preset.no_instruction is not None:
            return preset.no_instruction
        return preset
    if "/" in model or Path(model).exists():
        return Preset(name=model, model=model, template="plain", generation=dict(GENERIC_GENERATION))
    known = ", ".join([*PRESETS, *BASELINES])
    raise InputError(f"--model: unknown preset {model!r} (presets: {known}; or give a hub id or folder)")


def _context(preset: Preset, request: Request, generation: dict) -> tuple[dict, int | None]:
    """The config overrides and input budget; MPT's --max-seq-len moves both."""
    overrides = dict(preset.config_overrides)
    max_input = request.max_input_tokens or preset.max_input_tokens
    if request.max_seq_len is not None:
        if not 1 <= request.max_seq_len <= MPT_MAX_SEQ_LEN:
            raise InputError(f"--max-seq-len: {request.max_seq_len} is outside 1..{MPT_MAX_SEQ_LEN}")
        overrides["max_seq_len"] = request.max_seq_len
        if request.max_input_tokens is None and preset.name == "mpt-storywriter":
            max_input = request.max_seq_len - generation.get("max_new_tokens", 100)
    return overrides, max_input


def _generation(base: Mapping[str, Any], request: Request) -> dict:
    """The preset's generation arguments with the command-line flags applied."""
    generation = dict(base)
    if request.max_new_tokens is not None:
        # An explicit new-token limit replaces a preset's total max_length.
        generation.pop("max_length", None)
        generation.pop("min_length", None)
        generation["max_new_tokens"] = request.max_new_tokens
    for key in ("num_beams", "temperature", "top_p", "top_k", "repetition_penalty", "do_sample"):
        value = getattr(request, key)
        if value is not None:
            generation[key] = value
    if not generation.get("do_sample", False):
        # Sampling knobs are meaningless (and warned about) in greedy or beam search.
        for key in ("temperature", "top_p", "top_k"):
            generation.pop(key, None)
    return generation


def _locator_fields(request: Request, input_mode: str) -> dict:
    from ..locate import DEFAULT_WINDOW

    if input_mode != "locator":
        return {"locate_method": None, "locate_window": None, "locate_budget": None}
    window = DEFAULT_WINDOW if request.locate_window is None else request.locate_window
    return {"locate_method": request.locate_method, "locate_window": window, "locate_budget": request.locate_budget}


def _adapter_len(request: Request) -> int | None:
    """The prompt rows per layer a v1 adapter file is read with; None without one."""
    from .local.adapters import DEFAULT_ADAPTER_LEN

    if request.adapter is None:
        return None
    if Path(request.adapter).is_dir():
        if request.adapter_len is not None:
            raise InputError(
                f"--adapter-len: {request.adapter} is a PEFT folder, its adapter_config.json sets the length"
            )
        return None
    return DEFAULT_ADAPTER_LEN if request.adapter_len is None else request.adapter_len


def _trust_remote_code(preset: Preset, request: Request) -> bool:
    """Running a model's own code is never implied: the user must say so."""
    if preset.trust_remote_code and not request.trust_remote_code:
        raise InputError(f"--model {preset.name} runs the model's own code: pass --trust-remote-code to allow it")
    return request.trust_remote_code


# --- fingerprints ----------------------------------------------------------------------


def _adapter_fingerprint(adapter: str | None) -> dict | None:
    """An adapter file's fingerprint, or a PEFT adapter folder's."""
    return None if adapter is None else path_fingerprint(adapter)


def _differing(old: Any, new: Any, prefix: str = "", depth: int = 4) -> list[tuple[str, Any, Any]]:
    """``(dotted name, old, new)`` of each differing field of two JSON objects,
    looking ``depth`` levels deep (``generation.top_p``; a changed weight file:
    ``model_fingerprint.files.model.safetensors.ctime_ns``)."""
    if depth and isinstance(old, dict) and isinstance(new, dict):
        found = []
        for name in [*old, *(key for key in new if key not in old)]:
            found += _differing(old.get(name), new.get(name), f"{prefix}.{name}" if prefix else name, depth - 1)
        return found
    return [] if old == new else [(prefix, old, new)]

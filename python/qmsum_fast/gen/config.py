"""One run configuration: everything that decides a run's outputs.

``generate`` builds a :class:`RunConfig` once from what the user asked for
(:class:`Request`): :func:`build_config` for an in-process model or a
baseline, :func:`qmsum_fast.gen.served.config.served_config` for a served
model. It holds what every engine shares and one field set of the engine
that runs it (:class:`LocalModel`, :class:`ServedModel`, a baseline's
options); the engines, the run writer and the run file's header use only it.
Its dict form is the header's ``config``, read back into the same types by
:meth:`RunConfig.from_dict`, so a header can repeat its run, and ``--resume``
compares the whole of it with the header.

What cannot change the outputs (where the model runs, batch sizes, progress
bars, memory limits) is declared in :class:`Runtime`, the one place that
lists such settings; it is written to the header too, but never compared.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from ..baselines import BASELINES
from ..baselines import Options as BaselineOptions
from ..errors import InputError
from ..fingerprints import data_fingerprint, folder_fingerprint, path_fingerprint
from .presets import (
    DEFAULT_ADAPTER_LEN,
    GENERIC_GENERATION,
    MPT_MAX_SEQ_LEN,
    PRESETS,
    SUMMARIZE_CHUNK,
    Preset,
)

INPUTS = ("full", "gold", "locator")
STRATEGIES = ("truncate", "map-reduce", "locate")
# Header fields that may differ when a run is resumed: a larger --limit continues it.
RESUMABLE_CHANGES = frozenset({"limit"})


class Reuse(str, Enum):
    """``--reuse``: what a meeting's queries share is computed once (auto) or
    each query computes its own (off, the reference). Outputs are equal."""

    AUTO = "auto"
    OFF = "off"


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
    adapter_len: int | None = None  # a v1 adapter file's prompt rows per layer (None: presets.DEFAULT_ADAPTER_LEN)
    engine: str = "hf"  # hf: in this process; openai: an OpenAI-compatible server (gen/served/config.py)
    served_model: str | None = None
    api: str = "completions"
    tokenizer: str | None = None  # the served model's tokenizer
    reuse: Reuse = Reuse.AUTO  # in-process models: a meeting's shared prompt prefix computed once, or not


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
class LocalModel:
    """The in-process engine's fields: the weights, how they load, ``--reuse``."""

    model_path: str  # weights loaded (hub id or folder)
    model_fingerprint: Mapping[str, Any] | None  # a local folder's or cached hub snapshot's files (fingerprints.py)
    dtype: str
    attention: str
    trust_remote_code: bool
    config_overrides: Mapping[str, Any]
    remote_generate_kwargs: Mapping[str, Any]
    adapter: str | None
    adapter_fingerprint: Mapping[str, Any] | None
    # A v1 adapter file's prompt rows per adapted layer; None without one or with a PEFT folder (it records its own).
    adapter_len: int | None
    # A meeting's shared prompt prefix computed once or not (gen/local/reuse.py); recorded because it changes
    # the computation.
    reuse: Reuse


@dataclass(frozen=True)
class ServedModel:
    """``--engine openai``'s fields (the header's ``served``): the engine, the
    served name, the API, its /v1/models entry, the tokenizer that counts the
    budgets and the request fields the generation settings map to."""

    engine: str
    model: str
    api: str
    reported: Mapping[str, Any]
    tokenizer: Mapping[str, Any]
    request: Mapping[str, Any]
    # auto: a meeting's requests go to one replica, its first alone to prime the server's prefix cache
    # (gen/served/dispatch.py); off: each to the least busy replica. Outputs are equal either way.
    reuse: Reuse


# One field set per engine; an extractive baseline's are its resolved options (the header's ``baseline``).
EngineFields = LocalModel | ServedModel | BaselineOptions
LOCAL_FIELDS = tuple(f.name for f in dataclasses.fields(LocalModel))


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides a run's outputs (the run header's ``config``):
    what all engines share, and the fields of the engine that runs it."""

    kind: str  # "baseline", "preset" or "model": decided here, once
    model: str  # preset, baseline or model name as given
    strategy: str  # truncate, map-reduce, locate or extractive
    template: str | None  # the template text; None for baselines
    preprocess: str
    input: str  # one of INPUTS
    max_input_tokens: int | None
    generation: Mapping[str, Any]
    locate_method: str | None  # the locator, with input "locator"
    locate_window: int | None
    locate_budget: int | None  # None: the room beside each prompt
    answer_marker: str | None
    instruction: bool
    map_instruction: str | None
    chunk_overlap: int
    reduce_tokens: int | None
    seed: int
    data: str  # "bundled" or the data path as given
    data_fingerprint: str  # a hash of the data files read
    split: str
    domain: str  # a domain or "all"
    limit: int | None
    engine: EngineFields

    @property
    def is_baseline(self) -> bool:
        return isinstance(self.engine, BaselineOptions)

    def as_dict(self) -> dict:
        """The header's ``config``: the shared fields, then the engine's: an
        in-process model's beside them, a served model's under ``served``, a
        baseline's options under ``baseline`` (the layout run files have
        always had, less the other engines' fields). Through JSON, so the dict
        equals what a header read back holds."""
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "engine"}
        engine = dataclasses.asdict(self.engine)
        if isinstance(self.engine, LocalModel):
            fields = {**shared, **engine}
        elif isinstance(self.engine, ServedModel):
            fields = {**shared, "served": engine}
        else:
            fields = {**shared, "baseline": engine}
        return json.loads(json.dumps(fields))

    @classmethod
    def from_dict(cls, recorded: Mapping[str, Any]) -> RunConfig:
        """A header's ``config`` read back into its types (run files written
        before the engines had their own field sets hold the other engines'
        fields as None or empty: they are left out). Raises HeaderError."""
        try:
            shared = {f.name: recorded[f.name] for f in dataclasses.fields(cls) if f.name != "engine"}
            return cls(**shared, engine=_engine_fields(recorded))
        except KeyError as exc:
            raise HeaderError(f"its configuration has no {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise HeaderError(f"its configuration cannot be read ({exc})") from None

    def differences(self, recorded: Mapping[str, Any]) -> list[str]:
        """``field was X, now Y`` for each field that differs from a header's
        ``config``, except the fields a resumed run may change; one line saying
        why when the header cannot be read back."""
        try:
            previous = RunConfig.from_dict(recorded).as_dict()
        except HeaderError as exc:
            return [f"{exc}: it was written by another version of qmsum-fast"]
        return [
            f"{name} was {old!r}, now {new!r}"
            for name, old, new in differing(previous, self.as_dict())
            if name.split(".")[0] not in RESUMABLE_CHANGES
        ]


class HeaderError(ValueError):
    """A run header's configuration that does not read back into a RunConfig."""


def _engine_fields(recorded: Mapping[str, Any]) -> EngineFields:
    if recorded["kind"] == "baseline":
        return BaselineOptions(**recorded["baseline"])
    if recorded.get("served") is not None:
        served = recorded["served"]
        # Served runs from before --reuse applied to them went to the least busy replica: off.
        return ServedModel(**{**served, "reuse": Reuse(served.get("reuse", Reuse.OFF.value))})
    # Headers from before --adapter-len hold none: read as None, as --resume has always compared them.
    local = {name: recorded[name] for name in LOCAL_FIELDS if name != "adapter_len"}
    return LocalModel(**{**local, "reuse": Reuse(local["reuse"]), "adapter_len": recorded.get("adapter_len")})


def build_config(request: Request, dtype: str | None = None) -> RunConfig:
    """The run configuration of an in-process model or an extractive baseline;
    ``dtype`` is the resolved dtype name of a model run (``auto`` depends on
    the device). A served model's is :func:`qmsum_fast.gen.served.config.served_config`."""
    if request.engine != "hf":
        raise ValueError("build_config: --engine openai runs are configured by gen.served.config.served_config")
    data = data_fields(request)
    if request.adapter_len is not None and request.adapter is None:
        raise InputError("--adapter-len applies only with --adapter (a LLaMA-Adapter v1 file)")
    if request.model in BASELINES:
        return _baseline_config(request, data)
    return _model_config(request, data, dtype or request.dtype)


def data_fields(request: Request) -> dict:
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
        strategy="extractive",
        template=None,
        preprocess=request.preprocess or default_preprocess(None),
        input=input_mode,
        max_input_tokens=None,
        generation={},
        **_locator_fields(request, input_mode),
        answer_marker=None,
        instruction=True,
        map_instruction=None,
        chunk_overlap=0,
        reduce_tokens=None,
        seed=request.seed,
        **data,
        engine=options,
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
    preset = preset_for(request)
    generation = generation_of(preset.generation, request)
    config_overrides, max_input = context_of(preset, request, generation)
    model_path = request.model_path or preset.model
    local = LocalModel(
        model_path=model_path,
        model_fingerprint=folder_fingerprint(model_path),
        dtype=dtype,
        attention=request.attention,
        trust_remote_code=_trust_remote_code(preset, request),
        config_overrides=config_overrides,
        remote_generate_kwargs=dict(preset.remote_generate_kwargs),
        adapter=request.adapter,
        adapter_fingerprint=_adapter_fingerprint(request.adapter),
        adapter_len=_adapter_len(request),
        reuse=Reuse(request.reuse),
    )
    return RunConfig(
        kind="preset" if request.model in PRESETS else "model",
        model=request.model,
        **prompt_fields(request, preset, generation, max_input),
        **data,
        engine=local,
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
        **_locator_fields(request, input_mode),
        "answer_marker": preset.answer_marker,
        "instruction": request.instruction is not False,
        "map_instruction": (preset.map_instruction or SUMMARIZE_CHUNK) if map_reduce else None,
        "chunk_overlap": request.chunk_overlap or 0,
        "reduce_tokens": (request.reduce_tokens or preset.reduce_tokens or 500) if map_reduce else None,
        "seed": request.seed,
    }


def preset_for(request: Request) -> Preset:
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


def context_of(preset: Preset, request: Request, generation: dict) -> tuple[dict, int | None]:
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


def generation_of(base: Mapping[str, Any], request: Request) -> dict:
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


def differing(old: Any, new: Any, prefix: str = "", depth: int = 4) -> list[tuple[str, Any, Any]]:
    """``(dotted name, old, new)`` of each differing field of two JSON objects,
    looking ``depth`` levels deep (``generation.top_p``; a changed weight file:
    ``model_fingerprint.files.model.safetensors.ctime_ns``)."""
    if depth and isinstance(old, dict) and isinstance(new, dict):
        found = []
        for name in [*old, *(key for key in new if key not in old)]:
            found += differing(old.get(name), new.get(name), f"{prefix}.{name}" if prefix else name, depth - 1)
        return found
    return [] if old == new else [(prefix, old, new)]

"""Presets: the original experiments' four generation setups, by name.

A preset fixes the model, the prompt, the strategy, the input budget and the
generation settings. ``resolve_settings`` merges a preset with command-line
overrides into one :class:`Settings`, the record written into each run's
header, so a run can always be repeated from its output file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import InputError

BASELINES = ("random", "lead", "textrank", "oracle", "bm25")
INPUTS = ("full", "gold", "locator")

MPT_MARKER = "\nA short summary of the following conversation is:"
MPT_MAX_SEQ_LEN = 83968
SUMMARIZE_CHUNK = "Summarize the following conversation."


@dataclass(frozen=True)
class Preset:
    name: str
    model: str  # hub id
    template: str  # built-in template name or template text
    generation: dict
    strategy: str = "truncate"
    max_input_tokens: int | None = None  # None: the model's own limit
    trust_remote_code: bool = False
    config_overrides: dict = field(default_factory=dict)
    # Generation arguments only the remote-code model understands, keyed by
    # the config's model_type (dropped for any other architecture).
    remote_generate_kwargs: dict = field(default_factory=dict)
    answer_marker: str | None = None
    # The preset's settings without an instruction (LED), else None.
    no_instruction: Preset | None = None
    # map-reduce: the per-chunk instruction and the reduce step's input budget.
    map_instruction: str | None = None
    reduce_tokens: int | None = None


LED_BEAMS = dict(
    num_beams=4,
    no_repeat_ngram_size=3,
    encoder_no_repeat_ngram_size=3,
    repetition_penalty=3.5,
    early_stopping=True,
    do_sample=False,
)

PRESETS = {
    "led": Preset(
        name="led",
        model="hyesunyun/update-summarization-bart-large-longformer",
        template="led",
        max_input_tokens=15000,
        generation=dict(LED_BEAMS, min_length=16, max_length=256),
        no_instruction=Preset(
            name="led",
            model="hyesunyun/update-summarization-bart-large-longformer",
            template="{transcript}",
            max_input_tokens=16384,
            generation=dict(LED_BEAMS, min_length=216, max_length=512),
        ),
    ),
    "mpt-storywriter": Preset(
        name="mpt-storywriter",
        model="mosaicml/mpt-7b-storywriter",
        template="{transcript}" + MPT_MARKER,
        max_input_tokens=30000 - 100,
        generation=dict(max_new_tokens=100, do_sample=True),
        config_overrides={"max_seq_len": 30000},
        answer_marker=MPT_MARKER.strip(),
    ),
    "longllama": Preset(
        name="longllama",
        model="syzymon/long_llama_3b_v1_1",
        template="alpaca",
        generation=dict(max_new_tokens=256, do_sample=True, temperature=1.0, num_beams=1),
        trust_remote_code=True,
        remote_generate_kwargs={"longllama": {"last_context_length": 1024}},
    ),
    "llama-adapter": Preset(
        name="llama-adapter",
        model="huggyllama/llama-7b",
        template="alpaca",
        strategy="map-reduce",
        max_input_tokens=400,
        generation=dict(max_new_tokens=128, do_sample=True, temperature=0.1, top_p=0.75),
        map_instruction=SUMMARIZE_CHUNK,
        reduce_tokens=500,
    ),
}

GENERIC_GENERATION = dict(max_new_tokens=256, do_sample=False, num_beams=1)


@dataclass(frozen=True)
class Settings:
    """Everything that decides a run's outputs (the output header record)."""

    model: str  # preset, baseline or model name as given
    model_path: str | None  # weights actually loaded (hub id or folder)
    strategy: str
    template: str
    input: str
    preprocess: str
    max_input_tokens: int | None
    generation: dict
    trust_remote_code: bool = False
    config_overrides: dict = field(default_factory=dict)
    remote_generate_kwargs: dict = field(default_factory=dict)
    answer_marker: str | None = None
    instruction: bool = True
    map_instruction: str | None = None
    chunk_overlap: int = 0
    reduce_tokens: int | None = None
    locate_method: str = "bm25"
    adapter: str | None = None
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def is_baseline(model: str) -> bool:
    return model in BASELINES


def find_preset(model: str) -> Preset | None:
    """The named preset; None for a hub id or a local folder; an error for an
    unknown bare name (hub ids have an owner, ``owner/name``)."""
    if model in PRESETS:
        return PRESETS[model]
    if "/" in model or Path(model).exists():
        return None
    known = ", ".join([*PRESETS, *BASELINES])
    raise InputError(f"--model: unknown preset {model!r} (presets: {known}; or give a hub id or folder)")


def resolve_settings(model: str, overrides: dict) -> Settings:
    """A preset (or the generic defaults) with the given overrides applied.

    ``overrides`` holds command-line values; None means "not given".
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    if is_baseline(model):
        return _baseline_settings(model, given)
    preset = find_preset(model)
    instruction = given.get("instruction", True)
    if preset is not None and not instruction and preset.no_instruction is not None:
        preset = preset.no_instruction
    if preset is None:
        preset = Preset(name=model, model=model, template="plain", generation=dict(GENERIC_GENERATION))
    generation = _generation(preset.generation, given)
    config_overrides = dict(preset.config_overrides)
    max_input = given.get("max_input_tokens", preset.max_input_tokens)
    if "max_seq_len" in given:
        config_overrides["max_seq_len"] = _max_seq_len(given["max_seq_len"])
        if "max_input_tokens" not in given and preset.name == "mpt-storywriter":
            max_input = config_overrides["max_seq_len"] - generation.get("max_new_tokens", 100)
    strategy = given.get("strategy", preset.strategy)
    if given.get("input") == "locator":
        strategy = "locate"
    return Settings(
        model=model,
        model_path=given.get("model_path", preset.model),
        strategy=strategy,
        template=given.get("template", preset.template),
        input="locator" if strategy == "locate" else given.get("input", "full"),
        preprocess=given.get("preprocess", "none"),
        max_input_tokens=max_input,
        generation=generation,
        trust_remote_code=_trust_remote_code(preset, given),
        config_overrides=config_overrides,
        remote_generate_kwargs=dict(preset.remote_generate_kwargs),
        answer_marker=preset.answer_marker,
        instruction=instruction,
        map_instruction=preset.map_instruction or SUMMARIZE_CHUNK,
        chunk_overlap=given.get("chunk_overlap", 0),
        reduce_tokens=given.get("reduce_tokens", preset.reduce_tokens or 500),
        locate_method=given.get("locate_method", "bm25"),
        adapter=given.get("adapter"),
        seed=given.get("seed", 0),
    )


def _trust_remote_code(preset: Preset, given: dict) -> bool:
    """Running a model's own code is never implied: the user must say so."""
    trusted = bool(given.get("trust_remote_code", False))
    if preset.trust_remote_code and not trusted:
        raise InputError(f"--model {preset.name} runs the model's own code: pass --trust-remote-code to allow it")
    return trusted


def _baseline_settings(model: str, given: dict) -> Settings:
    strategy = "extractive"
    return Settings(
        model=model,
        model_path=None,
        strategy=strategy,
        template="{transcript}",
        input=given.get("input", "full"),
        preprocess=given.get("preprocess", "none"),
        max_input_tokens=given.get("max_input_tokens"),
        generation={},
        seed=given.get("seed", 0),
        locate_method=given.get("locate_method", "bm25"),
    )


def _generation(base: dict, given: dict) -> dict:
    """The preset's generation arguments with the command-line flags applied."""
    generation = dict(base)
    if "max_new_tokens" in given:
        # An explicit new-token limit replaces a preset's total max_length.
        generation.pop("max_length", None)
        generation.pop("min_length", None)
        generation["max_new_tokens"] = given["max_new_tokens"]
    for key in ("num_beams", "temperature", "top_p", "top_k", "repetition_penalty", "min_new_tokens"):
        if key in given:
            generation[key] = given[key]
    if "do_sample" in given:
        generation["do_sample"] = given["do_sample"]
    if not generation.get("do_sample", False):
        # Sampling knobs are meaningless (and warned about) in greedy or beam search.
        for key in ("temperature", "top_p", "top_k"):
            generation.pop(key, None)
    return generation


def _max_seq_len(value: int) -> int:
    if not 1 <= value <= MPT_MAX_SEQ_LEN:
        raise InputError(f"--max-seq-len: {value} is outside 1..{MPT_MAX_SEQ_LEN}")
    return value

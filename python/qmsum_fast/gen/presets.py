"""Presets: the original experiments' four generation setups, by name.

A preset fixes the model, the prompt, the strategy, the input budget and the
generation settings. :func:`qmsum_fast.gen.config.build_config` merges a
preset with the command line's choices into the run configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MPT_MARKER = "\nA short summary of the following conversation is:"
MPT_MAX_SEQ_LEN = 83968
SUMMARIZE_CHUNK = "Summarize the following conversation."
DEFAULT_ADAPTER_LEN = 10  # a LLaMA-Adapter v1 file's prompt rows per adapted layer (its file name: len10)


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

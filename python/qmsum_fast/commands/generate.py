"""``qmsum-fast generate``: query-focused summaries from a model or a baseline.

The command sorts what it is given into the run configuration (what decides
the outputs), the runtime (what only decides where and how fast) and the
output files, and builds the configuration once; nothing past this module
sees the raw options.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..baselines import BASELINES
from ..gen.config import INPUTS, STRATEGIES, LocalModel
from ..gen.local.models import ATTENTION, DTYPES
from ..gen.presets import PRESETS
from ._options import (
    MAX_SEED,
    DeviceType,
    FiniteFloat,
    data_option,
    domain_option,
    make_api_key_env_option,
    make_api_option,
    make_base_url_option,
    make_concurrency_option,
    make_max_retries_option,
    make_request_timeout_option,
    make_template_option,
    output_option,
    overwrite_option,
    positive_float,
    preprocess_option,
    split_option,
    tokens,
)

RUNTIME_OPTIONS = ("device", "batch_size", "device_map", "max_memory", "offload_folder", "progress")
SERVED_RUNTIME_OPTIONS = ("base_url", "concurrency", "request_timeout", "max_retries", "api_key_env")
OUTPUT_OPTIONS = ("out", "csv", "resume", "overwrite")
# Options that may name a file or folder the run reads (a name that is no
# path, a preset's or a hub id, is skipped: it does not exist as a file).
INPUT_OPTIONS = ("data_path", "model", "model_path", "adapter", "template", "tokenizer", "offload_folder")
SERVED = "--engine openai: "  # what the served-engine options' help starts with here


def _batch_size(value: str) -> int | str:
    if value == "auto":
        return value
    if not value.isdigit() or not 1 <= int(value) <= 2**20:
        raise click.BadParameter("a positive integer (at most 1048576) or 'auto'")
    return int(value)


@click.command("generate")
@click.option(
    "--model",
    "model",
    required=True,
    help=f"A preset ({', '.join(PRESETS)}), an extractive baseline ({', '.join(BASELINES)}), a hub id "
    "(from the local cache) or a model folder.",
)
@click.option("--model-path", help="Weights to load instead of the preset's hub id (keeps its settings).")
@output_option("The JSONL run file to write (--out is another name for it).", "--out")
@data_option
@split_option
@domain_option
@click.option("--limit", type=tokens(), help="Only the first N examples of the selection (default: all).")
@click.option("--resume", is_flag=True, help="Continue --out (same configuration), skipping the ids already done.")
@overwrite_option
@click.option(
    "--csv",
    type=click.Path(path_type=Path),
    help="Also write instruction,input,output,summary columns (as the original experiments). Default: none.",
)
@make_template_option(None, " Default: the preset's (plain for other models).")
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    help="truncate: cut the transcript to the budget; map-reduce: summarize chunks, then answer from the "
    "summaries; locate: the located turns. Default: the preset's (truncate).",
)
@click.option(
    "--input",
    type=click.Choice(INPUTS),
    help="What of the meeting goes in: full (default), gold (the query's relevant spans) or locator.",
)
@preprocess_option
@click.option(
    "--max-input-tokens",
    type=tokens(),
    help="Input budget in model tokens (map-reduce: per chunk prompt). Default: the preset's, else the model's.",
)
@click.option("--max-new-tokens", type=tokens(), help="Tokens to generate at most. Default: the preset's (256).")
@click.option("--max-seq-len", type=tokens(), help="MPT context length (preset default 30000, up to 83968).")
@click.option(
    "--instruction/--no-instruction", default=None, help="LED: append the query as an instruction (default: on)."
)
@click.option(
    "--sample/--greedy",
    "do_sample",
    default=None,
    help="Sampling, or greedy/beam decoding. Default: the preset's (greedy for other models).",
)
@click.option("--num-beams", type=click.IntRange(1, 1024), help="Beams for beam search. Default: the preset's (1).")
@click.option("--temperature", type=positive_float(), help="Sampling temperature (above 0). Default: the preset's.")
@click.option("--top-p", type=FiniteFloat(0.0, 1.0), help="Nucleus sampling mass (0 to 1). Default: the preset's.")
@click.option("--top-k", type=tokens(0), help="Sample from the top K tokens. Default: the preset's.")
@click.option(
    "--repetition-penalty", type=positive_float(), help="Repetition penalty (above 0; 1: none). Default: the preset's."
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="Seed of sampling (each example samples from a hash of it and the example's id) and of the random "
    "baseline (0 to 2**32-1).",
)
@click.option(
    "--reuse",
    type=click.Choice(["auto", "off"]),
    default="auto",
    show_default=True,
    help="Causal models: compute the prompt prefix a meeting's queries share once and continue each query from it "
    "(same outputs; auto falls back where that is not exact or the prefix is short). --engine openai: auto sends a "
    "meeting's requests to one replica, the first alone to prime its prefix cache; off sends each to the least busy.",
)
@click.option(
    "--chunk-overlap", type=tokens(0), help="map-reduce: tokens of whole turns repeated between chunks (default 0)."
)
@click.option(
    "--reduce-tokens", type=tokens(), help="map-reduce: budget of the joined sub-summaries (default: preset's, 500)."
)
@click.option(
    "--budget",
    type=tokens(),
    help="Extractive baselines: the summary's length in the baseline's unit (default: the baseline's).",
)
@click.option(
    "--unit",
    type=click.Choice(["turn", "sentence"]),
    help="Extractive baselines: what they extract (default: the baseline's).",
)
@click.option(
    "--locate-method", type=click.Choice(["bm25", "tfidf"]), default="bm25", show_default=True, help="Locator ranking."
)
@click.option(
    "--locate-window",
    type=tokens(0),
    help="Locator: neighbouring turns (each side) that lend a turn their score (default: the locator's, 16).",
)
@click.option(
    "--locate-budget",
    type=tokens(),
    help="Locator: tokens of transcript to select. Default: what fits beside each prompt (models).",
)
@click.option(
    "--batch-size",
    default="auto",
    show_default=True,
    callback=lambda c, p, v: _batch_size(v),
    help="Prompts per generate call; auto halves on out-of-memory.",
)
@click.option(
    "--device",
    type=DeviceType(),
    default="auto",
    show_default=True,
    help="Where the model runs: auto (a GPU if there is one), cpu, cuda or cuda:N.",
)
@click.option(
    "--dtype",
    type=click.Choice(DTYPES),
    default="auto",
    show_default=True,
    help="Weights' dtype; auto: bf16 (or fp16) on GPU, fp32 on CPU.",
)
@click.option(
    "--device-map",
    type=click.Choice(["auto", "balanced", "sequential"]),
    help="Spread a large model over GPUs (and CPU) with accelerate (default: one device).",
)
@click.option("--max-memory", help="Per-device limits for --device-map, e.g. 0=70GiB,cpu=200GiB (default: none).")
@click.option(
    "--offload-folder",
    type=click.Path(file_okay=False),
    help="Where --device-map offloads weights (default: none).",
)
@click.option(
    "--attention",
    type=click.Choice(ATTENTION),
    default="auto",
    show_default=True,
    help="Attention kernel; auto: flash-attention if installed on GPU, else SDPA, else eager.",
)
@click.option("--trust-remote-code", is_flag=True, help="Allow the model's own code (LongLLaMA). Default: refuse.")
@click.option(
    "--adapter",
    type=click.Path(exists=True),
    help="LLaMA-Adapter weights (a PEFT folder or the v1 release file). Default: none.",
)
@click.option(
    "--adapter-len",
    type=click.IntRange(min=1),
    help="--adapter with a v1 file: prompt rows per adapted layer; the top rows/N layers are adapted. "
    "Default: 10 (the v1 release, llama_adapter_len10_layer30_release.pth).",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal)."
)
@click.option(
    "--engine",
    type=click.Choice(["hf", "openai"]),
    default="hf",
    show_default=True,
    help="hf: the model runs in this process; openai: an OpenAI-compatible server runs it (see docs/serving.md).",
)
@make_base_url_option(SERVED)
@click.option(
    "--served-model",
    help="--engine openai with a preset: the model's name on the server. Default: the preset's hub id.",
)
@make_api_option(SERVED)
@click.option(
    "--tokenizer",
    default=None,
    help="--engine openai: the served model's tokenizer (tokenizer.json, its folder, or a hub name in the local "
    "HF cache); budgets count with it. Required with --engine openai; default: none.",
)
@make_concurrency_option(SERVED)
@make_request_timeout_option(SERVED)
@make_max_retries_option(SERVED)
@make_api_key_env_option(SERVED)
def command(**options) -> None:
    """Generate a summary for each query and write them to -o/--output as JSONL."""
    from ..extras import SERVED_MODULES, require_gen
    from ..files import check_distinct
    from ..gen.config import Request, Reuse, Runtime
    from ..gen.run import Outputs, run_generation

    check_distinct(
        [("-o/--output", options["out"]), ("--csv", options["csv"])],
        [(f"--{name.replace('_', '-')}", options[name]) for name in INPUT_OPTIONS if options[name] is not None],
    )

    runtime = Runtime(**{name: options.pop(name) for name in (*RUNTIME_OPTIONS, *SERVED_RUNTIME_OPTIONS)})
    outputs = Outputs(**{name: options.pop(name) for name in OUTPUT_OPTIONS})
    options["data_path"] = str(options["data_path"]) if options["data_path"] is not None else None
    options["reuse"] = Reuse(options["reuse"])
    request = Request(**options)
    local_model = request.model not in BASELINES and request.engine == "hf"
    if local_model:
        require_gen(f"--model {request.model}")
    elif request.engine != "hf":
        require_gen(f"--engine {request.engine}", SERVED_MODULES)
    runtime, config = _configure(request, runtime)
    if local_model:
        from ..gen.local.models import check_model_source

        # A missing folder or an uncached hub id offline: one line now, before the data or the weights load.
        model = config.engine.model_path if isinstance(config.engine, LocalModel) else request.model
        check_model_source(model, "--model-path" if request.model_path else "--model")
    if request.reuse is Reuse.OFF and config.is_baseline:
        click.echo("qmsum-fast: note: --reuse off does not apply to extractive baselines (nothing is shared)", err=True)
    click.echo(run_generation(config, runtime, outputs), err=True)


def _configure(request, runtime):
    """The runtime with the engine's defaults and the run configuration: an
    in-process model's or a baseline's, or (--engine openai) a served model's,
    after asking the servers what they serve."""
    from ..gen.config import build_config
    from ..gen.served.config import prepare_engine, served_config

    runtime, served = prepare_engine(request, runtime)  # --engine openai: what the server reports
    if served is not None:
        return runtime, served_config(request, served)
    dtype = None
    if request.model not in BASELINES:
        from ..gen.local.runner import device_for, dtype_name

        dtype = dtype_name(request.dtype, device_for(runtime))  # refuses --device cuda without a GPU
    return runtime, build_config(request, dtype=dtype)

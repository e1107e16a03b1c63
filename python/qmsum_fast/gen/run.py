"""A generation run, end to end: settings, data, model, strategy, output.

Everything that can be refused (settings, template, output file, model,
budgets) is checked before the output file is touched, so a refused run
leaves what was already written as it was. Under ``accelerate launch`` each
process takes every WORLD_SIZE-th example, writes its own shard, and the
main process merges the shards in data order when all have finished.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .output import RunWriter, finalize, read_run, shard_path, write_csv
from .presets import Settings, find_preset, is_baseline, resolve_settings
from .progress import Progress

OVERRIDE_KEYS = (
    "model_path",
    "template",
    "strategy",
    "input",
    "preprocess",
    "max_input_tokens",
    "max_new_tokens",
    "max_seq_len",
    "instruction",
    "do_sample",
    "num_beams",
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "seed",
    "chunk_overlap",
    "reduce_tokens",
    "locate_method",
    "adapter",
    "trust_remote_code",
)
SHARD_WAIT_SECONDS = 0.2


@dataclass(frozen=True)
class Parallel:
    rank: int
    world: int
    local_rank: int

    @classmethod
    def from_environment(cls) -> Parallel:
        """Set by ``accelerate launch`` (and torchrun) for each process."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        return cls(rank, world, int(os.environ.get("LOCAL_RANK", str(rank))))

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def run_generation(options: dict) -> str:
    overrides = {key: options.get(key) for key in OVERRIDE_KEYS}
    overrides["input"] = options.get("input_mode")
    settings = resolve_settings(options["model"], overrides)
    parallel = Parallel.from_environment()
    out = Path(options["out"])
    _refuse_existing(out, options)
    from .prompting import template_from

    template = template_from(settings.template)
    examples = _load_examples(options)
    order = [example.id for example in examples]
    header = {"header": True, "settings": settings.as_dict(), "data": _data_description(options, len(examples))}
    done_before = {record["id"] for record in read_run(out)[1]} if options.get("resume") else set()
    mine = [example for example in examples[parallel.rank :: parallel.world] if example.id not in done_before]

    if is_baseline(settings.model):
        runner = _baseline_runner(settings, options)
    else:
        runner = _model_runner(settings, options, template, parallel, is_preset=find_preset(settings.model) is not None)
    sources = runner.sources(mine)

    runner.check(sources)
    target = shard_path(out, parallel.rank, parallel.world) if parallel.world > 1 else out
    _done_marker(target).unlink(missing_ok=True)  # a marker left by a killed run
    resume, overwrite = bool(options.get("resume")), bool(options.get("overwrite"))
    with RunWriter(target, header, resume=resume, overwrite=overwrite) as writer:
        pending = [source for source in sources if source.example.id not in writer.done]
        progress = Progress(
            len(pending), _show_progress(options), label=f"[{parallel.rank}] " if parallel.world > 1 else ""
        )
        emit = _emitter(writer, settings, progress)
        started = time.perf_counter()
        runner.run(pending, emit)
        progress.close()
        elapsed = time.perf_counter() - started
    if parallel.world > 1:
        shards = [shard_path(out, rank, parallel.world) for rank in range(parallel.world)]
        _wait_for_everyone(target, shards, uses_torch=not is_baseline(settings.model))
        if not parallel.is_main:
            return f"process {parallel.rank}: {len(pending)} examples -> {target}"
        records = finalize(out, header, order, shards, keep_existing=not overwrite)
        for shard in shards:
            _done_marker(shard).unlink(missing_ok=True)
    else:
        records = finalize(out, header, order)
    if options.get("csv_path"):
        write_csv(Path(options["csv_path"]), records, {s.example.id: s.transcript for s in runner.sources(examples)})
    return f"{len(records)} of {len(examples)} examples in {out} ({len(pending)} new, {elapsed:.1f} s)"


def _refuse_existing(out: Path, options: dict) -> None:
    if out.exists() and out.stat().st_size > 0 and not (options.get("resume") or options.get("overwrite")):
        raise InputError(f"{out} already exists: pass --resume to continue it or --overwrite to replace it")
    if options.get("resume") and options.get("overwrite"):
        raise InputError("--resume and --overwrite exclude each other")


def _load_examples(options: dict) -> list:
    from ..data import load_examples

    examples = list(
        load_examples(options.get("data_path"), split=options.get("split", "test"), domain=options.get("domain"))
    )
    if options.get("limit"):
        examples = examples[: options["limit"]]
    if not examples:
        raise InputError(f"no examples for split {options.get('split')!r} and domain {options.get('domain')!r}")
    return examples


def _data_description(options: dict, count: int) -> dict:
    return {
        "path": options.get("data_path"),
        "split": options.get("split"),
        "domain": options.get("domain"),
        "limit": options.get("limit"),
        "examples": count,
    }


def _show_progress(options: dict) -> bool:
    flag = options.get("progress")
    return sys.stderr.isatty() if flag is None else flag


def _emitter(writer: RunWriter, settings: Settings, progress: Progress):
    def emit(finished) -> None:
        example = finished.source.example
        record = {
            "id": example.id,
            "meeting": example.meeting,
            "domain": example.domain,
            "split": example.split,
            "query_type": example.query_type,
            "query": example.query,
            "references": list(example.references),
            "prediction": finished.prediction,
            "model": settings.model,
            "strategy": settings.strategy,
            "n_input_tokens": finished.n_input_tokens,
            "truncated": finished.truncated,
            "seconds": round(finished.seconds, 4),
        }
        if finished.error:
            record["error"] = finished.error
            sys.stderr.write(f"qmsum-fast: warning: {example.id}: {finished.error}\n")
        writer.write(record)
        progress.update(1, finished.new_tokens)

    return emit


def _wait_for_everyone(target: Path, shards: list[Path], uses_torch: bool) -> None:
    """Until every process has finished its shard. Model runs use the
    torch.distributed barrier that ``accelerate launch`` sets up; extractive
    baselines, which never load torch, leave a marker file per shard and the
    main process waits for all of them (a process that dies takes the whole
    launch down, so this cannot hang)."""
    if uses_torch:
        from accelerate import PartialState

        PartialState().wait_for_everyone()
        return
    _done_marker(target).write_text("done\n")
    while not all(_done_marker(shard).exists() for shard in shards):
        time.sleep(SHARD_WAIT_SECONDS)


def _done_marker(shard: Path) -> Path:
    return shard.with_name(shard.name + ".done")


class _BaselineRunner:
    def __init__(self, settings: Settings, options: dict, predict, prepare, locate) -> None:
        self.settings, self.options = settings, options
        self.predict, self.prepare, self.locate = predict, prepare, locate

    def sources(self, examples):
        from .inputs import build_sources

        return build_sources(examples, self.settings.input, self.prepare, self.locate)

    def check(self, sources) -> None:
        pass

    def run(self, sources, emit) -> None:
        from .strategies import run_extractive

        run_extractive(sources, self.predict, emit)


def _baseline_runner(settings: Settings, options: dict) -> _BaselineRunner:
    """Extractive baselines never import torch."""
    from .. import baselines
    from ..stats import TokenCounter
    from .inputs import load_locator, prepare_function

    predictor_options = {
        "unit": options.get("unit"),
        "budget": options.get("budget"),
        "seed": settings.seed,
    }
    predict = baselines.make_predictor(settings.model, {k: v for k, v in predictor_options.items() if v is not None})
    locate = None
    if settings.input == "locator":
        if not options.get("budget"):
            raise InputError("--input locator with a baseline needs --budget (tokens to select)")
        locate = load_locator(settings.locate_method, options["budget"], TokenCounter.load(None))
    return _BaselineRunner(settings, options, predict, prepare_function(settings.preprocess), locate)


class _ModelRunner:
    def __init__(self, settings, options, loaded, engine, builder, batcher, prepare, locate, counter) -> None:
        self.settings, self.options = settings, options
        self.loaded, self.engine, self.builder, self.batcher = loaded, engine, builder, batcher
        self.prepare, self.locate, self.counter = prepare, locate, counter

    def sources(self, examples):
        from .inputs import build_sources

        return build_sources(examples, self.settings.input, self.prepare, self.locate)

    def check(self, sources) -> None:
        """Refuses a budget that the prompt alone fills, before anything is written."""
        if self.builder.budget is None:
            return
        if self.settings.strategy == "map-reduce":
            self.builder.room(self.settings.map_instruction)
        else:
            for source in sources:
                self.builder.room(source.query)

    def run(self, sources, emit) -> None:
        from .prompting import PromptBuilder
        from .strategies import MapReduce, run_truncate

        if self.settings.strategy == "map-reduce":
            MapReduce(
                map_builder=self.builder,
                reduce_builder=PromptBuilder(self.loaded.tokenizer, self.builder.template, None),
                map_instruction=self.settings.map_instruction,
                reduce_tokens=self.settings.reduce_tokens,
                counter=self.counter,
                prepare=self.prepare,
                batcher=self.batcher,
                overlap=self.settings.chunk_overlap,
            ).run(sources, emit)
        else:
            run_truncate(sources, self.builder, self.batcher, emit)


def _model_runner(settings: Settings, options: dict, template, parallel: Parallel, is_preset: bool) -> _ModelRunner:
    import torch

    from ..stats import TokenCounter
    from .batching import Batcher, start_batch_size
    from .engine import Engine
    from .inputs import load_locator, prepare_function
    from .models import LoadOptions, load_model, parse_max_memory, resolve_device
    from .prompting import PromptBuilder

    if settings.strategy == "map-reduce" and settings.max_input_tokens is None:
        raise InputError("--strategy map-reduce needs --max-input-tokens (the window of one chunk prompt)")
    device = options.get("device") or "auto"
    if parallel.world > 1 and device == "auto" and torch.cuda.is_available():
        device = f"cuda:{parallel.local_rank}"
    device = resolve_device(device)
    loaded = load_model(
        LoadOptions(
            path=settings.model_path or settings.model,
            device=device,
            dtype=options.get("dtype") or "auto",
            device_map=options.get("device_map") if parallel.world == 1 else None,
            max_memory=parse_max_memory(options.get("max_memory")),
            offload_folder=options.get("offload_folder"),
            attention=options.get("attention") or "auto",
            trust_remote_code=settings.trust_remote_code,
            config_overrides=settings.config_overrides,
            adapter=settings.adapter,
        )
    )
    torch.manual_seed(settings.seed)
    budget = settings.max_input_tokens
    if budget is None and not is_preset:
        budget = _model_budget(loaded, settings)
    builder = PromptBuilder(loaded.tokenizer, template, budget)
    counter = TokenCounter.from_json(loaded.tokenizer.backend_tokenizer.to_str(), source=str(settings.model_path))
    locate = None
    if settings.input == "locator":
        locate = _bound_locator(settings, options, builder, counter, load_locator)
    engine = Engine(loaded, settings)
    batcher = Batcher(
        engine.generate, start_batch_size(options.get("batch_size", "auto"), 10**9, device.startswith("cuda"))
    )
    return _ModelRunner(
        settings, options, loaded, engine, builder, batcher, prepare_function(settings.preprocess), locate, counter
    )


def _model_budget(loaded, settings: Settings) -> int | None:
    """A generic model's input budget: its context minus the tokens it generates."""
    limit = loaded.max_positions()
    if limit is None or loaded.is_seq2seq:
        return limit
    new_tokens = settings.generation.get("max_new_tokens") or settings.generation.get("max_length") or 0
    return max(1, limit - new_tokens)


def _bound_locator(settings, options, builder, counter, load_locator):
    """The locator selects as many tokens as fit beside each query's prompt."""
    fixed = options.get("budget")
    by_budget: dict = {}

    def locate(example):
        budget = fixed or builder.room(example.query)
        if budget is None:
            raise InputError("--input locator needs --budget or --max-input-tokens")
        if budget not in by_budget:
            by_budget[budget] = load_locator(settings.locate_method, budget, counter)
        return by_budget[budget](example)

    return locate

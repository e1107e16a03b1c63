"""A generation run, end to end: configuration, data, model, strategy, output.

Everything that can be refused (the configuration, the output files, a resume
whose configuration differs, the model, budgets) is checked before a record
is written, and the run file is created only with its first record, so a
refused run leaves what was already on disk as it was. Under ``accelerate
launch`` each process takes whole meetings (balanced by their number of
queries), writes its own shard, and the main process merges the shards in
data order when all have finished. A meeting's queries stay in one process
so they share its prompt prefix (gen/local/reuse.py); a resumed run gives each
meeting to the same process as before, and its remaining queries run
together.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import InputError, Interrupted
from ..files import check_output
from .config import RunConfig, Runtime
from .inputs import PromptSources
from .output import (
    Plan,
    RunWriter,
    continue_scratch,
    finalize,
    held_limit,
    partial_path,
    plan_output,
    shard_path,
    write_csv,
)
from .progress import Progress

SHARD_WAIT_SECONDS = 0.2


@dataclass(frozen=True)
class Outputs:
    """The files a run writes and what to do with an existing run file."""

    out: Path
    csv: Path | None = None
    resume: bool = False
    overwrite: bool = False


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


class Runner(Protocol):
    def sources(self, examples: Sequence[Any]) -> list[Any]: ...

    def check(self, sources: Sequence[Any]) -> None: ...

    def run(self, sources: Sequence[Any], emit: Callable[[Any], None]) -> None: ...


def device_for(runtime: Runtime, parallel: Parallel | None = None) -> str:
    """The device a model run uses: under data parallelism, each process its own GPU."""
    from .local.models import resolve_device

    parallel = parallel or Parallel.from_environment()
    device = runtime.device
    if parallel.world > 1 and device == "auto":
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{parallel.local_rank}"
    return resolve_device(device)


def dtype_name(dtype: str, device: str) -> str:
    """``auto`` resolved for ``device``: bf16 (or fp16) on GPU, fp32 on CPU."""
    import torch

    from .local.models import resolve_dtype

    names = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}
    return names[resolve_dtype(dtype, device)]


def run_generation(config: RunConfig, runtime: Runtime, outputs: Outputs) -> str:
    """Runs ``config`` and returns the one-line summary."""
    parallel = Parallel.from_environment()
    selection = _load_selection(config)
    order = [example.id for example in selection]
    plan = plan_output(outputs.out, config, outputs.resume, outputs.overwrite, order)
    if outputs.csv is not None:
        check_output(outputs.csv, outputs.overwrite)
    examples = selection[: config.limit] if config.limit else selection
    header = _header(config, runtime)
    runner: Runner = _baseline_runner(config) if config.is_baseline else _generator(config, runtime, parallel)
    target = plan if parallel.world == 1 else continue_scratch(plan.out, _shard(plan, parallel), config, order)
    done = plan.done | target.done
    mine = [example for example in meetings_of_rank(examples, parallel) if example.id not in done]
    sources = runner.sources(mine)
    runner.check(sources)
    started = time.perf_counter()
    written = _write_records(runner, sources, target, header, config, runtime, parallel)
    elapsed = time.perf_counter() - started
    shards = [_shard(plan, parallel, rank) for rank in range(parallel.world)] if parallel.world > 1 else []
    if shards:
        _wait_for_everyone(target.path, shards, uses_torch=not config.is_baseline)
        if not parallel.is_main:
            return f"process {parallel.rank}: {written} examples -> {target.path}"
    records = finalize(plan.out, header, order, [plan.path, *shards])
    for shard in shards:
        _done_marker(shard).unlink(missing_ok=True)
    if outputs.csv is not None:
        held = {record["id"] for record in records}
        sources = runner.sources([example for example in selection if example.id in held])
        write_csv(outputs.csv, records, {source.example.id: source.transcript for source in sources})
    # The selection the file holds: a resume with a smaller --limit keeps what was done before.
    claimed = held_limit([order.index(records[-1]["id"])] if records else [], len(order)) or len(order)
    return (
        f"{len(records)} of {claimed} examples in {plan.out} "
        f"({written} new, {elapsed:.1f} s; preprocess {config.preprocess})"
    )


def meetings_of_rank(examples: Sequence[Any], parallel: Parallel) -> list:
    """This process's examples: whole meetings, in data order.

    Meetings go, most queries first, to the process with the fewest examples so
    far (the lowest rank on ties), so the split is deterministic, balanced by
    count, and the same for a resumed run of the same selection: the records a
    process kept in its shard are of its own meetings.
    """
    from ..data import indexes_by_meeting

    if parallel.world == 1:
        return list(examples)
    loads = [0] * parallel.world
    mine: list[int] = []
    # sorted() is stable: meetings of equal size go in data order
    for group in sorted(indexes_by_meeting(examples), key=lambda group: -len(group)):
        rank = min(range(parallel.world), key=lambda rank: (loads[rank], rank))
        loads[rank] += len(group)
        if rank == parallel.rank:
            mine += group
    return [examples[index] for index in sorted(mine)]


def _shard(plan: Plan, parallel: Parallel, rank: int | None = None) -> Path:
    return shard_path(plan.path, parallel.rank if rank is None else rank, parallel.world)


def _header(config: RunConfig, runtime: Runtime) -> dict:
    """The run's header; when the run ends, :func:`finalize` sets its limit to what the file holds."""
    from .. import __version__

    return {"header": True, "qmsum_fast": __version__, "config": config.as_dict(), "runtime": runtime.as_dict()}


def _write_records(runner, sources, target: Plan, header: dict, config, runtime, parallel) -> int:
    """Runs the examples, writing each record as it finishes; returns how many."""
    show = sys.stderr.isatty() if runtime.progress is None else runtime.progress
    progress = Progress(len(sources), show, label=f"[{parallel.rank}] " if parallel.world > 1 else "")
    if hasattr(runner, "attach_progress"):  # a served run shows requests in flight, retries, req/s
        runner.attach_progress(progress)
    with RunWriter(target, header) as writer:
        try:
            runner.run(sources, _emitter(writer, config, progress))
        except KeyboardInterrupt:
            progress.close()
            raise Interrupted(f"interrupted: {_kept(writer, target)}") from None
        except InputError as exc:
            progress.close()
            raise InputError(f"{exc}; {_kept(writer, target)}" if writer.written else str(exc)) from None
        progress.close()
        return writer.written


def _kept(writer: RunWriter, target: Plan) -> str:
    """What a stopped run leaves behind, and how to continue it."""
    if not writer.written and not target.done:
        return "nothing was written"
    count = len(writer.done)
    if target.path == partial_path(target.out):
        how = "run the same command again to continue it"
    else:
        how = "add --resume to continue"
    return f"{count} records kept in {target.path}; {how}"


def _load_selection(config: RunConfig) -> list:
    """The examples of the run's split and domain, any --limit aside."""
    from ..data import load_examples

    data = None if config.data == "bundled" else config.data
    return load_examples(data, split=config.split, domain=config.domain)


def _emitter(writer: RunWriter, config: RunConfig, progress: Progress):
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
            "model": config.model,
            "strategy": config.strategy,
            "n_input_tokens": finished.n_input_tokens,
            "truncated": finished.truncated,
            "seconds": round(finished.seconds, 4),
        }
        if example.source_id is not None:  # the id a peer's file gave it: `export` writes it for the leaderboard
            record["source_id"] = example.source_id
        record.update(getattr(finished, "extra", {}))  # a served run's usage and finish_reason
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
    def __init__(self, config: RunConfig, predict, prepare, locate) -> None:
        self.config = config
        self.predict, self.prepare, self.locate = predict, prepare, locate

    def sources(self, examples):
        from .inputs import build_sources

        return build_sources(examples, self.config.input, self.prepare, self.locate)

    def check(self, sources) -> None:
        pass

    def run(self, sources, emit) -> None:
        from .strategies import run_extractive

        run_extractive(sources, self.predict, emit)


def _baseline_runner(config: RunConfig) -> _BaselineRunner:
    """Extractive baselines never import torch."""
    from .. import baselines
    from ..stats import TokenCounter
    from .inputs import load_locator, prepare_function

    predict = baselines.make_predictor(config.model, dict(config.baseline or {}))
    locate = None
    if config.input == "locator":
        assert config.locate_method and config.locate_window is not None and config.locate_budget is not None
        counter = TokenCounter.load(None)
        locate = load_locator(config.locate_method, config.locate_window, config.locate_budget, counter)
    return _BaselineRunner(config, predict, prepare_function(config.preprocess), locate)


class _ModelRunner(PromptSources):
    def __init__(self, config: RunConfig, loaded, builder, batcher, prepare, locate, counter, reuse=None) -> None:
        self.config = config
        self.loaded, self.builder, self.batcher = loaded, builder, batcher
        self.prepare, self.locate, self.counter = prepare, locate, counter
        self.reuse = reuse  # reuse.PrefixReuse for the truncate strategy

    def run(self, sources, emit) -> None:
        from .prompting import PromptBuilder
        from .strategies import MapReduce, run_truncate

        if self.config.strategy != "map-reduce":
            run_truncate(sources, self.builder, self.batcher, emit, self.reuse)
            return
        assert self.config.map_instruction is not None and self.config.reduce_tokens is not None
        MapReduce(
            map_builder=self.builder,
            reduce_builder=PromptBuilder(self.loaded.tokenizer, self.builder.template, None),
            map_instruction=self.config.map_instruction,
            reduce_tokens=self.config.reduce_tokens,
            counter=self.counter,
            prepare=self.prepare,
            batcher=self.batcher,
            overlap=self.config.chunk_overlap,
            seed=self.config.seed,
            reuse=self.config.reuse,
            sampling=bool(self.config.generation.get("do_sample")),
        ).run(sources, emit)


def _generator(config: RunConfig, runtime: Runtime, parallel: Parallel) -> Runner:
    """The model in this process, or behind an OpenAI-compatible server (--engine openai)."""
    if config.served is not None:
        from .served.runner import served_runner

        return served_runner(config, runtime)
    return _model_runner(config, runtime, parallel)


def _model_runner(config: RunConfig, runtime: Runtime, parallel: Parallel) -> _ModelRunner:
    import torch

    from ..stats import TokenCounter
    from ..templates import parse_template
    from .inputs import prepare_function
    from .local.batching import Batcher, start_batch_size
    from .local.engine import Engine
    from .local.models import LoadOptions, load_model, parse_max_memory
    from .local.reuse import prefix_reuse
    from .prompting import PromptBuilder

    device = device_for(runtime, parallel)
    loaded = load_model(
        LoadOptions(
            path=config.model_path or config.model,
            device=device,
            dtype=config.dtype or "auto",
            device_map=runtime.device_map if parallel.world == 1 else None,
            max_memory=parse_max_memory(runtime.max_memory),
            offload_folder=runtime.offload_folder,
            attention=config.attention or "auto",
            trust_remote_code=config.trust_remote_code,
            config_overrides=dict(config.config_overrides),
            adapter=config.adapter,
            adapter_len=config.adapter_len,
        )
    )
    torch.manual_seed(config.seed)
    budget = config.max_input_tokens
    if budget is None and config.kind == "model":
        budget = _model_budget(loaded, config)
    builder = PromptBuilder(loaded.tokenizer, parse_template(config.template or "{transcript}"), budget)
    counter = TokenCounter.from_json(loaded.tokenizer.backend_tokenizer.to_str(), source=str(config.model_path))
    locate = _bound_locator(config, builder, counter) if config.input == "locator" else None
    engine = Engine(loaded, config)
    batcher = Batcher(engine.generate, start_batch_size(runtime.batch_size, 10**9, device.startswith("cuda")))
    reuse = prefix_reuse(engine, batcher, config)
    return _ModelRunner(config, loaded, builder, batcher, prepare_function(config.preprocess), locate, counter, reuse)


def _model_budget(loaded, config: RunConfig) -> int | None:
    """A generic model's input budget: its context minus the tokens it generates."""
    limit = loaded.max_positions()
    if limit is None or loaded.is_seq2seq:
        return limit
    new_tokens = config.generation.get("max_new_tokens") or config.generation.get("max_length") or 0
    return max(1, limit - new_tokens)


def _bound_locator(config: RunConfig, builder, counter):
    """The locator selects as many tokens as fit beside each query's prompt
    (or ``--locate-budget`` tokens)."""
    from .inputs import load_locator

    assert config.locate_method is not None and config.locate_window is not None
    method, window = config.locate_method, config.locate_window
    by_budget: dict = {}

    def locate(example):
        budget = config.locate_budget or builder.room(example.query)
        if budget is None:
            raise InputError("--input locator needs --locate-budget or --max-input-tokens")
        if budget not in by_budget:
            by_budget[budget] = load_locator(method, window, budget, counter)
        return by_budget[budget](example)

    return locate

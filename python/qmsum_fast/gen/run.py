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

import contextlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Interrupted
from ..files import check_output
from .config import LocalModel, RunConfig, Runtime, ServedModel
from .engine import Emit, Engine, Finished
from .extractive import extractive_engine
from .inputs import Source, fed_fields
from .output import (
    Plan,
    RunWriter,
    continue_scratch,
    finalize,
    held_limit,
    lock_run,
    partial_path,
    plan_output,
    shard_path,
    write_csv,
)
from .parallel import Parallel, spread
from .progress import Progress

SHARD_WAIT_SECONDS = 0.2


@dataclass(frozen=True)
class Outputs:
    """The files a run writes and what to do with an existing run file."""

    out: Path
    csv: Path | None = None
    resume: bool = False
    overwrite: bool = False


def run_generation(config: RunConfig, runtime: Runtime, outputs: Outputs) -> str:
    """Runs ``config`` and returns the one-line summary. The main process holds
    the run file's lock throughout: a second run on it is refused at once."""
    with lock_run(outputs.out) if Parallel.from_environment().is_main else contextlib.nullcontext():
        return _run_generation(config, runtime, outputs)


def _run_generation(config: RunConfig, runtime: Runtime, outputs: Outputs) -> str:
    parallel = Parallel.from_environment()
    selection = _load_selection(config)
    order = [example.id for example in selection]
    plan = plan_output(outputs.out, config, outputs.resume, outputs.overwrite, order)
    if outputs.csv is not None:  # derived from the run: a resumed run rewrites it
        check_output(outputs.csv, outputs.overwrite or outputs.resume)
    examples = selection[: config.limit] if config.limit else selection
    header = _header(config, runtime)
    engine = _engine(config, runtime, parallel)
    target = plan if parallel.world == 1 else continue_scratch(plan.out, _shard(plan, parallel), config, order)
    done = plan.done | target.done
    mine = [example for example in meetings_of_rank(examples, parallel) if example.id not in done]
    sources = engine.sources(mine)
    engine.check(sources)
    started = time.perf_counter()
    written = _write_records(engine, sources, target, header, config, runtime, parallel)
    elapsed = time.perf_counter() - started
    shards = [_shard(plan, parallel, rank) for rank in range(parallel.world)] if parallel.world > 1 else []
    if shards:
        _wait_for_everyone(target.path, shards, uses_torch=engine.uses_torch)
        if not parallel.is_main:
            return f"process {parallel.rank}: {written} examples -> {target.path}"
    records = finalize(plan.out, header, order, [plan.path, *shards])
    for shard in shards:
        _done_marker(shard).unlink(missing_ok=True)
    if outputs.csv is not None:
        held = {record["id"] for record in records}
        sources = engine.sources([example for example in selection if example.id in held])
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
    groups = indexes_by_meeting(examples)
    ranks = spread({number: len(group) for number, group in enumerate(groups)}, parallel.world)
    mine = [index for number, group in enumerate(groups) if ranks[number] == parallel.rank for index in group]
    return [examples[index] for index in sorted(mine)]


def _shard(plan: Plan, parallel: Parallel, rank: int | None = None) -> Path:
    return shard_path(plan.path, parallel.rank if rank is None else rank, parallel.world)


def _header(config: RunConfig, runtime: Runtime) -> dict:
    """The run's header; when the run ends, :func:`finalize` sets its limit to what the file holds."""
    from .._core import __version__

    return {"header": True, "qmsum_fast": __version__, "config": config.as_dict(), "runtime": runtime.as_dict()}


def _engine(config: RunConfig, runtime: Runtime, parallel: Parallel) -> Engine:
    """The engine of the run's configuration. Only the room chosen is imported:
    extractive baselines never load torch, served runs never load a model."""
    if isinstance(config.engine, ServedModel):
        from .served.runner import served_engine

        return served_engine(config, runtime)
    if isinstance(config.engine, LocalModel):
        from .local.runner import local_engine

        return local_engine(config, runtime, parallel)
    return extractive_engine(config)


def _write_records(
    engine: Engine,
    sources: Sequence[Source],
    target: Plan,
    header: dict,
    config: RunConfig,
    runtime: Runtime,
    parallel: Parallel,
) -> int:
    """Runs the examples, writing each record as it finishes; returns how many."""
    show = sys.stderr.isatty() if runtime.progress is None else runtime.progress
    progress = Progress(len(sources), show, label=f"[{parallel.rank}] " if parallel.world > 1 else "")
    engine.watch(progress)
    with RunWriter(target, header) as writer:
        try:
            engine.run(sources, _emitter(writer, config, progress))
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
    count = writer.kept()
    if not count:
        return "nothing was written"
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


def _emitter(writer: RunWriter, config: RunConfig, progress: Progress) -> Emit:
    def emit(finished: Finished) -> None:
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
        record.update(fed_fields(finished.source, config.input))
        record.update(finished.extra)  # prompt-token accounting, map-reduce's chunks, a served run's usage
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

"""The run file: JSONL records written so that nothing is ever lost.

Line 1 is a header record ``{"header": true, "config": ..., "runtime": ...}``
(see :mod:`qmsum_fast.gen.config`); every other line is one example's record,
flushed and fsynced as soon as the example finishes. The file is created with
its first record, so a run that fails before that leaves no file behind.

:func:`plan_output` is the one place that decides whether an existing file
may be written:

- a new ``--out``: records go straight into it;
- an existing one: refused, unless ``--resume`` (its header must hold the same
  configuration; the run continues it, skipping the ids done, and a line torn
  by a kill is redone) or ``--overwrite``;
- ``--overwrite``: records go to a partial file beside it,
  ``.OUT.qmsum-fast-partial``, and the old run stays intact until the new one
  is complete, then the complete run replaces it. A killed overwrite leaves
  the old run untouched, and the same command again continues the partial run
  (when its configuration matches). A file at that name that is not a
  qmsum-fast run is refused, never replaced.

A run holds an exclusive lock on ``OUT`` for its whole life
(:func:`lock_run`): a second ``generate`` on the same file refuses at once.

At the end :func:`finalize` rewrites the run in data order, each id once,
through a temporary file and an atomic rename. Under data parallelism each
process writes its own shard file, which the main process merges the same way.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..data.runs import RunFile, read_run, record_problem
from ..errors import InputError
from ..files import MARK, atomic_open, check_output, make_folder, refuse_special, write_error
from .config import RunConfig


@dataclass
class Plan:
    """Where a run writes its records, and what it continues."""

    out: Path  # the run file the user named
    path: Path  # where records are appended now: out, or its partial file
    done: set[str] = field(default_factory=set)  # ids already in path
    append: bool = False  # continue path (else it is replaced at the first record)
    # Lines of path holding records that are not a finished example's (no prediction...): redone, and
    # dropped from the file when the run writes its first record.
    redo_lines: list[int] = field(default_factory=list)


def partial_path(out: Path) -> Path:
    """Where ``--overwrite`` writes the new run until it is complete."""
    return out.with_name(f".{out.name}.{MARK}-partial")


def shard_path(path: Path, rank: int, world: int) -> Path:
    """One process's records under data parallelism."""
    return path.with_name(f".{path.name}.{MARK}-shard{rank}-of-{world}")


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.{MARK}-lock")


@contextlib.contextmanager
def lock_run(out: Path) -> Iterator[None]:
    """Holds an exclusive lock on the run file ``out`` while the block runs; a
    second process asking for it is refused at once. The lock is ``flock`` on a
    lock file beside ``out``: the kernel releases it when its process ends, a
    SIGKILL included, so a stale lock never blocks a later run."""
    refuse_special(out)  # /dev/full: refused before anything is made beside it
    path = lock_path(out)
    make_folder(path.parent)
    refuse_special(path)
    handle = _take_lock(out, path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held; one that opened it just before finds it unlinked and retries
        handle.close()


def _take_lock(out: Path, path: Path) -> IO[str]:
    """The open lock file, locked; refused at once when another process holds it."""
    while True:
        try:
            handle = open(path, "a")  # noqa: SIM115 - held for the run's life
        except OSError as exc:
            raise write_error(path, exc) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise InputError(
                    f"{out}: another qmsum-fast process is writing it (lock {path}); wait for it to end"
                ) from None
            raise write_error(path, exc) from None
        try:
            same = os.fstat(handle.fileno()).st_ino == os.stat(path).st_ino
        except OSError:
            same = False
        if same:
            return handle
        handle.close()  # the holder removed that file as it ended: lock the new one


def plan_output(
    out: Path, config: RunConfig, resume: bool, overwrite: bool, selection: Sequence[str] | None = None
) -> Plan:
    """Decides how a run may write ``out``; refuses (touching nothing) when it may not.
    ``selection``: the ids of the run's split and domain in data order (any
    --limit aside); a resumed file holding a record of another id is refused."""
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other")
    check_output(out, overwrite=True)
    refuse_special(partial_path(out))
    exists = out.exists() and out.stat().st_size > 0
    if overwrite:
        return continue_scratch(out, partial_path(out), config, selection)
    if not exists:
        return Plan(out, out)
    if not resume:
        raise InputError(f"{out} already exists: pass --resume to continue it or --overwrite to replace it")
    previous = read_run(out, drop_torn=True)
    _check_resumable(out, previous, config)
    foreign = _foreign(previous, selection)
    if foreign is not None:
        raise InputError(f"{out}: cannot resume: {foreign} (use another --out or --overwrite)")
    done, redo = _finished(previous)
    return Plan(out, out, done, append=True, redo_lines=redo)


def continue_scratch(out: Path, path: Path, config: RunConfig, selection: Sequence[str] | None = None) -> Plan:
    """A scratch file of ours (a partial overwrite, a shard) is continued when it
    holds this configuration's records, else started afresh."""
    try:
        found = read_run(path, drop_torn=True, missing_ok=True)
    except InputError:
        found = None
    if path.exists() and path.stat().st_size and (found is None or found.header is None):
        raise InputError(f"{path}: not a partial run of qmsum-fast: move it away (it is never replaced)")
    if found is None or found.header is None or config.differences(found.config) or _foreign(found, selection):
        return Plan(out, path)
    done, redo = _finished(found)
    return Plan(out, path, done, append=True, redo_lines=redo)


def _finished(run: RunFile) -> tuple[set[str], list[int]]:
    """The ids of a run's finished examples, and the lines of records that are
    not one (no prediction, references of the wrong type): those are redone."""
    done: set[str] = set()
    redo: list[int] = []
    for number, record in zip(run.lines, run.records):
        if record_problem(record) is None:
            done.add(record["id"])
        else:
            redo.append(number)
    return done, redo


def _foreign(run: RunFile, selection: Sequence[str] | None) -> str | None:
    """Names the first record of an id outside the run's selection (another
    split or domain, other data): a run file holds one run's records."""
    if selection is None:
        return None
    ids = set(selection)
    for number, record in zip(run.lines, run.records):
        example_id = record.get("id")
        if isinstance(example_id, str) and example_id not in ids:
            where = f"split {run.config.get('split')!r}, domain {run.config.get('domain')!r}"
            return f"line {number}: id {example_id!r} is not one of this run's examples ({where})"
    return None


def _check_resumable(out: Path, previous: RunFile, config: RunConfig) -> None:
    if previous.header is None or not previous.config:
        raise InputError(f"{out}: cannot resume: it has no qmsum-fast run header (use another --out or --overwrite)")
    differences = config.differences(previous.config)
    if differences:
        raise InputError(f"{out}: cannot resume: {'; '.join(differences)} (use another --out or --overwrite)")


class RunWriter:
    """Appends records to a run file, one durable line per example. The file is
    opened at the first record: until then nothing on disk changes."""

    def __init__(self, plan: Plan, header: dict) -> None:
        self.plan = plan
        self.header = header
        self.done: set[str] = set(plan.done)
        self.written = 0
        self._handle: IO[str] | None = None

    def write(self, record: dict) -> None:
        if self._handle is None:
            self._handle = self._open(record)
        else:
            self._append(record)
        self.done.add(record["id"])
        self.written += 1

    def _open(self, first: dict) -> IO[str]:
        """The file opened for appending, ``first`` in it. A new file gets its
        header and first record through a temporary file renamed into place,
        so a failure (a full disk) leaves no file, not an empty one."""
        path = self.plan.path
        make_folder(path.parent)
        try:
            if self.plan.append and path.exists():
                cut_torn_tail(path)
                _drop_lines(path, self.plan.redo_lines)
                handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 - held until close()
                self._handle = handle
                self._append(first)
                return handle
            refuse_special(path)
            with atomic_open(path, "w", rewrites=True, encoding="utf-8") as start:  # our own file
                start.write(_line(self.header) + _line(first))
            return open(path, "a", encoding="utf-8")
        except OSError as exc:
            raise write_error(path, exc) from None

    def kept(self) -> int:
        """How many records the file holds now, read from the file itself (a
        Ctrl-C can land between a record's fsync and the counting of it)."""
        try:
            found = read_run(self.plan.path, drop_torn=True, missing_ok=True)
        except InputError:
            return len(self.done) if self.written else len(self.plan.done)
        if self.plan.append or found.header == json.loads(json.dumps(self.header)):
            return len(found.records)
        return 0  # still the stale file that this run replaces at its first record

    def _append(self, record: dict) -> None:
        assert self._handle is not None
        try:
            self._handle.write(_line(record))
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise write_error(self.plan.path, exc) from None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, allow_nan=False) + "\n"


def cut_torn_tail(path: Path) -> None:
    """Cuts a last line left without its newline by a killed run."""
    with open(path, "rb+") as handle:
        data = handle.read()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())


def _drop_lines(path: Path, numbers: Sequence[int]) -> None:
    """Rewrites ``path`` without the given lines (1-based), through a temporary file."""
    if not numbers:
        return
    drop = set(numbers)
    lines = path.read_bytes().split(b"\n")
    with atomic_open(path, "wb", rewrites=True) as handle:  # our own file
        handle.write(b"\n".join(line for number, line in enumerate(lines, start=1) if number not in drop))


def finalize(out: Path, header: dict, order: Sequence[str], sources: Iterable[Path]) -> list[dict]:
    """Writes ``out`` from the finished records of the ``sources`` files
    (``out`` itself among them when a run continued it) whose ids are in
    ``order`` (the run's split and domain, any --limit aside), each id once, in
    data order, under ``header`` with the ``limit`` the file holds (see
    :func:`held_limit`); then removes the sources other than ``out``. Returns the records."""
    records: list[dict] = []
    sources = list(sources)
    for source in sources:
        records.extend(read_run(source, drop_torn=True, missing_ok=True).records)
    position = {example_id: index for index, example_id in enumerate(order)}
    unique: dict[str, dict] = {}
    for record in records:
        if record_problem(record) is None and record["id"] in position:
            unique.setdefault(record["id"], record)
    merged = sorted(unique.values(), key=lambda r: position[r["id"]])
    header = held_header(header, [position[r["id"]] for r in merged], len(order))
    with atomic_open(out, "w", rewrites=True, encoding="utf-8") as handle:
        for record in [header, *merged]:
            handle.write(_line(record))
    for source in sources:
        if source != out:
            source.unlink(missing_ok=True)
    return merged


def held_limit(positions: Sequence[int], selected: int) -> int | None:
    """The --limit that describes a run file holding the examples at
    ``positions`` of a selection of ``selected``: the first N examples up to the
    last one held, None when that is all of them."""
    last = max(positions, default=-1) + 1
    return None if last >= selected else max(last, 1)


def held_header(header: dict, positions: Sequence[int], selected: int) -> dict:
    """``header`` with the limit of what the file holds (a resumed run's
    header says what the file holds, not what one invocation asked for)."""
    config = header.get("config")
    if not isinstance(config, dict) or "limit" not in config:
        return header
    return {**header, "config": {**config, "limit": held_limit(positions, selected)}}


def write_csv(path: Path, records: Sequence[dict], inputs: dict[str, str]) -> None:
    """The original experiments' columns: instruction, input, output, summary."""
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction", "input", "output", "summary"])
        for record in records:
            writer.writerow(
                [record["query"], inputs.get(record["id"], ""), "\n".join(record["references"]), record["prediction"]]
            )

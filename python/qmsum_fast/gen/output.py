"""The run file: JSONL predictions, written so that nothing is ever lost.

Line 1 is a header record ``{"header": true, ...}`` with the run's settings;
every other line is one example's record, flushed and fsynced as soon as the
example finishes. ``resume`` reopens a file, drops a line torn by a crash,
and reports the ids already done. Under data parallelism each process writes
its own shard; the main process merges them in data order by writing a new
file and renaming it over the old one, so a crash mid-merge loses nothing.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InputError

RECORD_FIELDS = (
    "id",
    "meeting",
    "domain",
    "split",
    "query_type",
    "query",
    "references",
    "prediction",
    "model",
    "strategy",
    "n_input_tokens",
    "truncated",
    "seconds",
)
# Header settings that must agree for a resumed run to continue a file.
RESUME_KEYS = ("model", "model_path", "strategy", "template", "input", "preprocess", "max_input_tokens")


def shard_path(path: Path, rank: int, world: int) -> Path:
    return path.with_name(f"{path.name}.shard{rank}-of-{world}")


def read_run(path: Path) -> tuple[dict | None, list[dict]]:
    """The header and records of a run file (a torn last line is ignored)."""
    header, records = None, []
    if not path.exists():
        return None, []
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    # The text after the last newline is either empty or a line torn by a kill.
    for number, line in enumerate(lines[:-1], start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise InputError(f"{path}:{number}: not a JSON record") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: not a JSON object")
        if record.get("header"):
            header = header or record
        elif "id" not in record:
            raise InputError(f"{path}:{number}: record has no 'id' field")
        else:
            records.append(record)
    return header, records


class RunWriter:
    """Appends records to a run file, one durable line per example."""

    def __init__(self, path: Path, header: dict, resume: bool, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.done: set[str] = set()
        exists = self.path.exists() and self.path.stat().st_size > 0
        if exists and not (resume or overwrite):
            raise InputError(f"{self.path} already exists: pass --resume to continue it or --overwrite to replace it")
        if exists and resume:
            old_header, records = read_run(self.path)
            check_compatible(self.path, old_header, header)
            self.done = {record["id"] for record in records}
            _drop_torn_tail(self.path)
            write_header = old_header is None
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(b"")
            write_header = True
        self._handle = open(self.path, "a", encoding="utf-8")
        if write_header:
            self._append(header)

    def write(self, record: dict) -> None:
        self._append(record)
        self.done.add(record["id"])

    def _append(self, record: dict) -> None:
        self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_compatible(path: Path, old: dict | None, new: dict) -> None:
    if old is None:
        return
    old_settings, new_settings = old.get("settings", {}), new.get("settings", {})
    for key in RESUME_KEYS:
        if old_settings.get(key) != new_settings.get(key):
            raise InputError(
                f"{path}: cannot resume: {key} was {old_settings.get(key)!r}, "
                f"now {new_settings.get(key)!r} (use another --out)"
            )


def _drop_torn_tail(path: Path) -> None:
    """Cuts a last line left without its newline by a killed run."""
    with open(path, "rb+") as handle:
        data = handle.read()
        keep = data.rfind(b"\n") + 1
        if keep != len(data):
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())


def finalize(
    path: Path, header: dict, order: Sequence[str], extra: Iterable[Path] = (), keep_existing: bool = True
) -> list[dict]:
    """Rewrites ``path`` with the records of itself and ``extra`` shard files,
    each id once, in data order, via a temporary file and an atomic rename.
    The first run's header is kept when the file has one."""
    old_header, records = read_run(path) if keep_existing else (None, [])
    header = old_header or header
    for shard in extra:
        records.extend(read_run(shard)[1])
    position = {example_id: index for index, example_id in enumerate(order)}
    unique: dict[str, dict] = {}
    for record in records:
        unique.setdefault(record["id"], record)
    merged = sorted(unique.values(), key=lambda r: (position.get(r["id"], len(position)), r["id"]))
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        for record in [header, *merged]:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    for shard in extra:
        shard.unlink(missing_ok=True)
    return merged


def write_csv(path: Path, records: Sequence[dict], inputs: dict[str, str]) -> None:
    """The original experiments' columns: instruction, input, output, summary."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction", "input", "output", "summary"])
        for record in records:
            writer.writerow(
                [record["query"], inputs.get(record["id"], ""), "\n".join(record["references"]), record["prediction"]]
            )

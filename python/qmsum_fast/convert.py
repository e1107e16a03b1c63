"""Write QMSum examples in other formats: alpaca, SCROLLS, LongBench, upstream JSONL.

Each writer produces a file :func:`qmsum_fast.data.load_examples` reads back:

- ``alpaca``: a JSON list of ``{"instruction", "input", "output"}``, one entry
  per reference, laid out byte for byte like the original experiments' files
  (compact, ASCII only, ``/`` escaped, no final newline). It carries no ids, so
  reading it back names meetings by a hash of their transcript.
- ``scrolls``: JSONL rows ``{"id", "pid", "input", "output"}``, one row per
  reference (one row with ``output`` null for an example without any, as the
  public test splits have), ``input`` = query, blank line, transcript.
- ``longbench``: JSONL rows ``{"input", "context", "answers", "length",
  "dataset", "language", "all_classes", "_id"}``.
- ``jsonl``: one upstream meeting per line (the format of the bundled data), with
  ``meeting``, ``domain`` and ``split`` added; it keeps turns and spans.

``id`` and ``_id`` are the peer's id where the examples came from a peer's
file (``Example.source_id``), else the example id; ``pid`` likewise.

A name ending in ``.gz`` is written gzip-compressed. Output follows
:mod:`qmsum_fast.files`: an existing file is refused unless ``overwrite``, and
the file appears only once it is complete.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .data import Example, indexes_by_meeting, parse_example_id, plain_transcript
from .errors import InputError
from .files import atomic_open, check_output
from .preprocess import MODES as PREPROCESS_MODES
from .preprocess import Prepared, prepare

FORMATS = ("alpaca", "scrolls", "longbench", "jsonl")


def check_options(fmt: str, out: Path, preprocess: str = "none", overwrite: bool = False) -> Path:
    """Rejects a bad format, mode or output before any data is read; returns ``out`` as a Path."""
    if fmt not in FORMATS:
        raise InputError(f"--to: unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if preprocess not in PREPROCESS_MODES:
        raise InputError(f"--preprocess: unknown mode {preprocess!r} (choose from {', '.join(PREPROCESS_MODES)})")
    if fmt == "jsonl" and preprocess != "none":
        raise InputError("--to jsonl keeps turns as they are; use --preprocess none with it")
    return check_output(out, overwrite)


def convert(examples: Sequence[Example], fmt: str, out: Path, preprocess: str = "none", overwrite: bool = False) -> int:
    """Writes ``examples`` to ``out`` in ``fmt`` (atomically; an existing ``out`` is
    refused unless ``overwrite``); returns the number of records written."""
    out = check_options(fmt, out, preprocess, overwrite)
    if fmt == "jsonl":
        records = meeting_records(examples)
        _write(out, _jsonl(records))
        return len(records)
    texts = prepare(examples, preprocess)
    if fmt == "alpaca":
        _refuse_goldless(examples, fmt)
        records = alpaca_records(texts)
        _write(out, alpaca_json(records))
    else:
        records = (scrolls_records if fmt == "scrolls" else longbench_records)(examples, texts)
        _write(out, _jsonl(records))
    return len(records)


def alpaca_records(texts: Sequence) -> list[dict]:
    return [
        {"instruction": t.query, "input": t.transcript, "output": reference}
        for t in texts
        for reference in t.references
    ]


def alpaca_json(records: list[dict]) -> str:
    # The original experiments' files escape "/" as "\/" (as pandas' to_json
    # does); "/" occurs only inside JSON strings, so replacing it is safe.
    return json.dumps(records, separators=(",", ":")).replace("/", "\\/")


def _refuse_goldless(examples: Sequence[Example], fmt: str) -> None:
    """A format that holds one entry per reference would silently drop examples without any."""
    goldless = [ex for ex in examples if not ex.references]
    if goldless:
        raise InputError(
            f"--to {fmt}: {len(goldless)} examples have no reference summary (e.g. {peer_id(goldless[0])}, "
            "a gold-less test row) and an entry needs one; use --to scrolls, longbench or jsonl"
        )


def peer_id(example: Example) -> str:
    """The id a leaderboard knows the example by: the peer's own, else the package's."""
    return example.source_id if example.source_id is not None else example.id


def scrolls_records(examples: Sequence[Example], texts: Sequence) -> list[dict]:
    return [row for ex, t in zip(examples, texts) for row in _scrolls_rows(ex, t)]


def _scrolls_rows(example: Example, text: Prepared) -> list[dict]:
    key = peer_id(example)
    outputs: list[str | None] = list(text.references) or [None]  # gold-less: one row, output null
    pids = list(example.source_pids)
    if len(pids) != len(outputs):
        pids = [f"{key}_{k}" for k in range(len(outputs))]
    prompt = f"{text.query}\n\n{text.transcript}"
    return [{"id": key, "pid": pid, "input": prompt, "output": output} for pid, output in zip(pids, outputs)]


def longbench_records(examples: Sequence[Example], texts: Sequence) -> list[dict]:
    return [longbench_row(t.query, t.transcript, list(t.references), peer_id(ex)) for ex, t in zip(examples, texts)]


def longbench_row(query: str, context: str, answers: list[str], row_id: str) -> dict:
    """A LongBench data row (THUDM/LongBench, README "Data Format")."""
    return {
        "input": query,
        "context": context,
        "answers": answers,
        "length": longbench_length(query, context, answers),
        "dataset": "qmsum",
        "language": "en",
        "all_classes": None,
        "_id": row_id,
    }


def longbench_length(query: str, context: str, answers: Sequence[str]) -> int:
    """LongBench's ``length``: "Total length of the first three items (counted in
    characters for Chinese and words for English)", the items being ``input``,
    ``context`` and ``answers``; words are whitespace-separated."""
    return len(query.split()) + len(context.split()) + sum(len(answer.split()) for answer in answers)


def longbench_prediction(prediction: str, row: dict) -> dict:
    """A record of LongBench's ``pred/<model>/qmsum.jsonl``: what LongBench's pred.py
    writes (``pred``, ``answers``, ``all_classes``, ``length``, in that order),
    then the rest of the data row, and ``question``, the name lm-eval's
    ``longbench_qmsum`` task renders the query by."""
    head = {key: row[key] for key in ("answers", "all_classes", "length")}
    return {"pred": prediction, **head, **row, "question": row["input"]}


def submission_json(predictions: dict[str, str]) -> str:
    """A SCROLLS / ZeroSCROLLS submission file: ``{id: prediction}``, indented
    as ZeroSCROLLS' own scripts write it (``json.dump(..., indent=4)``)."""
    return json.dumps(predictions, indent=4)


# --- runs as leaderboards' prediction files (``qmsum-fast export``) -------------------------

EXPORT_FORMATS = ("scrolls", "longbench")


@dataclass(frozen=True)
class RunRecord:
    """What an export needs of one run record, checked."""

    where: str  # "file:line", for errors
    id: str  # the example id
    peer_id: str  # the id the leaderboard knows it by
    prediction: str
    query: str
    references: tuple[str, ...]


def run_records(path: Path, records: Sequence[dict], lines: Sequence[int]) -> list[RunRecord]:
    """The run's records with the fields an export writes, each checked."""
    checked = [_run_record(f"{path}:{line}", record) for record, line in zip(records, lines)]
    if not checked:
        raise InputError(f"{path}: no predictions")
    return checked


def _run_record(where: str, record: dict) -> RunRecord:
    values = {}
    for name in ("id", "prediction", "query"):
        value = record.get(name)
        if not isinstance(value, str):
            raise InputError(f"{where}: " + (f"no '{name}' field" if value is None else f"'{name}' is not a string"))
        values[name] = value
    references = record.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise InputError(f"{where}: 'references' must be a list of strings")
    source_id = record.get("source_id")
    if source_id is not None and not isinstance(source_id, str):
        raise InputError(f"{where}: 'source_id' is not a string")
    peer = source_id if source_id is not None else values["id"]
    return RunRecord(where, values["id"], peer, values["prediction"], values["query"], tuple(references))


def submission(records: Sequence[RunRecord]) -> dict[str, str]:
    """``{peer id: prediction}``, in run order; an id twice is refused."""
    predictions: dict[str, str] = {}
    first: dict[str, str] = {}
    for record in records:
        if record.peer_id in predictions:
            raise InputError(f"{record.where}: id {record.peer_id!r} is also at {first[record.peer_id]}")
        predictions[record.peer_id] = record.prediction
        first[record.peer_id] = record.where
    return predictions


def longbench_predictions(records: Sequence[RunRecord], examples: dict[str, Example], data: str) -> list[dict]:
    """LongBench pred records of a run; ``examples`` (by id) give the transcripts,
    which the run does not hold. The context is the raw transcript, as in
    LongBench's data, whatever preprocessing the run used."""
    rows = []
    for record in records:
        example = examples.get(record.id)
        if example is None:
            raise InputError(
                f"{record.where}: id {record.id!r} is not in the data {data} (give the run's data with --data)"
            )
        if (example.query, example.references) != (record.query, record.references):
            raise InputError(f"{record.where}: id {record.id!r} has another query or references in the data {data}")
        row = longbench_row(example.query, plain_transcript(example), list(example.references), record.peer_id)
        rows.append(longbench_prediction(record.prediction, row))
    return rows


def write_submission(out: Path, predictions: dict[str, str]) -> None:
    _write(out, submission_json(predictions))


def write_longbench_predictions(out: Path, rows: list[dict]) -> None:
    # As LongBench's pred.py writes them: UTF-8, not ASCII escapes, one object a line.
    _write(out, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def meeting_records(examples: Sequence[Example]) -> list[dict]:
    """One upstream meeting record per (split, meeting), queries by their index."""
    return [_meeting_record([examples[i] for i in group]) for group in indexes_by_meeting(examples)]


def _meeting_record(group: list[Example]) -> dict:
    first = group[0]
    lists: dict[str, list[dict]] = {"general": [], "specific": []}
    for ex in sorted(group, key=_list_position):
        item: dict = {"query": ex.query}
        if len(ex.references) == 1:
            item["answer"] = ex.references[0]
        else:
            item["answers"] = list(ex.references)  # this package's extension (several, or none)
        if ex.query_type == "specific":
            item["relevant_text_span"] = [[str(start), str(end)] for start, end in ex.spans]
        if ex.source_id is not None:  # this package's extension: a peer's ids survive
            item["source_id"] = ex.source_id
        if ex.source_pids:
            item["source_pids"] = list(ex.source_pids)
        lists[ex.query_type].append(item)
    return {
        "meeting": first.meeting,
        "domain": first.domain,
        "split": first.split,
        "general_query_list": lists["general"],
        "specific_query_list": lists["specific"],
        "meeting_transcripts": [{"speaker": t.speaker, "content": t.content} for t in first.turns],
    }


def _list_position(ex: Example) -> tuple[str, int]:
    # Stable ids carry the index in the meeting's query list; other ids keep load order.
    parsed = parse_example_id(ex.id)
    return ex.query_type, parsed[3] if parsed else 0


def _jsonl(records: list[dict]) -> str:
    # ASCII escapes let any string through, even a lone surrogate a JSON source held.
    return "".join(json.dumps(r) + "\n" for r in records)


def _write(out: Path, text: str) -> None:
    data = text.encode("utf-8")
    with atomic_open(out, "wb") as handle:
        if out.name.endswith(".gz"):
            # mtime 0: the same examples give the same bytes; the header names the
            # output, not the temporary file.
            with gzip.GzipFile(filename=out.name, fileobj=handle, mode="wb", mtime=0) as compressed:
                compressed.write(data)
        else:
            handle.write(data)

"""Write QMSum examples in other formats: alpaca, SCROLLS, LongBench, upstream JSONL.

Each writer produces a file :func:`qmsum_fast.data.load_examples` reads back:

- ``alpaca``: a JSON list of ``{"instruction", "input", "output"}``, one entry
  per reference, laid out byte for byte like the original experiments' files
  (compact, ASCII only, ``/`` escaped, no final newline). It carries no ids, so
  reading it back names meetings by a hash of their transcript.
- ``scrolls``: JSONL rows ``{"id", "pid", "input", "output"}``, one row per
  reference, ``input`` = query, blank line, transcript; ``id`` is the example id.
- ``longbench``: JSONL rows ``{"input", "context", "answers", "length",
  "dataset", "language", "all_classes", "_id"}``, ``_id`` the example id.
- ``jsonl``: one upstream meeting per line (the format of the bundled data), with
  ``meeting``, ``domain`` and ``split`` added; it keeps turns and spans.

A name ending in ``.gz`` is written gzip-compressed. Output follows
:mod:`qmsum_fast.files`: an existing file is refused unless ``overwrite``, and
the file appears only once it is complete.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path

from .data import Example, parse_example_id
from .errors import InputError
from .files import atomic_open, check_output
from .preprocess import MODES as PREPROCESS_MODES
from .preprocess import prepare

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


def scrolls_records(examples: Sequence[Example], texts: Sequence) -> list[dict]:
    return [
        {"id": ex.id, "pid": f"{ex.id}_{k}", "input": f"{t.query}\n\n{t.transcript}", "output": reference}
        for ex, t in zip(examples, texts)
        for k, reference in enumerate(t.references)
    ]


def longbench_records(examples: Sequence[Example], texts: Sequence) -> list[dict]:
    return [
        {
            "input": t.query,
            "context": t.transcript,
            "answers": list(t.references),
            "length": len(t.transcript.split()),  # LongBench's length: words of the context
            "dataset": "qmsum",
            "language": "en",
            "all_classes": None,
            "_id": ex.id,
        }
        for ex, t in zip(examples, texts)
    ]


def meeting_records(examples: Sequence[Example]) -> list[dict]:
    """One upstream meeting record per (split, meeting), queries by their index."""
    meetings: dict[tuple[str, str], list[Example]] = {}
    for ex in examples:
        meetings.setdefault((ex.split, ex.meeting), []).append(ex)
    return [_meeting_record(group) for group in meetings.values()]


def _meeting_record(group: list[Example]) -> dict:
    first = group[0]
    lists: dict[str, list[dict]] = {"general": [], "specific": []}
    for ex in sorted(group, key=_list_position):
        item: dict = {"query": ex.query}
        if len(ex.references) == 1:
            item["answer"] = ex.references[0]
        else:
            item["answers"] = list(ex.references)  # this package's extension
        if ex.query_type == "specific":
            item["relevant_text_span"] = [[str(start), str(end)] for start, end in ex.spans]
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

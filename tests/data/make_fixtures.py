#!/usr/bin/env python3
"""Rebuild the test fixtures in this folder from the reference data.

Usage: ``python tests/data/make_fixtures.py SHARED_DATA`` (the folder holding
``qmsum/`` and ``seed-processed/``). Tests read only what this writes, never
SHARED_DATA itself.

- ``qmsum/``: a miniature upstream data root, real QMSum meeting files copied
  byte for byte (MIT, Yale-LILY/QMSum): five meetings under ``ALL/`` and two of
  them again under their domain folders.
- ``formats/scrolls_validation.jsonl``, ``formats/longbench_qmsum.jsonl``: rows
  laid out like SCROLLS and LongBench rows (foreign hex ids), made from real
  QMSum queries and the first 15 turns of their meetings; one SCROLLS id has two
  rows, i.e. two references.
- ``formats/alpaca_format_test.json``: entries 40 and 41 of the original
  experiments' ``alpaca_format_test.json``, their bytes verbatim (one has an
  escaped ``/``, the other a ``\\u2019``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEETINGS = {  # meeting: (split, domain folder or None)
    "ES2005a": ("train", "Product"),
    "Bro008": ("train", "Academic"),
    "TS3010a": ("val", None),
    "IS1003a": ("test", None),
    "education_17": ("test", None),
}


def copy_meetings(shared: Path) -> None:
    target = HERE / "qmsum"
    shutil.rmtree(target, ignore_errors=True)
    for meeting, (split, domain_folder) in MEETINGS.items():
        source = shared / "qmsum/data/ALL" / split / f"{meeting}.json"
        for folder in ["ALL"] + ([domain_folder] if domain_folder else []):
            (target / folder / split).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / folder / split / f"{meeting}.json")


def short_transcript(meeting: dict, turns: int = 15) -> str:
    return "\n".join(f"{t['speaker']}: {t['content']}" for t in meeting["meeting_transcripts"][:turns])


def hex_id(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:24]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def scrolls_rows(shared: Path) -> list[dict]:
    meeting = json.loads((shared / "qmsum/data/ALL/val/TS3010a.json").read_text())
    transcript = short_transcript(meeting)
    queries = meeting["general_query_list"][:1] + meeting["specific_query_list"][:2]
    rows = []
    for q in queries:
        rid = hex_id(q["query"])
        rows.append({"id": rid, "pid": f"{rid}_0", "input": f"{q['query']}\n\n{transcript}", "output": q["answer"]})
    # A second reference for the last query, as SCROLLS gives it: another row, same id.
    last = rows[-1]
    rows.append({**last, "pid": f"{last['id']}_1", "output": "A second reference summary."})
    return rows


def longbench_rows(shared: Path) -> list[dict]:
    meeting = json.loads((shared / "qmsum/data/ALL/test/IS1003a.json").read_text())
    transcript = short_transcript(meeting)
    queries = meeting["general_query_list"][:1] + meeting["specific_query_list"][:2]
    return [
        {
            "input": q["query"],
            "context": transcript,
            "answers": [q["answer"]],
            "length": len(transcript.split()),
            "dataset": "qmsum",
            "language": "en",
            "all_classes": None,
            "_id": hex_id("lb" + q["query"]),
        }
        for q in queries
    ]


def alpaca_entries(shared: Path, wanted=(40, 41)) -> str:
    text = (shared / "seed-processed/alpaca_format_test.json").read_text(encoding="utf-8")
    entries = json.loads(text)
    spans, pos = [], 1
    for entry in entries:  # the file is compact: find each entry's exact bytes
        dumped = json.dumps(entry, separators=(",", ":")).replace("/", "\\/")
        assert text[pos : pos + len(dumped)] == dumped
        spans.append(text[pos : pos + len(dumped)])
        pos += len(dumped) + 1
    return "[" + ",".join(spans[i] for i in wanted) + "]"


def main() -> None:
    shared = Path(sys.argv[1])
    copy_meetings(shared)
    formats = HERE / "formats"
    formats.mkdir(exist_ok=True)
    write_jsonl(formats / "scrolls_validation.jsonl", scrolls_rows(shared))
    write_jsonl(formats / "longbench_qmsum.jsonl", longbench_rows(shared))
    (formats / "alpaca_format_test.json").write_text(alpaca_entries(shared), encoding="utf-8")


if __name__ == "__main__":
    main()

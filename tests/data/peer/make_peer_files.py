#!/usr/bin/env python3
"""Rebuild the peer-format fixtures in this folder from ``tests/data/qmsum``.

Usage: ``python tests/data/peer/make_peer_files.py``. Each file holds real
QMSum queries and answers (MIT, Yale-LILY/QMSum) about the first 15 turns of a
meeting, laid out as a peer's rows; the ids are made up (hex, as the peers').

- ``zeroscrolls_qmsum_validation.jsonl``: ZeroSCROLLS rows (``input`` = the
  whole prompt, the document and query located by ``document_start_index``,
  ``document_end_index``, ``query_start_index``, ``query_end_index``; ``id``,
  ``pid`` = ``id``, ``output``, ``truncation_seperator``), field order as on the
  dataset card of tau/zero_scrolls. The prompt text is the package's
  ``zeroscrolls`` template, not yet checked against real ZeroSCROLLS rows.
- ``zeroscrolls_qmsum_test.jsonl``: the same layout without gold (``output``
  null), as ZeroSCROLLS' public test split.
- ``scrolls_qmsum_test.jsonl``: SCROLLS rows (``id``, ``pid``, ``input`` =
  query, blank line, transcript; ``output`` null), as SCROLLS' public test split.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
MEETINGS = HERE.parent / "qmsum" / "ALL"
INSTRUCTION = (
    "You are given a meeting transcript and a query containing a question or instruction. "
    "Answer the query in one or more sentences.\n\nTranscript:\n"
)
SEPARATOR = "... [The rest of the transcript is omitted]\n\n"


def queries_and_transcript(split: str, meeting: str) -> tuple[list[dict], str]:
    record = json.loads((MEETINGS / split / f"{meeting}.json").read_text(encoding="utf-8"))
    turns = record["meeting_transcripts"][:15]
    transcript = "\n".join(f"{t['speaker']}: {t['content']}" for t in turns)
    return record["general_query_list"][:1] + record["specific_query_list"][:2], transcript


def hex_id(text: str, size: int) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:size]


def zeroscrolls_row(query: dict, transcript: str, gold: bool) -> dict:
    head = INSTRUCTION
    middle = "\n\nQuery:\n"
    prompt = head + transcript + middle + query["query"] + "\n\nAnswer:\n"
    row_id = hex_id("zs" + query["query"], 40)
    query_start = len(head) + len(transcript) + len(middle)
    return {
        "input": prompt,
        "output": query["answer"] if gold else None,
        "id": row_id,
        "pid": row_id,
        "document_start_index": len(head),
        "document_end_index": len(head) + len(transcript),
        "query_start_index": query_start,
        "query_end_index": query_start + len(query["query"]),
        "truncation_seperator": SEPARATOR,
    }


def scrolls_row(query: dict, transcript: str) -> dict:
    row_id = hex_id("sc" + query["query"], 24)
    return {"id": row_id, "pid": f"{row_id}_0", "input": f"{query['query']}\n\n{transcript}", "output": None}


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def main() -> None:
    queries, transcript = queries_and_transcript("val", "TS3010a")
    write_jsonl(HERE / "zeroscrolls_qmsum_validation.jsonl", [zeroscrolls_row(q, transcript, True) for q in queries])
    queries, transcript = queries_and_transcript("test", "IS1003a")
    write_jsonl(HERE / "zeroscrolls_qmsum_test.jsonl", [zeroscrolls_row(q, transcript, False) for q in queries])
    write_jsonl(HERE / "scrolls_qmsum_test.jsonl", [scrolls_row(q, transcript) for q in queries])


if __name__ == "__main__":
    main()

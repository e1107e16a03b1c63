#!/usr/bin/env python3
"""Rebuild the QMSum bundle shipped in ``python/qmsum_fast/_data/qmsum/``.

Usage: ``python scripts/bundle_qmsum.py UPSTREAM_DATA_ROOT [OUT_DIR]``

UPSTREAM_DATA_ROOT is the ``data/`` folder of Yale-LILY/QMSum (it holds ``ALL/``
and the ``Academic/``, ``Product/``, ``Committee/`` folders). For every split the
script writes ``<split>.jsonl.gz``: one meeting per line, the upstream meeting
record (``topic_list``, ``general_query_list``, ``specific_query_list``) with
``meeting_transcripts`` stored as two columns, ``speakers`` and ``contents``
(the same strings in the same order; JSON parses two lists of strings about
twice as fast as a list of small objects), and two added keys, ``meeting`` (the
file stem) and ``domain`` (from the domain folder holding the meeting).

Meeting order: the upstream ``ALL/jsonl/<split>.jsonl`` order where that file is
present (the original experiments iterated it, so converted files come out in
their order), else sorted by meeting name. The gzip header carries no time stamp,
so rebuilding from the same data gives the same bytes.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

SPLITS = ("train", "val", "test")
DOMAIN_FOLDERS = {"Academic": "academic", "Product": "product", "Committee": "committee"}


def domain_of_meetings(root: Path) -> dict[str, str]:
    """Meeting name -> domain, from the upstream domain folders."""
    domains: dict[str, str] = {}
    for folder, domain in DOMAIN_FOLDERS.items():
        for split in SPLITS:
            for path in (root / folder / split).glob("*.json"):
                domains[path.stem] = domain
    return domains


def meeting_order(root: Path, split: str, meetings: dict[str, dict]) -> list[str]:
    """Meeting names in the upstream JSONL order, else sorted."""
    jsonl = root / "ALL" / "jsonl" / f"{split}.jsonl"
    if not jsonl.is_file():
        return sorted(meetings)
    # The upstream JSONL carries no meeting names: match lines to files by content.
    by_content = {json.dumps(m, sort_keys=True): name for name, m in meetings.items()}
    order = []
    with jsonl.open(encoding="utf-8") as lines:
        for line in lines:
            order.append(by_content[json.dumps(json.loads(line), sort_keys=True)])
    if sorted(order) != sorted(meetings):
        raise SystemExit(f"{jsonl}: does not hold the same meetings as ALL/{split}/")
    return order


def columnar(meeting: dict) -> dict:
    """The meeting with its turns as ``speakers`` and ``contents`` columns."""
    record = {key: value for key, value in meeting.items() if key != "meeting_transcripts"}
    record["speakers"] = [turn["speaker"] for turn in meeting["meeting_transcripts"]]
    record["contents"] = [turn["content"] for turn in meeting["meeting_transcripts"]]
    if any(set(turn) != {"speaker", "content"} for turn in meeting["meeting_transcripts"]):
        raise SystemExit("a turn has fields other than speaker and content: the columns would lose them")
    return record


def bundle_split(root: Path, split: str, domains: dict[str, str], out_dir: Path) -> int:
    files = sorted((root / "ALL" / split).glob("*.json"))
    meetings = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in files}
    out = out_dir / f"{split}.jsonl.gz"
    pairs = 0
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        for name in meeting_order(root, split, meetings):
            meeting = meetings[name]
            if name not in domains:
                raise SystemExit(f"{name}: in ALL/{split}/ but in no domain folder")
            line = {"meeting": name, "domain": domains[name], **columnar(meeting)}
            gz.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            gz.write(b"\n")
            pairs += len(meeting["general_query_list"]) + len(meeting["specific_query_list"])
    print(f"{out}: {len(meetings)} meetings, {pairs} query-summary pairs")
    return pairs


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    root = Path(argv[1])
    out_dir = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parents[1] / "python/qmsum_fast/_data/qmsum"
    out_dir.mkdir(parents=True, exist_ok=True)
    domains = domain_of_meetings(root)
    for split in SPLITS:
        bundle_split(root, split, domains, out_dir)


if __name__ == "__main__":
    main(sys.argv)

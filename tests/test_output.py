"""The JSONL run file: durable appends, resume, torn lines, merge (qmsum_fast.gen.output)."""

from __future__ import annotations

import csv
import json

import pytest

from qmsum_fast import InputError
from qmsum_fast.gen.output import RunWriter, finalize, read_run, shard_path, write_csv

HEADER = {"header": True, "settings": {"model": "m", "strategy": "truncate"}}


def record(example_id, prediction="p"):
    return {"id": example_id, "query": "q " + example_id, "references": ["r"], "prediction": prediction}


def test_header_first_then_one_line_per_record(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunWriter(path, HEADER, resume=False) as writer:
        writer.write(record("a"))
        assert path.read_text().count("\n") == 2  # durable before close
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [HEADER, record("a")]


def test_resume_skips_done_ids_and_drops_a_torn_line(tmp_path):
    path = tmp_path / "run.jsonl"
    with RunWriter(path, HEADER, resume=False) as writer:
        writer.write(record("a"))
    with open(path, "a") as handle:
        handle.write('{"id": "b", "pred')
    with RunWriter(path, HEADER, resume=True) as writer:
        assert writer.done == {"a"}
        writer.write(record("b"))
    header, records = read_run(path)
    assert header == HEADER and [r["id"] for r in records] == ["a", "b"]


def test_existing_files_are_protected(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(HEADER) + "\n" + json.dumps(record("a")) + "\n")
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        RunWriter(path, HEADER, resume=False)
    other = {"header": True, "settings": {"model": "other", "strategy": "truncate"}}
    with pytest.raises(InputError, match="cannot resume: model was 'm', now 'other'"):
        RunWriter(path, other, resume=True)
    assert path.read_bytes() == before
    path.write_text(json.dumps(HEADER) + "\n[1, 2]\n")
    with pytest.raises(InputError, match=r"run.jsonl:2: not a JSON object"):
        read_run(path)


def test_finalize_merges_shards_in_data_order_each_id_once(tmp_path):
    path = tmp_path / "run.jsonl"
    shards = [shard_path(path, rank, 2) for rank in range(2)]
    for rank, ids in enumerate([["c", "a"], ["d", "b", "a"]]):
        with RunWriter(shards[rank], HEADER, resume=False) as writer:
            for example_id in ids:
                writer.write(record(example_id))
    merged = finalize(path, HEADER, ["a", "b", "c", "d"], shards)
    assert [r["id"] for r in merged] == ["a", "b", "c", "d"]
    assert [r["id"] for r in read_run(path)[1]] == ["a", "b", "c", "d"]
    assert not any(shard.exists() for shard in shards)
    assert shards[1].name == "run.jsonl.shard1-of-2"


def test_csv_columns(tmp_path):
    table = tmp_path / "run.csv"
    write_csv(table, [record("a", "summary, with comma")], {"a": "the input\nspans lines"})
    rows = list(csv.reader(table.open()))
    assert rows == [
        ["instruction", "input", "output", "summary"],
        ["q a", "the input\nspans lines", "r", "summary, with comma"],
    ]

"""The JSONL run file: lazy creation, durable appends, resume, overwrite, torn lines,
merge (qmsum_fast.gen.output), and the one reader (qmsum_fast.data.runs)."""

from __future__ import annotations

import csv
import dataclasses
import json

import pytest

from qmsum_fast import InputError
from qmsum_fast.data.runs import load_run, read_run
from qmsum_fast.gen.config import Request, build_config
from qmsum_fast.gen.output import Plan, RunWriter, finalize, partial_path, plan_output, shard_path, write_csv

CONFIG = build_config(Request(model="lead", split="val"))
HEADER = {"header": True, "config": CONFIG.as_dict(), "runtime": {}}


def record(example_id, prediction="p"):
    return {"id": example_id, "query": "q " + example_id, "references": ["r"], "prediction": prediction}


def write_run(path, *ids, header=HEADER):
    path.write_text("".join(json.dumps(r) + "\n" for r in [header, *map(record, ids)]))


def test_the_file_appears_with_its_first_record_header_first(tmp_path):
    path = tmp_path / "sub" / "run.jsonl"
    with RunWriter(plan_output(path, CONFIG, resume=False, overwrite=False), HEADER) as writer:
        assert not path.exists()  # a run that fails before its first record leaves nothing
        writer.write(record("a"))
        assert path.read_text().count("\n") == 2  # durable before close
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [HEADER, record("a")]


def test_resume_skips_done_ids_and_redoes_a_torn_line(tmp_path):
    path = tmp_path / "run.jsonl"
    write_run(path, "a")
    with open(path, "a") as handle:
        handle.write('{"id": "b", "pred')
    plan = plan_output(path, CONFIG, resume=True, overwrite=False)
    assert plan.done == {"a"} and plan.append
    with RunWriter(plan, HEADER) as writer:
        writer.write(record("b"))
    run = read_run(path)
    assert run.header == HEADER and [r["id"] for r in run.records] == ["a", "b"]


def test_existing_runs_are_protected_and_every_difference_is_named(tmp_path):
    path = tmp_path / "run.jsonl"
    write_run(path, "a")
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists: pass --resume"):
        plan_output(path, CONFIG, resume=False, overwrite=False)
    other = dataclasses.replace(CONFIG, split="test", domain="academic")
    with pytest.raises(
        InputError, match="cannot resume: split was 'val', now 'test'; domain was 'all', now 'academic'"
    ):
        plan_output(path, other, resume=True, overwrite=False)
    with pytest.raises(InputError, match="exclude each other"):
        plan_output(path, CONFIG, resume=True, overwrite=True)
    # A larger --limit continues the run; fields that cannot change outputs are not compared.
    plan_output(path, dataclasses.replace(CONFIG, limit=50), resume=True, overwrite=False)
    assert path.read_bytes() == before


def test_a_file_without_a_header_is_not_resumed(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(json.dumps(record("a")) + "\n")
    with pytest.raises(InputError, match="no qmsum-fast run header"):
        plan_output(path, CONFIG, resume=True, overwrite=False)


def test_overwrite_keeps_the_old_run_until_the_new_one_is_complete(tmp_path):
    path = tmp_path / "run.jsonl"
    write_run(path, "old1", "old2")
    before = path.read_bytes()
    plan = plan_output(path, CONFIG, resume=False, overwrite=True)
    assert plan.path == partial_path(path) and not plan.append
    with RunWriter(plan, HEADER) as writer:
        writer.write(record("a"))
    assert path.read_bytes() == before  # killed here: the old run is intact
    again = plan_output(path, CONFIG, resume=False, overwrite=True)
    assert again.done == {"a"} and again.append  # the same command continues the partial run
    with RunWriter(again, HEADER) as writer:
        writer.write(record("b"))
    merged = finalize(path, HEADER, ["a", "b"], [again.path])
    assert [r["id"] for r in merged] == ["a", "b"] and not partial_path(path).exists()
    assert [r["id"] for r in read_run(path).records] == ["a", "b"]


def test_finalize_merges_shards_in_data_order_each_id_once(tmp_path):
    path = tmp_path / "run.jsonl"
    shards = [shard_path(path, rank, 2) for rank in range(2)]
    for rank, ids in enumerate([["c", "a"], ["d", "b", "a"]]):
        with RunWriter(Plan(path, shards[rank]), HEADER) as writer:
            for example_id in ids:
                writer.write(record(example_id))
    merged = finalize(path, HEADER, ["a", "b", "c", "d"], [path, *shards])
    assert [r["id"] for r in merged] == ["a", "b", "c", "d"]
    assert [r["id"] for r in read_run(path).records] == ["a", "b", "c", "d"]
    assert not any(shard.exists() for shard in shards)
    assert shards[1].name == ".run.jsonl.qmsum-fast-shard1-of-2"


def test_the_reader_refuses_duplicated_ids_and_two_runs_in_one_file(tmp_path):
    path = tmp_path / "run.jsonl"
    write_run(path, "a", "b", "a")
    with pytest.raises(InputError, match=r"run.jsonl:4: id 'a' is also on line 2"):
        load_run(path)
    path.write_text(path.read_text().replace('"b"', '"c"') + json.dumps(HEADER) + "\n")
    with pytest.raises(InputError, match=r"run.jsonl:4: id 'a'"):
        read_run(path)
    write_run(path, "a")
    path.write_text(path.read_text() + json.dumps(HEADER) + "\n" + json.dumps(record("b")) + "\n")
    with pytest.raises(InputError, match=r"run.jsonl:3: a second header: the file holds records of two runs"):
        load_run(path)
    path.write_text(json.dumps(HEADER) + "\n[1, 2]\n")
    with pytest.raises(InputError, match=r"run.jsonl:2: expected a JSON object"):
        read_run(path)


def test_csv_columns(tmp_path):
    table = tmp_path / "run.csv"
    write_csv(table, [record("a", "summary, with comma")], {"a": "the input\nspans lines"})
    with open(table, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [
        ["instruction", "input", "output", "summary"],
        ["q a", "the input\nspans lines", "r", "summary, with comma"],
    ]

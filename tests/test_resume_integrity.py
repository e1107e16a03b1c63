"""One run file, one run: changed weights are caught on --resume, a resumed file
holds exactly one run's valid records and says what it holds, and a meeting
given twice in --data is refused (issue 17, items 3, 10 and 11)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cli_helpers import cli, error, records
from qmsum_fast import fingerprints
from qmsum_fast.data import load_examples
from qmsum_fast.fingerprints import SAMPLE_BYTES, SAMPLES, file_fingerprint, folder_fingerprint, snapshot_commit

DATA = Path(__file__).parent / "data" / "gen_qmsum"
LARGE = fingerprints.SMALL_FILE + 3 * SAMPLE_BYTES + 12345


def large_file(path: Path, size: int = LARGE) -> Path:
    """A sparse file of ``size`` bytes with some data written into it."""
    with open(path, "wb") as handle:
        handle.truncate(size)
        for offset in range(0, size - 100, size // 7):
            handle.seek(offset)
            handle.write(os.urandom(100))
    assert path.stat().st_size == size
    return path


def unsampled_middle(size: int) -> int:
    """An offset near the middle that none of the sampled blocks covers."""
    starts = [(size - SAMPLE_BYTES) * i // (SAMPLES - 1) for i in range(SAMPLES)]
    middle = size // 2
    for start in sorted(starts):
        if start <= middle < start + SAMPLE_BYTES:
            middle = start + SAMPLE_BYTES  # just past this block
    assert not any(start <= middle < start + SAMPLE_BYTES for start in starts)
    return middle


def change_byte_keeping_size_and_mtime(path: Path, offset: int) -> None:
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        old = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([old[0] ^ 0xFF]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


# --- item 3: fingerprints ----------------------------------------------------------------


def test_a_changed_byte_where_no_block_is_sampled_changes_a_large_files_fingerprint(tmp_path):
    weights = large_file(tmp_path / "model.safetensors")
    before = file_fingerprint(weights)
    assert set(before) == {"size", "mtime_ns", "ctime_ns", "sampled_blake2b"}
    assert file_fingerprint(weights) == before  # stable while nothing changes
    change_byte_keeping_size_and_mtime(weights, unsampled_middle(LARGE))
    assert file_fingerprint(weights) != before


@pytest.mark.parametrize("where", ["first", "last", "sampled middle"])
def test_a_changed_byte_in_a_sampled_block_changes_the_sampled_hash(tmp_path, where):
    weights = large_file(tmp_path / "w.bin")
    offset = {"first": 0, "last": LARGE - 1, "sampled middle": (LARGE - SAMPLE_BYTES) * 7 // (SAMPLES - 1) + 5}[where]
    before = file_fingerprint(weights)["sampled_blake2b"]
    change_byte_keeping_size_and_mtime(weights, offset)
    assert file_fingerprint(weights)["sampled_blake2b"] != before


def test_small_files_are_hashed_whole_and_a_copy_keeps_their_fingerprint(tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"a": 1}')
    copy = tmp_path / "copy.json"
    shutil.copy(config, copy)
    assert (
        file_fingerprint(config) == file_fingerprint(copy) == {"size": 8, "blake2b": file_fingerprint(copy)["blake2b"]}
    )


def test_a_folder_covers_nested_files_but_not_hidden_ones(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "adapter.bin").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "objects").write_bytes(b"y")
    (tmp_path / "config.json").write_text("{}")
    found = folder_fingerprint(str(tmp_path))
    assert list(found["files"]) == ["config.json", "sub/adapter.bin"] and "snapshot" not in found
    (tmp_path / "sub" / "adapter.bin").write_bytes(b"z")
    assert folder_fingerprint(str(tmp_path)) != found


def test_a_hub_snapshot_records_its_commit_and_a_cached_hub_id_is_fingerprinted(tmp_path, monkeypatch):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--owner--name"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert snapshot_commit(snapshot) == commit
    assert folder_fingerprint(str(snapshot))["snapshot"] == commit
    assert folder_fingerprint("owner/name") == folder_fingerprint(str(snapshot))
    assert folder_fingerprint("owner/other") is None  # not cached: nothing to fingerprint


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from qmsum_fast.gen.local.make_model import make_model

    return make_model("gpt-neox", "tiny", tmp_path_factory.mktemp("models") / "neox")


def generate_model(tmp_path, model, *args):
    out = tmp_path / "run.jsonl"
    common = ["--data", DATA, "--split", "train", "--preprocess", "none", "--max-new-tokens", "2"]
    return out, ["generate", "--model", model, "-o", out, "--no-progress", *common, *args]


@pytest.mark.parametrize("sampled", [False, True], ids=["hashed whole", "sampled"])
def test_resume_refuses_a_changed_weight_file_naming_it(tmp_path, tiny_model, monkeypatch, sampled):
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    if sampled:  # the tiny weights stand for a large file: fingerprinted by size, times and sampled blocks
        monkeypatch.setattr(fingerprints, "SMALL_FILE", 0)
    out, args = generate_model(tmp_path, model, "--limit", "1")
    assert cli(*args).exit_code == 0
    weights = model / "model.safetensors"
    size = weights.stat().st_size
    change_byte_keeping_size_and_mtime(weights, unsampled_middle(size) if sampled else size // 2)
    before = out.read_bytes()
    message = error(*args[:-2], "--limit", "2", "--resume")
    assert "cannot resume: model_fingerprint.files.model.safetensors." in message
    assert out.read_bytes() == before


# --- item 10: resume bookkeeping ---------------------------------------------------------


def baseline(tmp_path, *args, out="run.jsonl"):
    path = tmp_path / out
    return path, ["generate", "--model", "lead", "--data", DATA, "--split", "train", "-o", path, *args]


def train_ids():
    return [example.id for example in load_examples(DATA, split="train")]


def without_seconds(record: dict) -> dict:
    return {key: value for key, value in record.items() if key != "seconds"}


def rewrite(path: Path, change) -> None:
    header, rows = records(path)
    header, rows = change(header, rows)
    path.write_text("".join(json.dumps(line) + "\n" for line in [header, *rows]))


@pytest.mark.parametrize(
    "spoil",
    [
        lambda r: r.pop("prediction"),
        lambda r: r.update(prediction=None),
        lambda r: r.update(prediction=["a list"]),
        lambda r: r.update(references="not a list"),
    ],
    ids=["no prediction", "null prediction", "prediction not a string", "references not a list"],
)
def test_an_invalid_record_is_not_done_it_is_redone_and_replaced(tmp_path, spoil):
    out, args = baseline(tmp_path, "--limit", "3")
    assert cli(*args).exit_code == 0
    _, good = records(out)

    def spoil_second(header, rows):
        spoil(rows[1])
        return header, rows

    rewrite(out, spoil_second)
    result = cli(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert "3 of 3 examples" in result.output and "(1 new" in result.output
    _, rows = records(out)
    assert [without_seconds(r) for r in rows] == [without_seconds(r) for r in good]


def test_a_record_of_another_split_is_refused_not_kept(tmp_path):
    out, args = baseline(tmp_path, "--limit", "2")
    assert cli(*args).exit_code == 0
    other = tmp_path / "other.jsonl"
    assert (
        cli("generate", "--model", "lead", "--data", DATA, "--split", "val", "--limit", "1", "-o", other).exit_code == 0
    )
    _, foreign = records(other)
    with open(out, "a") as handle:
        handle.write(json.dumps(foreign[0]) + "\n")
    before = out.read_bytes()
    message = error(*args[:-2], "--resume")  # no --limit: the whole split
    assert f"{out}: cannot resume: line 4: id {foreign[0]['id']!r} is not one of this run's examples" in message
    assert out.read_bytes() == before


def test_a_smaller_limit_keeps_what_was_done_and_says_so(tmp_path):
    out, args = baseline(tmp_path, "--limit", "5")
    assert cli(*args).exit_code == 0
    before = records(out)
    result = cli(*args[:-2], "--limit", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert "5 of 5 examples" in result.output and "(0 new" in result.output
    assert records(out) == before


def test_after_a_limited_resume_the_header_says_what_the_file_holds(tmp_path, monkeypatch):
    from qmsum_fast.gen import strategies

    out, args = baseline(tmp_path)  # the whole split, stopped after two records
    real = strategies.run_extractive

    def stop_after_two(sources, predict, emit):
        real(sources[:2], predict, emit)
        raise KeyboardInterrupt

    monkeypatch.setattr(strategies, "run_extractive", stop_after_two)
    assert cli(*args).exit_code == 130
    monkeypatch.setattr(strategies, "run_extractive", real)
    result = cli(*args, "--limit", "4", "--resume")
    assert result.exit_code == 0 and "4 of 4 examples" in result.output, result.output
    header, rows = records(out)
    assert header["config"]["limit"] == 4 and [r["id"] for r in rows] == train_ids()[:4]
    # The whole split, then: the header claims it again.
    assert cli(*args, "--resume").exit_code == 0
    header, rows = records(out)
    assert header["config"]["limit"] is None and [r["id"] for r in rows] == train_ids()


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("limit", "5", 'the header\'s config.limit is "5", not an integer or null'),
        ("limit", True, "the header's config.limit is true, not an integer or null"),
        ("limit", 0, "the header's config.limit is 0, not a positive count"),
        ("split", 3, "the header's config.split is 3, not a string"),
        ("generation", [], "the header's config.generation is [], not an object"),
    ],
)
def test_a_header_field_of_the_wrong_type_is_one_line(tmp_path, field, value, expected):
    out, args = baseline(tmp_path, "--limit", "2")
    assert cli(*args).exit_code == 0

    def spoil(header, rows):
        header["config"][field] = value
        return header, rows

    rewrite(out, spoil)
    before = out.read_bytes()
    assert error(*args, "--resume") == f"{out}:1: {expected}"
    assert error("score", "--pred", out) == f"{out}:1: {expected}"
    assert out.read_bytes() == before


def test_a_header_whose_config_is_not_an_object_is_one_line(tmp_path):
    out, args = baseline(tmp_path, "--limit", "1")
    assert cli(*args).exit_code == 0
    rewrite(out, lambda header, rows: ({**header, "config": "led"}, rows))
    assert error(*args, "--resume") == f"{out}:1: the header's 'config' is not a JSON object"


def test_a_resumed_file_holds_one_runs_valid_records_in_data_order(tmp_path):
    out, args = baseline(tmp_path, "--limit", "3")
    assert cli(*args).exit_code == 0
    rewrite(out, lambda header, rows: (header, [rows[2], {"id": rows[0]["id"]}, rows[1]]))
    assert cli(*args[:-2], "--limit", "4", "--resume").exit_code == 0
    header, rows = records(out)
    assert [r["id"] for r in rows] == train_ids()[:4] and all(isinstance(r["prediction"], str) for r in rows)
    assert header["config"]["limit"] == 4


# --- item 11: a meeting given twice ------------------------------------------------------


def test_a_meeting_in_two_files_of_a_folder_is_refused_naming_both(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    first = sorted((data / "train").glob("*.json"))[0]
    twin = data / "test" / first.name
    twin.parent.mkdir(exist_ok=True)
    shutil.copy(first, twin)
    message = error("analyze", "--data", data, "--split", "all")
    assert message == f"{twin}: meeting {first.stem!r} is also in {first}: give each meeting once"


def test_a_meeting_on_two_lines_or_in_two_jsonl_files_is_refused(tmp_path):
    out = tmp_path / "meetings.jsonl"
    assert cli("convert", "--to", "jsonl", "--data", DATA, "--split", "train", "-o", out).exit_code == 0
    line = out.read_text().splitlines()[0]
    meeting = json.loads(line)["meeting"]
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "a.jsonl").write_text(line + "\n")
    (folder / "b.jsonl").write_text(line + "\n")
    message = error("analyze", "--data", folder, "--split", "all")
    assert (
        message == f"{folder / 'b.jsonl'}: meeting {meeting!r} is also in {folder / 'a.jsonl'}: give each meeting once"
    )
    twice = tmp_path / "twice.jsonl"
    twice.write_text(line + "\n" + line + "\n")
    message = error("generate", "--model", "lead", "--data", twice, "--split", "all", "-o", tmp_path / "r.jsonl")
    assert message == f"{twice}:2: meeting {meeting!r} is also in {twice}:1: give each meeting once"
    assert not (tmp_path / "r.jsonl").exists()


def test_rows_of_a_flat_format_in_two_files_are_refused(tmp_path):
    out = tmp_path / "scrolls.jsonl"
    assert cli("convert", "--to", "scrolls", "--data", DATA, "--split", "train", "-o", out).exit_code == 0
    folder = tmp_path / "flat"
    folder.mkdir()
    shutil.copy(out, folder / "a.jsonl")
    shutil.copy(out, folder / "b.jsonl")
    message = error("analyze", "--data", folder, "--split", "all")
    assert message.startswith(f"{folder / 'b.jsonl'}: meeting ") and message.endswith(
        f"is also in {folder / 'a.jsonl'}: give each meeting once"
    )

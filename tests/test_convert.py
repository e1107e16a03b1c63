"""qmsum-fast convert: every writer's output reads back into equal examples."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qmsum_fast.cli import main
from qmsum_fast.convert import FORMATS, alpaca_json, convert
from qmsum_fast.data import Example, Turn, example_id, load_examples, plain_transcript
from qmsum_fast.data.readers import infer_domain, meeting_name_for, query_type_of
from qmsum_fast.preprocess import prepare

DATA = Path(__file__).parent / "data"
FORMATS_DIR = DATA / "formats"
SUFFIX = {"alpaca": ".json", "scrolls": ".jsonl", "longbench": ".jsonl", "jsonl": ".jsonl"}


@pytest.fixture(scope="module")
def academic_test():
    return load_examples(split="test", domain="academic")


def round_trip(examples, fmt: str, folder: Path, name: str = "test") -> list[Example]:
    out = folder / f"{name}{SUFFIX[fmt]}"
    convert(examples, fmt, out)
    return load_examples(out)


def without_string_fields(ex: Example) -> Example:
    """What the one-string formats carry: all but spans, with turns parsed back."""
    return replace(ex, spans=(), raw_transcript=None)


def test_jsonl_round_trip_of_the_whole_bundle_is_exact(tmp_path):
    bundled = load_examples()
    back = round_trip(bundled, "jsonl", tmp_path, "all")
    assert back == bundled
    assert len({id(ex.turns) for ex in back}) == 232


@pytest.mark.parametrize("fmt", ["scrolls", "longbench"])
def test_id_carrying_formats_round_trip(tmp_path, academic_test, fmt):
    back = round_trip(academic_test, fmt, tmp_path)
    assert [without_string_fields(ex) for ex in back] == [replace(ex, spans=()) for ex in academic_test]
    assert [ex.raw_transcript for ex in back] == [plain_transcript(ex) for ex in academic_test]
    assert len({id(ex.turns) for ex in back}) == len({ex.meeting for ex in academic_test})


def test_alpaca_round_trip_keeps_texts_domains_and_meetings(tmp_path, academic_test):
    back = round_trip(academic_test, "alpaca", tmp_path)
    assert [(ex.query, ex.references, ex.turns, ex.raw_transcript) for ex in back] == [
        (ex.query, ex.references, ex.turns, plain_transcript(ex)) for ex in academic_test
    ]
    assert {(ex.split, ex.domain) for ex in back} == {("test", "academic")}
    # Meetings are named by a hash of their transcript; the grouping is kept.
    renamed = {ex.meeting: meeting_name_for(plain_transcript(ex)) for ex in academic_test}
    assert [ex.meeting for ex in back] == [renamed[ex.meeting] for ex in academic_test]
    assert [ex.query_type for ex in back] == [ex.query_type for ex in academic_test]


@pytest.mark.parametrize(
    "fixture, fmt",
    [
        ("scrolls_validation.jsonl", "scrolls"),
        ("longbench_qmsum.jsonl", "longbench"),
        ("alpaca_format_test.json", "alpaca"),
    ],
)
def test_foreign_files_round_trip_exactly(tmp_path, fixture, fmt):
    examples = load_examples(FORMATS_DIR / fixture)
    back = round_trip(examples, fmt, tmp_path, Path(fixture).stem)
    assert back == examples


def test_alpaca_output_is_byte_identical_to_the_original_experiments(tmp_path):
    # The fixture holds two entries of the original alpaca_format_test.json, bytes verbatim.
    out = tmp_path / "alpaca_format_test.json"
    convert(load_examples(FORMATS_DIR / "alpaca_format_test.json"), "alpaca", out)
    assert out.read_bytes() == (FORMATS_DIR / "alpaca_format_test.json").read_bytes()


def test_scrolls_with_two_references_round_trip_through_jsonl(tmp_path):
    examples = load_examples(FORMATS_DIR / "scrolls_validation.jsonl")
    back = round_trip(examples, "jsonl", tmp_path, "val")
    assert back == [replace(ex, raw_transcript=None) for ex in examples]
    assert back[2].references == examples[2].references and len(back[2].references) == 2


def test_scrolls_rows_and_ids(tmp_path, academic_test):
    out = tmp_path / "test.jsonl"
    convert(academic_test[:2], "scrolls", out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    first = academic_test[0]
    assert rows[0] == {
        "id": first.id,
        "pid": f"{first.id}_0",
        "input": f"{first.query}\n\n{plain_transcript(first)}",
        "output": first.references[0],
    }


def test_longbench_rows(tmp_path, academic_test):
    out = tmp_path / "qmsum.jsonl"
    convert(academic_test[:1], "longbench", out)
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    ex = academic_test[0]
    words = [ex.query, plain_transcript(ex), *ex.references]
    assert row == {
        "input": ex.query,
        "context": plain_transcript(ex),
        "answers": list(ex.references),
        # LongBench's README: "Total length of the first three items" (input, context, answers), in words.
        "length": sum(len(text.split()) for text in words),
        "dataset": "qmsum",
        "language": "en",
        "all_classes": None,
        "_id": ex.id,
    }


def test_prepare_none_renders_each_meeting_once_and_exactly(academic_test):
    texts = prepare(academic_test, "none")
    assert [(t.query, t.transcript, t.references) for t in texts] == [
        (ex.query, "\n".join(f"{turn.speaker}: {turn.content}" for turn in ex.turns), ex.references)
        for ex in academic_test
    ]
    same_meeting = [t.transcript for t, ex in zip(texts, academic_test) if ex.meeting == academic_test[0].meeting]
    assert all(text is same_meeting[0] for text in same_meeting)


# --- random examples through every format ------------------------------------------------

# No lone surrogates: every reader refuses them (they are not Unicode text).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
line_text = st.text(st.characters(exclude_characters="\n", exclude_categories=("Cs",)), max_size=20)
speakers = line_text.filter(lambda s: ": " not in s)
turn_lists = st.lists(st.builds(Turn, speakers, line_text), min_size=1, max_size=6).filter(
    lambda turns: any(t.content.strip() for t in turns)
)


@st.composite
def meetings(draw):
    turns = tuple(draw(turn_lists))
    queries = draw(st.lists(line_text.filter(str.strip), min_size=1, max_size=4))
    references = draw(
        st.lists(st.lists(any_text, min_size=1, max_size=2), min_size=len(queries), max_size=len(queries))
    )
    split = draw(st.sampled_from(["train", "val", "test"]))
    transcript = "\n".join(f"{t.speaker}: {t.content}" for t in turns)
    meeting = meeting_name_for(transcript)
    counts = {"general": 0, "specific": 0}
    examples = []
    for query, refs in zip(queries, references):
        kind = query_type_of(query)
        ex_id = example_id(split, meeting, kind, counts[kind])
        counts[kind] += 1
        examples.append(Example(ex_id, meeting, infer_domain(meeting, turns), split, kind, query, tuple(refs), turns))
    return examples


@settings(max_examples=25, deadline=None)
@given(meetings(), st.sampled_from(FORMATS))
def test_random_meetings_round_trip(tmp_path_factory, examples, fmt):
    if fmt == "alpaca":
        examples = [replace(ex, references=ex.references[:1]) for ex in examples]  # one entry per reference
    back = round_trip(examples, fmt, tmp_path_factory.mktemp("rt"), examples[0].split)
    if fmt == "jsonl":  # meeting records list general queries first
        assert sorted(back, key=lambda ex: ex.id) == sorted(examples, key=lambda ex: ex.id)
    else:
        assert [without_string_fields(ex) for ex in back] == examples


# --- the command ----------------------------------------------------------------------------------


def run(*args: str):
    return CliRunner().invoke(main, ["convert", *args])


def test_cli_writes_and_reports(tmp_path):
    out = tmp_path / "val.jsonl.gz"
    result = run("--to", "scrolls", "--split", "val", "--domain", "product", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 145 examples as 145 scrolls rows to {out}\n"
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert [ex.id for ex in load_examples(out)] == [ex.id for ex in load_examples(split="val", domain="product")]


def test_cli_reads_other_data(tmp_path):
    out = tmp_path / "alpaca_test.json"
    result = run("--to", "alpaca", "--data", str(DATA / "qmsum"), "--split", "test", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())) == len(load_examples(DATA / "qmsum", split="test"))


def test_cli_jsonl_counts_meetings(tmp_path):
    out = tmp_path / "test.jsonl"
    result = run("--to", "jsonl", "--split", "test", "--domain", "academic", "-o", str(out))
    assert result.output == f"wrote 58 examples as 9 jsonl meetings to {out}\n"


def test_cli_preprocess_qmsum(tmp_path):
    out = tmp_path / "alpaca_test.json"
    result = run("--to", "alpaca", "--split", "test", "--domain", "academic", "--preprocess", "qmsum", "-o", str(out))
    assert result.exit_code == 0, result.output
    prepared = prepare(load_examples(split="test", domain="academic"), "qmsum")
    entries = json.loads(out.read_text())
    assert entries == [
        {"instruction": p.query, "input": p.transcript, "output": r} for p in prepared for r in p.references
    ]


def test_cli_preprocess_qmsum_reproduces_the_original_experiments(tmp_path):
    # The fixture holds entries 40 and 41 of the original alpaca_format_test.json,
    # bytes verbatim; the whole converted file matches theirs in order.
    out = tmp_path / "alpaca_format_test.json"
    result = run("--to", "alpaca", "--split", "test", "--domain", "academic", "--preprocess", "qmsum", "-o", str(out))
    assert result.exit_code == 0, result.output
    entries = json.loads(out.read_text())
    assert len(entries) == 58
    assert alpaca_json(entries[40:42]).encode() == (FORMATS_DIR / "alpaca_format_test.json").read_bytes()


def test_cli_rejects_jsonl_with_preprocessing(tmp_path):
    result = run("--to", "jsonl", "--preprocess", "qmsum", "-o", str(tmp_path / "x.jsonl"))
    assert result.exit_code == 2
    assert result.stderr == "qmsum-fast: error: --to jsonl keeps turns as they are; use --preprocess none with it\n"


def test_cli_creates_a_missing_output_folder(tmp_path):
    out = tmp_path / "missing" / "deeper" / "x.jsonl"
    result = run("--to", "scrolls", "--split", "val", "--domain", "academic", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert len(load_examples(out)) == 54
    assert sorted(p.name for p in out.parent.iterdir()) == ["x.jsonl"]  # no temporary file left


def test_cli_default_split_is_test(tmp_path):
    out = tmp_path / "x.jsonl"
    result = run("--to", "jsonl", "--data", str(DATA / "qmsum"), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert {ex.split for ex in load_examples(out)} == {"test"}
    assert len(load_examples(out)) == len(load_examples(DATA / "qmsum", split="test"))


def test_cli_refuses_an_existing_output_unless_overwrite(tmp_path):
    out = tmp_path / "x.jsonl.gz"
    out.write_bytes(b"keep me")
    args = ("--to", "scrolls", "--split", "val", "--domain", "academic", "-o", str(out))
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == f"qmsum-fast: error: {out} already exists: pass --overwrite to replace it\n"
    assert out.read_bytes() == b"keep me"
    assert run(*args, "--overwrite").exit_code == 0
    assert len(load_examples(out)) == 54


def test_gzip_output_is_reproducible_and_names_the_output(tmp_path):
    examples = load_examples(FORMATS_DIR / "scrolls_validation.jsonl")
    first, second = tmp_path / "a" / "val.jsonl.gz", tmp_path / "b" / "val.jsonl.gz"
    convert(examples, "scrolls", first)
    convert(examples, "scrolls", second)
    assert first.read_bytes() == second.read_bytes()
    assert b"val.jsonl\x00" in first.read_bytes()[:40]  # the gzip header names the output, not a temp file


def test_cli_unknown_format_is_a_usage_error(tmp_path):
    result = run("--to", "csv", "-o", str(tmp_path / "x"))
    assert result.exit_code == 2 and "'csv' is not one of" in result.stderr


SCROLLS_FILES = [FORMATS_DIR / "scrolls_validation.jsonl", DATA / "peer" / "scrolls_qmsum_test.jsonl"]


@pytest.mark.parametrize("fixture", SCROLLS_FILES)
def test_scrolls_files_convert_back_to_their_bytes(tmp_path, fixture):
    # The peer's ids and pids survive, and a gold-less row stays one row with output null.
    out = tmp_path / fixture.name
    convert(load_examples(fixture), "scrolls", out)
    assert out.read_bytes() == fixture.read_bytes()

"""The data layer: loaders for every format, the bundled dataset, bad input."""

from __future__ import annotations

import collections
import gzip
import importlib.util
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from qmsum_fast.cli import main
from qmsum_fast.data import (
    DOMAINS,
    SPLITS,
    Turn,
    domain_of_meeting,
    example_id,
    load_examples,
    parse_example_id,
    parse_turns,
    plain_transcript,
    render_turns,
)
from qmsum_fast.data.readers import bundled_root, infer_domain, query_type_of, split_of_name
from qmsum_fast.errors import InputError

DATA = Path(__file__).parent / "data"
ROOT = DATA / "qmsum"  # a miniature upstream data root of real meeting files
FORMATS = DATA / "formats"


@pytest.fixture(scope="module")
def bundled():
    return load_examples()


def upstream(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the bundled dataset ------------------------------------------------------------

# Query-summary pairs per domain and split, as ../shared/data/README.md counts them.
EXPECTED_COUNTS = {
    "academic": {"train": 259, "val": 54, "test": 58},
    "product": {"train": 690, "val": 145, "test": 151},
    "committee": {"train": 308, "val": 73, "test": 72},
}


def test_bundled_counts_match_the_published_figures(bundled):
    counts = collections.Counter((ex.domain, ex.split) for ex in bundled)
    assert {d: {s: counts[d, s] for s in SPLITS} for d in DOMAINS} == EXPECTED_COUNTS
    assert collections.Counter(ex.split for ex in bundled) == {"train": 1257, "val": 272, "test": 281}
    assert len(bundled) == 1810


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("split", SPLITS)
def test_bundled_filters(split, domain):
    examples = load_examples(split=split, domain=domain)
    assert len(examples) == EXPECTED_COUNTS[domain][split]
    assert {(ex.split, ex.domain) for ex in examples} == {(split, domain)}


def test_bundled_ids_are_unique_and_stable(bundled):
    ids = [ex.id for ex in bundled]
    assert len(set(ids)) == len(ids)
    for ex in bundled:
        split, meeting, kind, index = parse_example_id(ex.id)
        assert (split, meeting, kind) == (ex.split, ex.meeting, ex.query_type)
        assert ex.id == example_id(ex.split, ex.meeting, ex.query_type, index)
    assert "test/Bed003/s2" in ids


def test_bundled_queries_of_a_meeting_share_one_turns_object(bundled):
    by_meeting = collections.defaultdict(set)
    for ex in bundled:
        by_meeting[ex.meeting].add(id(ex.turns))
    assert len(by_meeting) == 232
    assert all(len(objects) == 1 for objects in by_meeting.values())
    assert len({id(ex.turns) for ex in bundled}) == 232


def test_bundled_spans_are_inside_and_only_on_specific_queries(bundled):
    for ex in bundled:
        if ex.query_type == "general":
            assert ex.spans == ()
        else:
            assert ex.spans
            assert all(0 <= a <= b < len(ex.turns) for a, b in ex.spans)
        assert len(ex.references) == 1 and ex.raw_transcript is None


def test_bundled_equals_the_upstream_files_it_was_built_from(bundled):
    by_id = {ex.id: ex for ex in bundled}
    from_files = load_examples(ROOT)
    assert len(from_files) > 20
    for ex in from_files:
        assert by_id[ex.id] == ex


def test_bundled_meeting_matches_the_upstream_file_field_by_field(bundled):
    raw = upstream(ROOT / "ALL/test/IS1003a.json")
    examples = [ex for ex in bundled if ex.meeting == "IS1003a"]
    general = [ex for ex in examples if ex.query_type == "general"]
    specific = [ex for ex in examples if ex.query_type == "specific"]
    assert [(ex.query, ex.references) for ex in general] == [
        (q["query"], (q["answer"],)) for q in raw["general_query_list"]
    ]
    assert [ex.spans for ex in specific] == [
        tuple((int(a), int(b)) for a, b in q["relevant_text_span"]) for q in raw["specific_query_list"]
    ]
    assert examples[0].turns == tuple(Turn(t["speaker"], t["content"]) for t in raw["meeting_transcripts"])
    assert [ex.id for ex in examples][:2] == ["test/IS1003a/g0", "test/IS1003a/s0"]


def test_bundle_keeps_the_upstream_jsonl_meeting_order():
    # The original experiments iterated the upstream JSONL; its test file starts so.
    with gzip.open(bundled_root() / "test.jsonl.gz", "rt", encoding="utf-8") as lines:
        meetings = [json.loads(line)["meeting"] for line in lines]
    assert meetings[:4] == ["education_13", "TS3011d", "ES2011b", "Bro019"]


def test_bundle_stores_turns_as_columns():
    with gzip.open(bundled_root() / "val.jsonl.gz", "rt", encoding="utf-8") as lines:
        record = json.loads(next(lines))
    assert set(record) == {
        "meeting",
        "domain",
        "topic_list",
        "general_query_list",
        "specific_query_list",
        "speakers",
        "contents",
    }
    assert len(record["speakers"]) == len(record["contents"])


def test_bundle_script_rebuilds_what_the_loader_reads(tmp_path):
    script = importlib.util.spec_from_file_location(
        "bundle_qmsum", Path(__file__).parents[1] / "scripts/bundle_qmsum.py"
    )
    bundle_qmsum = importlib.util.module_from_spec(script)
    script.loader.exec_module(bundle_qmsum)
    root = tmp_path / "data"
    shutil.copytree(ROOT / "ALL", root / "ALL")
    for path in (root / "ALL").glob("*/*.json"):
        folder = root / domain_of_meeting(path.stem).capitalize() / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / path.name)
    # An upstream JSONL fixes the meeting order of its split.
    (root / "ALL/jsonl").mkdir()
    tests = ["education_17", "IS1003a"]
    (root / "ALL/jsonl/test.jsonl").write_text(
        "".join(json.dumps(upstream(ROOT / f"ALL/test/{m}.json")) + "\n" for m in tests)
    )
    for out in ("a", "b"):
        bundle_qmsum.main(["bundle_qmsum.py", str(root), str(tmp_path / out)])
    assert all(
        (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
        for n in ("train.jsonl.gz", "test.jsonl.gz")
    )
    rebuilt = load_examples(tmp_path / "a")
    assert sorted(rebuilt, key=lambda ex: ex.id) == sorted(load_examples(root), key=lambda ex: ex.id)
    assert list(dict.fromkeys(ex.meeting for ex in rebuilt if ex.split == "test")) == tests
    assert list(dict.fromkeys(ex.meeting for ex in rebuilt if ex.split == "train")) == ["Bro008", "ES2005a"]


def test_bundle_ships_its_licence():
    assert "MIT License" in (bundled_root() / "LICENSE").read_text()
    assert "Yale-LILY/QMSum" in (bundled_root() / "NOTICE").read_text()
    tokenizer_notice = bundled_root().parent / "tokenizers/gpt-neox-20b/NOTICE"
    assert "Apache" in tokenizer_notice.read_text() and "EleutherAI/gpt-neox-20b" in tokenizer_notice.read_text()


def test_meeting_name_rule_and_speaker_rule_agree_with_the_domain_folders(bundled):
    meetings = {ex.meeting: ex for ex in bundled}
    assert all(domain_of_meeting(m) == ex.domain for m, ex in meetings.items())
    assert all(infer_domain("mtg-00000000", ex.turns) == ex.domain for ex in meetings.values())


def test_query_type_heuristic_misses_only_two_odd_queries(bundled):
    wrong = sorted(ex.id for ex in bundled if query_type_of(ex.query) != ex.query_type)
    # Bmr016 has a topic query in its general list; Bed010 a whole-meeting query in its specific list.
    assert wrong == ["train/Bmr016/g0", "val/Bed010/s0"]


# --- upstream layouts -----------------------------------------------------------------


def test_data_root_reads_all_splits_with_domains_from_folders():
    examples = load_examples(ROOT)
    meetings = {(ex.split, ex.meeting, ex.domain) for ex in examples}
    assert meetings == {
        ("train", "ES2005a", "product"),
        ("train", "Bro008", "academic"),
        ("val", "TS3010a", "product"),
        ("test", "IS1003a", "product"),
        ("test", "education_17", "committee"),
    }
    raw = upstream(ROOT / "ALL/test/education_17.json")
    count = len(raw["general_query_list"]) + len(raw["specific_query_list"])
    assert len(load_examples(ROOT, split="test", domain="committee")) == count


def test_domain_folder_wins_over_the_meeting_name(tmp_path):
    meeting = (ROOT / "ALL/train/ES2005a.json").read_bytes()
    for folder in ("ALL/train", "Committee/train"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "ES2005a.json").write_bytes(meeting)
    assert {ex.domain for ex in load_examples(tmp_path)} == {"committee"}


@pytest.mark.parametrize(
    "path, split, domain",
    [
        ("ALL/train", "train", None),  # a split folder; domains from the folders beside ALL
        ("Product", None, "product"),  # a domain folder with split folders
        ("Product/train", "train", "product"),
        ("ALL/val/TS3010a.json", "val", "product"),  # one meeting file
        ("ALL", None, None),
    ],
)
def test_upstream_layouts_agree_with_the_data_root(path, split, domain):
    whole = {ex.id: ex for ex in load_examples(ROOT)}
    examples = load_examples(ROOT / path)
    assert examples and all(whole[ex.id] == ex for ex in examples)
    if split:
        assert {ex.split for ex in examples} == {split}
    if domain:
        assert {ex.domain for ex in examples} == {domain}


def test_folder_named_all_takes_splits_from_the_folders_beside_it(tmp_path):
    shutil.copytree(ROOT / "Academic", tmp_path / "Academic")
    shutil.copytree(ROOT / "Academic/train", tmp_path / "Academic/all")
    examples = load_examples(tmp_path / "Academic/all")
    assert {(ex.split, ex.domain) for ex in examples} == {("train", "academic")}


def test_upstream_jsonl_without_names(tmp_path):
    # The upstream JSONL has no meeting names: meetings get a hash name, the
    # domain comes from the speakers, the split from the file name.
    names = ["Bro008", "ES2005a"]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(upstream(ROOT / "ALL/train" / f"{name}.json")) + "\n" for name in names))
    examples = load_examples(path)
    hashed = list(dict.fromkeys(ex.meeting for ex in examples))
    assert len(hashed) == 2 and all(m.startswith("mtg-") for m in hashed)
    named = load_examples(ROOT, split="train")
    renamed = dict(zip(hashed, names))
    assert sorted(ex.id for ex in named) == sorted(ex.id.replace(ex.meeting, renamed[ex.meeting]) for ex in examples)
    by_id = {ex.id: ex for ex in named}
    for ex in examples:
        name = renamed[ex.meeting]
        assert replace(ex, id=ex.id.replace(ex.meeting, name), meeting=name) == by_id[ex.id.replace(ex.meeting, name)]


def test_bundle_style_jsonl_keeps_names_and_domains(tmp_path):
    record = {"meeting": "Xyz001", "domain": "academic", "split": "val", **upstream(ROOT / "ALL/val/TS3010a.json")}
    path = tmp_path / "mine.jsonl.gz"
    path.write_bytes(gzip.compress((json.dumps(record) + "\n").encode()))
    examples = load_examples(path)
    assert {(ex.meeting, ex.domain, ex.split) for ex in examples} == {("Xyz001", "academic", "val")}


# --- one-string formats -------------------------------------------------------------------


def test_scrolls_rows_sharing_an_id_are_one_example():
    rows = [json.loads(line) for line in (FORMATS / "scrolls_validation.jsonl").read_text().splitlines()]
    examples = load_examples(FORMATS / "scrolls_validation.jsonl")
    assert len(rows) == 4 and len(examples) == 3
    assert examples[2].references == (rows[2]["output"], rows[3]["output"])
    query, transcript = rows[0]["input"].split("\n\n", 1)
    first = examples[0]
    assert (first.query, first.raw_transcript, plain_transcript(first)) == (query, transcript, transcript)
    assert first.split == "val"  # from "validation" in the file name
    assert [ex.query_type for ex in examples] == ["general", "specific", "specific"]
    assert [ex.id.rsplit("/", 1)[1] for ex in examples] == ["g0", "s0", "s1"]
    assert first.domain == "product"  # AMI roles as speakers
    assert len({id(ex.turns) for ex in examples}) == 1
    assert render_turns(first.turns) == transcript  # "Speaker: text" lines parse back exactly


def test_scrolls_turns_are_the_meeting_turns():
    meeting = upstream(ROOT / "ALL/val/TS3010a.json")
    example = load_examples(FORMATS / "scrolls_validation.jsonl")[0]
    assert example.turns == tuple(Turn(t["speaker"], t["content"]) for t in meeting["meeting_transcripts"][:15])


def test_longbench_rows():
    rows = [json.loads(line) for line in (FORMATS / "longbench_qmsum.jsonl").read_text().splitlines()]
    examples = load_examples(FORMATS / "longbench_qmsum.jsonl")
    assert [(ex.query, ex.references, ex.raw_transcript) for ex in examples] == [
        (r["input"], tuple(r["answers"]), r["context"]) for r in rows
    ]
    assert {(ex.split, ex.domain) for ex in examples} == {("test", "product")}  # no split in the name: test
    assert len({ex.meeting for ex in examples}) == 1


def test_peer_ids_are_kept_and_the_packages_own_are_not_repeated(bundled):
    scrolls = [json.loads(line) for line in (FORMATS / "scrolls_validation.jsonl").read_text().splitlines()]
    examples = load_examples(FORMATS / "scrolls_validation.jsonl")
    assert [ex.source_id for ex in examples] == [row["id"] for row in scrolls[:3]]
    assert [ex.source_pids for ex in examples] == [(row["pid"],) for row in scrolls[:2]] + [
        (scrolls[2]["pid"], scrolls[3]["pid"])
    ]
    longbench = [json.loads(line) for line in (FORMATS / "longbench_qmsum.jsonl").read_text().splitlines()]
    examples = load_examples(FORMATS / "longbench_qmsum.jsonl")
    assert [(ex.source_id, ex.source_pids) for ex in examples] == [(row["_id"], ()) for row in longbench]
    assert {(ex.source_id, ex.source_pids) for ex in bundled} == {(None, ())}


def test_rows_without_gold_have_no_references(tmp_path):
    path = tmp_path / "test.jsonl"
    rows = [
        {"id": "x", "pid": "x_0", "input": "q\n\nA: b", "output": None},
        {"_id": "y", "input": "q", "context": "A: b", "answers": []},
    ]
    for row in rows:
        path.write_text(json.dumps(row) + "\n")
        assert load_examples(path)[0].references == ()
    path.write_text(json.dumps({**rows[0], "output": 3}) + "\n")
    assert cli_error(path) == f"{path}:1: field 'output' must be a string or null, found int"


def test_upstream_records_may_carry_peer_ids_and_no_answer(tmp_path):
    query = {"query": "q", "answers": [], "source_id": "ab12", "source_pids": ["ab12_0"]}
    meeting = meeting_with(general_query_list=[query], specific_query_list=[])
    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps(meeting) + "\n")
    (example,) = load_examples(path, split="all")
    assert (example.references, example.source_id, example.source_pids) == ((), "ab12", ("ab12_0",))


def test_alpaca_entries_of_the_original_experiments():
    entries = json.loads((FORMATS / "alpaca_format_test.json").read_text())
    examples = load_examples(FORMATS / "alpaca_format_test.json")
    assert [(ex.query, ex.references, ex.raw_transcript) for ex in examples] == [
        (e["instruction"], (e["output"],), e["input"]) for e in entries
    ]
    assert [ex.query_type for ex in examples] == ["general", "specific"]
    assert {(ex.split, ex.domain) for ex in examples} == {("test", "academic")}  # ICSI speaker names
    assert examples[0].turns is examples[1].turns


def test_folder_of_alpaca_files(tmp_path):
    shutil.copyfile(FORMATS / "alpaca_format_test.json", tmp_path / "alpaca_format_test.json")
    # Another meeting for val: a meeting given twice is refused (tests/test_resume_integrity.py).
    entries = json.loads((FORMATS / "alpaca_format_test.json").read_text())
    for entry in entries:
        entry["input"] += " professor b: another meeting ."
    (tmp_path / "alpaca_format_val.json").write_text(json.dumps(entries))
    examples = load_examples(tmp_path, domain="academic")
    assert [ex.split for ex in examples] == ["test", "test", "val", "val"]
    assert len(load_examples(tmp_path, split="val")) == 2


def test_domain_filter_skips_meeting_files_of_other_domains(tmp_path):
    shutil.copytree(ROOT, tmp_path / "root")
    (tmp_path / "root/ALL/train/ES2005a.json").write_text("not JSON, never read")
    assert {ex.meeting for ex in load_examples(tmp_path / "root", domain="academic")} == {"Bro008"}


def test_one_string_formats_filter_by_split(tmp_path):
    with pytest.raises(InputError, match="no examples for split=train"):
        load_examples(FORMATS / "longbench_qmsum.jsonl", split="train")


# --- helpers ---------------------------------------------------------------------------------

speakers = st.text(st.characters(exclude_characters="\n"), max_size=12).filter(lambda s: ": " not in s)
contents = st.text(st.characters(exclude_characters="\n"), max_size=30)


@given(st.lists(st.builds(Turn, speakers, contents), min_size=1, max_size=8))
def test_parse_turns_inverts_render_turns(turns):
    assert parse_turns(render_turns(tuple(turns))) == tuple(turns)


def test_parse_turns_keeps_lines_without_a_speaker():
    assert parse_turns("A: hi\n\nno speaker here\nB: ") == (Turn("A", "hi"), Turn("", "no speaker here"), Turn("B", ""))


@given(
    st.sampled_from(SPLITS),
    st.from_regex(r"[A-Za-z0-9_\-]{1,12}", fullmatch=True),
    st.sampled_from(["general", "specific"]),
    st.integers(0, 999),
)
def test_example_ids_parse_back(split, meeting, kind, index):
    assert parse_example_id(example_id(split, meeting, kind, index)) == (split, meeting, kind, index)


def test_ids_of_other_sources_are_not_parsed():
    assert parse_example_id("c76a221bc55170d1c4ac89b4") is None
    assert parse_example_id("dev/Bed003/s2") is None


@pytest.mark.parametrize(
    "name, split",
    [
        ("val.jsonl", "val"),
        ("validation.jsonl", "val"),
        ("alpaca_format_test.json", "test"),
        ("train", "train"),
        ("qmsum.jsonl", None),
        ("train_test.jsonl", None),
    ],
)
def test_split_of_name(name, split):
    assert split_of_name(name) == split


def test_meeting_name_rule():
    assert [domain_of_meeting(m) for m in ("Bed003", "Buw001", "ES2004a", "TS3011d", "IS1003b", "covid_4")] == [
        "academic",
        "academic",
        "product",
        "product",
        "product",
        "committee",
    ]


def test_filters_accept_aliases_and_any_case():
    assert len(load_examples(ROOT, split="validation", domain="Product")) == len(load_examples(ROOT, split="val"))
    assert len(load_examples(ROOT, domain="all")) == len(load_examples(ROOT))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "dev2"}, "--split: unknown split 'dev2'"),
        ({"domain": "medical"}, "--domain: unknown domain 'medical'"),
    ],
)
def test_filters_are_checked(kwargs, message):
    with pytest.raises(InputError, match=message):
        load_examples(ROOT, **kwargs)


# --- bad input, through the CLI ---------------------------------------------------------------


def cli_error(data: Path, *extra: str) -> str:
    """Run ``qmsum-fast convert`` on ``data``; return its one-line error."""
    out = Path(tempfile.gettempdir()) / "qmsum-fast-test-never-written.jsonl"
    result = CliRunner().invoke(main, ["convert", "--to", "jsonl", "--data", str(data), "-o", str(out), *extra])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0].removeprefix("qmsum-fast: error: ")


def meeting_with(**changes) -> dict:
    meeting = {
        "topic_list": [],
        "general_query_list": [{"query": "Summarize the meeting", "answer": "They met."}],
        "specific_query_list": [{"query": "What about B?", "answer": "B spoke.", "relevant_text_span": [["0", "1"]]}],
        "meeting_transcripts": [{"speaker": "A", "content": "hello ."}, {"speaker": "B", "content": "hi ."}],
    }
    meeting.update(changes)
    return meeting


def test_error_missing_path(tmp_path):
    assert cli_error(tmp_path / "nowhere") == f"{tmp_path / 'nowhere'}: no such file or directory"


def test_error_folder_without_qmsum_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert cli_error(tmp_path).startswith(f"{tmp_path}: no QMSum files here")


def test_error_unknown_file_type(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert cli_error(tmp_path / "notes.txt").startswith(f"{tmp_path / 'notes.txt'}: not a QMSum file")


def test_error_malformed_json_names_file_and_line(tmp_path):
    path = tmp_path / "Bed003.json"
    path.write_text('{\n  "topic_list": [],\n  "general_query_list": [,\n}')
    assert cli_error(path).startswith(f"{path}:3: malformed JSON: Expecting value")


def test_error_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps(meeting_with()) + "\n\n" + '{"meeting_transcripts": [}\n')
    assert cli_error(path).startswith(f"{path}:3: malformed JSON")


def test_error_malformed_alpaca_names_file_and_line(tmp_path):
    path = tmp_path / "alpaca_test.json"
    path.write_text('[\n{"instruction": "q", "input": "A: b", "output": "c"},\n{"instruction" "q"}\n]')
    assert cli_error(path).startswith(f"{path}:3: malformed JSON: Expecting ':' delimiter")


def test_error_malformed_json_in_a_data_root(tmp_path):
    (tmp_path / "ALL/test").mkdir(parents=True)
    (tmp_path / "ALL/test/Bed003.json").write_text("{\n\n oops")
    assert cli_error(tmp_path).startswith(f"{tmp_path / 'ALL/test/Bed003.json'}:3: malformed JSON")


@pytest.mark.parametrize(
    "meeting, where, field",
    [
        ({k: v for k, v in meeting_with().items() if k != "meeting_transcripts"}, "", "meeting_transcripts"),
        ({k: v for k, v in meeting_with().items() if k != "specific_query_list"}, "", "specific_query_list"),
        (meeting_with(general_query_list=[{"query": "Summarize"}]), " general_query_list[0]:", "answer"),
        (
            meeting_with(specific_query_list=[{"query": "q", "answer": "a"}]),
            " specific_query_list[0]:",
            "relevant_text_span",
        ),
        (
            meeting_with(meeting_transcripts=[{"speaker": "A", "content": "x"}, {"speaker": "B"}]),
            " meeting_transcripts[1]:",
            "content",
        ),
    ],
)
def test_error_missing_field_is_named(tmp_path, meeting, where, field):
    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps(meeting) + "\n")
    assert cli_error(path) == f"{path}:1:{where} missing field '{field}'"


@pytest.mark.parametrize(
    "name, row, field",
    [
        ("scrolls.jsonl", {"id": "x", "pid": "x_0", "input": "q\n\nA: b"}, "output"),
        ("scrolls.jsonl", {"pid": "x_0", "input": "q\n\nA: b", "output": "o"}, "id"),
        ("longbench.jsonl", {"_id": "x", "input": "q", "context": "A: b"}, "answers"),
        ("longbench.jsonl", {"_id": "x", "input": "q", "answers": ["o"]}, "context"),
        ("alpaca.jsonl", {"instruction": "q", "output": "o"}, "input"),
    ],
)
def test_error_missing_field_in_one_string_formats(tmp_path, name, row, field):
    path = tmp_path / name
    path.write_text(json.dumps(row) + "\n")
    assert cli_error(path) == f"{path}:1: missing field '{field}'"


def test_error_missing_field_in_alpaca_json(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text(
        json.dumps([{"instruction": "q", "input": "A: b", "output": "o"}, {"instruction": "q", "input": "A: b"}])
    )
    assert cli_error(path) == f"{path}: entry 1: missing field 'output'"


def test_error_missing_field_in_a_meeting_file(tmp_path):
    path = tmp_path / "Bed003.json"
    path.write_text(json.dumps({k: v for k, v in meeting_with().items() if k != "general_query_list"}))
    assert cli_error(path) == f"{path}: missing field 'general_query_list'"


@pytest.mark.parametrize("turns", [[], [{"speaker": "A", "content": "  "}]])
def test_error_empty_upstream_transcript(tmp_path, turns):
    path = tmp_path / "Bed003.json"
    path.write_text(json.dumps(meeting_with(meeting_transcripts=turns, specific_query_list=[])))
    assert cli_error(path) == f"{path}: empty transcript (meeting_transcripts has no words)"


@pytest.mark.parametrize(
    "name, row",
    [
        ("scrolls.jsonl", {"id": "x", "pid": "x_0", "input": "Summarize.\n\n", "output": "o"}),
        ("longbench.jsonl", {"_id": "x", "input": "q", "context": " \n", "answers": ["o"]}),
        ("alpaca.jsonl", {"instruction": "q", "input": "", "output": "o"}),
    ],
)
def test_error_empty_transcript_in_one_string_formats(tmp_path, name, row):
    path = tmp_path / name
    path.write_text(json.dumps(row) + "\n")
    assert cli_error(path) == f"{path}:1: empty transcript"


@pytest.mark.parametrize("span", [["1", "2"], ["-1", "0"], ["2", "2"]])
def test_error_span_outside_the_transcript(tmp_path, span):
    path = tmp_path / "Bed003.json"
    path.write_text(
        json.dumps(
            meeting_with(specific_query_list=[{"query": "q", "answer": "a", "relevant_text_span": [["0", "1"], span]}])
        )
    )
    where = f"{path}: specific_query_list[0].relevant_text_span"
    assert cli_error(path) == f"{where}: span {json.dumps(span)} is outside the transcript (turns 0 to 1)"


def test_error_span_reversed(tmp_path):
    path = tmp_path / "Bed003.json"
    path.write_text(
        json.dumps(
            meeting_with(specific_query_list=[{"query": "q", "answer": "a", "relevant_text_span": [["1", "0"]]}])
        )
    )
    assert (
        cli_error(path) == f'{path}: specific_query_list[0].relevant_text_span: span ["1", "0"] ends before it starts'
    )


def test_error_span_that_is_not_a_pair(tmp_path):
    path = tmp_path / "Bed003.json"
    path.write_text(
        json.dumps(
            meeting_with(specific_query_list=[{"query": "q", "answer": "a", "relevant_text_span": [["0", "x"]]}])
        )
    )
    assert cli_error(path).endswith('span ["0", "x"] is not a pair of turn indices')


def test_error_scrolls_input_without_a_blank_line(tmp_path):
    path = tmp_path / "scrolls.jsonl"
    path.write_text(json.dumps({"id": "x", "pid": "x_0", "input": "q A: b", "output": "o"}) + "\n")
    assert cli_error(path) == f"{path}:1: field 'input' has no blank line between the query and the transcript"


def test_error_scrolls_id_reused_for_another_query(tmp_path):
    path = tmp_path / "scrolls.jsonl"
    rows = [{"id": "x", "pid": "x_0", "input": f"{q}\n\nA: b", "output": "o"} for q in ("q1", "q2")]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert cli_error(path) == f"{path}:2: id 'x' is also used at {path}:1 for another query or transcript"


def test_error_unknown_jsonl_record(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "hello"}\n')
    assert cli_error(path).startswith(f"{path}:1: unknown record with fields ['text']")


def test_error_wrong_field_type(tmp_path):
    path = tmp_path / "Bed003.json"
    path.write_text(json.dumps(meeting_with(meeting_transcripts=[{"speaker": "A", "content": 3}])))
    assert cli_error(path) == f"{path}: meeting_transcripts[0]: field 'content' must be a string, found int"


def test_error_bundle_columns_of_different_length(tmp_path):
    record = {k: v for k, v in meeting_with(specific_query_list=[]).items() if k != "meeting_transcripts"}
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps({**record, "speakers": ["A", "B"], "contents": ["hi"]}) + "\n")
    assert cli_error(path) == f"{path}:1: fields 'speakers' and 'contents' differ in length (2 and 1)"


@pytest.mark.parametrize("speakers", [["A", 2], "AB"])
def test_error_bundle_columns_of_strings(tmp_path, speakers):
    record = {k: v for k, v in meeting_with(specific_query_list=[]).items() if k != "meeting_transcripts"}
    path = tmp_path / "test.jsonl"
    path.write_text(json.dumps({**record, "speakers": speakers, "contents": ["hi", "ho"]}) + "\n")
    assert cli_error(path) == f"{path}:1: field 'speakers' must be a list of strings"


def test_error_not_utf8_and_bad_gzip(tmp_path):
    text = tmp_path / "val.jsonl"
    text.write_bytes(b'{"id": "\xff"}\n')
    assert cli_error(text) == f"{text}: not UTF-8 text (byte 8)"
    packed = tmp_path / "val.jsonl.gz"
    packed.write_bytes(b"not gzip at all")
    assert cli_error(packed).startswith(f"{packed}: cannot read:")


def test_error_filters_through_the_cli(tmp_path):
    assert cli_error(ROOT, "--domain", "medical").startswith("Invalid value for '--domain': 'medical' is not one of")
    assert cli_error(ROOT, "--split", "dev2").startswith("Invalid value for '--split': 'dev2' is not one of")
    assert cli_error(FORMATS / "longbench_qmsum.jsonl", "--split", "train") == (
        f"{FORMATS / 'longbench_qmsum.jsonl'}: no examples for split=train domain=all"
    )

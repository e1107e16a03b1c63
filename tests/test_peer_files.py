"""The leaderboards' files and prompts: SCROLLS, ZeroSCROLLS, LongBench, lm-evaluation-harness.

Peer texts used here, each with its source (all MIT licensed):
- LongBench's qmsum prompt: THUDM/LongBench, LongBench/config/dataset2prompt.json;
  its pred files: LongBench/pred.py (``pred``, ``answers``, ``all_classes``, ``length``);
- lm-evaluation-harness 0.4.13: ``scrolls_qmsum`` prompt in lm_eval/tasks/scrolls/task.py
  (``_SCROLLSSummaryTask.doc_to_text``), ``longbench_qmsum`` in lm_eval/tasks/longbench/qmsum.yaml;
- SCROLLS submissions and references: tau-nlp/scrolls, evaluator/README.md and dataset_evaluator.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from cli_helpers import error, ok
from qmsum_fast.data import bundled_root, load_examples, plain_transcript
from qmsum_fast.stats import BUNDLED_TOKENIZER, length_summary
from qmsum_fast.templates import load_template

DATA = Path(__file__).parent / "data"
PEER = DATA / "peer"  # hand-made files in the peers' layouts (see make_peer_files.py)
FORMATS = DATA / "formats"
ZEROSCROLLS_VAL = PEER / "zeroscrolls_qmsum_validation.jsonl"
ZEROSCROLLS_TEST = PEER / "zeroscrolls_qmsum_test.jsonl"
SCROLLS_TEST = PEER / "scrolls_qmsum_test.jsonl"

LONGBENCH_QMSUM_PROMPT = (
    "You are given a meeting transcript and a query containing a question or instruction. "
    "Answer the query in one or more sentences.\n\nTranscript:\n{context}\n\n"
    "Now, answer the query based on the above meeting transcript in one or more sentences.\n\n"
    "Query: {input}\nAnswer:"
)


def lm_eval_scrolls_qmsum_prompt(doc: dict) -> str:
    """lm-eval's scrolls_qmsum: the SCROLLS input split at its first blank line
    into question and text, rendered as text, then the question."""
    split = doc["input"].find("\n\n")
    question, text = doc["input"][:split], doc["input"][split + 2 :]
    return f"{text}\n\nQuestion: {question}\nAnswer:"


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(*args) -> dict:
    # Peer ids are not the bundled data's: these files name no meetings, so examples are resampled.
    return json.loads(ok("score", *args, "--bootstrap", "200", "--resample", "example", "--json"))


def generate(tmp_path: Path, data: Path | None = None, name: str = "run.jsonl", *extra) -> Path:
    out = tmp_path / name
    where = ["--data", data, "--split", "all"] if data else ["--split", "test", "--domain", "academic"]
    ok("generate", "--model", "lead", *where, "--out", out, *extra)
    return out


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory) -> Path:
    """An extractive run on the bundled Academic test set (58 examples)."""
    return generate(tmp_path_factory.mktemp("run"))


# --- run -> export -> score ------------------------------------------------------------


def test_scrolls_submission_scores_as_the_run(tmp_path, bundled_run):
    references = tmp_path / "qmsum_test.jsonl"
    ok("convert", "--to", "scrolls", "--split", "test", "--domain", "academic", "-o", references)
    submission = tmp_path / "preds.json"
    output = ok("export", bundled_run, "--to", "scrolls", "-o", submission)
    assert "note: the run's data had no SCROLLS ids" in output
    predictions = json.loads(submission.read_text())
    assert list(predictions) == [record["id"] for record in rows(bundled_run)[1:]]
    assert scores("--pred", submission, "--ref", references) == scores("--pred", bundled_run)


def test_longbench_predictions_score_as_the_run(tmp_path, bundled_run):
    out = tmp_path / "qmsum.jsonl"
    ok("export", bundled_run, "--to", "longbench", "-o", out)
    assert scores("--pred", out) == scores("--pred", bundled_run)


def test_longbench_records_hold_what_longbench_and_lm_eval_read(tmp_path, bundled_run):
    out = tmp_path / "qmsum.jsonl"
    ok("export", bundled_run, "--to", "longbench", "-o", out)
    records = rows(out)
    examples = load_examples(split="test", domain="academic")
    run = rows(bundled_run)[1:]
    assert len(records) == len(examples) == len(run)
    for record, example, ran in zip(records, examples, run):
        # LongBench's pred.py writes these four first; eval.py reads pred, answers, all_classes (and length).
        assert list(record)[:4] == ["pred", "answers", "all_classes", "length"]
        assert record["pred"] == ran["prediction"] and record["answers"] == list(example.references)
        assert record["all_classes"] is None and record["_id"] == example.id
        texts = [example.query, plain_transcript(example), *example.references]
        assert record["length"] == sum(len(text.split()) for text in texts)  # the README's "first three items"
        # lm-eval's longbench_qmsum renders context, question and answers.
        assert (record["context"], record["question"], record["input"]) == (
            plain_transcript(example),
            example.query,
            example.query,
        )
        prompt = LONGBENCH_QMSUM_PROMPT.format(**record)
        assert prompt == load_template("longbench").render(record["question"], record["context"])


def test_longbench_export_reads_back_as_longbench_data(tmp_path, bundled_run):
    out = tmp_path / "qmsum.jsonl"
    ok("export", bundled_run, "--to", "longbench", "-o", out)
    back = load_examples(out)
    examples = load_examples(split="test", domain="academic")
    assert [(ex.query, ex.references, ex.raw_transcript) for ex in back] == [
        (ex.query, ex.references, plain_transcript(ex)) for ex in examples
    ]


def test_peer_ids_go_from_the_data_through_the_run_to_the_submission(tmp_path):
    run = generate(tmp_path, ZEROSCROLLS_VAL)
    peer_ids = [row["id"] for row in rows(ZEROSCROLLS_VAL)]
    assert [record["source_id"] for record in rows(run)[1:]] == peer_ids
    submission = tmp_path / "preds_qmsum.json"
    output = ok("export", run, "--to", "scrolls", "-o", submission)
    assert "note" not in output
    assert list(json.loads(submission.read_text())) == peer_ids
    # Written as ZeroSCROLLS' scripts write theirs: json.dump(..., indent=4).
    predictions = {record["source_id"]: record["prediction"] for record in rows(run)[1:]}
    assert submission.read_text() == json.dumps(predictions, indent=4)
    assert scores("--pred", submission, "--ref", ZEROSCROLLS_VAL) == scores("--pred", run)


def test_longbench_ids_reach_the_exported_records(tmp_path):
    run = generate(tmp_path, FORMATS / "longbench_qmsum.jsonl")
    out = tmp_path / "qmsum.jsonl"
    ok("export", run, "--to", "longbench", "-o", out)
    assert [record["_id"] for record in rows(out)] == [row["_id"] for row in rows(FORMATS / "longbench_qmsum.jsonl")]


def test_export_refuses_an_existing_output(tmp_path, bundled_run):
    out = tmp_path / "preds.json"
    out.write_text("keep")
    assert "already exists" in error("export", bundled_run, "--to", "scrolls", "-o", out)
    ok("export", bundled_run, "--to", "scrolls", "-o", out, "--overwrite")
    assert out.read_text() != "keep"


def test_export_longbench_without_the_runs_data(tmp_path, bundled_run):
    moved = tmp_path / "run.jsonl"
    lines = bundled_run.read_text().splitlines()
    header = json.loads(lines[0])
    header["config"]["data"] = str(tmp_path / "gone")
    moved.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    assert "gone: no such file or directory" in error("export", moved, "--to", "longbench", "-o", tmp_path / "x")
    ok("export", moved, "--to", "longbench", "-o", tmp_path / "x", "--data", bundled_root())


# --- SCROLLS submissions -----------------------------------------------------------------


def write_submission(path: Path, predictions: dict) -> Path:
    path.write_text(json.dumps(predictions, indent=4))
    return path


def test_submission_with_several_references_per_id(tmp_path):
    references = FORMATS / "scrolls_validation.jsonl"  # its last id has two rows
    ids = [row["id"] for row in rows(references)]
    submission = write_submission(
        tmp_path / "p.json", {key: "the team discussed the remote" for key in dict.fromkeys(ids)}
    )
    run = tmp_path / "run.jsonl"
    by_id: dict[str, list[str]] = {}
    for row in rows(references):
        by_id.setdefault(row["id"], []).append(row["output"])
    run.write_text(
        "".join(
            json.dumps({"id": key, "prediction": "the team discussed the remote", "references": refs}) + "\n"
            for key, refs in by_id.items()
        )
    )
    assert len(by_id[ids[-1]]) == 2
    assert scores("--pred", submission, "--ref", references) == scores("--pred", run)


def test_an_id_missing_on_either_side_is_named(tmp_path):
    references = FORMATS / "scrolls_validation.jsonl"
    ids = list(dict.fromkeys(row["id"] for row in rows(references)))
    short = write_submission(tmp_path / "short.json", {key: "x" for key in ids[1:]})
    assert error("score", "--pred", short, "--ref", references) == (
        f"{short}: no prediction for id {ids[0]!r} ({references}:1)"
    )
    extra = write_submission(tmp_path / "extra.json", {**{key: "x" for key in ids}, "abc": "x", "def": "y"})
    assert error("score", "--pred", extra, "--ref", references) == (
        f"{extra}: id 'abc' is not in {references} (and 1 more)"
    )


def test_a_submission_needs_one_scrolls_reference_file(tmp_path):
    submission = write_submission(tmp_path / "p.json", {"a": "x"})
    text = tmp_path / "refs.txt"
    text.write_text("a reference\n")
    assert "rows with id and output" in error("score", "--pred", submission, "--ref", text, "--ref", text)
    assert error("score", "--pred", submission, "--ref", text).startswith(f"{text}:1: malformed JSON")
    plain = tmp_path / "preds.txt"
    plain.write_text("one\ntwo\n")
    message = error("score", "--pred", plain, "--ref", FORMATS / "scrolls_validation.jsonl")
    assert "SCROLLS reference rows are scored against a submission JSON" in message


# --- LongBench predictions ---------------------------------------------------------------


def test_longbench_pred_file_as_pred_py_writes_it(tmp_path):
    examples = load_examples(FORMATS / "longbench_qmsum.jsonl")
    pred = tmp_path / "pred" / "my-model" / "qmsum.jsonl"
    pred.parent.mkdir(parents=True)
    with open(pred, "w", encoding="utf-8") as handle:  # LongBench/pred.py, one json.dump and "\n" a record
        for row in rows(FORMATS / "longbench_qmsum.jsonl"):
            record = {"pred": "Project Manager présenta le projet", "answers": row["answers"]}
            record.update({"all_classes": row["all_classes"], "length": row["length"]})
            json.dump(record, handle, ensure_ascii=False)
            handle.write("\n")
    run = tmp_path / "run.jsonl"
    run.write_text(
        "".join(
            json.dumps({"prediction": "Project Manager présenta le projet", "references": list(ex.references)}) + "\n"
            for ex in examples
        )
    )
    assert scores("--pred", pred) == scores("--pred", run)


def test_longbench_record_without_pred(tmp_path):
    pred = tmp_path / "qmsum.jsonl"
    pred.write_text('{"pred": "a", "answers": ["b"]}\n{"answers": ["b"], "length": 3}\n')
    assert error("score", "--pred", pred) == f"{pred}:2: no 'pred' field (a LongBench prediction has pred and answers)"


# --- gold-less rows (the public SCROLLS and ZeroSCROLLS test splits) -----------------------


@pytest.mark.parametrize("path", [SCROLLS_TEST, ZEROSCROLLS_TEST])
def test_goldless_rows_load_with_no_references(path):
    examples = load_examples(path)
    assert [ex.references for ex in examples] == [(), (), ()]
    assert [ex.source_id for ex in examples] == [row["id"] for row in rows(path)]


def test_goldless_rows_are_analyzed(tmp_path):
    report = json.loads(ok("analyze", "--data", SCROLLS_TEST, "--template", "scrolls", "--json"))
    assert report["pairs"] == 3 and report["summary_tokens"] is None
    table = ok("analyze", "--data", SCROLLS_TEST)
    assert "Input tokens (full prompt)" in table


def test_goldless_rows_convert_back_to_the_same_file(tmp_path):
    out = tmp_path / "qmsum_test.jsonl"
    ok("convert", "--to", "scrolls", "--data", SCROLLS_TEST, "-o", out)
    assert out.read_bytes() == SCROLLS_TEST.read_bytes()
    meetings = tmp_path / "meetings.jsonl"
    ok("convert", "--to", "jsonl", "--data", SCROLLS_TEST, "-o", meetings)
    assert load_examples(meetings) == [replace(ex, raw_transcript=None) for ex in load_examples(SCROLLS_TEST)]
    longbench = tmp_path / "longbench.jsonl"
    ok("convert", "--to", "longbench", "--data", SCROLLS_TEST, "-o", longbench)
    assert [row["answers"] for row in rows(longbench)] == [[], [], []]
    message = error("convert", "--to", "alpaca", "--data", SCROLLS_TEST, "-o", tmp_path / "a.json")
    assert message.startswith("--to alpaca: 3 examples have no reference summary")


def test_goldless_rows_are_generated_exported_and_refused_by_score(tmp_path):
    run = generate(tmp_path, SCROLLS_TEST)
    records = rows(run)[1:]
    assert [record["references"] for record in records] == [[], [], []]
    assert error("score", "--pred", run) == (
        f"{run}:2: 'references' is empty: id {records[0]['id']!r} is gold-less (as in the public SCROLLS and "
        "ZeroSCROLLS test splits): only the leaderboard can score it"
    )
    submission = tmp_path / "preds.json"
    ok("export", run, "--to", "scrolls", "-o", submission)
    assert list(json.loads(submission.read_text())) == [row["id"] for row in rows(SCROLLS_TEST)]
    first = rows(SCROLLS_TEST)[0]["id"]
    assert error("score", "--pred", submission, "--ref", SCROLLS_TEST) == (
        f"{SCROLLS_TEST}:1: 'output' is null: id {first!r} is gold-less (as in the public SCROLLS and "
        "ZeroSCROLLS test splits): only the leaderboard can score it"
    )


# --- ZeroSCROLLS rows ----------------------------------------------------------------------


def test_zeroscrolls_rows_are_read_by_their_indices():
    examples = load_examples(ZEROSCROLLS_VAL)
    for example, row in zip(examples, rows(ZEROSCROLLS_VAL)):
        text = row["input"]
        assert example.raw_transcript == text[row["document_start_index"] : row["document_end_index"]]
        assert example.query == text[row["query_start_index"] : row["query_end_index"]]
        assert example.references == (row["output"],)
        assert (example.source_id, example.source_pids) == (row["id"], (row["pid"],))
    # Not SCROLLS' rule (query = input up to the first blank line): that would be the instruction.
    assert examples[0].query == "Summarize the whole meeting."
    assert examples[0].split == "val" and examples[0].domain == "product"


def zeroscrolls_row(**changes) -> dict:
    return {**rows(ZEROSCROLLS_VAL)[0], **changes}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"document_end_index": 10}, "document_start_index 141, document_end_index 10 do not mark a non-empty part"),
        ({"query_end_index": 100_000}, "query_end_index 100000 do not mark a non-empty part of 'input' (1557"),
        ({"query_start_index": -1, "query_end_index": -1}, "query_start_index -1, query_end_index -1 do not mark"),
        (
            {"query_start_index": 1500, "query_end_index": 1547},
            "the document (141:1510) and the query (1500:1547) overlap",
        ),
        ({"document_start_index": "137"}, "field 'document_start_index' must be an integer, found str"),
        ({"query_end_index": None}, "field 'query_end_index' must be an integer, found NoneType"),
    ],
)
def test_inconsistent_zeroscrolls_indices_are_one_line(tmp_path, changes, message):
    path = tmp_path / "qmsum.jsonl"
    path.write_text(json.dumps(zeroscrolls_row(**changes)) + "\n")
    assert error("analyze", "--data", path, "--split", "all").startswith(f"{path}:1: ")
    assert message in error("analyze", "--data", path, "--split", "all")


def test_zeroscrolls_row_without_an_index(tmp_path):
    row = zeroscrolls_row()
    del row["query_start_index"]
    path = tmp_path / "qmsum.jsonl"
    path.write_text(json.dumps(row) + "\n")
    assert error("analyze", "--data", path) == f"{path}:1: missing field 'query_start_index'"


def test_the_zeroscrolls_fixture_is_its_own_template():
    # The hand-made rows were laid out with the (unverified) zeroscrolls template: they agree.
    template = load_template("zeroscrolls")
    for example, row in zip(load_examples(ZEROSCROLLS_VAL), rows(ZEROSCROLLS_VAL)):
        assert template.render(example.query, example.raw_transcript) == row["input"]


# --- a JSON document where JSONL is expected ------------------------------------------------


def test_a_pretty_printed_submission_given_as_a_run(tmp_path):
    submission = write_submission(tmp_path / "preds.json", {"a1": "x", "b2": "y"})
    assert error("score", "--pred", submission) == (
        f"{submission}: a JSON document, not JSONL: a SCROLLS or ZeroSCROLLS submission of 2 predictions; "
        "score it with --ref and its references (SCROLLS rows: id, pid, input, output)"
    )
    one_line = tmp_path / "preds.jsonl"
    one_line.write_text(json.dumps({"a1": "x"}))
    assert error("report", one_line).startswith(f"{one_line}: a JSON document, not JSONL: ")


def test_a_pretty_printed_object_or_list_is_not_jsonl(tmp_path):
    pretty = tmp_path / "run.jsonl"
    pretty.write_text(json.dumps({"id": "a", "prediction": "x", "references": ["y"]}, indent=2))
    expected = f"{pretty}: a JSON document, not JSONL: one object with 3 keys over 7 lines"
    assert error("score", "--pred", pretty).startswith(expected)
    assert error("analyze", "--data", pretty).startswith(expected)
    listed = tmp_path / "list.jsonl"
    listed.write_text(json.dumps([{"id": "a"}, {"id": "b"}]))
    assert error("score", "--pred", listed).startswith(f"{listed}: a JSON document, not JSONL: a list of 2 items")
    submission = write_submission(tmp_path / "preds.jsonl", {"a1": "x"})
    message = error("analyze", "--data", submission)
    assert message.startswith(f"{submission}: a JSON document, not JSONL: one object of 1 id: text entry over 3 lines")
    assert error("analyze", "--data", write_submission(tmp_path / "preds.json", {"a1": "x"})).endswith("not QMSum data")


def test_malformed_jsonl_is_still_malformed(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text('{"id": "a", "prediction": "x", "references": ["y"]}\n{"id": \n')
    assert error("score", "--pred", path).startswith(f"{path}:2: malformed JSON")


# --- the peers' prompts, counted ---------------------------------------------------------------


@pytest.fixture(scope="module")
def hf():
    return Tokenizer.from_file(str(BUNDLED_TOKENIZER))


def hf_summary(hf, prompts: list[str]) -> dict:
    counts = [len(e) for e in hf.encode_batch(prompts, add_special_tokens=False)]
    summary = length_summary(counts)
    assert summary is not None
    return summary.as_dict()


def first_rows(path: Path) -> list[dict]:
    """One row per id, as the peers drop duplicate inputs."""
    return list({row["id"]: row for row in reversed(rows(path))}.values())[::-1]


PEER_PROMPTS = {
    "scrolls": (FORMATS / "scrolls_validation.jsonl", lambda path: [row["input"] for row in first_rows(path)]),
    "lm-eval-scrolls": (
        FORMATS / "scrolls_validation.jsonl",
        lambda path: [lm_eval_scrolls_qmsum_prompt(row) for row in first_rows(path)],
    ),
    "longbench": (
        FORMATS / "longbench_qmsum.jsonl",
        lambda path: [LONGBENCH_QMSUM_PROMPT.format(**row) for row in rows(path)],
    ),
    "zeroscrolls": (ZEROSCROLLS_VAL, lambda path: [row["input"] for row in rows(path)]),
}


@pytest.mark.parametrize("template", sorted(PEER_PROMPTS))
def test_analyze_counts_the_peers_raw_prompts(hf, template):
    path, prompts = PEER_PROMPTS[template]
    report = json.loads(ok("analyze", "--data", path, "--split", "all", "--template", template, "--json"))
    assert report["preprocess"] == "none"
    assert report["input_tokens"] == hf_summary(hf, prompts(path))


def test_analyze_counts_longbench_prompts_of_the_bundled_data(hf):
    examples = load_examples(split="test", domain="academic")
    prompts = [LONGBENCH_QMSUM_PROMPT.format(context=plain_transcript(ex), input=ex.query) for ex in examples]
    report = json.loads(ok("analyze", "--domain", "academic", "--template", "longbench", "--json"))
    assert report["preprocess"] == "none"
    assert report["input_tokens"] == hf_summary(hf, prompts)


def test_preprocess_given_wins_over_the_templates_default():
    report = json.loads(
        ok("analyze", "--domain", "academic", "--template", "longbench", "--preprocess", "qmsum", "--json")
    )
    assert report["preprocess"] == "qmsum"
    assert json.loads(ok("analyze", "--domain", "academic", "--json"))["preprocess"] == "qmsum"

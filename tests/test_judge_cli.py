"""``qmsum-fast judge`` end to end against a scripted judge server (tests/judge_server.py):
every example's verdicts and score recomputed from the judged run and the server's rules;
resume after SIGKILL; the fault-injecting proxy; refusals; --dry-run; report and view."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import qmsum_fast
from fault_proxy import FaultProxy
from judge_server import (
    MODEL,
    ScriptedJudge,
    expected_fluency,
    expected_precision,
    expected_recall,
    key_points_of,
)
from qmsum_fast.cli import main
from qmsum_fast.judge import example_figures, judge_example_scores

EXAMPLES = [
    (
        "a/1",
        "What did the group decide about the case?",
        ["The group chose a plain case. Marketing wanted colour."],
        "The group picked a plain case. Marketing asked for colour.",
    ),
    (
        "a/2",
        "What did marketing say?",
        ["Marketing wanted a trendy look. The designer disagreed."],
        "bad bad summary. It repeats itself bad.",
    ),
    (
        "a/3",
        "Summarize the discussion of costs.",
        ["The limit is 12.5 euros. Curved cases cost more. Chips are cheap."],
        "A flaky summary of the costs. Curved cases cost more.",
    ),
    ("b/1", "What was said about the remote?", ["The remote needs fewer buttons."], "garbage garbage garbage"),
    (
        "b/2",
        "What did the project manager conclude?",
        ["The manager closed the meeting. Tasks were assigned.", "Tasks were given out. The meeting ended early."],
        "The manager assigned tasks and closed the meeting.",
    ),
    (
        "b/3",
        "What did the group decide about the case, again?",
        ["The group chose a plain case. Marketing wanted colour."],
        "They chose plain.",
    ),
]
JUDGED = {"a/1", "a/2", "a/3", "b/2", "b/3"}  # b/1's replies never hold a verdict


def write_run(path: Path, examples=EXAMPLES, prediction=lambda text: text) -> Path:
    with open(path, "w") as handle:
        for example_id, query, references, text in examples:
            record = {"id": example_id, "query": query, "references": references, "prediction": prediction(text)}
            handle.write(json.dumps(record) + "\n")
    return path


def expected_record(example) -> dict:
    _, _, references, prediction = example
    points = [key_points_of(reference) for reference in references]
    found = [expected_recall(prediction, len(p)) for p in points]
    supported, sentences = expected_precision(prediction)
    return example_figures(found, [len(p) for p in points], supported, sentences, expected_fluency(prediction))


@pytest.fixture
def judge_server():
    running = ScriptedJudge().start()
    try:
        yield running
    finally:
        running.stop()


def judge_args(urls, out, *runs, extra=()) -> list[str]:
    base = [f"--base-url={url}" for url in urls]
    return [
        "judge",
        *map(str, runs),
        "-o",
        str(out),
        *base,
        "--model",
        MODEL,
        "--api",
        "chat",
        "--no-progress",
        "--max-retries",
        "3",
        *extra,
    ]


def run_judge(urls, out, *runs, extra=(), expect=0):
    result = CliRunner().invoke(main, judge_args(urls, out, *runs, extra=extra))
    assert result.exit_code == expect, result.output + repr(result.exception)
    return result


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_score_is_recomputed_from_the_scripted_replies(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl")
    out = tmp_path / "judged" / "judgments.jsonl"
    result = run_judge([judge_server.url], out, run)
    assert "judged 5 of 6 examples (1 not judged" in result.output
    header, *records = lines(out)
    assert header["kind"] == "qmsum-fast judgments" and header["config"]["protocol"] == "keypoints"
    assert header["config"]["judge"] == {"model": MODEL, "api": "chat", "reported": {"id": MODEL, "owned_by": "tests"}}
    assert header["config"]["request"] == {"max_tokens": 1024, "temperature": 0.1, "seed": 0}
    assert [r["id"] for r in records] == [e[0] for e in EXAMPLES] and {r["run"] for r in records} == {str(run)}
    for example, record in zip(EXAMPLES, records, strict=True):
        if example[0] in JUDGED:
            assert record["errors"] == []
            assert {m: record[m] for m in ("recall", "precision", "fluency", "score")} == expected_record(example)
            assert record["key_points"] == [key_points_of(r) for r in example[2]]
            found = [expected_recall(example[3], len(key_points_of(r))) for r in example[2]]
            assert record["counts"]["supported_key_points"] == [list(range(1, n + 1)) for n in found]
        else:  # never 0: no score at all
            assert record["score"] is None and record["recall"] is None and record["fluency"] is None
            assert len(record["errors"]) == 3 and "(in 3 replies)" in record["errors"][0]
            assert record["replies"]["fluency"] == ["I am not sure how to score this."] * 3
    flaky = records[2]
    assert len(flaky["replies"]["recall"][0]) == 2 and '"recall": 4' in flaky["replies"]["recall"][0][0]
    assert len(flaky["replies"]["fluency"]) == 2  # the first reply held no JSON: asked again
    # One extraction per distinct reference (a/1 and b/3 share theirs), kept in the key-point file.
    assert judge_server.kinds["extract"] == 6
    key_point_file = lines(out.parent / "key-points.jsonl")
    assert key_point_file[0]["kind"] == "qmsum-fast key points" and len(key_point_file) == 7
    # A later judgment of the same references asks for no key points again.
    again = tmp_path / "again.jsonl"
    run_judge([judge_server.url], again, run, extra=["--key-points", str(out.parent / "key-points.jsonl")])
    assert judge_server.kinds["extract"] == 6
    assert [r["score"] for r in lines(again)[1:]] == [r["score"] for r in records]
    # report's and compare's per-example scores.
    scores = judge_example_scores(out, run)
    assert scores["a/1"]["score"] == expected_record(EXAMPLES[0])["score"] and scores["b/1"]["score"] is None


def test_several_runs_share_a_file_and_report_says_how_many_were_not_judged(tmp_path, judge_server):
    first = write_run(tmp_path / "first.jsonl")
    second = write_run(tmp_path / "second.jsonl", EXAMPLES[:2], prediction=lambda text: text + " Also more.")
    out = tmp_path / "judgments.jsonl"
    run_judge([judge_server.url], out, first, second, extra=["--api", "completions", "--concurrency", "3"])
    records = lines(out)[1:]
    assert [(r["run"], r["id"]) for r in records] == [(str(first), e[0]) for e in EXAMPLES] + [
        (str(second), e[0]) for e in EXAMPLES[:2]
    ]
    report = CliRunner().invoke(main, ["report", str(first), str(second), "--metric", f"judge:{out}"])
    assert report.exit_code == 0, report.output
    assert "judge: 1 of 6 examples not judged in first" in report.output
    from cli_helpers import error

    assert "not a judgments file of qmsum-fast judge" in error("report", first, "--metric", f"judge:{first}")
    table = [line for line in report.output.splitlines() if line.startswith("| first") or line.startswith("| second")]
    judged_first = [expected_record(e) for e in EXAMPLES if e[0] in JUDGED]
    judged_second = [expected_record((e[0], e[1], e[2], e[3] + " Also more.")) for e in EXAMPLES[:2]]
    for line, judged, missing in ((table[0], judged_first, 1), (table[1], judged_second, 0)):
        means = [f"{sum(f[m] for f in judged) / len(judged):.3f}" for m in ("recall", "precision", "fluency", "score")]
        assert line.split(" | ")[2:] == [*means, f"{missing} |"]


def test_resume_after_sigkill_equals_an_uninterrupted_judgment(tmp_path):
    # Not the flaky example: a kill in the middle of its retries changes which try a resume gets.
    examples = [example for example in EXAMPLES if example[0] != "a/3"]
    run = write_run(tmp_path / "run.jsonl", examples)
    slow = ScriptedJudge(delay=0.15).start()
    try:
        killed = tmp_path / "killed" / "judgments.jsonl"
        args = judge_args([slow.url], killed, run, extra=["--concurrency", "1"])
        env = dict(os.environ, PYTHONPATH=str(Path(qmsum_fast.__file__).parents[1]))
        process = subprocess.Popen([sys.executable, "-m", "qmsum_fast", *args], env=env, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and (not killed.exists() or len(killed.read_text().splitlines()) < 3):
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
        kept = lines(killed)[1:]
        assert 2 <= len(kept) < len(examples)
        slow.delay = 0.0
        run_judge([slow.url], killed, run, extra=["--resume"])
        uninterrupted = tmp_path / "uninterrupted" / "judgments.jsonl"
        run_judge([slow.url], uninterrupted, run)
    finally:
        slow.stop()
    assert lines(killed)[0]["config"] == lines(uninterrupted)[0]["config"]
    assert lines(killed)[1:] == lines(uninterrupted)[1:]


def test_faults_and_a_replica_down_change_nothing(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl")
    clean = tmp_path / "clean" / "judgments.jsonl"
    run_judge([judge_server.url], clean, run)
    judge_server.forget()
    proxy = FaultProxy(judge_server.port).start()
    try:
        proxy.inject("429", "500", "drop", "close", "503")
        down = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
        faulty = tmp_path / "faulty" / "judgments.jsonl"
        result = run_judge([proxy.url, down], faulty, run, extra=["--max-retries", "8"])
    finally:
        proxy.stop()
    assert "cannot read /models" in result.output  # the replica down is warned about once
    assert lines(faulty)[1:] == lines(clean)[1:]


def test_resume_refuses_another_configuration_and_out_is_never_overwritten_silently(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl", EXAMPLES[:2])
    out = tmp_path / "judgments.jsonl"
    run_judge([judge_server.url], out, run)
    before = out.read_text()
    refused = run_judge(["http://127.0.0.1:9/v1"], out, run, expect=2)  # refused before the server is asked
    assert "already exists: pass --resume to continue it or --overwrite" in refused.output
    different = run_judge([judge_server.url], out, run, extra=["--resume", "--temperature", "0.5"], expect=2)
    assert "cannot resume: request.temperature was 0.1, now 0.5" in different.output
    assert out.read_text() == before
    sent = sum(judge_server.sent.values())
    run_judge([judge_server.url], out, run, extra=["--resume"])  # nothing left to do
    assert sum(judge_server.sent.values()) == sent and out.read_text() == before
    run_judge([judge_server.url], out, run, extra=["--overwrite"])
    assert lines(out)[1:] == [json.loads(line) for line in before.splitlines()[1:]]


def test_dry_run_counts_requests_and_sends_nothing(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl")
    out = tmp_path / "judgments.jsonl"
    result = run_judge([judge_server.url], out, run, extra=["--dry-run"])
    assert judge_server.sent == {} and not out.exists()
    # 6 extractions, then 7 recall prompts (b/2 has two references), 6 precision and 6 fluency prompts.
    assert "6 examples to judge, 6 references to extract key points from" in result.output
    assert "25 requests" in result.output and "approximate" in result.output and "estimated" in result.output
    approximate = int(result.output.split("give --tokenizer): ")[1].split()[0])
    from qmsum_fast.stats import BUNDLED_TOKENIZER

    counted = run_judge(
        [judge_server.url], out, run, extra=["--dry-run", "--api", "completions", "--tokenizer", str(BUNDLED_TOKENIZER)]
    )
    exact = int(counted.output.split("prompt tokens: ")[1].split()[0])
    assert "approximate" not in counted.output and 0.5 * approximate < exact < 1.5 * approximate
    assert judge_server.sent == {} and not out.exists()


def test_a_users_key_point_file_is_read_and_never_written(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl", EXAMPLES[:1])
    mine = tmp_path / "mine.jsonl"
    mine.write_text(json.dumps({"reference": "Something else.", "key_points": ["X."]}) + "\n")
    before = mine.read_text()
    refused = run_judge([judge_server.url], tmp_path / "j.jsonl", run, extra=["--key-points", str(mine)], expect=2)
    assert "a file of yours (no qmsum-fast header) lacks the key points of 1 references" in refused.output
    points = ["The group chose a plain case.", "Marketing wanted colour.", "Nobody objected."]
    with open(mine, "a") as handle:
        handle.write(json.dumps({"reference": EXAMPLES[0][2][0], "key_points": points}) + "\n")
    before = mine.read_text()
    out = tmp_path / "j.jsonl"
    run_judge([judge_server.url], out, run, extra=["--key-points", str(mine)])
    assert mine.read_text() == before and judge_server.kinds["extract"] == 0
    record = lines(out)[1]
    assert record["key_points"] == [points]
    assert record["counts"]["found"] == [expected_recall(EXAMPLES[0][3], 3)]


def test_view_shows_the_judges_key_points_what_was_found_and_its_reasoning(tmp_path, judge_server):
    from cli_helpers import ok
    from test_view import page_data

    run = tmp_path / "lead.jsonl"
    data = Path(__file__).parent / "data" / "gen_qmsum"
    ok("generate", "--model", "lead", "--data", data, "--split", "train", "--limit", "3", "--out", run)
    out = tmp_path / "judgments.jsonl"
    run_judge([judge_server.url], out, run)
    page = tmp_path / "view.html"
    ok("view", run, "--data", data, "--split", "train", "--judgments", out, "-o", page)
    shown = page_data(page)["examples"]
    records = {record["id"]: record for record in lines(out)[1:]}
    assert len(shown) == 3
    for item in shown:
        judged, record = item["p"][0]["j"], records[item["id"]]
        assert judged["sc"] == record["score"] and judged["kp"] == record["key_points"]
        assert judged["sp"] == record["counts"]["supported_key_points"]
        assert judged["rf"] == record["replies"]["fluency"][-1] and judged["er"] == record["errors"]
    assert "function judgeHtml" in page.read_text()


def test_resume_judges_again_the_examples_recorded_with_errors(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl", EXAMPLES[3:5])  # b/1 never gets a verdict
    out = tmp_path / "judgments.jsonl"
    run_judge([judge_server.url], out, run)
    judge_server.forget()
    run_judge([judge_server.url], out, run, extra=["--resume"])
    assert judge_server.kinds == {"recall": 3, "precision": 3, "fluency": 3}  # b/1 only, each asked 3 times
    assert [r["id"] for r in lines(out)[1:]] == ["b/1", "b/2"]  # each example once, its last record


def test_a_request_refused_for_good_is_one_line_naming_the_example(tmp_path, judge_server):
    run = write_run(tmp_path / "run.jsonl", EXAMPLES[:2])
    judge_server.refuse = True
    result = run_judge([judge_server.url], tmp_path / "j.jsonl", run, expect=2)
    lines_out = result.output.strip().splitlines()
    assert len(lines_out) == 1 and lines_out[0].startswith("qmsum-fast: error: key points of a reference of example")
    assert "HTTP 400: This model's maximum context length" in lines_out[0]


def test_ctrl_c_exits_130_and_keeps_what_was_judged(tmp_path):
    run = write_run(tmp_path / "run.jsonl", [e for e in EXAMPLES if e[0] != "a/3"])
    # Seconds of requests are left after the first record, so the signal comes first even on a busy machine.
    slow = ScriptedJudge(delay=0.6).start()
    try:
        out = tmp_path / "judgments.jsonl"
        env = dict(os.environ, PYTHONPATH=str(Path(qmsum_fast.__file__).parents[1]))
        args = judge_args([slow.url], out, run, extra=["--concurrency", "1"])
        process = subprocess.Popen(
            [sys.executable, "-m", "qmsum_fast", *args], env=env, stderr=subprocess.PIPE, text=True
        )
        deadline = time.time() + 60
        while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        slow.stop()
    assert process.returncode == 130, stderr
    assert "judgments kept in" in stderr and "add --resume to continue" in stderr and "Traceback" not in stderr
    assert len(lines(out)) >= 2


def test_refusals_are_one_line_before_anything_is_sent(tmp_path, judge_server):
    from cli_helpers import error

    run = write_run(tmp_path / "run.jsonl", EXAMPLES[:1])
    out = tmp_path / "j.jsonl"
    base = ["judge", run, "-o", out, "--model", MODEL]
    assert error(*base) == "judge needs --base-url (the judge server's API root, e.g. http://127.0.0.1:8000/v1)"
    url = ["--base-url", judge_server.url]
    assert "--tokenizer counts prompt tokens for --dry-run only" in error(*base, *url, "--tokenizer", "x")
    assert "that environment variable is not set or empty" in error(*base, *url, "--api-key-env", "QMSUM_NO_SUCH_KEY")
    same = error(*base, *url, "--key-points", out)
    assert same.startswith("--key-points") and "and -o" in same and "name the same file" in same
    assert "is also the input RUN" in error("judge", run, "-o", run, "--model", MODEL, *url, "--overwrite")
    assert "is also the input RUN" in error(*base, *url, "--key-points", run)
    assert "does not list it in /models" in error("judge", run, "-o", out, "--model", "other", *url)
    no_query = tmp_path / "no_query.jsonl"
    no_query.write_text(json.dumps({"id": "x", "references": ["r"], "prediction": "p"}) + "\n")
    assert "no 'query'" in error("judge", no_query, "-o", out, "--model", MODEL, *url)
    assert judge_server.sent == {} and not out.exists()


def test_compare_pairs_the_judges_scores_and_leaves_unjudged_examples_out(tmp_path, judge_server):
    ids = [f"test/{meeting}/s{n}" for meeting in ("ES2004a", "IS1000a") for n in range(3)]
    examples = [(new_id, *rest) for new_id, (_, *rest) in zip(ids, EXAMPLES)]
    base = write_run(tmp_path / "base.jsonl", examples)
    other = write_run(tmp_path / "other.jsonl", examples, prediction=lambda text: text + " Chips are cheap.")
    out = tmp_path / "j.jsonl"
    result = CliRunner().invoke(main, judge_args([judge_server.url], out, base, other))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    runs = sorted({r["run"] for r in records})
    scores = {run: {r["id"]: r["score"] for r in records if r["run"] == run and r["score"] is not None} for run in runs}
    base_label = next(run for run in runs if "base" in run)
    other_label = next(run for run in runs if run != base_label)
    common = [i for i in ids if i in scores[base_label] and i in scores[other_label]]
    assert 0 < len(common) < len(ids)  # b/1's replies never hold a verdict: left out, not scored 0
    expected = sum(scores[other_label][i] - scores[base_label][i] for i in common) / len(common)
    compared = CliRunner().invoke(main, ["compare", str(base), str(other), "--metric", f"judge:{out}", "--json"])
    assert compared.exit_code == 0, compared.output
    figures = json.loads(compared.stdout)["comparisons"][0]
    assert figures["n"] == len(common) and figures["meetings"] == 2
    assert figures["types"]["score"]["difference"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert f"{base}: 1 examples have no judge:{out} score (not judged): left out" in compared.stderr

"""``qmsum-fast judge`` against a real ``transformers serve`` with a tiny random-weight
model: every reply is garbage, so no example may be scored (never 0 or 1), every
record says why, and ``report`` says that nothing was judged."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from qmsum_fast.cli import main
from test_served import CHAT_TEMPLATE, Server

# Its own server start (test_served.py starts another): 15-150 s on a shared 2-core machine; the judging, ~5 s.
pytestmark = pytest.mark.slow

EXAMPLES = [
    {
        "id": "m/1",
        "query": "What did the group decide about the case?",
        "references": ["The group chose a plain case. Marketing wanted colour."],
        "prediction": "The group picked a plain case.",
    },
    {
        "id": "m/2",
        "query": "What did marketing say?",
        "references": ["Marketing wanted a trendy look."],
        "prediction": "Marketing asked for a trendy look. The designer agreed.",
    },
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from qmsum_fast.gen.local.make_model import make_model

    folder = make_model("llama", "tiny", tmp_path_factory.mktemp("judge-served") / "tiny-llama")
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    running = Server(folder, tmp_path_factory.mktemp("judge-server") / "server.log")
    try:
        running.start()
        yield running
    finally:
        running.stop()


def judge(server, out, run, *extra):
    args = ["judge", str(run), "-o", str(out), "--base-url", server.url, "--model", str(server.model)]
    args += ["--max-new-tokens", "8", "--temperature", "0", "--max-judge-retries", "1", "--no-progress", *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_a_random_model_judges_nothing_and_report_says_so(tmp_path, server):
    run = tmp_path / "run.jsonl"
    run.write_text("".join(json.dumps(example) + "\n" for example in EXAMPLES))
    # Key points supplied, so recall, precision and fluency prompts are all sent.
    mine = tmp_path / "mine.jsonl"
    points = [["The group chose a plain case.", "Marketing wanted colour."], ["Marketing wanted a trendy look."]]
    mine.write_text(
        "".join(json.dumps({"reference": e["references"][0], "key_points": p}) + "\n" for e, p in zip(EXAMPLES, points))
    )
    out = tmp_path / "judgments.jsonl"
    result = judge(server, out, run, "--key-points", str(mine), "--api", "chat")
    assert "judged 0 of 2 examples (2 not judged" in result.output
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    for record in records:
        assert record["score"] is None and record["recall"] is None and record["precision"] is None
        assert record["fluency"] is None and len(record["errors"]) == 3
        assert [len(replies) for replies in record["replies"]["recall"]] == [2]  # asked twice, never a verdict
    # Extraction with the model: no key points, so nothing else is asked.
    extracted = tmp_path / "extracted.jsonl"
    result = judge(server, extracted, run)
    assert "judged 0 of 2 examples" in result.output
    for record in [json.loads(line) for line in extracted.read_text().splitlines()[1:]]:
        assert record["score"] is None and record["errors"][0].startswith("key points of reference 1: ")
    assert not (tmp_path / "key-points.jsonl").exists()  # a failed extraction is not kept
    report = CliRunner().invoke(main, ["report", str(run), "--metric", f"judge:{out}"])
    assert report.exit_code == 0, report.output
    assert "judge: 2 of 2 examples not judged" in report.output
    assert "| n/a | n/a | n/a | n/a | 2 |" in report.output

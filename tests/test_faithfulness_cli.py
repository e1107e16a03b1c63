"""``score --faithfulness`` and ``report --faithfulness``: the view's faithfulness
signals per example and per run, against the transcripts the run was made from."""

from __future__ import annotations

import json

from click.testing import CliRunner

from qmsum_fast.cli import main
from qmsum_fast.data import load_examples, plain_transcript
from qmsum_fast.fragments import faithfulness, mean_signals


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def lead_run(tmp_path):
    out = tmp_path / "lead.jsonl"
    run("generate", "--model", "lead", "--split", "val", "--domain", "academic", "--limit", "9", "--out", out)
    return out


def test_score_json_has_each_examples_signals_against_its_transcript(tmp_path):
    out = lead_run(tmp_path)
    payload = json.loads(run("score", "--pred", out, "--bootstrap", "0", "--faithfulness", "--json"))
    examples = load_examples(split="val", domain="academic")[:9]
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    expected = [
        faithfulness(r["prediction"], plain_transcript(e), e.query).as_json() for r, e in zip(records, examples)
    ]
    assert [{k: v for k, v in x.items() if k != "id"} for x in payload["examples"]] == expected
    assert [x["id"] for x in payload["examples"]] == [e.id for e in examples]
    assert payload["rouge1"]["fmeasure"]["mid"] > 0  # the scores are still there
    # Extractive predictions are copied from the transcript.
    assert all(x["coverage"] == 1.0 for x in payload["examples"])


def test_report_has_the_mean_signals_as_columns(tmp_path):
    out = lead_run(tmp_path)
    table = run("report", out, "--metric", "longbench", "--faithfulness")
    header, _, row = table.strip().splitlines()
    assert header.endswith("| faithfulness coverage | faithfulness density | faithfulness novel_2grams |")
    signals = json.loads(run("score", "--pred", out, "--metric", "longbench", "--faithfulness", "--json"))
    means = signals["faithfulness"]
    assert row.endswith(f"| {means['coverage']:.3f} | {means['density']:.3f} | {means['novel_2grams']:.3f} |")
    examples = load_examples(split="val", domain="academic")[:9]
    records = [json.loads(line) for line in out.read_text().splitlines()[1:]]
    again = mean_signals(
        [faithfulness(r["prediction"], plain_transcript(e), e.query) for r, e in zip(records, examples)]
    )
    assert again == means

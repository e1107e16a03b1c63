"""`qmsum-fast compare` and `score --resample` through the CLI, against plain references."""

from __future__ import annotations

import json

import pytest

from cli_helpers import cli, error, ok
from qmsum_fast.data import load_examples
from qmsum_fast.resample import bootstrap_interval
from qmsum_fast.rouge import RougeScorer
from test_resample import brute_force_p, plain_holm

TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
MEETINGS = ("Bed016", "IS1003a", "education_17", "TS3004b")


def examples():
    return [e for e in load_examples(split="test") if e.meeting in MEETINGS]


def write_run(path, model, predict, keep=lambda e: True):
    """A generate-style run of ``model`` predicting ``predict(i, example)``."""
    chosen = examples()
    lines = [json.dumps({"header": True, "config": {"model": model, "data": "bundled", "split": "test"}})]
    for i, e in enumerate(chosen):
        if keep(e):
            record = {
                "id": e.id,
                "domain": e.domain,
                "query_type": e.query_type,
                "query": e.query,
                "prediction": predict(i, e, chosen),
                "references": list(e.references),
            }
            lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def shifted(i, e, chosen):
    return chosen[(i + 1) % len(chosen)].references[0]


def truncated(i, e, chosen):
    return " ".join(e.references[0].split()[: 5 + i % 7])


def query(i, e, chosen):
    return e.query


@pytest.fixture
def runs(tmp_path):
    return (
        write_run(tmp_path / "base.jsonl", "base", shifted),
        write_run(tmp_path / "truncated.jsonl", "truncated", truncated),
        write_run(tmp_path / "query.jsonl", "query", query),
    )


def fmeasures(path):
    """Per id, rouge-score's F-measures of a run, scored directly."""
    records = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    scorer = RougeScorer(TYPES, use_stemmer=True)
    rows = scorer.score_batch([r["references"] for r in records], [r["prediction"] for r in records])
    return {r["id"]: {t: row[t].fmeasure for t in TYPES} for r, row in zip(records, rows)}


def test_compare_json_equals_the_references(runs):
    base, first, second = runs
    payload = json.loads(ok("compare", base, first, second, "--json", "--samples", 400, "--seed", 3))
    assert payload["baseline"] == "base" and payload["resample"] == "meeting"
    assert [c["run"] for c in payload["comparisons"]] == ["truncated", "query"]
    base_scores = fmeasures(base)
    ids = list(base_scores)
    meetings = [i.split("/")[1] for i in ids]
    p_values = {}
    for comparison, path in zip(payload["comparisons"], (first, second)):
        assert comparison["n"] == len(ids) and comparison["meetings"] == len(MEETINGS)
        assert comparison["exact"] is True
        run_scores = fmeasures(path)
        for t in TYPES:
            d = [run_scores[i][t] - base_scores[i][t] for i in ids]
            figures = comparison["types"][t]
            assert figures["difference"] == sum(d) / len(d)
            assert (figures["low"], figures["high"]) == bootstrap_interval({t: d}, meetings, 400, 3)[t]
            assert figures["p_value"] == brute_force_p(d, meetings)
            assert figures["wins"] + figures["ties"] + figures["losses"] == len(ids)
            assert figures["wins"] == sum(x > 0 for x in d)
            assert figures["meeting_wins"] + figures["meeting_ties"] + figures["meeting_losses"] == len(MEETINGS)
            assert figures["design_effect"] > 0 and figures["minimum_detectable"] > 0
            p_values.setdefault(t, []).append(figures["p_value"])
    for t in TYPES:
        assert [c["types"][t]["p_holm"] for c in payload["comparisons"]] == plain_holm(p_values[t])


def test_compare_table_and_groups(runs):
    base, first, _ = runs
    text = ok("compare", base, first, "--samples", 200, "--by", "domain")
    assert "resampling meetings (200 samples, seed 0)" in text
    assert "| run | group | n | meetings | type |" in text
    rows = [line for line in text.splitlines() if line.startswith("| truncated |")]
    groups = {row.split(" | ")[1] for row in rows}
    assert groups == {"all", "domain=academic", "domain=committee", "domain=product"}
    assert len(rows) == 4 * len(TYPES)
    payload = json.loads(ok("compare", base, first, "--samples", 200, "--by", "domain", "--json"))
    assert set(payload["comparisons"][0]["groups"]) == {"domain=academic", "domain=committee", "domain=product"}


def test_missing_ids_are_named_and_require_same_refuses(runs, tmp_path):
    base, _, _ = runs
    partial = write_run(tmp_path / "partial.jsonl", "partial", truncated, keep=lambda e: e.meeting != "Bed016")
    lacking = [e.id for e in examples() if e.meeting == "Bed016"]
    result = cli("compare", base, partial, "--samples", 100, "--json")
    assert result.exit_code == 0, result.output
    assert f"lacks {len(lacking)} of the baseline's examples: {', '.join(lacking[:10])}" in result.stderr
    assert json.loads(result.stdout)["comparisons"][0]["missing"]["run"] == lacking
    message = error("compare", base, partial, "--require-same")
    assert message.startswith(f"--require-same: {partial} lacks {len(lacking)} of the baseline's examples: ")
    assert lacking[0] in message


def test_peer_metric_and_option_errors(runs):
    base, first, _ = runs
    payload = json.loads(ok("compare", base, first, "--metric", "longbench", "--json", "--samples", 50))
    assert list(payload["comparisons"][0]["types"]) == ["rougeL"]
    assert error("compare", base, first, "--metric", "scrolls", "--measure", "recall") == (
        "--measure applies to --metric rouge-score only"
    )
    assert "--samples" in error("compare", base, first, "--samples", 0)
    assert "no 'speaker' field" in error("compare", base, first, "--by", "speaker")


def test_score_resamples_meetings_by_default(runs):
    base = runs[0]
    meeting = json.loads(ok("score", "--pred", base, "--json", "--bootstrap", 300))
    means = json.loads(ok("score", "--pred", base, "--json", "--bootstrap", 0))
    assert meeting["resample"] == "meeting" and means["resample"] == "meeting"
    scores = fmeasures(base)
    ids = list(scores)
    for t in TYPES:
        assert meeting[t]["fmeasure"]["mid"] == means[t]["fmeasure"]["mid"]
        values = [scores[i][t] for i in ids]
        low, high = meeting[t]["fmeasure"]["low"], meeting[t]["fmeasure"]["high"]
        columns = {"v": values}
        assert (low, high) == bootstrap_interval(columns, [i.split("/")[1] for i in ids], 300, 0)["v"]
    example = json.loads(ok("score", "--pred", base, "--json", "--bootstrap", 300, "--resample", "example"))
    assert example["resample"] == "example" and example["rouge1"] != meeting["rouge1"]
    text = ok("score", "--pred", base, "--bootstrap", 300)
    assert "resampling meetings (mid: the mean)" in text.splitlines()[0]


def test_score_needs_meetings_or_resample_example(tmp_path):
    pred, ref = tmp_path / "pred.txt", tmp_path / "ref.txt"
    pred.write_text("the cat sat\na dog ran\n")
    ref.write_text("the cat sat down\nthe dog ran off\n")
    message = error("score", "--pred", pred, "--ref", ref)
    assert message.startswith(f"{pred}: 2 predictions without ids")
    assert message.endswith("or resample examples as if independent (--resample example)")
    assert json.loads(ok("score", "--pred", pred, "--ref", ref, "--resample", "example", "--json"))["resample"] == (
        "example"
    )


def test_view_shows_the_paired_differences_compare_gives(runs, tmp_path):
    from qmsum_fast.view import Options, build_view, overview_html

    base, first, _ = runs
    view = build_view([base, first])
    [row] = view.payload["paired"]
    payload = json.loads(ok("compare", base, first, "--json"))  # 10,000 samples, seed 0, as the view
    expected = payload["comparisons"][0]["types"]
    assert row["n"] == payload["comparisons"][0]["n"]
    for (label, figures), t in zip(row["figures"].items(), TYPES):
        assert label == {"rouge1": "R-1", "rouge2": "R-2", "rougeL": "R-L", "rougeLsum": "R-Lsum"}[t]
        assert figures["d"] == expected[t]["difference"]
        assert (figures["lo"], figures["hi"], figures["p"]) == (
            expected[t]["low"],
            expected[t]["high"],
            expected[t]["p_value"],
        )
    assert "Paired differences from base" in overview_html(view) and "resampling meetings" in overview_html(view)
    by_example = build_view([base, first], options=Options(resample="example"))
    assert by_example.payload["paired"][0]["figures"]["R-1"]["d"] == row["figures"]["R-1"]["d"]
    assert by_example.payload["paired"][0]["figures"]["R-1"]["lo"] != row["figures"]["R-1"]["lo"]
    assert "resampling examples" in overview_html(by_example)
    out = tmp_path / "view.html"
    assert "wrote" in ok("view", base, first, "-o", out, "--resample", "example")
    assert build_view([base]).payload["paired"] == []


def test_a_peer_file_compares_with_the_run_it_came_from(runs, tmp_path):
    base, first, _ = runs
    exported = tmp_path / "pred" / "qmsum.jsonl"
    ok("export", first, "--to", "longbench", "-o", exported)
    payload = json.loads(ok("compare", first, exported, "--json", "--samples", 100))
    [comparison] = payload["comparisons"]
    assert comparison["n"] == len(examples()) and comparison["missing"] == {"run": [], "baseline": []}
    for figures in comparison["types"].values():
        assert (figures["difference"], figures["low"], figures["high"], figures["p_value"]) == (0.0, 0.0, 0.0, 1.0)
        assert figures["ties"] == comparison["n"]
    against_base = json.loads(ok("compare", base, exported, "--json", "--samples", 100))
    direct = json.loads(ok("compare", base, first, "--json", "--samples", 100))
    assert against_base["comparisons"][0]["types"] == direct["comparisons"][0]["types"]

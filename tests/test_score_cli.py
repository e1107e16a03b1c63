"""`qmsum-fast score` and `qmsum-fast report` through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from rouge_score import rouge_scorer, scoring

from qmsum_fast.cli import main
from qmsum_fast.data import load_examples
from qmsum_fast.rouge import BootstrapAggregator, Score

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def qmsum_records():
    """(id, domain, query_type, answer) of three bundled test meetings' queries."""
    meetings = ("Bed016", "IS1003a", "education_17")
    return [
        (e.id, e.domain.capitalize(), e.query_type, e.references[0])
        for e in load_examples(split="test")
        if e.meeting in meetings
    ]


@pytest.fixture
def run_file(tmp_path):
    """A generate-style run: each answer predicted by the next one of the list."""
    records = qmsum_records()
    path = tmp_path / "run.jsonl"
    lines = [json.dumps({"header": True, "config": {"model": "shifted-answers", "max_new_tokens": 256}})]
    for (rid, domain, kind, answer), (_, _, _, other) in zip(records, records[1:] + records[:1]):
        lines.append(
            json.dumps(
                {
                    "id": rid,
                    "domain": domain,
                    "query_type": kind,
                    "prediction": other,
                    "references": [answer, answer.upper()[:40]],
                }
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def expected_aggregate(pairs, stem=True, n_samples=1000, seed=0):
    """rouge-score's own score_multi + BootstrapAggregator after np.random.seed(seed)."""
    scorer = rouge_scorer.RougeScorer(TYPES, use_stemmer=stem)
    aggregator = scoring.BootstrapAggregator(n_samples=n_samples)
    for references, prediction in pairs:
        aggregator.add_scores(scorer.score_multi(references, prediction))
    np.random.seed(seed)
    return aggregator.aggregate()


def assert_json_matches(payload, expected):
    for score_type, agg in expected.items():
        for measure in ("precision", "recall", "fmeasure"):
            got = payload[score_type][measure]
            assert [got["low"], got["mid"], got["high"]] == [
                float(getattr(agg.low, measure)),
                float(getattr(agg.mid, measure)),
                float(getattr(agg.high, measure)),
            ]


def test_jsonl_run_json_equals_rouge_score_bootstrap(run_file):
    result = run("score", "--pred", run_file, "--json", "--seed", "3", "--resample", "example")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload.pop("resample") == "example"
    rows = [json.loads(line) for line in run_file.read_text().splitlines()[1:]]
    expected = expected_aggregate([(r["references"], r["prediction"]) for r in rows], seed=3)
    assert_json_matches(payload, expected)
    assert payload["count"] == len(rows)
    f = [payload[t]["fmeasure"]["mid"] for t in ("rouge1", "rouge2", "rougeL")]
    assert payload["geometric_mean"] == pytest.approx((f[0] * f[1] * f[2]) ** (1 / 3))


def test_text_files_with_no_stemmer_and_two_reference_files(tmp_path):
    records = qmsum_records()
    answers = [r[3].replace("\n", " ") for r in records]
    pred, ref_a, ref_b = tmp_path / "pred.txt", tmp_path / "a.txt", tmp_path / "b.txt"
    pred.write_text("\n".join(answers[1:] + answers[:1]) + "\n", encoding="utf-8")
    ref_a.write_text("\n".join(answers) + "\n", encoding="utf-8")
    ref_b.write_text("\n".join(a[:30] for a in answers), encoding="utf-8")  # no final newline
    result = run(
        "score",
        "--pred",
        pred,
        "--ref",
        ref_a,
        "--ref",
        ref_b,
        "--no-stemmer",
        "--bootstrap",
        "200",
        "--resample",
        "example",
        "--json",
    )
    assert result.exit_code == 0, result.output
    pairs = [([a, a[:30]], p) for a, p in zip(answers, answers[1:] + answers[:1])]
    assert_json_matches(json.loads(result.output), expected_aggregate(pairs, stem=False, n_samples=200))


def test_table_shows_percent_intervals_and_groups(run_file):
    result = run("score", "--pred", run_file, "--by", "domain,query_type", "--rouge-types", "rouge1,rouge2,rougeL")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "95% bootstrap interval resampling meetings (mid: the mean), 1000 samples, seed 0" in out
    for label in (
        "all",
        "domain=Academic",
        "domain=Committee",
        "domain=Product",
        "query_type=general",
        "query_type=specific",
    ):
        assert f"\n{label} " in out
    json_result = run("score", "--pred", run_file, "--json", "--by", "domain", "--rouge-types", "rouge1,rouge2,rougeL")
    payload = json.loads(json_result.output)
    overall = payload["rouge1"]["fmeasure"]
    all_row = next(line for line in out.splitlines() if line.startswith("all "))
    assert f"{100 * overall['mid']:.2f} [{100 * overall['low']:.2f}-{100 * overall['high']:.2f}]" in all_row
    assert f"{100 * payload['geometric_mean']:.2f}" in all_row
    assert sorted(payload["groups"]) == ["domain=Academic", "domain=Committee", "domain=Product"]
    assert sum(g["count"] for g in payload["groups"].values()) == payload["count"]


def test_same_seed_same_output_and_split_sentences(run_file):
    first = run("score", "--pred", run_file, "--seed", "5", "--split-sentences")
    second = run("score", "--pred", run_file, "--seed", "5", "--split-sentences")
    assert first.exit_code == 0 and first.output == second.output
    assert "sentence splitting" in first.output
    assert run("score", "--pred", run_file, "--seed", "6", "--split-sentences").output != first.output


def test_empty_prediction_scores_zero(tmp_path):
    pred, ref = tmp_path / "p.txt", tmp_path / "r.txt"
    pred.write_text("\n\n", encoding="utf-8")
    ref.write_text("one reference\nanother one\n", encoding="utf-8")
    result = run("score", "--pred", pred, "--ref", ref, "--json", "--bootstrap", "0")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert all(payload[t]["fmeasure"]["mid"] == 0 for t in TYPES)


# --- the bootstrap, drawn in chunks ------------------------------------------------


def one_draw_bootstrap(matrix, n_samples, seed, confidence_interval=0.95):
    """The unchunked formula: all n_samples x rows indices in one draw."""
    random_state = np.random.RandomState(seed)
    rows = matrix.shape[0]
    sample_idx = random_state.choice(np.arange(rows), size=(n_samples, rows))
    sample_mean = np.mean(matrix[sample_idx, :], axis=1)
    delta = (1 - confidence_interval) / 2
    return np.percentile(sample_mean, 100 * np.array([delta, 0.5, 1 - delta]), axis=0)


@pytest.mark.parametrize(
    ("rows", "n_samples", "seed", "chunk_indices"),
    [
        (1, 40, 0, 1),  # one row: the draws consume nothing
        (7, 1000, 3, 20),  # 2 samples a chunk: 500 chunks
        (37, 333, 11, 100),  # 2 samples a chunk, the last chunk shorter
        (64, 50, 2**32 - 1, 63),  # fewer indices a chunk than rows: one sample a chunk
        (200, 300, 5, 2**21),  # the default: one chunk
    ],
)
def test_bootstrap_in_chunks_equals_one_draw_and_rouge_score(rows, n_samples, seed, chunk_indices):
    rng = np.random.default_rng(rows)
    values = rng.random((rows, 2, 3))
    ours = BootstrapAggregator(n_samples=n_samples, seed=seed)
    ours.chunk_indices = chunk_indices
    ours.add_batch({"rouge1": Score(*a), "rougeL": Score(*b)} for a, b in values.tolist())
    theirs = scoring.BootstrapAggregator(n_samples=n_samples)
    for a, b in values.tolist():
        theirs.add_scores({"rouge1": scoring.Score(*a), "rougeL": scoring.Score(*b)})
    result = ours.aggregate()
    np.random.seed(seed)
    expected = theirs.aggregate()
    for score_type in ("rouge1", "rougeL"):
        assert tuple(map(tuple, result[score_type])) == tuple(map(tuple, expected[score_type]))
    # The first type draws first from the seeded stream, as the one-draw formula does.
    unchunked = one_draw_bootstrap(values[:, 0, :], n_samples, seed)
    assert tuple(map(tuple, result["rouge1"])) == tuple(map(tuple, unchunked))


def test_bootstrap_draws_each_chunk_within_its_bound(monkeypatch):
    drawn = []
    original = np.random.choice

    def recording_choice(a, size=None, **kwargs):
        drawn.append(size)
        return original(a, size=size, **kwargs)

    # Without a seed the draws come from numpy's global state, whose choice can be watched.
    monkeypatch.setattr(np.random, "choice", recording_choice)
    aggregator = BootstrapAggregator(n_samples=100_000)
    aggregator.chunk_indices = 1000
    aggregator.add_batch({"rouge1": Score(0.1 * (i % 7), 0.2, 0.3)} for i in range(300))
    aggregator.aggregate()
    assert all(samples * rows <= 1000 for samples, rows in drawn)
    assert sum(samples for samples, _ in drawn) == 100_000


# --- bad input: exit 2 and one line naming the file and line -----------------


def assert_input_error(result, *fragments):
    assert result.exit_code == 2, result.output
    message = result.output.strip()
    assert message.startswith("qmsum-fast: error: ") and "\n" not in message, message
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in message, message


def test_files_of_different_lengths(tmp_path):
    pred, ref = tmp_path / "p.txt", tmp_path / "r.txt"
    pred.write_text("a\nb\nc\n", encoding="utf-8")
    ref.write_text("a\nb\n", encoding="utf-8")
    assert_input_error(run("score", "--pred", pred, "--ref", ref), f"{ref}:3:", "3 lines", "has 2")


def test_empty_file(tmp_path):
    pred, ref = tmp_path / "p.txt", tmp_path / "r.txt"
    pred.write_text("", encoding="utf-8")
    ref.write_text("a\n", encoding="utf-8")
    assert_input_error(run("score", "--pred", pred, "--ref", ref), f"{pred}: empty file")
    assert_input_error(run("score", "--pred", pred), f"{pred}: no predictions")


def test_invalid_utf8(tmp_path):
    pred, ref = tmp_path / "p.txt", tmp_path / "r.txt"
    pred.write_bytes(b"fine\nbad \xff byte\n")
    ref.write_text("a\nb\n", encoding="utf-8")
    assert_input_error(run("score", "--pred", pred, "--ref", ref), f"{pred}:2: invalid UTF-8")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "references": ["a"]}', "no 'prediction' field"),
        ('{"id": "x", "prediction": 3, "references": ["a"]}', "'prediction' is not a string"),
        ('{"id": "x", "prediction": "a"}', "'references' must be a list of strings"),
        ('{"id": "x", "prediction": "a", "references": []}', "'references' is empty"),
        ('{"id": "x", "prediction": "a", ', "malformed JSON"),
        ('["a"]', "expected a JSON object"),
    ],
)
def test_bad_jsonl_lines(tmp_path, line, message):
    path = tmp_path / "run.jsonl"
    path.write_text(
        '{"header": true, "config": {"model": "m"}}\n{"prediction": "a", "references": ["a"]}\n' + line + "\n"
    )
    assert_input_error(run("score", "--pred", path), f"{path}:3: {message}")


def test_header_only_and_missing_group_field(tmp_path, run_file):
    path = tmp_path / "run.jsonl"
    path.write_text('{"header": true, "config": {"model": "m"}}\n')
    assert_input_error(run("score", "--pred", path), f"{path}: no predictions")
    path.write_text(
        '{"prediction": "a", "references": ["a"], "domain": "x"}\n{"prediction": "a", "references": ["a"]}\n'
    )
    assert_input_error(run("score", "--pred", path, "--by", "domain"), f"{path}:2: no 'domain' field")


def test_bad_options(tmp_path, run_file):
    assert_input_error(run("score", "--pred", run_file, "--rouge-types", "rouge1,rougeX"), "--rouge-types", "rougeX")
    assert_input_error(run("score", "--pred", tmp_path / "missing.jsonl"), "missing.jsonl: cannot read")


# --- report --------------------------------------------------------------------


def test_report_table_and_chart(tmp_path, run_file):
    second = tmp_path / "other.jsonl"
    rows = [json.loads(line) for line in run_file.read_text().splitlines()[1:]]
    second.write_text("\n".join(json.dumps({**r, "prediction": r["references"][0]}) for r in rows) + "\n")
    chart, markdown = tmp_path / "chart.png", tmp_path / "table.md"
    result = run("report", run_file, second, "--chart", chart, "--markdown", markdown)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "| Model | n | R-1 | R-2 | R-L | Geo-mean |"
    assert lines[2].startswith(f"| shifted-answers | {len(rows)} | ")
    assert lines[3] == f"| other | {len(rows)} | 100.00 | 100.00 | 100.00 | 100.00 |"
    assert markdown.read_text() == result.stdout
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    mean_r1 = np.mean([scorer.score_multi(r["references"], r["prediction"])["rouge1"].fmeasure for r in rows])
    assert f"| {100 * mean_r1:.2f} |" in lines[2]


def test_report_bad_run(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"prediction": "a", "references": ["\xff"]}\n')
    assert_input_error(run("report", path, "--chart", tmp_path / "c.png"), f"{path}:1: invalid UTF-8")


# --- --metric: the leaderboards' figures ------------------------------------------


def test_default_metric_is_rouge_score_unchanged(run_file):
    for extra in ((), ("--json",), ("--by", "domain", "--seed", "2")):
        default = run("score", "--pred", run_file, *extra)
        explicit = run("score", "--pred", run_file, "--metric", "rouge-score", *extra)
        assert default.exit_code == 0 and explicit.output == default.output
    assert "metric" not in json.loads(run("score", "--pred", run_file, "--json").output)


@pytest.mark.parametrize("metric", ["scrolls", "lm-eval-scrolls", "longbench", "lm-eval-longbench"])
def test_peer_metric_json_and_text(run_file, metric):
    from qmsum_fast.data.runs import load_predictions
    from qmsum_fast.metrics import peer_metric

    expected = peer_metric(load_predictions(run_file), metric)
    result = run("score", "--pred", run_file, "--metric", metric, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload == {"metric": metric, "score": expected.score, **expected.figures}
    text = run("score", "--pred", run_file, "--metric", metric).output.splitlines()
    assert text[1] == f"{len(load_predictions(run_file).predictions)} examples; headline: {expected.headline}"
    assert any(
        line.startswith(expected.headline + " ") and line.endswith(expected.text(expected.headline)) for line in text
    )


def test_peer_metric_headlines(run_file):
    payloads = {
        metric: json.loads(run("score", "--pred", run_file, "--metric", metric, "--json").output)
        for metric in ("scrolls", "lm-eval-scrolls", "longbench", "lm-eval-longbench")
    }
    assert (
        payloads["scrolls"]["score"]
        == payloads["scrolls"]["scrolls_score"]
        == payloads["scrolls"]["rouge/geometric_mean"]
    )
    assert payloads["lm-eval-scrolls"]["rouge1,none"] == payloads["scrolls"]["rouge/rouge1"]
    assert payloads["longbench"]["score"] == payloads["longbench"]["qmsum"]
    # LongBench: x 100, 2 decimals; lm-eval: the unrounded fraction (its table prints 4 decimals).
    assert payloads["longbench"]["qmsum"] == round(100 * payloads["lm-eval-longbench"]["score,none"], 2)


def test_peer_metric_with_text_files_and_lcs_depth(tmp_path):
    long_sentence = " ".join(["word"] * 1200)
    pred, ref = tmp_path / "p.txt", tmp_path / "r.txt"
    pred.write_text(f"{long_sentence}\nshort one\n", encoding="utf-8")
    ref.write_text(f"{long_sentence}\nshort one\n", encoding="utf-8")

    def qmsum(*extra):
        result = run("score", "--pred", pred, "--ref", ref, "--metric", "longbench", "--json", *extra)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["qmsum"]

    # 1200 words in one sentence: LongBench's eval.py hits RecursionError, the example scores 0.0.
    assert qmsum() == 50.0
    assert qmsum("--max-lcs-depth", "0") == 100.0
    assert qmsum("--max-lcs-depth", "1201") == 100.0
    assert qmsum("--max-lcs-depth", "1200") == 50.0


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--metric", "scrolls", "--bootstrap", "10"), ("--bootstrap applies to --metric rouge-score only",)),
        (("--metric", "longbench", "--by", "domain"), ("--by applies to --metric rouge-score only",)),
        (("--metric", "lm-eval-scrolls", "--no-stemmer"), ("--stemmer applies to --metric rouge-score only",)),
        (("--max-lcs-depth", "5"), ("--max-lcs-depth applies to --metric longbench or lm-eval-longbench only",)),
        (("--metric", "scrolls", "--max-lcs-depth", "5"), ("--max-lcs-depth", "not scrolls")),
        (("--metric", "rouge"), ("'rouge' is not one of", "--metric")),
        (("--metric", "longbench", "--max-lcs-depth", "-1"), ("--max-lcs-depth",)),
    ],
)
def test_metric_option_errors(run_file, args, fragments):
    assert_input_error(run("score", "--pred", run_file, *args), *fragments)


def test_report_several_metrics_side_by_side(tmp_path, run_file):
    from qmsum_fast.data.runs import load_predictions
    from qmsum_fast.metrics import peer_metric

    result = run("report", run_file, "--metric", "rouge-score,scrolls", "--metric", "longbench", "--metric", "scrolls")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "| Model | n | rouge-score R-1 | rouge-score R-2 | rouge-score R-L | rouge-score Geo-mean "
        "| scrolls rouge/rouge1 | scrolls rouge/rouge2 | scrolls rouge/rougeL | scrolls scrolls_score "
        "| longbench qmsum |"
    )
    assert lines[1] == "|---|" + "--:|" * 10
    default = run("report", run_file).stdout.splitlines()[2]
    scrolls = peer_metric(load_predictions(run_file), "scrolls").figures
    longbench = peer_metric(load_predictions(run_file), "longbench").figures["qmsum"]
    cells = " | ".join(f"{scrolls[k]:.4f}" for k in ("rouge/rouge1", "rouge/rouge2", "rouge/rougeL", "scrolls_score"))
    assert lines[2] == default[:-1] + f"| {cells} | {longbench:.2f} |"
    only = run("report", run_file, "--metric", "lm-eval-longbench").stdout.splitlines()
    assert only[0] == "| Model | n | score,none | rouge_score,none |"
    assert " ± " in only[2]


def test_report_metric_errors(tmp_path, run_file):
    # The same words as score's and view's --metric (one type, commands/_options.MetricType).
    assert_input_error(
        run("report", run_file, "--metric", "scrolls,bleu"), "Invalid value for '--metric': 'bleu' is not one of"
    )
    assert_input_error(run("report", run_file, "--metric", ","), "--metric: no metric given")
    assert_input_error(
        run("report", run_file, "--metric", "scrolls", "--chart", tmp_path / "c.png"), "--chart draws rouge-score"
    )
    assert_input_error(run("report", run_file, "--metric", "scrolls", "--no-stemmer"), "--stemmer/--no-stemmer applies")
    assert_input_error(run("report", run_file, "--max-lcs-depth", "3"), "--max-lcs-depth applies")

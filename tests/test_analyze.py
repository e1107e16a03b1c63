"""`qmsum-fast analyze` through the CLI, on the bundled data."""

import json

import pytest
from click.testing import CliRunner

from qmsum_fast.cli import main


def run(*args):
    result = CliRunner().invoke(main, ["analyze", *args])
    return result


def test_reproduces_the_original_experiments_figures():
    # ../shared/data/README.md: Academic test with the upstream preprocessing,
    # alpaca prompt, gpt-neox-20b: input mean 17895.34 max 27690, output mean 65.24 max 167.
    result = run("--split", "test", "--domain", "academic", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["pairs"] == 58
    assert round(report["input_tokens"]["mean"], 2) == 17895.34
    assert report["input_tokens"]["max"] == 27690
    assert round(report["summary_tokens"]["mean"], 2) == 65.24
    assert report["summary_tokens"]["max"] == 167


def test_json_has_the_documented_keys():
    result = run("--split", "val", "--preprocess", "none", "--reserve", "512", "--json")
    report = json.loads(result.output)
    for key in ("input_tokens", "summary_tokens"):
        assert set(report[key]) == {"count", "mean", "median", "p90", "p95", "min", "max"}
    assert list(report["fits"]) == ["2048", "4096", "8192", "16384", "32768", "81920", "131072"]
    assert report["pairs"] == 272
    groups = {(g["split"], g["domain"]): g["pairs"] for g in report["groups"]}
    assert groups == {("val", "academic"): 54, ("val", "product"): 145, ("val", "committee"): 73, ("val", "all"): 272}
    fits = list(report["fits"].values())
    assert fits == sorted(fits) and fits[-1] == 1.0


def test_tables_and_plots(tmp_path):
    result = run("--split", "test", "--domain", "product", "--template", "scrolls", "--plots", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Input tokens (full prompt)" in result.output
    assert "Context fit" in result.output
    assert "test   product      151" in result.output
    for name in ("input_tokens.png", "summary_tokens.png", "input_cdf.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_reserve_lowers_the_fit_share():
    base = json.loads(run("--split", "test", "--json").output)["fits"]["16384"]
    reserved = json.loads(run("--split", "test", "--reserve", "4000", "--json").output)["fits"]["16384"]
    assert reserved < base


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "does/not/exist"], "does/not/exist"),
        (["--template", "nope"], "unknown template 'nope'"),
        (["--tokenizer", "missing.json"], "tokenizer 'missing.json' not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.output


def test_unknown_placeholder_in_a_template_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("{question}\n{transcript}", encoding="utf-8")
    result = run("--template", str(path))
    assert result.exit_code == 2
    assert "unknown placeholder {question}" in result.output


def test_unreadable_tokenizer(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(b"\xff\xfe not a tokenizer")
    result = run("--tokenizer", str(path))
    assert result.exit_code == 2
    assert str(path) in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("template", ["scrolls", "lm-eval-scrolls", "longbench", "zeroscrolls"])
def test_the_peers_templates_count_raw_transcripts_unless_told(template):
    # The peers build their prompts from the raw transcript; the table's head says what was used.
    head = run("--split", "val", "--domain", "academic", "--template", template).output.splitlines()[0]
    assert head.endswith(f"template {template} · preprocess none · reserve 0")
    told = run("--split", "val", "--domain", "academic", "--template", template, "--preprocess", "qmsum", "--json")
    assert json.loads(told.output)["preprocess"] == "qmsum"


def test_the_default_template_keeps_the_original_experiments_preprocessing():
    head = run("--split", "val", "--domain", "academic").output.splitlines()[0]
    assert head.endswith("· template alpaca · preprocess qmsum · reserve 0")  # as the README shows it

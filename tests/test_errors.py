"""Run integrity at the command line: every refusal is one line and exit
status 2, and nothing a user already has is lost.

Each class of bad input is tried on every command it applies to (analyze,
convert, score, report, locate). Refusals of the library are one line
``qmsum-fast: error: ...``; out-of-range integers and unknown choices are
click's usage errors (``Error: Invalid value for '--option': ...``).
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qmsum_fast.cli import main

DATA = Path(__file__).parent / "data"
QMSUM = DATA / "qmsum"  # five small meetings: the fast data for commands that must succeed
FAST = ("--split", "val", "--domain", "academic")
OLD = b"a file the user already has\n"


def run(*args: object):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def assert_error_line(result, *fragments: str) -> str:
    """Exit 2, one ``qmsum-fast: error:`` line on stderr, no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def assert_usage_error(result, option: str) -> str:
    """Exit 2 and one ``qmsum-fast: error:`` line naming ``option`` (the style
    of every other error), pointing at the command's help; returns the message."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: Invalid value for "), result.stderr
    assert f"'{option}'" in lines[0] and lines[0].endswith(" --help')"), result.stderr
    assert "Traceback" not in result.output
    return lines[0].removeprefix("qmsum-fast: error: ").split(" (see '")[0]


def existing(path: Path, content: bytes = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def folder_listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def run_file(tmp_path) -> Path:
    lines = [
        {"header": True, "config": {"model": "m"}},
        {"id": "a", "prediction": "the remote control", "references": ["a remote control"]},
        {"id": "b", "prediction": "a meeting about lunch", "references": ["lunch was discussed"]},
    ]
    return existing(tmp_path / "run.jsonl", "".join(json.dumps(line) + "\n" for line in lines).encode())


# --- 1. an output whose folder is a file ---------------------------------------------------------


def output_commands(tmp_path: Path, run_file: Path, output: Path) -> dict[str, list]:
    """Each option that names an output, with ``output`` in that place."""
    return {
        "analyze --plots": ["analyze", *FAST, "--plots", output],
        "convert -o": ["convert", "--to", "scrolls", *FAST, "-o", output],
        "report --markdown": ["report", run_file, "--markdown", output],
        "report --chart": ["report", run_file, "--chart", output],
    }


@pytest.mark.parametrize("option", ["analyze --plots", "convert -o", "report --markdown", "report --chart"])
def test_an_output_inside_a_file_is_one_line(tmp_path, run_file, option):
    blocker = existing(tmp_path / "blocker")
    args = output_commands(tmp_path, run_file, blocker / "out")[option]
    if option == "analyze --plots":
        args = output_commands(tmp_path, run_file, blocker)[option]  # --plots names a folder
    assert_error_line(run(*args), "cannot write", f"{blocker} is a file, not a folder")
    assert blocker.read_bytes() == OLD


@pytest.mark.parametrize("option", ["convert -o", "report --markdown", "report --chart"])
def test_an_output_that_is_a_folder_is_one_line(tmp_path, run_file, option):
    folder = tmp_path / "folder"
    folder.mkdir()
    args = output_commands(tmp_path, run_file, folder)[option]
    assert_error_line(run(*args), f"{folder}: is a folder, not a file")


# --- 2. an output that exists, without --overwrite -----------------------------------------------


@pytest.mark.parametrize("option", ["convert -o", "report --markdown", "report --chart"])
def test_an_existing_output_is_refused_and_kept(tmp_path, run_file, option):
    out = existing(tmp_path / "out" / "result")
    args = output_commands(tmp_path, run_file, out)[option]
    assert_error_line(run(*args), f"{out} already exists: pass --overwrite to replace it")
    assert out.read_bytes() == OLD
    assert folder_listing(out.parent) == ["result"]

    replaced = run(*args, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert out.read_bytes() != OLD
    assert folder_listing(out.parent) == ["result"]


def test_analyze_refuses_any_of_its_three_plots_before_counting(tmp_path, monkeypatch):
    plots = tmp_path / "plots"
    cdf = existing(plots / "input_cdf.png")

    def no_counting(*args, **kwargs):
        raise AssertionError("counted before refusing the plots")

    monkeypatch.setattr("qmsum_fast.stats.TokenCounter.load", no_counting)
    assert_error_line(run("analyze", *FAST, "--plots", plots), f"{cdf} already exists")
    assert folder_listing(plots) == ["input_cdf.png"] and cdf.read_bytes() == OLD


def test_analyze_overwrite_replaces_the_plots(tmp_path):
    plots = tmp_path / "plots"
    cdf = existing(plots / "input_cdf.png")
    result = run("analyze", *FAST, "--plots", plots, "--overwrite")
    assert result.exit_code == 0, result.output
    assert folder_listing(plots) == ["input_cdf.png", "input_tokens.png", "summary_tokens.png"]
    assert cdf.read_bytes().startswith(b"\x89PNG")


def test_report_writes_no_chart_unless_asked(tmp_path, run_file, monkeypatch):
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    result = run("report", run_file)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert folder_listing(folder) == []


def test_report_refuses_one_file_for_both_outputs(tmp_path, run_file):
    out = tmp_path / "same"
    assert_error_line(run("report", run_file, "--chart", out, "--markdown", out), "name the same file")
    assert not out.exists()


# --- 3. a full disk while writing -------------------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch):
    """Every atomic write fails as a full disk does, when its data is synced."""

    def no_space(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("qmsum_fast.files.os.fsync", no_space)


@pytest.mark.parametrize("option", ["analyze --plots", "convert -o", "report --markdown", "report --chart"])
def test_a_full_disk_keeps_the_old_file_and_leaves_no_temporary(tmp_path, run_file, full_disk, option):
    folder = tmp_path / "out"
    if option == "analyze --plots":
        old = existing(folder / "input_tokens.png")
        args = output_commands(tmp_path, run_file, folder)[option]
    else:
        old = existing(folder / "result")
        args = output_commands(tmp_path, run_file, old)[option]
    assert_error_line(run(*args, "--overwrite"), f"{old}: cannot write: No space left on device")
    assert old.read_bytes() == OLD
    assert folder_listing(folder) == [old.name]


# --- 4. lone surrogates in input JSON ---------------------------------------------------------


@pytest.fixture
def surrogate_scrolls(tmp_path) -> Path:
    """A SCROLLS JSONL whose second row's query holds a lone surrogate (as a JSON escape)."""
    rows = [
        {"id": "m1", "pid": "m1_0", "input": "Summarize the meeting.\n\nA: hello\nB: the remote", "output": "x"},
        {"id": "m2", "pid": "m2_0", "input": "What about \ud800 the remote?\n\nA: hello\nB: remote", "output": "y"},
    ]
    return existing(tmp_path / "validation.jsonl", "".join(json.dumps(row) + "\n" for row in rows).encode())


@pytest.mark.parametrize("command", ["analyze", "convert", "locate"])
def test_a_lone_surrogate_in_data_is_one_line(tmp_path, surrogate_scrolls, command):
    out = existing(tmp_path / "out.jsonl")
    extra = {"analyze": [], "convert": ["--to", "scrolls", "-o", out, "--overwrite"], "locate": []}[command]
    result = run(command, "--data", surrogate_scrolls, "--split", "all", *extra)
    assert_error_line(result, f"{surrogate_scrolls}:2", "surrogate")
    assert out.read_bytes() == OLD


@pytest.mark.parametrize("command", ["score", "report"])
def test_a_lone_surrogate_in_a_run_file_is_one_line(tmp_path, command):
    path = existing(tmp_path / "run.jsonl", b'{"id": "a", "prediction": "x \\ud800", "references": ["x"]}\n')
    args = ["score", "--pred", path] if command == "score" else ["report", path]
    assert_error_line(run(*args), f"{path}:1", "surrogate")
    assert path.read_bytes() == b'{"id": "a", "prediction": "x \\ud800", "references": ["x"]}\n'


# --- 5. runs that mix two runs or repeat an example -------------------------------------------------


def two_runs_in_one(tmp_path) -> Path:
    header = json.dumps({"header": True, "config": {"model": "m"}})
    record = json.dumps({"id": "a", "prediction": "p", "references": ["r"]})
    other = json.dumps({"id": "b", "prediction": "p", "references": ["r"]})
    return existing(tmp_path / "run.jsonl", f"{header}\n{record}\n{header}\n{other}\n".encode())


def a_repeated_id(tmp_path) -> Path:
    record = json.dumps({"id": "a", "prediction": "p", "references": ["r"]})
    return existing(tmp_path / "run.jsonl", f"{record}\n{record}\n".encode())


@pytest.mark.parametrize("command", ["score", "report"])
@pytest.mark.parametrize("make_run, line", [(two_runs_in_one, 3), (a_repeated_id, 2)])
def test_a_run_file_the_reader_refuses_is_one_line(tmp_path, command, make_run, line):
    path = make_run(tmp_path)
    before = path.read_bytes()
    args = ["score", "--pred", path] if command == "score" else ["report", path]
    assert_error_line(run(*args), f"{path}:{line}:")
    assert path.read_bytes() == before


# --- 6. integers out of range --------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, option",
    [
        (["analyze", "--reserve", "-1"], "--reserve"),
        (["analyze", "--reserve", str(2**31)], "--reserve"),
        (["locate", "--budget", "0"], "--budget"),
        (["locate", "--budget", f"512,{2**31}"], "--budget"),
        (["locate", "--window", "-1"], "--window"),
        (["locate", "--window", str(2**31)], "--window"),
        (["score", "--pred", "{run}", "--seed", "-1"], "--seed"),
        (["score", "--pred", "{run}", "--seed", str(2**32)], "--seed"),
        (["make-model", "--arch", "llama", "--seed", str(2**32), "{out}"], "--seed"),
        (["score", "--pred", "{run}", "--bootstrap", "-1"], "--bootstrap"),
        (["score", "--pred", "{run}", "--bootstrap", "100001"], "--bootstrap"),
    ],
)
def test_an_integer_out_of_range_is_a_usage_error(tmp_path, run_file, args, option):
    out = tmp_path / "model"
    args = [str(arg).format(run=run_file, out=out) for arg in args]
    error = assert_usage_error(run(*args), option)
    assert "is not in the range" in error
    assert not out.exists()


def test_the_largest_values_in_range_are_accepted(run_file):
    result = run("score", "--pred", run_file, "--seed", 2**32 - 1, "--bootstrap", 5, "--resample", "example", "--json")
    assert result.exit_code == 0, result.output
    result = run("locate", "--data", QMSUM, "--split", "val", "--budget", 2**31 - 1, "--window", 2**31 - 1)
    assert result.exit_code == 0, result.output


# --- 7. --split and --domain: the same aliases and refusals everywhere -------------------------------

SPLIT_COMMANDS = {
    "analyze": ["analyze", "--json"],
    "convert": ["convert", "--to", "jsonl", "-o", "{out}"],
    "locate": ["locate", "--budget", "512", "--json"],
}


@pytest.mark.parametrize("command", list(SPLIT_COMMANDS))
def test_split_and_domain_aliases_are_accepted(tmp_path, command):
    out = tmp_path / "val.jsonl"
    args = [arg.format(out=out) for arg in SPLIT_COMMANDS[command]]
    result = run(*args, "--data", QMSUM, "--split", "Validation", "--domain", "PRODUCT")
    assert result.exit_code == 0, result.output
    if command == "analyze":
        assert {(g["split"], g["domain"]) for g in json.loads(result.output)["groups"]} == {("val", "product")}
    elif command == "locate":
        assert json.loads(result.output)["split"] == "val"
    else:
        assert [(r["split"], r["domain"]) for r in map(json.loads, out.read_text().splitlines())] == [
            ("val", "product")
        ]


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--split", "develop", "'develop' is not one of train, val, test, all"),
        ("--domain", "finance", "'finance' is not one of academic, product, committee, all"),
    ],
)
def test_a_bad_split_or_domain_is_refused_the_same_way_everywhere(tmp_path, option, value, message):
    out = existing(tmp_path / "val.jsonl")
    errors = set()
    for command in SPLIT_COMMANDS:
        args = [arg.format(out=out) for arg in SPLIT_COMMANDS[command]]
        errors.add(assert_usage_error(run(*args, option, value), option))
    assert errors == {f"Invalid value for '{option}': {message}"}
    assert out.read_bytes() == OLD

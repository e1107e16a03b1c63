"""JSON that Python's parser cannot take (nested too deep, an integer of more
than 4,300 digits), in every kind of file a command reads: one line naming the
file and line, exit status 2, no traceback (one place: data/jsonio.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from qmsum_fast.cli import main

DATA = Path(__file__).parent / "data"
GEN = DATA / "gen_qmsum"
DEPTH = 100_000
POISONS = {
    "nested": ("[" * DEPTH + "]" * DEPTH, "levels deep, deeper than can be read"),
    "long integer": ("1" + "0" * 5000, "an integer of 5,001 digits"),
}
RUN_LINES = [
    {"header": True, "config": {"model": "m"}},
    {"id": "a", "prediction": "the remote control", "references": ["a remote control"]},
]
SCROLLS_ROW = {"id": "a", "pid": "a_0", "input": "What was said?\n\nA: the remote", "output": "the remote"}


def run(*args: object):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def jsonl(path: Path, first: dict, poison: str) -> Path:
    """``first`` on line 1 and an object holding ``poison`` on line 2."""
    text = json.dumps(first) + '\n{"x": ' + poison + "}\n"
    path.write_bytes(gzip.compress(text.encode()) if path.name.endswith(".gz") else text.encode())
    return path


def document(path: Path, poison: str, opening: str = '{"a": "b",') -> Path:
    """One JSON document with ``poison`` on its line 2."""
    closing = "}" if opening.startswith("{") else "}]"
    inner = '\n"x": ' if opening.startswith("{") else ',\n{"x": '
    path.write_text(opening + inner + poison + closing)
    return path


def meeting() -> dict:
    return json.loads(next((GEN / "train").glob("*.json")).read_text())


def case(name: str, tmp_path: Path, poison: str) -> tuple[list, Path]:
    """The command line reading the poisoned file of kind ``name``, and that file."""
    good_run = tmp_path / "good.jsonl"
    good_run.write_text("".join(json.dumps(line) + "\n" for line in RUN_LINES))
    ref = tmp_path / "ref.jsonl"
    ref.write_text(json.dumps(SCROLLS_ROW) + "\n")
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps({"a": "the remote"}))
    bad_run = tmp_path / "run.jsonl"
    bad_ref = tmp_path / "bad_ref.jsonl"
    upstream = tmp_path / "train.jsonl"
    folder = tmp_path / "data" / "train"
    files = {
        "data upstream jsonl": lambda: jsonl(upstream, meeting(), poison),
        "data upstream jsonl.gz": lambda: jsonl(tmp_path / "train.jsonl.gz", meeting(), poison),
        "data scrolls jsonl": lambda: jsonl(tmp_path / "validation.jsonl", SCROLLS_ROW, poison),
        "data alpaca json": lambda: document(tmp_path / "alpaca_format_test.json", poison, ALPACA_OPENING),
        "data meeting json in a folder": lambda: folder.mkdir(parents=True) or document(folder / "m.json", poison),
        "generate --data": lambda: jsonl(upstream, meeting(), poison),
        "generate --resume run": lambda: jsonl(bad_run, RUN_LINES[0], poison),
        "score run": lambda: jsonl(bad_run, RUN_LINES[0], poison),
        "score run.jsonl.gz": lambda: jsonl(tmp_path / "run.jsonl.gz", RUN_LINES[0], poison),
        "score longbench predictions": lambda: jsonl(bad_run, {"pred": "x", "answers": ["y"], "length": 3}, poison),
        "score submission": lambda: document(tmp_path / "sub.json", poison),
        "score scrolls references": lambda: jsonl(bad_ref, SCROLLS_ROW, poison),
        "report run": lambda: jsonl(bad_run, RUN_LINES[0], poison),
        "view run": lambda: jsonl(bad_run, RUN_LINES[0], poison),
        "view --ref": lambda: jsonl(bad_ref, SCROLLS_ROW, poison),
        "export run": lambda: jsonl(bad_run, RUN_LINES[0], poison),
    }
    bad = files[name]()
    commands = {
        "data upstream jsonl": ["analyze", "--data", bad, "--split", "all"],
        "data upstream jsonl.gz": ["locate", "--data", bad, "--split", "all"],
        "data scrolls jsonl": ["convert", "--to", "jsonl", "--data", bad, "--split", "all", "-o", tmp_path / "o"],
        "data alpaca json": ["analyze", "--data", bad, "--split", "all"],
        "data meeting json in a folder": ["analyze", "--data", folder.parent, "--split", "all"],
        "generate --data": ["generate", "--model", "lead", "--data", bad, "--out", tmp_path / "r.jsonl"],
        "generate --resume run": [
            "generate",
            "--model",
            "lead",
            "--data",
            GEN,
            "--split",
            "all",
            "--out",
            bad,
            "--resume",
        ],
        "score run": ["score", "--pred", bad],
        "score run.jsonl.gz": ["score", "--pred", bad],
        "score longbench predictions": ["score", "--pred", bad, "--metric", "longbench"],
        "score submission": ["score", "--pred", bad, "--ref", ref],
        "score scrolls references": ["score", "--pred", submission, "--ref", bad, "--metric", "scrolls"],
        "report run": ["report", good_run, bad],
        "view run": ["view", bad, "-o", tmp_path / "v.html"],
        "view --ref": ["view", submission, "--ref", bad, "-o", tmp_path / "v.html"],
        "export run": ["export", bad, "--to", "scrolls", "-o", tmp_path / "s.json"],
    }
    return commands[name], bad


ALPACA_OPENING = '[{"instruction": "q", "input": "A: x", "output": "y"}'
KINDS = [
    "data upstream jsonl",
    "data upstream jsonl.gz",
    "data scrolls jsonl",
    "data alpaca json",
    "data meeting json in a folder",
    "generate --data",
    "generate --resume run",
    "score run",
    "score run.jsonl.gz",
    "score longbench predictions",
    "score submission",
    "score scrolls references",
    "report run",
    "view run",
    "view --ref",
    "export run",
]


@pytest.mark.parametrize("poison", list(POISONS))
@pytest.mark.parametrize("kind", KINDS)
def test_json_beyond_the_parser_is_one_line_naming_file_and_line(tmp_path, kind, poison):
    text, what = POISONS[poison]
    args, bad = case(kind, tmp_path, text)
    before = bad.read_bytes()
    result = run(*args)
    assert result.exit_code == 2, result.output + repr(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qmsum-fast: error: {bad}:2: "), result.stderr
    assert what in lines[0]
    assert bad.read_bytes() == before


@pytest.mark.parametrize("poison", list(POISONS))
def test_a_tokenizer_file_beyond_the_parser_is_one_line_naming_file_and_line(tmp_path, poison):
    """tokenizer.json is parsed in Rust (serde_json, which has its own depth limit)."""
    text, _ = POISONS[poison]
    tokenizer = tmp_path / "tokenizer.json"
    tokenizer.write_text('{"version": "1.0",\n"x": ' + text + "}")
    result = run("analyze", "--split", "val", "--domain", "academic", "--tokenizer", tokenizer)
    assert result.exit_code == 2, result.output + repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: "), result.stderr
    assert str(tokenizer) in lines[0] and "line 2" in lines[0], lines[0]

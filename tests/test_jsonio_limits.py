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
    run_file = tmp_path / "good.jsonl"
    run_file.write_text("".join(json.dumps(line) + "\n" for line in RUN_LINES))
    ref = tmp_path / "ref.jsonl"
    ref.write_text(json.dumps(SCROLLS_ROW) + "\n")
    submission = tmp_path / "submission.json"
    submission.write_text(json.dumps({"a": "the remote"}))
    if name == "data upstream jsonl":
        bad = jsonl(tmp_path / "train.jsonl", meeting(), poison)
        return ["analyze", "--data", bad, "--split", "all"], bad
    if name == "data upstream jsonl.gz":
        bad = jsonl(tmp_path / "train.jsonl.gz", meeting(), poison)
        return ["locate", "--data", bad, "--split", "all"], bad
    if name == "data scrolls jsonl":
        bad = jsonl(tmp_path / "validation.jsonl", SCROLLS_ROW, poison)
        return ["convert", "--to", "jsonl", "--data", bad, "--split", "all", "-o", tmp_path / "out.jsonl"], bad
    if name == "data alpaca json":
        bad = document(
            tmp_path / "alpaca_format_test.json", poison, '[{"instruction": "q", "input": "A: x", "output": "y"}'
        )
        return ["analyze", "--data", bad, "--split", "all"], bad
    if name == "data meeting json in a folder":
        folder = tmp_path / "data" / "train"
        folder.mkdir(parents=True)
        bad = document(folder / "m.json", poison)
        return ["analyze", "--data", folder.parent, "--split", "all"], bad
    if name == "generate --data":
        bad = jsonl(tmp_path / "train.jsonl", meeting(), poison)
        return ["generate", "--model", "lead", "--data", bad, "--out", tmp_path / "r.jsonl"], bad
    if name == "generate --resume run":
        bad = jsonl(tmp_path / "run.jsonl", RUN_LINES[0], poison)
        return ["generate", "--model", "lead", "--data", GEN, "--out", bad, "--resume"], bad
    if name == "score run":
        return ["score", "--pred", jsonl(tmp_path / "run.jsonl", RUN_LINES[0], poison)], tmp_path / "run.jsonl"
    if name == "score run.jsonl.gz":
        bad = jsonl(tmp_path / "run.jsonl.gz", RUN_LINES[0], poison)
        return ["score", "--pred", bad], bad
    if name == "score longbench predictions":
        bad = jsonl(tmp_path / "pred.jsonl", {"pred": "x", "answers": ["y"], "length": 3}, poison)
        return ["score", "--pred", bad, "--metric", "longbench"], bad
    if name == "score submission":
        return ["score", "--pred", document(tmp_path / "sub.json", poison), "--ref", ref], tmp_path / "sub.json"
    if name == "score scrolls references":
        bad = jsonl(tmp_path / "bad_ref.jsonl", SCROLLS_ROW, poison)
        return ["score", "--pred", submission, "--ref", bad, "--metric", "scrolls"], bad
    if name == "report run":
        return ["report", run_file, jsonl(tmp_path / "run.jsonl", RUN_LINES[0], poison)], tmp_path / "run.jsonl"
    if name == "view run":
        bad = jsonl(tmp_path / "run.jsonl", RUN_LINES[0], poison)
        return ["view", bad, "-o", tmp_path / "v.html"], bad
    if name == "view --ref":
        bad = jsonl(tmp_path / "bad_ref.jsonl", SCROLLS_ROW, poison)
        return ["view", submission, "--ref", bad, "-o", tmp_path / "v.html"], bad
    if name == "export run":
        bad = jsonl(tmp_path / "run.jsonl", RUN_LINES[0], poison)
        return ["export", bad, "--to", "scrolls", "-o", tmp_path / "s.json"], bad
    raise AssertionError(name)


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

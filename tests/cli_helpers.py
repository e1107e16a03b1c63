"""Running the CLI in tests: its output, its one error line, the run file it wrote."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qmsum_fast.cli import main


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def ok(*args) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.output


def error(*args) -> str:
    """The one error line of a command that must fail with exit status 2."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: "), result.output
    return lines[0].removeprefix("qmsum-fast: error: ")


def records(path):
    """A run file's header and records, the header checked to be first."""
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    assert lines[0]["header"] is True
    return lines[0], lines[1:]


def predictions(path):
    return {r["id"]: r["prediction"] for r in records(path)[1]}

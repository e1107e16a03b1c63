"""What the seed-model checks (``scripts/seedcheck_*.py``) share: their findings, how a
finding reads, the commit of a checkout, and greedy tokens up to the end of sequence."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

Finding = tuple[bool | None, str]  # ok None: a line that only informs


def finding_line(ok: bool | None, line: str) -> str:
    return ("" if ok is None else "ok: " if ok else "MISMATCH: ") + line


def report(findings: Callable[[Path], list[Finding]], original_dir: str | Path) -> bool:
    """Prints what a check found in ``original_dir``; True when nothing mismatched."""
    found = findings(Path(original_dir))
    for ok, line in found:
        print(finding_line(ok, line))
    return all(ok is not False for ok, _ in found)


def commit_of(checkout: Path) -> str:
    """A checkout's commit: the COMMIT file beside an exported tree, else git's HEAD."""
    marker = checkout / "COMMIT"
    if marker.is_file():
        return marker.read_text().strip()
    try:
        found = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True)
    except OSError:
        return "unknown"
    return found.stdout.strip() or "unknown"


def until_eos(tokens, eos: int) -> list[int]:
    """A generated row's token ids up to (not including) the first end of sequence."""
    ids = tokens.tolist()
    return ids[: ids.index(eos)] if eos in ids else ids

"""Reading predictions to score: plain text pairs or ``generate``'s JSONL runs.

Plain text: one summary per line (``\\n``-separated; a final newline is
optional), the prediction file and each reference file line by line.

A run (JSONL): one JSON object per line with ``prediction`` (string) and
``references`` (a non-empty list of strings), usually also ``id``, ``domain``
and ``query_type``. A first line with ``"header": true`` holds the run's
settings (``model`` among them) and is not an example. Blank lines are skipped.

Every problem raises :class:`~qmsum_fast.errors.InputError` naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError


@dataclass(frozen=True)
class Prediction:
    """One prediction with its references and the example's other fields."""

    prediction: str
    references: tuple[str, ...]
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """The examples of one prediction file and its header (empty when none)."""

    path: Path
    header: dict
    predictions: list[Prediction]

    @property
    def name(self) -> str:
        """The model named in the header, else the file name without suffix."""
        model = self.header.get("model")
        return str(model) if model else self.path.stem


def read_lines(path: Path) -> list[str]:
    """The ``\\n``-separated lines of a UTF-8 text file (no final empty line)."""
    data = _read_bytes(path)
    if not data:
        raise InputError(f"{path}: empty file")
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [_decode(path, number, line) for number, line in enumerate(lines, start=1)]


def load_text_pairs(prediction_path: Path, reference_paths: list[Path]) -> Run:
    """Predictions and references from parallel plain-text files."""
    predictions = read_lines(prediction_path)
    references = []
    for reference_path in reference_paths:
        lines = read_lines(reference_path)
        if len(lines) != len(predictions):
            line = min(len(lines), len(predictions)) + 1
            shorter = reference_path if len(lines) < len(predictions) else prediction_path
            raise InputError(
                f"{shorter}:{line}: line missing: {prediction_path} has {len(predictions)} lines "
                f"but {reference_path} has {len(lines)}"
            )
        references.append(lines)
    rows = [
        Prediction(prediction, tuple(refs[i] for refs in references), {"line": i + 1})
        for i, prediction in enumerate(predictions)
    ]
    return Run(prediction_path, {}, rows)


def load_run(path: Path) -> Run:
    """A JSONL run as written by ``qmsum-fast generate``."""
    header: dict = {}
    rows: list[Prediction] = []
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        record = _parse_object(path, number, line)
        if record.get("header") is True:
            if number != 1 or rows:
                raise InputError(f"{path}:{number}: a header line is allowed only first")
            header = record
            continue
        rows.append(_prediction(path, number, record))
    if not rows:
        raise InputError(f"{path}: no predictions")
    return Run(path, header, rows)


def _prediction(path: Path, number: int, record: dict) -> Prediction:
    prediction = record.get("prediction")
    if not isinstance(prediction, str):
        what = "no 'prediction' field" if prediction is None else "'prediction' is not a string"
        raise InputError(f"{path}:{number}: {what}")
    references = record.get("references")
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise InputError(f"{path}:{number}: 'references' must be a list of strings")
    if not references:
        raise InputError(f"{path}:{number}: 'references' is empty")
    fields = {k: v for k, v in record.items() if k not in ("prediction", "references")}
    fields["line"] = number
    return Prediction(prediction, tuple(references), fields)


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _decode(path: Path, number: int, line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{number}: invalid UTF-8 at byte {exc.start}") from None


def _parse_object(path: Path, number: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    if not isinstance(record, dict):
        raise InputError(f"{path}:{number}: expected a JSON object")
    return record

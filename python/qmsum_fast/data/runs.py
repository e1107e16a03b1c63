"""Run files and prediction files: the one reader, used by ``generate``,
``score`` and ``report``.

A run (JSONL): one JSON object per line with ``prediction`` (string) and
``references`` (a non-empty list of strings), usually also ``id``, ``domain``
and ``query_type``. A first line with ``"header": true`` holds the run's
configuration (``config``; see :mod:`qmsum_fast.gen.config`) and is not an
example. Blank lines are skipped. A header anywhere but first (records of two
runs in one file) and an id that occurs twice are refused.

Plain text: one summary per line (``\\n``-separated; a final newline is
optional), the prediction file and each reference file line by line.

Every problem raises :class:`~qmsum_fast.errors.InputError` naming the file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .jsonio import parse


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
        config = self.header.get("config")
        model = config.get("model") if isinstance(config, dict) else None
        return str(model) if model else self.path.stem


def read_lines(path: Path) -> list[str]:
    """The ``\\n``-separated lines of a UTF-8 text file (no final empty line)."""
    data = _read_bytes(path)
    if not data:
        raise InputError(f"{path}: empty file")
    return _decode_lines(path, data)


def _decode_lines(path: Path, data: bytes) -> list[str]:
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


@dataclass(frozen=True)
class RunFile:
    """A run file as written: its header (None when it has none) and its
    records with their line numbers."""

    path: Path
    header: dict | None
    records: list[dict]
    lines: list[int]
    # A last line without its newline: a record torn by a killed writer.
    torn: bool = False

    @property
    def ids(self) -> set[str]:
        return {record["id"] for record in self.records if "id" in record}

    @property
    def config(self) -> dict:
        """The header's run configuration (empty when there is none)."""
        config = (self.header or {}).get("config")
        return config if isinstance(config, dict) else {}


def read_run(path: Path, *, drop_torn: bool = False, missing_ok: bool = False) -> RunFile:
    """The header and records of a run file, checked: a header only first,
    each id once. ``drop_torn``: a last line without its newline is ignored
    (a writer was killed while writing it; ``generate --resume`` redoes it)."""
    path = Path(path)
    if missing_ok and not path.exists():
        return RunFile(path, None, [], [])
    data = _read_bytes(path)
    torn = bool(data) and not data.endswith(b"\n")
    if torn and drop_torn:
        data = data[: data.rfind(b"\n") + 1]
    lines = _decode_lines(path, data)
    header: dict | None = None
    records: list[dict] = []
    numbers: list[int] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _parse_object(path, number, line)
        if record.get("header") is True:
            if records or header is not None:
                raise InputError(f"{path}:{number}: a second header: the file holds records of two runs")
            header = record
            continue
        _check_id(path, number, record, seen)
        records.append(record)
        numbers.append(number)
    return RunFile(path, header, records, numbers, torn)


def _check_id(path: Path, number: int, record: dict, seen: dict[str, int]) -> None:
    if "id" not in record:
        return
    example_id = record["id"]
    if not isinstance(example_id, str):
        raise InputError(f"{path}:{number}: 'id' is not a string")
    if example_id in seen:
        raise InputError(f"{path}:{number}: id {example_id!r} is also on line {seen[example_id]}")
    seen[example_id] = number


def load_predictions(prediction_path: Path, reference_paths: Sequence[Path] = ()) -> Run:
    """What ``score`` and ``report`` score: a run file alone, or predictions
    with separate reference files (plain text, one summary per line)."""
    if reference_paths:
        return load_text_pairs(prediction_path, list(reference_paths))
    return load_run(prediction_path)


def load_run(path: Path) -> Run:
    """A JSONL run as written by ``qmsum-fast generate``, for scoring."""
    run = read_run(path)
    rows = [_prediction(path, number, record) for number, record in zip(run.lines, run.records)]
    if not rows:
        raise InputError(f"{path}: no predictions")
    return Run(path, run.header or {}, rows)


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
    record = parse(line, path, number)
    if not isinstance(record, dict):
        raise InputError(f"{path}:{number}: expected a JSON object")
    return record

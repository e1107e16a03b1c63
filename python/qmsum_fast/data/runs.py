"""Run files and prediction files: the one reader, used by ``generate``,
``score`` and ``report``.

A run (JSONL): one JSON object per line with ``prediction`` (string) and
``references`` (a non-empty list of strings), usually also ``id``, ``domain``
and ``query_type``. A first line with ``"header": true`` holds the run's
configuration (``config``; see :mod:`qmsum_fast.gen.config`) and is not an
example. Blank lines are skipped. A header anywhere but first (records of two
runs in one file) and an id that occurs twice are refused.

LongBench predictions (JSONL, ``pred/<model>/qmsum.jsonl`` of THUDM/LongBench's
pred.py): one object per line with ``pred`` and ``answers`` (the references),
also ``all_classes`` and ``length``.

A SCROLLS or ZeroSCROLLS submission (one JSON object ``{id: prediction}``) is
scored against a SCROLLS-format reference file (JSONL rows with ``id`` and
``output``; several rows with one id are several references).

Plain text: one summary per line (``\\n``-separated; a final newline is
optional), the prediction file and each reference file line by line.

An example without references (a gold-less row of a public test split) cannot
be scored. Every problem raises :class:`~qmsum_fast.errors.InputError` naming
the file and line (or the id).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from .jsonio import (
    MalformedJSON,
    check_unicode,
    jsonl_records,
    looks_like_submission,
    parse,
    parse_document,
    plural,
    read_bytes,
    refuse_document,
    try_parse,
)

# What score says of an example without references.
GOLDLESS = "is gold-less (as in the public SCROLLS and ZeroSCROLLS test splits): only the leaderboard can score it"


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
        return str(model) if model else self.path.name.removesuffix(".gz").rsplit(".", 1)[0]


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
    whole = data = _read_bytes(path)
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
        record = _parse_object(path, number, line, whole)
        if record.get("header") is True:
            if records or header is not None:
                raise InputError(f"{path}:{number}: a second header: the file holds records of two runs")
            _check_header(path, number, record)
            header = record
            continue
        _check_id(path, number, record, seen)
        records.append(record)
        numbers.append(number)
    return RunFile(path, header, records, numbers, torn)


# Header fields that readers use, with the JSON types each may hold (None: null).
_HEADER_CONFIG_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "model": (str,),
    "model_path": (str, type(None)),
    "strategy": (str,),
    "template": (str, type(None)),
    "preprocess": (str,),
    "input": (str,),
    "max_input_tokens": (int, type(None)),
    "generation": (dict,),
    "baseline": (dict, type(None)),
    "locate_method": (str, type(None)),
    "locate_window": (int, type(None)),
    "locate_budget": (int, type(None)),
    "seed": (int,),
    "data": (str,),
    "data_fingerprint": (str,),
    "split": (str,),
    "domain": (str,),
    "limit": (int, type(None)),
}


def _check_header(path: Path, number: int, header: dict) -> None:
    """A header's config and runtime are objects, and the config fields readers
    use have their types (a hand-edited header is named, not a traceback)."""
    for part in ("config", "runtime"):
        if part in header and not isinstance(header[part], dict):
            raise InputError(f"{path}:{number}: the header's '{part}' is not a JSON object")
    for name, value in header.get("config", {}).items():
        allowed = _HEADER_CONFIG_TYPES.get(name)
        if allowed is None or (isinstance(value, allowed) and not isinstance(value, bool)):
            continue
        kinds = " or ".join("null" if kind is type(None) else _JSON_NAMES[kind] for kind in allowed)
        raise InputError(f"{path}:{number}: the header's config.{name} is {json.dumps(value)[:40]}, not {kinds}")
    limit = header.get("config", {}).get("limit")
    if isinstance(limit, int) and limit < 1:
        raise InputError(f"{path}:{number}: the header's config.limit is {limit}, not a positive count")


_JSON_NAMES = {str: "a string", int: "an integer", dict: "an object"}


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
    """What ``score`` and ``report`` score: a run file or LongBench predictions
    alone; a SCROLLS / ZeroSCROLLS submission with its SCROLLS-format reference
    file; or plain-text predictions with plain-text reference files."""
    if not reference_paths:
        return load_run(prediction_path)
    submission = read_submission(prediction_path)
    if submission is not None:
        return load_submission(prediction_path, submission, reference_paths)
    _refuse_row_references(prediction_path, reference_paths)
    return load_text_pairs(prediction_path, list(reference_paths))


def load_run(path: Path) -> Run:
    """A JSONL run as written by ``qmsum-fast generate``, or LongBench's
    predictions, for scoring."""
    submission = read_submission(path)
    if submission is not None:
        raise InputError(
            f"{path}: a JSON document, not JSONL: a SCROLLS or ZeroSCROLLS submission of "
            f"{plural(len(submission), 'prediction')}; score it with --ref and its references "
            "(SCROLLS rows: id, pid, input, output)"
        )
    run = read_run(path)
    if not run.records:
        raise InputError(f"{path}: no predictions")
    form = _LONGBENCH_RECORD if _is_longbench(run.records[0]) else _RUN_RECORD
    rows = [_prediction(path, number, record, form) for number, record in zip(run.lines, run.records)]
    return Run(path, run.header or {}, rows)


def _is_longbench(record: dict) -> bool:
    return "pred" in record and "prediction" not in record


@dataclass(frozen=True)
class _RecordForm:
    """Where a prediction file's records keep the prediction and the references."""

    prediction: str
    references: str
    dropped: tuple[str, ...] = ()  # fields not kept (large and no use in scoring)
    hint: str = ""  # added to errors about the prediction field


_RUN_RECORD = _RecordForm("prediction", "references")
# A LongBench prediction; its context is the whole transcript.
_LONGBENCH_RECORD = _RecordForm("pred", "answers", ("context",), " (a LongBench prediction has pred and answers)")


def record_problem(record: dict) -> str | None:
    """What keeps a run record from being a finished example's (None when it is
    one): its id, prediction or references missing or of the wrong type."""
    example_id = record.get("id")
    if not isinstance(example_id, str):
        return "no 'id' field" if example_id is None else "'id' is not a string"
    problem = _prediction_problem(record, _RUN_RECORD)
    if problem is not None:
        return problem
    references = record.get("references")
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        return "'references' must be a list of strings"
    return None


def _prediction_problem(record: dict, form: _RecordForm) -> str | None:
    prediction = record.get(form.prediction)
    if isinstance(prediction, str):
        return None
    return f"no '{form.prediction}' field" if prediction is None else f"'{form.prediction}' is not a string"


def _prediction(path: Path, number: int, record: dict, form: _RecordForm = _RUN_RECORD) -> Prediction:
    problem = _prediction_problem(record, form)
    if problem is not None:
        raise InputError(f"{path}:{number}: {problem}{form.hint}")
    prediction = record[form.prediction]
    references = _references(path, number, record, form.references)
    dropped = (form.prediction, form.references, *form.dropped)
    fields = {k: v for k, v in record.items() if k not in dropped}
    fields["line"] = number
    return Prediction(prediction, references, fields)


def _references(path: Path, number: int, record: dict, name: str) -> tuple[str, ...]:
    references = record.get(name)
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise InputError(f"{path}:{number}: '{name}' must be a list of strings")
    if not references:
        example = record.get("id", record.get("_id"))
        who = f"id {example!r}" if isinstance(example, str) else "the example"
        raise InputError(f"{path}:{number}: '{name}' is empty: {who} {GOLDLESS}")
    return tuple(references)


# --- SCROLLS / ZeroSCROLLS submissions ------------------------------------------------


def read_submission(path: Path) -> dict[str, str] | None:
    """The ``{id: prediction}`` a SCROLLS or ZeroSCROLLS submission file holds;
    None when the file is no such JSON object (a run, plain text)."""
    data = _read_bytes(path)
    if data.lstrip(b" \t\r\n")[:1] != b"{":
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    value = parse_document(text, path)  # None: JSONL (a run) or text, not one JSON document
    if not isinstance(value, dict) or not looks_like_submission(value):
        return None  # one record of a run, or some other object
    check_unicode(value, str(path))
    return value


@dataclass
class _Gold:
    line: int  # the first row of the id
    outputs: list[str]


def load_submission(prediction_path: Path, predictions: dict[str, str], reference_paths: Sequence[Path]) -> Run:
    """A submission scored against SCROLLS-format references, in the submission's order."""
    if len(reference_paths) != 1:
        raise InputError(
            f"{prediction_path}: a submission is scored against one SCROLLS-format reference file "
            f"(rows with id and output), not {len(reference_paths)}"
        )
    reference_path = Path(reference_paths[0])
    gold = read_id_references(reference_path)
    _check_same_ids(prediction_path, predictions, reference_path, gold)
    rows = [Prediction(text, tuple(gold[key].outputs), {"id": key}) for key, text in predictions.items()]
    return Run(prediction_path, {}, rows)


def read_id_references(path: Path) -> dict[str, _Gold]:
    """Id -> references of a SCROLLS-format file (SCROLLS or ZeroSCROLLS rows)."""
    gold: dict[str, _Gold] = {}
    for number, row in jsonl_records(path):
        key = row.get("id")
        if not isinstance(key, str):
            what = "no 'id' field" if key is None else "'id' is not a string"
            raise InputError(f"{path}:{number}: {what} (SCROLLS reference rows have id, pid, input and output)")
        if "output" not in row:
            raise InputError(f"{path}:{number}: id {key!r}: no 'output' field")
        output = row["output"]
        if output is None:
            raise InputError(f"{path}:{number}: 'output' is null: id {key!r} {GOLDLESS}")
        if not isinstance(output, str):
            raise InputError(f"{path}:{number}: id {key!r}: 'output' is not a string")
        gold.setdefault(key, _Gold(number, [])).outputs.append(output)
    if not gold:
        raise InputError(f"{path}: no reference rows")
    return gold


def _check_same_ids(prediction_path: Path, predictions: dict, reference_path: Path, gold: dict[str, _Gold]) -> None:
    missing = [key for key in gold if key not in predictions]
    if missing:
        where = f"{reference_path}:{gold[missing[0]].line}"
        raise InputError(f"{prediction_path}: no prediction for id {missing[0]!r} ({where}){_more(missing)}")
    unknown = [key for key in predictions if key not in gold]
    if unknown:
        raise InputError(f"{prediction_path}: id {unknown[0]!r} is not in {reference_path}{_more(unknown)}")


def _more(keys: list) -> str:
    return f" (and {len(keys) - 1} more)" if len(keys) > 1 else ""


def _refuse_row_references(prediction_path: Path, reference_paths: Sequence[Path]) -> None:
    """SCROLLS rows given as references to plain-text predictions would be
    scored as lines of JSON text: refuse them."""
    for reference_path in reference_paths:
        first = _read_bytes(reference_path).split(b"\n", 1)[0]
        row = try_parse(first.decode("utf-8", errors="replace"))
        if isinstance(row, dict) and {"id", "output"} <= set(row):
            raise InputError(
                f"{reference_path}: SCROLLS reference rows are scored against a submission JSON "
                f"{{id: prediction}}, and {prediction_path} is not one"
            )


def _read_bytes(path: Path) -> bytes:
    """As every reader reads: ``.gz`` decompressed, a byte-order mark dropped."""
    return read_bytes(path)


def _decode(path: Path, number: int, line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}:{number}: invalid UTF-8 at byte {exc.start}") from None


def _parse_object(path: Path, number: int, line: str, data: bytes) -> dict:
    try:
        record = parse(line, path, number)
    except MalformedJSON:
        _refuse_document(path, data)
        raise
    if not isinstance(record, dict):
        _refuse_document(path, data)
        raise InputError(f"{path}:{number}: expected a JSON object")
    return record


def _refuse_document(path: Path, data: bytes) -> None:
    """A file that is one JSON document (pretty-printed) is named as such."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return
    refuse_document(path, text)

"""Reading JSON and JSONL with errors that name the file and line.

Used by every reader of user files: the data readers, prediction files,
references, submissions and run files. Text is UTF-8 (a byte-order mark is
tolerated, in every kind of file; ``.gz`` files are decompressed, in every kind
of file). JSON nested too deep for Python's parser, or holding an integer of
more digits than Python converts (4,300), is refused here, once for all
readers, with the file and line. JSON can still spell text that is not Unicode: a lone
surrogate escape such as ``"\\ud800"``. Such text cannot be tokenized, scored
or written back as UTF-8, so it is refused wherever it appears, with the file,
line and field (the policy of every command).
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError
from ..files import note_input

# A JSON escape of a UTF-16 surrogate; only these can make a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

BOM = b"\xef\xbb\xbf"


def read_bytes(path: Path) -> bytes:
    """The bytes of ``path``: decompressed when its name ends in ``.gz``, and
    without a UTF-8 byte-order mark."""
    path = Path(path)
    note_input(path)
    try:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file") from None
    except (OSError, EOFError, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise InputError(f"{path}: cannot read: {reason}") from None
    return data[len(BOM) :] if data.startswith(BOM) else data


def read_text(path: Path) -> str:
    """The UTF-8 text of ``path`` (``.gz``: decompressed)."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


class MalformedJSON(InputError):
    """Text that is not JSON (as opposed to JSON holding something refused)."""


def parse(text: str, path: Path | str, line: int | None = None) -> object:
    """One JSON value: a whole file's (``line`` None) or one JSONL line's."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{path}:{line or exc.lineno}: malformed JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise _too_deep(text, path, line) from None
    except ValueError:  # an integer of more digits than Python converts
        raise _too_long(text, path, line) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            check_unicode(value, f"{path}:{line}" if line else str(path))
        except RecursionError:
            raise _too_deep(text, path, line) from None
    return value


def _too_deep(text: str, path: Path | str, line: int | None) -> InputError:
    depth, deepest = _deepest(text)
    return InputError(f"{path}:{line or deepest}: JSON nested {depth} levels deep, deeper than can be read")


def _too_long(text: str, path: Path | str, line: int | None) -> InputError:
    limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
    digits = re.search(rf"\d{{{limit + 1},}}", text) if limit else None
    at = line or (text.count("\n", 0, digits.start()) + 1 if digits else 1)
    size = f"of {len(digits.group()):,} digits" if digits else "too long"
    return InputError(f"{path}:{at}: an integer {size}, more than the {limit:,} digits that can be read")


def _deepest(text: str) -> tuple[int, int]:
    """The deepest nesting of ``text`` (brackets outside strings) and the line
    where it is first reached."""
    depth = deepest = 0
    line = deepest_line = 1
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, deepest_line = depth, line
        elif char in "]}":
            depth -= 1
        if char == "\n":
            line += 1
    return deepest, deepest_line


def parse_document(text: str, path: Path | str) -> object | None:
    """The JSON value of a whole file's ``text``, or None when it is not JSON
    (JSONL, plain text: its own reader says what is wrong); JSON too deep or
    too long to read is refused here."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None
    except RecursionError:
        raise _too_deep(text, path, None) from None
    except ValueError:
        raise _too_long(text, path, None) from None


def try_parse(text: str) -> object | None:
    """The JSON value of ``text``, or None when it is not one that can be read
    (for guessing what a file holds; :func:`parse` says what is wrong)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def load_json(path: Path) -> object:
    """The JSON value a whole file holds."""
    return parse(read_text(path), path)


def without_torn_line(text: str) -> str:
    """``text`` without a last line that lacks its newline (a writer killed
    while writing it): a file that is appended to line by line, read back."""
    return text if not text or text.endswith("\n") else text[: text.rfind("\n") + 1]


def jsonl_records(path: Path, text: str | None = None) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-blank line of a JSONL file."""
    if text is None:
        text = read_text(path)
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        record = parse_line(line, path, lineno, text)
        if not isinstance(record, dict):
            refuse_document(path, text)
            raise InputError(f"{path}:{lineno}: expected a JSON object, found {type(record).__name__}")
        yield lineno, record


def parse_line(line: str, path: Path, lineno: int, text: str) -> object:
    """One line of the JSONL file whose whole text is ``text``. A line that is
    not JSON in a file that is one JSON document (pretty-printed, say) is
    reported as that, not as malformed JSON."""
    try:
        return parse(line, path, lineno)
    except MalformedJSON:
        refuse_document(path, text)
        raise


def refuse_document(path: Path, text: str) -> None:
    """Raises "a JSON document, not JSONL" when ``text`` is one JSON value that
    is not an object on one line (a pretty-printed object, a list); else returns."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or not readable JSON: not a document
        return
    raise InputError(f"{path}: a JSON document, not JSONL: {describe_document(value, text)}")


def describe_document(value: object, text: str) -> str:
    """What a JSON document holds, in a few words, and what JSONL would be."""
    lines = text.strip().count("\n") + 1
    spread = f" over {lines} lines" if lines > 1 else ""
    if isinstance(value, dict) and looks_like_submission(value):
        entries = plural(len(value), "id: text entry", "id: text entries")
        what = f"one object of {entries}{spread}, like a SCROLLS or ZeroSCROLLS submission"
    elif isinstance(value, dict):
        what = f"one object with {plural(len(value), 'key')}{spread}"
    elif isinstance(value, list):
        what = f"a list of {plural(len(value), 'item')}{spread}"
    else:
        what = f"one {type(value).__name__}"
    return f"{what} (JSONL holds one JSON object per line)"


def plural(count: int, singular: str, several: str | None = None) -> str:
    """``1 item``, ``2 items``."""
    return f"{count} {singular if count == 1 else several or singular + 's'}"


def looks_like_submission(record: dict) -> bool:
    """An object of id: prediction strings (a SCROLLS or ZeroSCROLLS submission),
    not a record with named fields."""
    return bool(record) and all(isinstance(v, str) for v in record.values()) and not set(record) & RECORD_FIELDS


# Field names of the records this package reads; a submission's keys are ids.
RECORD_FIELDS = frozenset(
    {
        "header",
        "id",
        "pid",
        "_id",
        "input",
        "output",
        "context",
        "prediction",
        "pred",
        "instruction",
        "query",
        "meeting",
    }
)


def check_unicode(value: object, where: str, field: str = "") -> None:
    """Refuses strings (values or keys) holding a lone surrogate."""
    if isinstance(value, str):
        if _has_lone_surrogate(value):
            name = f" field '{field}'" if field else ""
            raise InputError(f"{where}:{name} holds a lone surrogate (\\ud800-\\udfff), not valid Unicode")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_unicode(key, where, field)
            check_unicode(item, where, f"{field}.{key}" if field else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_unicode(item, where, f"{field}[{index}]")


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False

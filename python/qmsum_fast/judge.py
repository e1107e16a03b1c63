"""The ``keypoints`` judge protocol: prompts, verdicts and scores (no I/O to servers).

Modelled on HELMET's summarization judge (``scripts/eval_gpt4_summ.py`` of
princeton-nlp/HELMET): a judge model

- extracts the key points of each reference summary once (``{"key_points": [...]}``);
- counts how many key points of a reference the prediction supports
  (``{"recall": N}``), for each reference of the example;
- counts how many of the prediction's sentences the references support, out of
  the sentences it counts (``{"precision": N, "sentence_count": M}``);
- says whether the prediction is fluent (``{"fluency": 0|1}``).

An example's figures, as HELMET computes them: recall = N / key points (the
best reference's, with several), precision = N / M (0 when M is 0), F1 their
harmonic mean (0 when both are 0), score = F1 x fluency. A verdict is the last
JSON object of a reply that holds the expected key; a reply without one, or
with a number out of range (more key points found than exist, more supported
sentences than sentences, a fluency other than 0 or 1) is no verdict: it is
asked again and, if no try gives one, recorded as an error. It is never read
as 0 or 1.

The prompts are the template files in ``judge_prompts/`` (``--prompts DIR``
replaces them); the runner is :mod:`qmsum_fast.judge_run`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError

PROTOCOL = "keypoints"
PROTOCOL_VERSION = 1
EXTRACT, RECALL, PRECISION, FLUENCY = "extract", "recall", "precision", "fluency"
KINDS = (EXTRACT, RECALL, PRECISION, FLUENCY)
MEASURES = ("recall", "precision", "fluency", "score")
# --metric judge:JUDGMENTS.jsonl in report and compare: a judgments file's per-example figures.
JUDGE_PREFIX = "judge:"
# The placeholders each template must hold; {query} is optional in the extraction prompt.
PLACEHOLDERS = {
    EXTRACT: ("reference",),
    RECALL: ("query", "key_points", "summary"),
    PRECISION: ("query", "references", "summary"),
    FLUENCY: ("summary",),
}
_PLACEHOLDER = re.compile(r"\{(query|reference|references|key_points|summary)\}")
PROMPTS_FOLDER = Path(__file__).with_name("judge_prompts")


def digest(text: str) -> str:
    """The hash that names a text in judgment and key-point files."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# --- prompts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompts:
    """The four templates (kind -> text) and where they came from."""

    texts: Mapping[str, str]
    folder: str  # "bundled" or the --prompts folder as given

    @property
    def hashes(self) -> dict[str, str]:
        return {kind: digest(self.texts[kind]) for kind in KINDS}


def load_prompts(folder: Path | None = None) -> Prompts:
    """The templates ``extract.txt``, ``recall.txt``, ``precision.txt`` and
    ``fluency.txt`` of ``folder`` (None: the bundled ones), checked for their placeholders."""
    root = PROMPTS_FOLDER if folder is None else Path(folder)
    if not root.is_dir():
        raise InputError(f"--prompts {root}: not a folder")
    texts = {}
    for kind in KINDS:
        path = root / f"{kind}.txt"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{path}: missing (--prompts needs {', '.join(k + '.txt' for k in KINDS)})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
        found = set(_PLACEHOLDER.findall(text))
        missing = [name for name in PLACEHOLDERS[kind] if name not in found]
        if missing:
            raise InputError(f"{path}: the template lacks {', '.join('{' + m + '}' for m in missing)}")
        texts[kind] = text
    return Prompts(texts, "bundled" if folder is None else str(folder))


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced in one pass (a value holding
    ``{summary}`` stays as it is; braces of JSON examples are left alone)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def numbered(items: Sequence[str]) -> str:
    """Key points as the prompts list them: ``1. ...`` one a line."""
    return "\n".join(f"{number}. {item}" for number, item in enumerate(items, start=1))


def extract_prompt(prompts: Prompts, reference: str) -> str:
    return fill(prompts.texts[EXTRACT], {"reference": reference.strip()})


def recall_prompt(prompts: Prompts, query: str, key_points: Sequence[str], summary: str) -> str:
    values = {"query": query.strip(), "key_points": numbered(key_points), "summary": summary.strip()}
    return fill(prompts.texts[RECALL], values)


def precision_prompt(prompts: Prompts, query: str, references: Sequence[str], summary: str) -> str:
    if len(references) == 1:
        shown = references[0].strip()
    else:
        shown = "\n\n".join(f"Reference {n}: {text.strip()}" for n, text in enumerate(references, start=1))
    return fill(prompts.texts[PRECISION], {"query": query.strip(), "references": shown, "summary": summary.strip()})


def fluency_prompt(prompts: Prompts, summary: str) -> str:
    return fill(prompts.texts[FLUENCY], {"summary": summary.strip()})


# --- verdicts --------------------------------------------------------------------------


def json_objects(reply: str) -> list[dict]:
    """Every JSON object in ``reply`` (nested ones too), in the order they end:
    prose, code fences and text after an object are skipped."""
    decoder = json.JSONDecoder()
    found = []
    for start in (match.start() for match in re.finditer(r"\{", reply)):
        try:
            value, end = decoder.raw_decode(reply, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append((end, value))
    return [value for _, value in sorted(found, key=lambda item: item[0])]


def last_object_with(reply: str, key: str) -> dict | None:
    """The last JSON object in ``reply`` that has ``key``: the one that ends last
    (an object holding another that has the key too is the verdict, not the inner one)."""
    for candidate in reversed(json_objects(reply)):
        if key in candidate:
            return candidate
    return None


def as_count(value: Any) -> int | None:
    """A whole number as a judge may write it: 3, 3.0 or "3" (None otherwise; never a bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+(\.0*)?\s*", value):
        return int(float(value))
    return None


@dataclass(frozen=True)
class Verdict:
    """What one reply says: ``value`` (the kind's figures) or ``problem`` (why it is no verdict)."""

    value: Any = None
    problem: str | None = None
    detail: Any = None  # recall: the key points the judge lists as supported (1-based), when it lists them


def read_verdict(kind: str, reply: str, limit: int | None = None) -> Verdict:
    """The verdict of a reply to a ``kind`` prompt; ``limit``: the reference's
    key points (recall)."""
    if kind == EXTRACT:
        return _key_points_verdict(reply)
    if kind == RECALL:
        assert limit is not None
        return _recall_verdict(reply, limit)
    if kind == PRECISION:
        return _precision_verdict(reply)
    if kind == FLUENCY:
        return _fluency_verdict(reply)
    raise ValueError(f"unknown prompt kind {kind!r}")


def _no_object(key: str) -> Verdict:
    return Verdict(problem=f'no JSON object with "{key}"')


def _key_points_verdict(reply: str) -> Verdict:
    found = last_object_with(reply, "key_points")
    if found is None:
        return _no_object("key_points")
    points = found["key_points"]
    if not isinstance(points, list) or not all(isinstance(point, str) for point in points):
        return Verdict(problem='"key_points" is not a list of strings')
    points = [point.strip() for point in points if point.strip()]
    if not points:
        return Verdict(problem='"key_points" is empty')
    return Verdict(points)


def _recall_verdict(reply: str, limit: int) -> Verdict:
    found = last_object_with(reply, "recall")
    if found is None:
        return _no_object("recall")
    count = as_count(found["recall"])
    if count is None:
        return Verdict(problem=f'"recall" is not a whole number: {found["recall"]!r}')
    if not 0 <= count <= limit:
        return Verdict(problem=f'"recall" {count} is out of range: the reference has {limit} key points')
    return Verdict(count, detail=_supported_points(found.get("supported_key_points"), count, limit))


def _supported_points(listed: Any, count: int, limit: int) -> list[int] | None:
    """Which key points the judge found, shown by ``view``; only a list that agrees
    with the count (distinct numbers 1..limit, as many as ``recall``) is kept. The
    score never depends on it."""
    if not isinstance(listed, list):
        return None
    numbers = [as_count(item) for item in listed]
    if None in numbers or len(set(numbers)) != len(numbers) or len(numbers) != count:
        return None
    if not all(1 <= n <= limit for n in numbers if n is not None):
        return None
    return sorted(n for n in numbers if n is not None)


def _precision_verdict(reply: str) -> Verdict:
    found = last_object_with(reply, "precision")
    if found is None:
        return _no_object("precision")
    if "sentence_count" not in found:
        return Verdict(problem='the object with "precision" has no "sentence_count"')
    supported, sentences = as_count(found["precision"]), as_count(found["sentence_count"])
    if supported is None or sentences is None:
        return Verdict(problem=f'"precision" or "sentence_count" is not a whole number: {found!r}'[:300])
    if sentences < 0 or not 0 <= supported <= sentences:
        return Verdict(problem=f'"precision" {supported} is out of range for "sentence_count" {sentences}')
    return Verdict((supported, sentences))


def _fluency_verdict(reply: str) -> Verdict:
    found = last_object_with(reply, "fluency")
    if found is None:
        return _no_object("fluency")
    value = as_count(found["fluency"])
    if value not in (0, 1):
        return Verdict(problem=f'"fluency" is not 0 or 1: {found["fluency"]!r}')
    return Verdict(value)


# --- scores ----------------------------------------------------------------------------


def recall_fraction(found: int, total: int) -> float:
    return found / total if total > 0 else 0.0


def precision_fraction(supported: int, sentences: int) -> float:
    return supported / sentences if sentences > 0 else 0.0


def f1(recall: float, precision: float) -> float:
    return 2 * recall * precision / (recall + precision) if recall + precision > 0 else 0.0


def example_figures(
    found: Sequence[int], totals: Sequence[int], supported: int, sentences: int, fluency: int
) -> dict[str, float | int]:
    """recall (the best reference's), precision, fluency and score = F1 x fluency."""
    recall = max(recall_fraction(n, total) for n, total in zip(found, totals, strict=True))
    precision = precision_fraction(supported, sentences)
    return {"recall": recall, "precision": precision, "fluency": fluency, "score": fluency * f1(recall, precision)}


# --- judgments files, read back ----------------------------------------------------------

JUDGMENTS_KIND = "qmsum-fast judgments"


def read_judgments(path: Path) -> tuple[dict, list[dict]]:
    """The header and records of a judgments file (a torn last line is left out)."""
    from .data.jsonio import jsonl_records, read_text, without_torn_line

    text = without_torn_line(read_text(Path(path)))
    header: dict | None = None
    records: list[dict] = []
    for number, record in jsonl_records(Path(path), text):
        if header is None:
            if record.get("header") is not True or record.get("kind") != JUDGMENTS_KIND:
                raise InputError(
                    f"{path}: not a judgments file of qmsum-fast judge (its first line is no judgments header)"
                )
            header = record
            continue
        if record.get("header") is True:
            raise InputError(f"{path}:{number}: a second header (only the first line may be one)")
        if not isinstance(record.get("id"), str) or not isinstance(record.get("run"), str):
            raise InputError(f"{path}:{number}: a judgment needs 'id' and 'run' strings")
        records.append(record)
    if header is None:
        raise InputError(f"{path}: empty: not a judgments file of qmsum-fast judge")
    return header, records


def judged_run(header: Mapping[str, Any], fingerprint: Mapping[str, Any]) -> str | None:
    """The label under which a judgments file holds the run with ``fingerprint``."""
    for run in header.get("config", {}).get("runs", []):
        if run.get("fingerprint") == dict(fingerprint):
            return str(run.get("label"))
    return None


def judge_example_scores(judgments: Path, run: Path) -> dict[str, dict[str, float | None]]:
    """Per example of ``run`` judged in ``judgments``: {id: {measure: value or
    None}} for recall, precision, fluency and score (None: not judged). Empty
    when the file holds no judgment of this run (as it is now)."""
    from .fingerprints import file_fingerprint

    header, records = read_judgments(judgments)
    label = judged_run(header, file_fingerprint(Path(run)))
    if label is None:
        return {}
    scores: dict[str, dict[str, float | None]] = {}
    for record in records:
        if record["run"] == label:
            judged = record.get("score") is not None
            scores[record["id"]] = {m: record.get(m) if judged else None for m in MEASURES}
    return scores

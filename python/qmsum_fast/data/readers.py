"""Readers behind :func:`qmsum_fast.data.load_examples`, one per source format.

What a path holds picks the reader:

- a folder with ``ALL/``: an upstream QMSum data root (domains from the
  ``Academic/``, ``Product/``, ``Committee/`` folders);
- a folder with ``train/``, ``val/``, ``test/`` folders, or one of those folders
  itself, or a single meeting ``.json``: upstream per-meeting files;
- ``.jsonl`` (optionally ``.gz``): upstream meetings (one per line, as upstream
  and the bundle write them), SCROLLS, ZeroSCROLLS or LongBench rows, told
  apart by their fields; a folder of such files reads them all (the bundle is one);
- a ``.json`` holding a list: the original experiments' alpaca format.

Every error is an :class:`InputError` naming the file, the line (or entry)
and the field.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from ..errors import InputError
from .jsonio import jsonl_records, load_json, looks_like_submission
from .model import (
    DOMAINS,
    SPLITS,
    Example,
    Turn,
    domain_of_meeting,
    example_id,
    parse_example_id,
    parse_turns,
    render_turns,
)

DOMAIN_FOLDERS = {"academic": "academic", "product": "product", "committee": "committee"}


def bundled_root() -> Path:
    """The QMSum dataset bundled with the package (one gzip JSONL per split)."""
    return Path(__file__).resolve().parent.parent / "_data" / "qmsum"


def read_path(path: Path, split: str, domain: str | None) -> list[Example]:
    """All examples ``path`` holds; ``split``/``domain`` only let readers skip work."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_dir():
        return _read_folder(path, split, domain)
    return _read_file(path, split_of_name(path.name) or split_of_name(path.parent.name), domain)


# --- folders -------------------------------------------------------------------


def _read_folder(folder: Path, split: str, domain: str | None) -> list[Example]:
    wanted = SPLITS if split == "all" else (split,)
    if (folder / "ALL").is_dir():
        return _read_split_folders(folder / "ALL", wanted, _domains_under(folder), domain)
    if any((folder / name).is_dir() for name in SPLITS):
        return _read_split_folders(folder, wanted, _folder_domains(folder), domain)
    json_files = sorted(folder.glob("*.json"))
    if json_files:
        found = _read_json_files(json_files, _split_lookup(folder), _folder_domains(folder.parent), domain)
        return each_meeting_once(found)
    jsonl_files = sorted(p for p in folder.iterdir() if _is_jsonl(p.name))
    if jsonl_files:
        # A file named after a split holds only that split (the bundle): skip the others.
        chosen = [p for p in jsonl_files if split == "all" or split_of_name(p.name) in (None, split)]
        return each_meeting_once((str(p), _read_jsonl(p, split_of_name(p.name), domain)) for p in chosen)
    raise InputError(
        f"{folder}: no QMSum files here (expected an upstream data root with ALL/, "
        "train/val/test folders, meeting .json files or .jsonl files)"
    )


def _read_split_folders(
    folder: Path, splits: tuple[str, ...], domains: DomainLookup, domain: str | None
) -> list[Example]:
    parts: list[tuple[str, list[Example]]] = []
    for split in splits:
        files = sorted((folder / split).glob("*.json"))
        parts.extend(_read_json_files(files, _same_split(split), domains, domain))
    examples = each_meeting_once(parts)
    if not examples and not any((folder / s).is_dir() for s in splits):
        raise InputError(f"{folder}: no folder for split {' or '.join(splits)}")
    return examples


def _same_split(split: str) -> Callable[[str], str]:
    """Meeting name -> split for a folder holding one split."""
    return lambda meeting: split


def _split_lookup(folder: Path):
    """Meeting name -> split for a folder of meeting files: the folder's own name
    when it names a split, else the split folder beside it holding the meeting
    (upstream ``Academic/all/`` sits next to ``Academic/train/``), else test."""
    named = split_of_name(folder.name)
    if named:
        return lambda meeting: named

    def lookup(meeting: str) -> str:
        return next((s for s in SPLITS if (folder.parent / s / f"{meeting}.json").is_file()), "test")

    return lookup


def each_meeting_once(parts: Iterable[tuple[str, list[Example]]]) -> list[Example]:
    """The examples of several sources (files, or lines of an upstream JSONL),
    named by ``where``; a meeting that two sources hold is refused, naming both
    (it would count twice, and a run over it would answer its queries twice)."""
    held: dict[str, str] = {}
    examples: list[Example] = []
    for where, found in parts:
        for meeting in dict.fromkeys(example.meeting for example in found):
            if meeting in held:
                raise InputError(f"{where}: meeting {meeting!r} is also in {held[meeting]}: give each meeting once")
            held[meeting] = where
        examples.extend(found)
    return examples


def _read_json_files(
    files: list[Path], split_of: Callable[[str], str], domains: DomainLookup, domain: str | None
) -> list[tuple[str, list[Example]]]:
    """Upstream meeting files (their names give meeting, split and domain), or
    alpaca lists, with the file each came from; meetings of another domain than
    ``domain`` are not read."""
    parts = []
    for path in files:
        meeting = path.stem
        if domain is not None and domains.known(meeting) not in (None, domain):
            continue
        data = load_json(path)
        _refuse_submission(path, data)
        if isinstance(data, dict):
            parts.append((str(path), meeting_examples(data, str(path), meeting, split_of(meeting), domains(meeting))))
        elif isinstance(data, list):
            parts.append((str(path), alpaca_examples(data, path, split_of_name(path.name))))
        else:
            raise InputError(
                f"{path}: expected a QMSum meeting (object) or an alpaca list, found {type(data).__name__}"
            )
    return parts


def _refuse_submission(path: Path, data: object) -> None:
    """Predictions given as data would be reported as a meeting without turns."""
    if isinstance(data, dict) and looks_like_submission(data):
        raise InputError(f"{path}: a SCROLLS or ZeroSCROLLS submission ({{id: prediction}}), not QMSum data")


class DomainLookup:
    """Meeting name -> domain: a fixed domain, a map from domain folders, or the
    meeting-name rule for meetings neither covers."""

    def __init__(self, fixed: str | None = None, by_meeting: dict[str, str] | None = None):
        self.fixed = fixed
        self.by_meeting = by_meeting or {}

    def __call__(self, meeting: str) -> str:
        return self.known(meeting) or domain_of_meeting(meeting)

    def known(self, meeting: str) -> str | None:
        """The domain the folders give, None when they say nothing of it."""
        return self.fixed or self.by_meeting.get(meeting)


def _folder_domains(folder: Path) -> DomainLookup:
    """Domains for meetings in ``folder``: its own name when it is a domain
    folder, else the domain folders beside it (``ALL/`` next to ``Academic/``)."""
    fixed = DOMAIN_FOLDERS.get(folder.name.lower())
    if fixed:
        return DomainLookup(fixed=fixed)
    return _domains_under(folder.parent)


def _domains_under(root: Path) -> DomainLookup:
    by_meeting = {}
    if root.is_dir():
        for sub in root.iterdir():
            domain = DOMAIN_FOLDERS.get(sub.name.lower())
            if domain and sub.is_dir():
                for path in sub.glob("*/*.json"):
                    by_meeting[path.stem] = domain
    return DomainLookup(by_meeting=by_meeting)


# --- single files ----------------------------------------------------------------


def _read_file(path: Path, name_split: str | None, domain: str | None) -> list[Example]:
    if _is_jsonl(path.name):
        return _read_jsonl(path, name_split, domain)
    if path.name.endswith((".json", ".json.gz")):
        return _read_json_file(path, name_split)
    raise InputError(f"{path}: not a QMSum file (expected .json, .jsonl or .jsonl.gz)")


def _read_json_file(path: Path, name_split: str | None) -> list[Example]:
    data = load_json(path)
    _refuse_submission(path, data)
    if isinstance(data, dict):
        meeting = path.name.split(".")[0]
        domains = _folder_domains(path.parent.parent)
        split = split_of_name(path.parent.name) or name_split or "test"  # a meeting file's folder names its split
        return meeting_examples(data, str(path), meeting, split, domains(meeting))
    if isinstance(data, list):
        return alpaca_examples(data, path, name_split)
    raise InputError(f"{path}: expected a QMSum meeting (object) or an alpaca list, found {type(data).__name__}")


def _read_jsonl(path: Path, name_split: str | None, domain: str | None = None) -> list[Example]:
    rows = list(jsonl_records(path))
    if not rows:
        raise InputError(f"{path}: empty file, no QMSum records")
    lineno, first = rows[0]
    kind = _jsonl_kind(first)
    if kind is None:
        raise InputError(
            f"{path}:{lineno}: unknown record with fields {sorted(first)} (expected an upstream QMSum meeting "
            "with meeting_transcripts, SCROLLS id/pid/input/output, ZeroSCROLLS input with "
            "document_start_index/query_start_index, LongBench _id/input/context/answers, "
            "or alpaca instruction/input/output)"
        )
    if kind == "upstream":
        # Lines that name another domain are skipped before their turns are built.
        wanted = [(n, rec) for n, rec in rows if domain is None or rec.get("domain") in (None, domain)]
        return each_meeting_once((f"{path}:{n}", _upstream_line(rec, f"{path}:{n}", name_split)) for n, rec in wanted)
    flat_rows = [_FLAT_READERS[kind](rec, f"{path}:{n}") for n, rec in rows]
    return flat_examples(flat_rows, name_split)


_UPSTREAM_KEYS = {"meeting_transcripts", "general_query_list", "specific_query_list", "topic_list"}


def _jsonl_kind(record: dict) -> str | None:
    keys = set(record)
    if keys & _UPSTREAM_KEYS:
        return "upstream"
    if keys & {*ZEROSCROLLS_INDICES, "truncation_seperator"}:
        return "zeroscrolls"  # before SCROLLS: these rows have id, pid, input and output too
    if keys & {"context", "answers", "_id"}:
        return "longbench"
    if "instruction" in keys:
        return "alpaca"
    if keys & {"pid", "id", "output"}:
        return "scrolls"
    return None


def _upstream_line(record: dict, where: str, name_split: str | None) -> list[Example]:
    turns = _turns(record, where)
    meeting = _optional_str(record, "meeting", where) or meeting_name_for(render_turns(turns))
    split = _optional_str(record, "split", where) or name_split or "test"
    if split not in SPLITS:
        raise InputError(f"{where}: field 'split' is {split!r}, expected one of {', '.join(SPLITS)}")
    domain = _optional_str(record, "domain", where) or infer_domain(meeting, turns)
    if domain not in DOMAINS:
        raise InputError(f"{where}: field 'domain' is {domain!r}, expected one of {', '.join(DOMAINS)}")
    return meeting_examples(record, where, meeting, split, domain, turns)


# --- upstream meetings -----------------------------------------------------------------


def meeting_examples(
    record: dict, where: str, meeting: str, split: str, domain: str, turns: tuple[Turn, ...] | None = None
) -> list[Example]:
    """The examples of one upstream meeting record: general queries, then specific ones."""
    if turns is None:
        turns = _turns(record, where)
    examples = []
    for kind in ("general", "specific"):
        field = f"{kind}_query_list"
        queries = _required(record, field, where)
        if not isinstance(queries, list):
            raise InputError(f"{where}: field '{field}' must be a list")
        for index, item in enumerate(queries):
            at = f"{where}: {field}[{index}]"
            if not isinstance(item, dict):
                raise InputError(f"{at}: expected an object with query and answer")
            query = _string(item, "query", at)
            references = _references(item, at)
            spans = _spans(item, at, len(turns)) if kind == "specific" else ()
            ex_id = example_id(split, meeting, kind, index)
            example = Example(ex_id, meeting, domain, split, kind, query, references, turns, spans)
            if "source_id" in item or "source_pids" in item:
                source_id, pids = _source_ids(item, at)
                example = replace(example, source_id=source_id, source_pids=pids)
            examples.append(example)
    return examples


def _turns(record: dict, where: str) -> tuple[Turn, ...]:
    if "meeting_transcripts" not in record and "speakers" in record:
        speakers, contents = _turn_columns(record, where)
    else:
        raw = _required(record, "meeting_transcripts", where)
        if not isinstance(raw, list):
            raise InputError(f"{where}: field 'meeting_transcripts' must be a list of turns")
        try:
            speakers = [t["speaker"] for t in raw]
            contents = [t["content"] for t in raw]
            # str.join checks every item is a string, at C speed (this is the hot path).
            "".join(speakers)
            "".join(contents)
        except (KeyError, TypeError):
            _explain_bad_turn(raw, where)
    turns = tuple(map(Turn, speakers, contents))
    if not any(t.content.strip() for t in turns):
        raise InputError(f"{where}: empty transcript (meeting_transcripts has no words)")
    return turns


def _turn_columns(record: dict, where: str) -> tuple[list, list]:
    """The bundle's form of the turns: ``speakers`` and ``contents`` lists."""
    speakers = _string_column(record["speakers"], "speakers", where)
    contents = _string_column(_required(record, "contents", where), "contents", where)
    if len(speakers) != len(contents):
        raise InputError(
            f"{where}: fields 'speakers' and 'contents' differ in length ({len(speakers)} and {len(contents)})"
        )
    return speakers, contents


def _string_column(column: object, name: str, where: str) -> list:
    try:
        if not isinstance(column, list):
            raise TypeError
        "".join(column)  # checks every item is a string, at C speed
    except TypeError:
        raise InputError(f"{where}: field '{name}' must be a list of strings") from None
    return column


def _explain_bad_turn(raw: list, where: str) -> None:
    for index, turn in enumerate(raw):
        at = f"{where}: meeting_transcripts[{index}]"
        if not isinstance(turn, dict):
            raise InputError(f"{at}: expected an object with speaker and content")
        _string(turn, "speaker", at)
        _string(turn, "content", at)
    raise AssertionError("unreachable: a bad turn was detected but not found")


def _references(item: dict, at: str) -> tuple[str, ...]:
    # "answers" (a list) is this package's extension for several references,
    # or none (an example converted from a gold-less SCROLLS test row).
    if "answers" in item:
        return tuple(_string_list(item, "answers", at))
    return (_string(item, "answer", at),)


def _source_ids(item: dict, at: str) -> tuple[str | None, tuple[str, ...]]:
    """A peer's id and pids of a query, which ``convert --to jsonl`` keeps (this package's extension)."""
    source_id = _optional_str(item, "source_id", at)
    pids = tuple(_string_list(item, "source_pids", at)) if "source_pids" in item else ()
    return source_id, pids


def _spans(item: dict, at: str, n_turns: int) -> tuple[tuple[int, int], ...]:
    raw = _required(item, "relevant_text_span", at)
    where = f"{at}.relevant_text_span"
    if not isinstance(raw, list):
        raise InputError(f"{where}: expected a list of [start, end] pairs")
    spans = []
    for pair in raw:
        try:
            start, end = (int(x) for x in pair)
        except (TypeError, ValueError):
            raise InputError(f"{where}: span {json.dumps(pair)} is not a pair of turn indices") from None
        if start > end:
            raise InputError(f"{where}: span {json.dumps(pair)} ends before it starts")
        if not 0 <= start <= end < n_turns:
            raise InputError(f"{where}: span {json.dumps(pair)} is outside the transcript (turns 0 to {n_turns - 1})")
        spans.append((start, end))
    return tuple(spans)


# --- one-string formats: SCROLLS, LongBench, alpaca -----------------------------------


@dataclass
class FlatRow:
    """One row of a format that carries the transcript as one string."""

    where: str  # "file:line" or "file: entry N", for errors
    key: str | None  # the row's id, when the format has one
    query: str
    transcript: str
    references: list[str]  # empty for a row without gold (a public test split's)
    pids: list[str] = field(default_factory=list)  # SCROLLS and ZeroSCROLLS pid of each row


def _scrolls_row(record: dict, where: str) -> FlatRow:
    text = _string(record, "input", where)
    query, sep, transcript = text.partition("\n\n")
    if not sep:
        raise InputError(f"{where}: field 'input' has no blank line between the query and the transcript")
    return FlatRow(where, _string(record, "id", where), query, transcript, _gold(record, where), _pid(record, where))


# ZeroSCROLLS rows hold the whole prompt in 'input'; these give the transcript and the query in it.
ZEROSCROLLS_INDICES = ("document_start_index", "document_end_index", "query_start_index", "query_end_index")


def _zeroscrolls_row(record: dict, where: str) -> FlatRow:
    text = _string(record, "input", where)
    doc_start, doc_end, query_start, query_end = (_index(record, name, where) for name in ZEROSCROLLS_INDICES)
    _check_span(where, "document", doc_start, doc_end, len(text))
    _check_span(where, "query", query_start, query_end, len(text))
    if doc_start < query_end and query_start < doc_end:
        raise InputError(
            f"{where}: inconsistent ZeroSCROLLS indices: the document ({doc_start}:{doc_end}) "
            f"and the query ({query_start}:{query_end}) overlap"
        )
    query, transcript = text[query_start:query_end], text[doc_start:doc_end]
    return FlatRow(where, _string(record, "id", where), query, transcript, _gold(record, where), _pid(record, where))


def _index(record: dict, name: str, where: str) -> int:
    value = _required(record, name, where)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InputError(f"{where}: field '{name}' must be an integer, found {type(value).__name__}")
    return value


def _check_span(where: str, part: str, start: int, end: int, length: int) -> None:
    """``input[start:end]`` must be a non-empty part of ``input``."""
    names = f"{part}_start_index {start}, {part}_end_index {end}"
    if not 0 <= start < end <= length:
        raise InputError(
            f"{where}: inconsistent ZeroSCROLLS indices: {names} do not mark a non-empty part of "
            f"'input' ({length} characters)"
        )


def _gold(record: dict, where: str) -> list[str]:
    """The SCROLLS ``output``: one reference, or none where it is null (the
    public SCROLLS and ZeroSCROLLS test splits hide their gold)."""
    output = _required(record, "output", where)
    if output is None:
        return []
    if not isinstance(output, str):
        raise InputError(f"{where}: field 'output' must be a string or null, found {type(output).__name__}")
    return [output]


def _pid(record: dict, where: str) -> list[str]:
    pid = _optional_str(record, "pid", where)
    return [] if pid is None else [pid]


def _longbench_row(record: dict, where: str) -> FlatRow:
    answers = _string_list(record, "answers", where)
    key = _optional_str(record, "_id", where)
    return FlatRow(where, key, _string(record, "input", where), _string(record, "context", where), answers)


def _alpaca_row(record: dict, where: str) -> FlatRow:
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected an object with instruction, input and output")
    query = _string(record, "instruction", where)
    return FlatRow(where, None, query, _string(record, "input", where), [_string(record, "output", where)])


_FLAT_READERS = {
    "scrolls": _scrolls_row,
    "zeroscrolls": _zeroscrolls_row,
    "longbench": _longbench_row,
    "alpaca": _alpaca_row,
}


def alpaca_examples(entries: list, path: Path, name_split: str | None) -> list[Example]:
    if not entries:
        raise InputError(f"{path}: empty list, no alpaca entries")
    return flat_examples([_alpaca_row(e, f"{path}: entry {i}") for i, e in enumerate(entries)], name_split)


def flat_examples(rows: list[FlatRow], name_split: str | None) -> list[Example]:
    """Examples from one-string rows: rows sharing an id become one example with
    all their references; rows sharing a transcript share one turns tuple.

    Ids written by this package (``test/Bed003/s2``) give back split, meeting,
    query type and index. Other rows get a meeting name from a hash of the
    transcript, the query type from the query's wording (see
    :func:`query_type_of`) and the split from the file name (else test); their
    own id is kept as ``source_id`` (and SCROLLS pids as ``source_pids``).
    """
    merged: dict[object, FlatRow] = {}
    for row in rows:
        if not row.transcript.strip():
            raise InputError(f"{row.where}: empty transcript")
        key = row.key if row.key is not None else object()  # rows without ids never merge
        first = merged.get(key)
        if first is None:
            merged[key] = FlatRow(row.where, row.key, row.query, row.transcript, list(row.references), list(row.pids))
        elif (first.query, first.transcript) != (row.query, row.transcript):
            raise InputError(
                f"{row.where}: id {row.key!r} is also used at {first.where} for another query or transcript"
            )
        else:
            first.references.extend(row.references)
            first.pids.extend(row.pids)
    meetings: dict[str, tuple[str, tuple[Turn, ...]]] = {}
    counters: dict[tuple[str, str, str], int] = {}
    examples = []
    for row in merged.values():
        if row.transcript not in meetings:
            meetings[row.transcript] = (meeting_name_for(row.transcript), parse_turns(row.transcript))
        hashed_name, turns = meetings[row.transcript]
        parsed = parse_example_id(row.key) if row.key else None
        if parsed:
            split, meeting, kind, index = parsed
        else:
            split, meeting, kind = name_split or "test", hashed_name, query_type_of(row.query)
            index = counters.get((split, meeting, kind), 0)
            counters[(split, meeting, kind)] = index + 1
        ex_id = example_id(split, meeting, kind, index)
        domain = infer_domain(meeting, turns)
        # A peer's id (and pids), kept for its leaderboard; the package's own ids are the example id.
        source_id, pids = (None, ()) if parsed else (row.key, tuple(row.pids))
        example = Example(ex_id, meeting, domain, split, kind, row.query, tuple(row.references), turns)
        examples.append(replace(example, raw_transcript=row.transcript, source_id=source_id, source_pids=pids))
    return examples


# --- inference for sources without names ------------------------------------------------


HASHED_MEETING_PREFIX = "mtg-"


def meeting_name_for(transcript: str) -> str:
    """A stable name for a meeting known only by its transcript text."""
    digest = hashlib.blake2b(transcript.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return HASHED_MEETING_PREFIX + digest


_AMI_ROLES = {"project manager", "marketing", "industrial designer", "user interface"}
_ICSI_SPEAKER = re.compile(r"(professor|phd|grad|postdoc|undergrad) [a-z]")


def infer_domain(meeting: str, turns: tuple[Turn, ...]) -> str:
    """The meeting-name rule for real QMSum names; for hashed names, the speakers:
    AMI meetings have the four design-team roles, ICSI speakers are named like
    ``PhD C`` or ``Professor B``, committees have real names."""
    if not meeting.startswith(HASHED_MEETING_PREFIX):
        return domain_of_meeting(meeting)
    speakers = {t.speaker.lower() for t in turns if t.speaker}
    if speakers and speakers <= _AMI_ROLES:
        return "product"
    if speakers and all(_ICSI_SPEAKER.fullmatch(s) for s in speakers):
        return "academic"
    return "committee"


# Whole-meeting queries as QMSum words them (normalised: lowercase, letters and
# digits only). Formats without a query type use this to tell general from specific.
GENERAL_QUERY_FORMS = frozenset(
    {
        "summarize the meeting",
        "summarize the whole meeting",
        "what s the decision of the whole meeting",
        "what s the summary of the meeting",
        "what was discussed in the meeting",
        "what was said in the meeting",
        "what was the focus of the meeting",
        "what was the general discussion",
        "what was the general discussion of the meeting",
        "what was the meeting about",
        "what was the overall discussion of the meeting",
        "what were the final decisions made by the team",
        "what were the main discussion points of the meeting",
        "what were the main topics",
        "what were the resolutions in the meeting",
        "what were the topics talked about in the meeting",
    }
)


def query_type_of(query: str) -> str:
    """``general`` for whole-meeting queries, else ``specific`` (a heuristic)."""
    normalised = re.sub(r"[^a-z0-9]+", " ", query.lower()).strip()
    return "general" if normalised in GENERAL_QUERY_FORMS else "specific"


def split_of_name(name: str) -> str | None:
    """The split a file or folder name names (``val.jsonl``, ``alpaca_format_test.json``)."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    found = [split for split, aliases in _SPLIT_WORDS.items() if words & aliases]
    return found[0] if len(found) == 1 else None


_SPLIT_WORDS = {"train": {"train"}, "val": {"val", "validation", "dev", "valid"}, "test": {"test"}}


# --- JSON with file:line errors ---------------------------------------------------------


def _is_jsonl(name: str) -> bool:
    return name.endswith((".jsonl", ".jsonl.gz"))


def _required(record: dict, name: str, where: str) -> object:
    try:
        return record[name]
    except KeyError:
        raise InputError(f"{where}: missing field '{name}'") from None


def _string(record: dict, name: str, where: str) -> str:
    value = _required(record, name, where)
    if not isinstance(value, str):
        raise InputError(f"{where}: field '{name}' must be a string, found {type(value).__name__}")
    return value


def _string_list(record: dict, name: str, where: str) -> list[str]:
    value = _required(record, name, where)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputError(f"{where}: field '{name}' must be a list of strings")
    return value


def _optional_str(record: dict, name: str, where: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise InputError(f"{where}: field '{name}' must be a string, found {type(value).__name__}")
    return value


# --- the entry point ---------------------------------------------------------------------


def check_filters(split: str, domain: str | None) -> tuple[str, str | None]:
    """Normalised ``(split, domain)`` filters; InputError for unknown values."""
    split_name = SPLIT_ALIASES.get(str(split).lower())
    if split_name is None:
        raise InputError(f"--split: unknown split {split!r} (choose from all, train, val, test)")
    if domain is None or str(domain).lower() == "all":
        return split_name, None
    domain_name = str(domain).lower()
    if domain_name not in DOMAINS:
        raise InputError(f"--domain: unknown domain {domain!r} (choose from all, academic, product, committee)")
    return split_name, domain_name


SPLIT_ALIASES = {
    "all": "all",
    "train": "train",
    "val": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
}


def load_examples(path: str | Path | None = None, split: str = "all", domain: str | None = None) -> list[Example]:
    """Load QMSum examples from ``path`` (None: the bundled dataset).

    ``split`` is ``"all"`` or one of :data:`SPLITS`; ``domain`` is None (all) or
    one of :data:`DOMAINS`. What ``path`` holds picks the reader: an upstream data
    root, split folder, meeting file or JSONL, a SCROLLS or LongBench JSONL, or an
    alpaca JSON list. Bad input raises :class:`InputError` naming the file, line
    and field.
    """
    split, domain = check_filters(split, domain)
    source = bundled_root() if path is None else Path(path)
    # Loading makes ~130k long-lived objects and no cycles; pausing the cyclic
    # collector meanwhile saves it from rescanning them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        examples = read_path(source, split, domain)
    finally:
        if collecting:
            gc.enable()
    examples = [
        ex for ex in examples if (split == "all" or ex.split == split) and (domain is None or ex.domain == domain)
    ]
    if not examples:
        raise InputError(f"{source}: no examples for split={split} domain={domain or 'all'}")
    return examples

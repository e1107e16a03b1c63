"""``qmsum-fast judge``: runs judged by a model behind an OpenAI-compatible server.

The protocol (prompts, verdicts, scores) is :mod:`qmsum_fast.judge`; this
module sends it with the served engine's client and dispatcher (replicas,
retries, backoff, concurrency) and keeps the run discipline of ``generate``:

- the judgments file (JSONL) starts with a header holding the judge's whole
  configuration; each example's record is appended, flushed and fsynced as
  soon as its last verdict arrives (key: the judged run's label and the
  example id); ``--resume`` continues it when the configuration is the same
  (else it names what differs), redoing the examples recorded with errors;
  ``--overwrite`` writes ``.OUT.qmsum-fast-partial`` and replaces OUT only when complete;
  at the end the file is rewritten in run and data order;
- key points are extracted first, once per reference, and appended to the
  key-point file (see :class:`KeyPointFile`), which later judgments reuse.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data.jsonio import plural
from .data.runs import Prediction, load_predictions
from .errors import InputError, Interrupted
from .files import atomic_open, check_output, make_folder, write_error
from .gen.output import Plan, RunWriter, cut_torn_tail, lock_run, partial_path
from .gen.served.client import RequestFailed, Retryable
from .judge import (
    EXTRACT,
    FLUENCY,
    JUDGMENTS_KIND,
    PRECISION,
    PROTOCOL,
    PROTOCOL_VERSION,
    RECALL,
    Prompts,
    digest,
    example_figures,
    extract_prompt,
    fluency_prompt,
    precision_prompt,
    read_judgments,
    read_verdict,
    recall_prompt,
)

KEY_POINTS_KIND = "qmsum-fast key points"
DEFAULT_KEY_POINTS_NAME = "key-points.jsonl"
CHARS_PER_TOKEN = 4  # the rough rule of thumb for English text, used only without --tokenizer


@dataclass(frozen=True)
class Settings:
    """What the command was asked; ``runtime`` is a gen Runtime (servers, concurrency, retries)."""

    runs: tuple[Path, ...]
    model: str
    api: str
    runtime: Any
    max_judge_retries: int
    max_new_tokens: int
    temperature: float
    seed: int
    prompts: Prompts
    key_points: Path
    out: Path
    resume: bool
    overwrite: bool
    progress: bool | None


# --- judged runs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    run: str  # the judged run's label (its path as given)
    id: str
    query: str
    references: tuple[str, ...]
    prediction: str


def load_runs(paths: Sequence[Path]) -> tuple[list[dict], list[Example]]:
    """Each run's label and fingerprint, and its examples, checked for what a judgment needs."""
    from .fingerprints import file_fingerprint

    labels = [str(path) for path in paths]
    for label in labels:
        if labels.count(label) > 1:
            raise InputError(f"{label}: given twice")
    runs, examples = [], []
    for path in paths:
        run = load_predictions(Path(path))
        for prediction in run.predictions:
            examples.append(_example(path, prediction))
        runs.append({"label": str(path), "fingerprint": file_fingerprint(Path(path))})
    return runs, examples


def _example(path: Path, prediction: Prediction) -> Example:
    fields = prediction.fields
    where = f"{path}:{fields.get('line')}"
    if not isinstance(fields.get("id"), str):
        raise InputError(f"{where}: no 'id' string: judge needs runs whose records have ids (as generate writes)")
    query = fields.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InputError(f"{where}: no 'query': the judge weighs a summary against its query (generate records it)")
    references = tuple(r for r in prediction.references if r.strip())
    if not references:
        raise InputError(f"{where}: example {fields['id']} has no reference to judge against")
    return Example(str(path), fields["id"], query, references, prediction.prediction)


# --- the key-point file ----------------------------------------------------------------


class KeyPointFile:
    """Key points by reference, in a JSONL file.

    qmsum-fast's own file starts with a header line; each further line holds
    ``reference_hash``, ``prompt_hash`` (of the extraction template),
    ``key_points``, the reference text and the judge model. It is looked up by
    reference hash and prompt hash, and new extractions are appended to it. A
    user's file (no header) holds lines with ``reference`` (or
    ``reference_hash``) and ``key_points``; they serve every extraction
    prompt, and the file is only read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ours = True
        self.extracted: dict[tuple[str, str], list[str]] = {}
        self.supplied: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        if path.exists():
            self._read()

    def _read(self) -> None:
        from .data.jsonio import jsonl_records, read_text, without_torn_line

        text = without_torn_line(read_text(self.path))
        first = True
        for number, record in jsonl_records(self.path, text):
            if first and record.get("header") is True:
                if record.get("kind") != KEY_POINTS_KIND:
                    raise InputError(f"{self.path}:{number}: a header, but not of a key-point file")
                first = False
                continue
            if first:
                self.ours = False
            first = False
            self._entry(number, record)

    def _entry(self, number: int, record: dict) -> None:
        where = f"{self.path}:{number}"
        points = record.get("key_points")
        if not isinstance(points, list) or not points or not all(isinstance(p, str) and p.strip() for p in points):
            raise InputError(f"{where}: 'key_points' must be a non-empty list of non-empty strings")
        reference = record.get("reference")
        key = record.get("reference_hash") or (digest(reference.strip()) if isinstance(reference, str) else None)
        if not isinstance(key, str):
            raise InputError(f"{where}: needs 'reference' (the reference text) or 'reference_hash'")
        prompt_hash = record.get("prompt_hash")
        if self.ours and isinstance(prompt_hash, str):
            self.extracted[(key, prompt_hash)] = list(points)
        else:
            self.supplied[key] = list(points)

    def lookup(self, reference: str, prompt_hash: str) -> list[str] | None:
        key = digest(reference.strip())
        return self.supplied.get(key) or self.extracted.get((key, prompt_hash))

    def refuse_additions(self, missing: int, example: Example) -> None:
        if not self.ours:
            raise InputError(
                f"--key-points {self.path}: a file of yours (no qmsum-fast header) lacks the key points of "
                f"{missing} references (first: example {example.id} of {example.run}); add them (lines with "
                "'reference' and 'key_points') or name another file, which the judge will fill"
            )

    def add(self, reference: str, prompt_hash: str, points: list[str], model: str) -> None:
        """Appends one extraction, durably (the file is created with its header)."""
        line = {
            "reference_hash": digest(reference.strip()),
            "prompt_hash": prompt_hash,
            "key_points": points,
            "reference": reference.strip(),
            "model": model,
        }
        with self._lock:
            make_folder(self.path.parent)
            try:
                with open(self.path, "a", encoding="utf-8") as handle:
                    # Judges with other -o files may share this file: one appender at a time.
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    fresh = os.fstat(handle.fileno()).st_size == 0
                    if not fresh:
                        cut_torn_tail(self.path)
                    if fresh:
                        handle.write(json.dumps({"header": True, "kind": KEY_POINTS_KIND, "version": 1}) + "\n")
                    handle.write(json.dumps(line, ensure_ascii=False) + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            except OSError as exc:
                raise write_error(self.path, exc) from None
            self.extracted[(digest(reference.strip()), prompt_hash)] = points


# --- the judgments file -------------------------------------------------------------


def judge_config(settings: Settings, reported: dict | None, runs: list[dict]) -> dict:
    """Everything that decides the judgments (the header's ``config``)."""
    return {
        "protocol": PROTOCOL,
        "protocol_version": PROTOCOL_VERSION,
        "judge": {"model": settings.model, "api": settings.api, "reported": reported},
        "request": request_fields(settings),
        "prompts": {"folder": settings.prompts.folder, "hashes": settings.prompts.hashes},
        "max_judge_retries": settings.max_judge_retries,
        "runs": runs,
    }


def request_fields(settings: Settings) -> dict:
    fields: dict[str, Any] = {"max_tokens": settings.max_new_tokens, "temperature": settings.temperature}
    if settings.temperature > 0:
        fields["seed"] = settings.seed
    return fields


def differences(recorded: dict, config: dict) -> list[str]:
    from .gen.config import differing

    as_json = json.loads(json.dumps(config))
    return [f"{name} was {old!r}, now {new!r}" for name, old, new in differing(recorded, as_json, depth=3)]


@dataclass
class Target:
    """Where judgments are appended, and what is already judged there."""

    out: Path
    path: Path  # out, or .OUT.qmsum-fast-partial with --overwrite
    done: set[tuple[str, str]] = field(default_factory=set)  # (run, id) judged without errors
    append: bool = False


def plan_judgments(out: Path, config: dict, resume: bool, overwrite: bool) -> Target:
    """As generate's plan_output: refuse (touching nothing) what may not be written."""
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other")
    check_output(out, overwrite=True)
    if overwrite:
        partial = partial_path(out)
        try:
            found = _judged(partial, config)
        except InputError:
            found = None  # a partial file of something else: started afresh
        return Target(out, partial, found or set(), append=found is not None)
    if not (out.exists() and out.stat().st_size > 0):
        return Target(out, out)
    if not resume:
        raise InputError(f"{out} already exists: pass --resume to continue it or --overwrite to replace it")
    header, records = read_judgments(out)
    found_differences = differences(header.get("config", {}), config)
    if found_differences:
        raise InputError(f"{out}: cannot resume: {'; '.join(found_differences)} (use another -o or --overwrite)")
    return Target(out, out, _without_errors(records), append=True)


def _judged(path: Path, config: dict) -> set[tuple[str, str]] | None:
    if not path.exists() or path.stat().st_size == 0:
        return None
    header, records = read_judgments(path)
    if differences(header.get("config", {}), config):
        return None
    return _without_errors(records)


def _without_errors(records: list[dict]) -> set[tuple[str, str]]:
    """Examples done: the last record of each decides (a later try supersedes an error)."""
    last = {(r["run"], r["id"]): r for r in records}
    return {key for key, record in last.items() if not record.get("errors")}


def finalize(target: Target, header: dict, order: list[tuple[str, str]]) -> list[dict]:
    """OUT rewritten from what was appended: each example once (its last record), in run and data order."""
    _, records = read_judgments(target.path)
    last = {(r["run"], r["id"]): r for r in records}
    position = {key: index for index, key in enumerate(order)}
    merged = sorted(last.values(), key=lambda r: (position.get((r["run"], r["id"]), len(position)), r["run"], r["id"]))
    with atomic_open(target.out, "w", rewrites=True, encoding="utf-8") as handle:  # our own file
        for record in [header, *merged]:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    if target.path != target.out:
        target.path.unlink(missing_ok=True)
    return merged


def writer_for(target: Target, header: dict) -> RunWriter:
    """generate's run writer: durable lines, the file opened (or continued) at the first record."""
    return RunWriter(Plan(target.out, target.path, append=target.append), header)


# --- requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One prompt to judge: its kind, the example and reference it is for, the key points (recall)."""

    kind: str
    example: int  # index into the examples (-1: an extraction, which serves many)
    reference: int
    limit: int | None = None  # recall: the reference's key points


@dataclass(frozen=True)
class Answer:
    """A prompt's outcome after its judge retries: the verdict's value or the last problem, and every reply."""

    value: Any
    problem: str | None
    replies: list[str]
    detail: Any = None


class Requests:
    """Prompts sent through the served engine's dispatcher, each re-asked until
    its reply holds a valid verdict (at most 1 + max_judge_retries replies)."""

    def __init__(self, settings: Settings) -> None:
        from .gen.served.config import make_client
        from .gen.served.dispatch import Dispatcher

        self.settings = settings
        self.retries = 0
        self.client = make_client(settings.runtime, on_retry=self._count_retry)
        self.dispatcher = Dispatcher(self._send, settings.runtime.concurrency, self.client.abort)
        self._specs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def run(self, prompts: Sequence[str], jobs: Sequence[Job], on_answer) -> None:
        """``on_answer(index, answer)`` on this thread as each prompt is done."""
        for text, job in zip(prompts, jobs, strict=True):
            known = self._specs.setdefault(text, job)
            if (known.kind, known.limit) != (job.kind, job.limit):
                raise InputError("two judge prompts of different kinds are the same text: make the templates differ")
        self.dispatcher.run(prompts, [0] * len(prompts), lambda result: on_answer(result.index, result.output))

    def close(self) -> None:
        self.dispatcher.close()

    def _send(self, text: str, affinity: Hashable) -> Answer:
        job = self._specs[text]
        replies: list[str] = []
        problem = None
        for _ in range(self.settings.max_judge_retries + 1):
            reply = self._ask(text, affinity)
            replies.append(reply)
            verdict = read_verdict(job.kind, reply, job.limit)
            if verdict.problem is None:
                return Answer(verdict.value, None, replies, verdict.detail)
            problem = verdict.problem
        return Answer(None, problem, replies)

    def _ask(self, text: str, affinity: Hashable) -> str:
        body: dict[str, Any] = {"model": self.settings.model, **request_fields(self.settings)}
        if self.settings.api == "chat":
            body["messages"] = [{"role": "user", "content": text}]
            return self.client.post("/chat/completions", body, self._chat_text, affinity)
        body["prompt"] = text
        return self.client.post("/completions", body, self._completion_text, affinity)

    @staticmethod
    def _chat_text(answer: dict) -> str:
        message = _first_choice(answer).get("message")
        content = message.get("content") if isinstance(message, dict) else None
        return _text(content)

    @staticmethod
    def _completion_text(answer: dict) -> str:
        return _text(_first_choice(answer).get("text"))

    def _count_retry(self) -> None:
        with self._lock:
            self.retries += 1


def _first_choice(answer: dict) -> dict:
    choices = answer.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Retryable(f"HTTP 200 without choices: {str(answer)[:200]}")
    return choices[0]


def _text(content: Any) -> str:
    if content is not None and not isinstance(content, str):
        raise Retryable("HTTP 200 whose choice holds no text")
    return content or ""


# --- one judgment --------------------------------------------------------------------


@dataclass
class Pending:
    """An example's verdicts as they arrive."""

    example: Example
    key_points: list[list[str] | None]
    jobs: int = 0  # prompts still out
    answers: dict[tuple[str, int], Answer] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def record_of(pending: Pending) -> dict:
    """The judgments record of a finished example: figures only where every verdict is valid."""
    example, answers = pending.example, pending.answers
    errors = list(pending.errors)
    for (kind, reference), answer in sorted(answers.items()):
        if answer.problem is not None:
            which = f"{kind} (reference {reference + 1})" if kind == RECALL else kind
            tries = len(answer.replies)
            errors.append(f"{which}: {answer.problem} (in {tries} {'reply' if tries == 1 else 'replies'})")
    found = [_value(answers, RECALL, n) for n in range(len(example.references))]
    precision = _value(answers, PRECISION, 0)
    fluency = _value(answers, FLUENCY, 0)
    counts = {
        "key_points": [len(points) if points is not None else None for points in pending.key_points],
        "found": found,
        "supported": precision[0] if precision is not None else None,
        "sentence_count": precision[1] if precision is not None else None,
        "supported_key_points": [
            answers[(RECALL, n)].detail if (RECALL, n) in answers else None for n in range(len(example.references))
        ],
    }
    record: dict[str, Any] = {"id": example.id, "run": example.run}
    figures: dict[str, Any] = dict.fromkeys(("recall", "precision", "fluency", "score"))
    if not errors and None not in found and precision is not None and fluency is not None:
        totals = [len(points or []) for points in pending.key_points]
        figures = example_figures(found, totals, precision[0], precision[1], fluency)
    record.update(figures)
    record["counts"] = counts
    record["key_points"] = pending.key_points
    record["replies"] = {
        RECALL: [
            answers[(RECALL, n)].replies if (RECALL, n) in answers else [] for n in range(len(example.references))
        ],
        PRECISION: answers[(PRECISION, 0)].replies if (PRECISION, 0) in answers else [],
        FLUENCY: answers[(FLUENCY, 0)].replies if (FLUENCY, 0) in answers else [],
    }
    record["errors"] = errors
    return record


def _value(answers: dict[tuple[str, int], Answer], kind: str, reference: int) -> Any:
    answer = answers.get((kind, reference))
    return answer.value if answer is not None and answer.problem is None else None


# --- the judgment --------------------------------------------------------------------


@dataclass
class Work:
    """What a judgment has to do: examples, and references still without key points."""

    runs: list[dict]
    examples: list[Example]
    todo: list[int]  # indexes of examples to judge
    missing: list[str]  # references to extract, each once


def plan_work(settings: Settings, key_points: KeyPointFile, done: set[tuple[str, str]], loaded=None) -> Work:
    """``loaded``: what :func:`load_runs` returned (read here when None)."""
    runs, examples = loaded if loaded is not None else load_runs(settings.runs)
    todo = [i for i, example in enumerate(examples) if (example.run, example.id) not in done]
    prompt_hash = settings.prompts.hashes[EXTRACT]
    missing: list[str] = []
    first_missing: Example | None = None
    seen = set()
    for index in todo:
        for reference in examples[index].references:
            key = reference.strip()
            if key in seen or key_points.lookup(reference, prompt_hash) is not None:
                continue
            seen.add(key)
            missing.append(reference)
            first_missing = first_missing or examples[index]
    if missing:
        assert first_missing is not None
        key_points.refuse_additions(len(missing), first_missing)
    return Work(runs, examples, todo, missing)


def judge(settings: Settings) -> str:
    """Judges the runs; returns the summary line. Holds -o's lock for the whole judgment."""
    key_points = KeyPointFile(settings.key_points)
    # The runs and -o are checked before any request; the configuration needs the runs' fingerprints.
    loaded = load_runs(settings.runs)
    _refuse_existing(settings)
    with lock_run(settings.out):
        return _judge(settings, key_points, loaded)


def _judge(settings: Settings, key_points: KeyPointFile, loaded: tuple[list[dict], list[Example]]) -> str:
    from .gen.progress import Progress
    from .gen.served.config import discover

    reported = discover(settings.model, settings.runtime)
    config = judge_config(settings, reported, loaded[0])
    target = plan_judgments(settings.out, config, settings.resume, settings.overwrite)
    work = plan_work(settings, key_points, target.done, loaded)
    header = {"header": True, "kind": JUDGMENTS_KIND, "config": config, "runtime": runtime_of(settings)}
    writer = writer_for(target, header)
    enabled = sys.stderr.isatty() if settings.progress is None else settings.progress
    progress = Progress(len(work.todo), enabled, label="judge ")
    requests = Requests(settings)
    progress.status = lambda: f"{requests.dispatcher.in_flight} in flight  {requests.retries} retries"
    requests.dispatcher.on_tick = progress.refresh
    try:
        failed = _extract(requests, settings, key_points, work)
        _judge_examples(requests, settings, key_points, work, failed, writer, progress)
    except KeyboardInterrupt:
        progress.close()
        raise Interrupted(f"interrupted: {_kept(writer, target)}") from None
    except InputError as exc:
        progress.close()
        raise InputError(f"{exc}; {_kept(writer, target)}" if writer.written else str(exc)) from None
    finally:
        writer.close()
        requests.close()
    progress.close()
    order = [(example.run, example.id) for example in work.examples]
    if not writer.written and not target.append and not target.out.exists():
        return "nothing to judge"
    records = finalize(target, header, order)
    return summary(records, target.out)


def _refuse_existing(settings: Settings) -> None:
    """What plan_judgments refuses without the configuration, refused before the server is asked."""
    if settings.resume and settings.overwrite:
        raise InputError("--resume and --overwrite exclude each other")
    check_output(settings.out, overwrite=True)
    exists = settings.out.exists() and settings.out.stat().st_size > 0
    if exists and not (settings.resume or settings.overwrite):
        raise InputError(f"{settings.out} already exists: pass --resume to continue it or --overwrite to replace it")


def runtime_of(settings: Settings) -> dict:
    runtime = settings.runtime
    return {
        "base_url": list(runtime.base_url),
        "concurrency": runtime.concurrency,
        "request_timeout": runtime.request_timeout,
        "max_retries": runtime.max_retries,
        "api_key_env": runtime.api_key_env,
        "key_points": str(settings.key_points),
    }


def _kept(writer: RunWriter, target: Target) -> str:
    if not writer.written and not target.done:
        return "nothing was written"
    how = "run the same command again to continue it" if target.path != target.out else "add --resume to continue"
    return f"{writer.written + len(target.done)} judgments kept in {target.path}; {how}"


def _extract(requests: Requests, settings: Settings, key_points: KeyPointFile, work: Work) -> dict[str, str]:
    """Key points of the references that have none yet; returns reference -> why it has none."""
    if not work.missing:
        return {}
    prompt_hash = settings.prompts.hashes[EXTRACT]
    prompts = [extract_prompt(settings.prompts, reference) for reference in work.missing]
    jobs = [Job(EXTRACT, -1, index) for index in range(len(work.missing))]
    failed: dict[str, str] = {}

    def on_answer(index: int, answer: Answer) -> None:
        reference = work.missing[index]
        if answer.problem is None:
            key_points.add(reference, prompt_hash, answer.value, settings.model)
        else:
            tries = len(answer.replies)
            failed[reference.strip()] = f"{answer.problem} (in {tries} {'reply' if tries == 1 else 'replies'})"

    try:
        requests.run(prompts, jobs, on_answer)
    except RequestFailed as failure:
        owner = _owner(work, work.missing[failure.index or 0])
        raise InputError(f"key points of a reference of {owner}: {failure}") from None
    return failed


def _owner(work: Work, reference: str) -> str:
    for index in work.todo:
        example = work.examples[index]
        if reference in example.references:
            return f"example {example.id} of {example.run}"
    return "an example"


def _judge_examples(
    requests: Requests,
    settings: Settings,
    key_points: KeyPointFile,
    work: Work,
    failed: dict[str, str],
    writer: RunWriter,
    progress: Any,
) -> None:
    """Recall, precision and fluency prompts for every example to judge; each
    example's record is written as soon as its last verdict arrives."""
    prompt_hash = settings.prompts.hashes[EXTRACT]
    prompts: list[str] = []
    jobs: list[Job] = []
    pending: dict[int, Pending] = {}
    for index in work.todo:
        example = work.examples[index]
        points = [key_points.lookup(reference, prompt_hash) for reference in example.references]
        item = Pending(example, points)
        for number, reference in enumerate(example.references):
            if reference.strip() in failed:
                item.errors.append(f"key points of reference {number + 1}: {failed[reference.strip()]}")
        if item.errors:
            writer.write(record_of(item))  # nothing to ask: recall needs the key points
            progress.update()
            continue
        for number, found in enumerate(points):
            assert found is not None
            prompts.append(recall_prompt(settings.prompts, example.query, found, example.prediction))
            jobs.append(Job(RECALL, index, number, len(found)))
        prompts.append(precision_prompt(settings.prompts, example.query, example.references, example.prediction))
        jobs.append(Job(PRECISION, index, 0))
        prompts.append(fluency_prompt(settings.prompts, example.prediction))
        jobs.append(Job(FLUENCY, index, 0))
        item.jobs = len(example.references) + 2
        pending[index] = item

    def on_answer(position: int, answer: Answer) -> None:
        job = jobs[position]
        item = pending[job.example]
        item.answers[(job.kind, job.reference)] = answer
        item.jobs -= 1
        if item.jobs == 0:
            writer.write(record_of(pending.pop(job.example)))
            progress.update()

    try:
        requests.run(prompts, jobs, on_answer)
    except RequestFailed as failure:
        job = jobs[failure.index or 0]
        example = work.examples[job.example]
        raise InputError(f"example {example.id} of {example.run} ({job.kind} prompt): {failure}") from None


def summary(records: list[dict], out: Path) -> str:
    judged = sum(1 for record in records if record.get("score") is not None)
    line = f"judged {judged} of {len(records)} examples"
    if judged < len(records):
        line += f" ({len(records) - judged} not judged: no valid verdict; see 'errors' in the records)"
    return f"{line}; wrote {out}"


# --- dry run -------------------------------------------------------------------------


def dry_run(settings: Settings, tokenizer: Any | None) -> str:
    """What a judgment would send: requests and prompt tokens, before anything is sent."""
    key_points = KeyPointFile(settings.key_points)
    done: set[tuple[str, str]] = set()
    if settings.resume and settings.out.exists():
        _, records = read_judgments(settings.out)
        done = _without_errors(records)
    work = plan_work(settings, key_points, done)
    prompt_hash = settings.prompts.hashes[EXTRACT]
    exact: list[str] = [extract_prompt(settings.prompts, reference) for reference in work.missing]
    estimated: list[str] = []
    for index in work.todo:
        example = work.examples[index]
        for reference in example.references:
            points = key_points.lookup(reference, prompt_hash)
            if points is None:  # not extracted yet: the reference stands in for its key points
                estimated.append(recall_prompt(settings.prompts, example.query, [reference], example.prediction))
            else:
                exact.append(recall_prompt(settings.prompts, example.query, points, example.prediction))
        exact.append(precision_prompt(settings.prompts, example.query, example.references, example.prediction))
        exact.append(fluency_prompt(settings.prompts, example.prediction))
    requests = len(exact) + len(estimated)
    unit = (
        "tokens" if tokenizer is not None else f"tokens (approximate: characters / {CHARS_PER_TOKEN}; give --tokenizer)"
    )
    count_exact, count_estimated = _count(exact, tokenizer), _count(estimated, tokenizer)
    lines = [
        f"dry run: {plural(len(work.todo), 'example')} to judge, {plural(len(work.missing), 'reference')} to "
        "extract key points from",
        f"{plural(requests, 'request')} ({len(work.missing)} extractions, then recall per reference, precision "
        "and fluency "
        f"per example), each asked again up to --max-judge-retries {settings.max_judge_retries} times "
        "when its reply holds no valid verdict",
        f"prompt {unit}: {count_exact + count_estimated}"
        + (
            f" ({count_estimated} of them estimated: recall prompts before their key points exist)" if estimated else ""
        ),
        f"replies: at most --max-new-tokens {settings.max_new_tokens} tokens each",
        "nothing was sent",
    ]
    return "\n".join(lines)


def _count(prompts: list[str], tokenizer: Any | None) -> int:
    if tokenizer is None:
        return sum(-(-len(prompt) // CHARS_PER_TOKEN) for prompt in prompts)
    return sum(len(tokenizer(prompt)["input_ids"]) for prompt in prompts)

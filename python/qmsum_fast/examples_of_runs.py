"""The examples a run's predictions answer: the data and split its header
records (or the ones given), and each prediction matched to its example.

``view``, ``score --faithfulness`` and ``report --faithfulness`` read runs
against their examples through this one module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .data import Example, load_examples
from .data.runs import Prediction, Run
from .errors import InputError


def data_source(runs: Sequence[Run], data_path: Path | None, split: str | None) -> tuple[str | None, str]:
    """The data (None: bundled) and split the runs answer: ``--data`` and
    ``--split`` when given, else what the runs' headers record (the split
    ``all`` when they disagree), else the bundled test split."""
    configs: list[dict] = [c for run in runs if isinstance(c := run.header.get("config"), dict)]
    if data_path is None:
        recorded = next((c["data"] for c in configs if isinstance(c.get("data"), str)), "bundled")
        data = None if recorded == "bundled" else recorded
    else:
        data = str(data_path)
    if split is None:
        splits = {c["split"] for c in configs if isinstance(c.get("split"), str)}
        split = splits.pop() if len(splits) == 1 else ("all" if splits else "test")
    return data, split


def run_examples(run: Run, examples: Sequence[Example]) -> list[Example]:
    """The example each prediction of ``run`` answers, in the run's order.

    Predictions are matched by ``id`` (or LongBench's ``_id``, or ``source_id``)
    against the examples' ids and the ids a peer's file gave them; a file
    whose predictions carry no ids (plain text, LongBench's own pred files)
    is matched line by line and must hold one prediction per example."""
    if not any(_prediction_ids(p) for p in run.predictions):
        if len(run.predictions) != len(examples):
            raise InputError(
                f"{run.path}: {len(run.predictions)} predictions without ids, but the data holds "
                f"{len(examples)} examples: give the data and split they answer (--data, --split)"
            )
        return list(examples)
    by_key: dict[str, Example] = {}
    for example in examples:
        by_key.setdefault(example.id, example)
        if example.source_id is not None:
            by_key.setdefault(example.source_id, example)
    matched = [_match(run, prediction, by_key) for prediction in run.predictions]
    _refuse_repeats(run, matched)
    return matched


def _prediction_ids(prediction: Prediction) -> list[str]:
    values = (prediction.fields.get(name) for name in ("id", "_id", "source_id"))
    return [value for value in values if isinstance(value, str)]


def _match(run: Run, prediction: Prediction, by_key: dict[str, Example]) -> Example:
    ids = _prediction_ids(prediction)
    example = next((by_key[key] for key in ids if key in by_key), None)
    if example is None:
        where = f"{run.path}:{prediction.fields['line']}" if "line" in prediction.fields else str(run.path)
        shown = repr(ids[0]) if ids else "(none)"
        raise InputError(
            f"{where}: id {shown} is not in the data: give the data and split it answers (--data, --split)"
        )
    return example


def _refuse_repeats(run: Run, matched: list[Example]) -> None:
    seen: set[str] = set()
    for example in matched:
        if example.id in seen:
            raise InputError(f"{run.path}: two predictions answer example {example.id}")
        seen.add(example.id)


def load_data(data: str | None, split: str) -> list[Example]:
    """The examples of ``data`` (None: bundled) and ``split``, for reading runs against."""
    try:
        return load_examples(data, split=split)
    except InputError as exc:
        raise InputError(f"{exc} (the runs' data: give it with --data and --split)") from None

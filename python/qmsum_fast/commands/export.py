"""``qmsum-fast export``: a run as a leaderboard's prediction file.

- ``--to scrolls``: a SCROLLS / ZeroSCROLLS submission, ``{id: prediction}``
  keyed by the peer's ids (``source_id``) where the data came from a peer's
  file, else by the example ids;
- ``--to longbench``: LongBench's ``pred/<model>/qmsum.jsonl`` records. They
  hold the transcript (``context``), which a run does not: it is read from the
  data the run's header names (or ``--data``).

``score`` reads both back (the submission with ``--ref`` and the SCROLLS rows)
and gives the scores of the run itself.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..convert import EXPORT_FORMATS
from ._options import make_data_option, output_option, overwrite_option


@click.command("export")
@click.argument("run_path", metavar="RUN.jsonl", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--to",
    "fmt",
    type=click.Choice(EXPORT_FORMATS, case_sensitive=False),
    required=True,
    help="scrolls: a SCROLLS / ZeroSCROLLS submission JSON {id: prediction}; longbench: LongBench's pred JSONL "
    "(pred, answers, all_classes, length, then the data row).",
)
@output_option("The file to write.")
@make_data_option(
    "--to longbench: the data the run was generated from (for the transcripts). Default: the data its header names."
)
@overwrite_option
def command(run_path: Path, fmt: str, out: Path, data_path: Path | None, overwrite: bool) -> None:
    """Write a generate run as a SCROLLS submission or as LongBench predictions."""
    from ..convert import longbench_predictions, run_records, submission, write_longbench_predictions, write_submission
    from ..data.runs import read_run
    from ..files import check_distinct, check_output

    fmt = fmt.lower()
    check_distinct([("-o", out)], [("RUN.jsonl", run_path), ("--data", data_path)])
    check_output(out, overwrite)
    run = read_run(run_path)
    records = run_records(run.path, run.records, run.lines)
    if fmt == "scrolls":
        predictions = submission(records)
        write_submission(out, predictions)
        if all(record.peer_id == record.id for record in records):  # a leaderboard would not know them
            click.echo(
                "qmsum-fast: note: the run's data had no SCROLLS ids; the submission uses qmsum-fast's ids", err=True
            )
        click.echo(f"wrote {len(predictions)} predictions as a SCROLLS submission to {out}")
        return
    examples, data = _run_examples(run.path, run.config, data_path)
    write_longbench_predictions(out, longbench_predictions(records, examples, data))
    click.echo(f"wrote {len(records)} predictions as LongBench pred records to {out}")


def _run_examples(run_path: Path, config: dict, data_path: Path | None) -> tuple[dict, str]:
    """The examples (by id) of the data the run was generated from, and its name."""
    from ..data import load_examples
    from ..errors import InputError

    data = str(data_path) if data_path is not None else config.get("data")
    if not isinstance(data, str):
        raise InputError(f"{run_path}: its header names no data: give the run's data with --data")
    source = None if data == "bundled" else data
    examples = load_examples(source, split=config.get("split", "all"), domain=config.get("domain"))
    return {example.id: example for example in examples}, data

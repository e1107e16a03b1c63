"""``qmsum-fast report``: a results table and bar chart across generation runs."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..judge import JUDGE_PREFIX
from ..metrics import ROUGE_SCORE, parse_metrics
from ._options import (
    faithfulness_option,
    make_metric_option,
    max_lcs_depth_option,
    overwrite_option,
    stemmer_option,
)

RUN = click.Path(path_type=Path, dir_okay=False)
OUTPUT = click.Path(path_type=Path)


@click.command("report")
@click.argument("runs", type=RUN, nargs=-1, required=True)
@make_metric_option("Which metrics, side by side.", several=True, judge=True)
@click.option(
    "--chart",
    "chart_path",
    type=OUTPUT,
    default=None,
    help="Also draw the bar chart of rouge-score's R-1/R-2/R-L (PNG) into this file. Default: no chart.",
)
@click.option(
    "-o",
    "--output",
    "--markdown",
    "markdown_path",
    type=OUTPUT,
    default=None,
    help="Also write the Markdown table into this file (--markdown is another name for it). Default: printed only.",
)
@stemmer_option
@max_lcs_depth_option
@faithfulness_option
@overwrite_option
@click.pass_context
def command(ctx, runs, metric_values, chart_path, markdown_path, stemmer, max_lcs_depth, faithfulness, overwrite):
    """Model x metrics table (Markdown) and, with --chart, a bar chart of runs."""
    from ..report import build_report, markdown_table, write_chart, write_markdown

    parts = [name for names in metric_values for name in names]
    judgments = _judgments([part for part in parts if part.startswith(JUDGE_PREFIX)])
    metrics = _metrics([part for part in parts if not part.startswith(JUDGE_PREFIX)], allow_none=bool(judgments))
    if ROUGE_SCORE not in metrics:
        if chart_path is not None:
            raise InputError("--chart draws rouge-score's figures: add --metric rouge-score")
        if ctx.get_parameter_source("stemmer") == click.core.ParameterSource.COMMANDLINE:
            raise InputError("--stemmer/--no-stemmer applies to --metric rouge-score only")
    if max_lcs_depth is not None and not {"longbench", "lm-eval-longbench"} & set(metrics):
        raise InputError("--max-lcs-depth applies to --metric longbench or lm-eval-longbench only")
    inputs = [("RUN", run) for run in runs] + [("judgments", path) for path in judgments]
    _check_outputs(inputs, chart_path, markdown_path, overwrite)
    rows = build_report(
        list(runs),
        metrics,
        use_stemmer=stemmer,
        max_depth=max_lcs_depth,
        faithfulness=faithfulness,
        judgments=judgments,
    )
    click.echo(markdown_table(rows))
    _say_not_judged(rows)
    if markdown_path is not None:
        click.echo(f"wrote {write_markdown(rows, markdown_path)}", err=True)
    if chart_path is not None:
        click.echo(f"wrote {write_chart(rows, chart_path)}", err=True)


def _judgments(values: list[str]) -> list[Path]:
    """The judgments files of ``--metric judge:FILE``, each checked to be one."""
    from ..judge import read_judgments

    paths = [Path(value.removeprefix(JUDGE_PREFIX)) for value in values]
    for path in paths:
        read_judgments(path)
    return paths


def _say_not_judged(rows) -> None:
    """How many examples of each run the judge left without a score (never counted as 0)."""
    for row in rows:
        for result in row.results:
            missing = result.figures.get("not judged") if result.metric.split(":")[0] == "judge" else None
            if missing:
                click.echo(
                    f"{result.metric}: {missing} of {row.count} examples not judged in {row.name} "
                    "(no valid verdict, or not in the file); the means are over the others",
                    err=True,
                )


def _metrics(values: list[str], allow_none: bool = False) -> tuple[str, ...]:
    try:
        metrics = parse_metrics(values)
    except ValueError as exc:
        raise InputError(f"--metric: {exc}") from None
    if not metrics and not allow_none:
        raise InputError("--metric: no metric given")
    return metrics


def _check_outputs(inputs, chart_path: Path | None, markdown_path: Path | None, overwrite: bool) -> None:
    """Refuses the files to write before any run is scored: one that exists
    (without --overwrite), or that is a run read or the other output."""
    from ..files import check_distinct, check_outputs

    check_distinct([("--markdown", markdown_path), ("--chart", chart_path)], inputs)
    check_outputs([path for path in (markdown_path, chart_path) if path is not None], overwrite)

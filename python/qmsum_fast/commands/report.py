"""``qmsum-fast report``: a results table and bar chart across generation runs."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ..metrics import ROUGE_SCORE, parse_metrics
from ._options import faithfulness_option, make_metric_option, max_lcs_depth_option, overwrite_option, stemmer_option

RUN = click.Path(path_type=Path, dir_okay=False)
OUTPUT = click.Path(path_type=Path)


@click.command("report")
@click.argument("runs", type=RUN, nargs=-1, required=True)
@make_metric_option("Which metrics, side by side.", several=True)
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

    metrics = _metrics(metric_values)
    if ROUGE_SCORE not in metrics:
        if chart_path is not None:
            raise InputError("--chart draws rouge-score's figures: add --metric rouge-score")
        if ctx.get_parameter_source("stemmer") == click.core.ParameterSource.COMMANDLINE:
            raise InputError("--stemmer/--no-stemmer applies to --metric rouge-score only")
    if max_lcs_depth is not None and not {"longbench", "lm-eval-longbench"} & set(metrics):
        raise InputError("--max-lcs-depth applies to --metric longbench or lm-eval-longbench only")
    _check_outputs(chart_path, markdown_path, overwrite)
    rows = build_report(list(runs), metrics, use_stemmer=stemmer, max_depth=max_lcs_depth, faithfulness=faithfulness)
    click.echo(markdown_table(rows))
    if markdown_path is not None:
        click.echo(f"wrote {write_markdown(rows, markdown_path)}", err=True)
    if chart_path is not None:
        click.echo(f"wrote {write_chart(rows, chart_path)}", err=True)


def _metrics(values: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    try:
        metrics = parse_metrics([name for names in values for name in names])
    except ValueError as exc:
        raise InputError(f"--metric: {exc}") from None
    if not metrics:
        raise InputError("--metric: no metric given")
    return metrics


def _check_outputs(chart_path: Path | None, markdown_path: Path | None, overwrite: bool) -> None:
    """Refuses the files to write before any run is scored."""
    from ..files import check_outputs

    paths = [path for path in (markdown_path, chart_path) if path is not None]
    if len(paths) == 2 and paths[0].resolve() == paths[1].resolve():
        raise InputError(f"{chart_path}: --chart and --markdown name the same file")
    check_outputs(paths, overwrite)

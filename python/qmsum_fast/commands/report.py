"""``qmsum-fast report``: a results table and bar chart across generation runs."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ._options import overwrite_option

RUN = click.Path(path_type=Path, dir_okay=False)
OUTPUT = click.Path(path_type=Path)


@click.command("report")
@click.argument("runs", type=RUN, nargs=-1, required=True)
@click.option(
    "--chart",
    "chart_path",
    type=OUTPUT,
    default=None,
    help="Also draw the bar chart (PNG) into this file. Default: no chart.",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=OUTPUT,
    default=None,
    help="Also write the Markdown table into this file. Default: printed only.",
)
@click.option(
    "--stemmer/--no-stemmer",
    default=True,
    show_default=True,
    help="NLTK Porter stemmer on tokens longer than 3 characters (rouge-score's use_stemmer).",
)
@overwrite_option
def command(runs, chart_path, markdown_path, stemmer, overwrite):
    """Model x R-1/R-2/R-L table (Markdown) and, with --chart, a bar chart of JSONL runs."""
    from ..report import build_report, markdown_table, write_chart, write_markdown

    _check_outputs(chart_path, markdown_path, overwrite)
    rows = build_report(list(runs), use_stemmer=stemmer)
    click.echo(markdown_table(rows))
    if markdown_path is not None:
        click.echo(f"wrote {write_markdown(rows, markdown_path)}", err=True)
    if chart_path is not None:
        click.echo(f"wrote {write_chart(rows, chart_path)}", err=True)


def _check_outputs(chart_path: Path | None, markdown_path: Path | None, overwrite: bool) -> None:
    """Refuses the files to write before any run is scored."""
    from ..files import check_outputs

    paths = [path for path in (markdown_path, chart_path) if path is not None]
    if len(paths) == 2 and paths[0].resolve() == paths[1].resolve():
        raise InputError(f"{chart_path}: --chart and --markdown name the same file")
    check_outputs(paths, overwrite)

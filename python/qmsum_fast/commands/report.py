"""``qmsum-fast report``: a results table and bar chart across generation runs."""

from __future__ import annotations

from pathlib import Path

import click

PATH = click.Path(path_type=Path, dir_okay=False)


@click.command("report")
@click.argument("runs", type=PATH, nargs=-1, required=True)
@click.option(
    "--chart",
    "chart_path",
    type=PATH,
    default=Path("rouge_report.png"),
    show_default=True,
    help="Where to write the bar chart (PNG).",
)
@click.option(
    "--markdown", "markdown_path", type=PATH, default=None, help="Also write the Markdown table to this file."
)
@click.option("--stemmer/--no-stemmer", default=True, show_default=True)
def command(runs, chart_path, markdown_path, stemmer):
    """Model x R-1/R-2/R-L table (Markdown) and a bar chart of JSONL runs."""
    from ..report import build_report, markdown_table, write_chart

    rows = build_report(list(runs), use_stemmer=stemmer)
    table = markdown_table(rows)
    click.echo(table)
    if markdown_path is not None:
        markdown_path.write_text(table + "\n", encoding="utf-8")
        click.echo(f"wrote {markdown_path}", err=True)
    write_chart(rows, chart_path)
    click.echo(f"wrote {chart_path}", err=True)

"""``qmsum-fast convert``: write QMSum in another format."""

from __future__ import annotations

from pathlib import Path

import click

from ..convert import FORMATS, PREPROCESS_MODES, check_options, convert
from ..data import load_examples


@click.command("convert")
@click.option("--to", "fmt", type=click.Choice(FORMATS, case_sensitive=False), required=True, help="Output format.")
@click.option(
    "--data", "data", type=click.Path(path_type=Path), default=None, help="QMSum data (default: the bundled dataset)."
)
@click.option("--split", default="all", show_default=True, help="train, val, test or all.")
@click.option("--domain", default="all", show_default=True, help="academic, product, committee or all.")
@click.option(
    "--preprocess",
    type=click.Choice(PREPROCESS_MODES, case_sensitive=False),
    default="none",
    show_default=True,
    help="none: 'Speaker: text' lines; qmsum: the upstream recipe (lowercased, tokenized).",
)
@click.option(
    "-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="Output file (.gz to compress)."
)
def command(fmt: str, data: Path | None, split: str, domain: str, preprocess: str, out: Path) -> None:
    """Write QMSum examples as alpaca JSON, SCROLLS JSONL, LongBench JSONL or upstream JSONL."""
    fmt, preprocess = fmt.lower(), preprocess.lower()
    check_options(fmt, out, preprocess)
    examples = load_examples(data, split=split, domain=domain)
    written = convert(examples, fmt, out, preprocess)
    click.echo(f"wrote {len(examples)} examples as {written} {fmt} {RECORD_NAMES[fmt]} to {out}")


RECORD_NAMES = {"alpaca": "entries", "scrolls": "rows", "longbench": "rows", "jsonl": "meetings"}

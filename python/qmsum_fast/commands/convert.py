"""``qmsum-fast convert``: write QMSum in another format."""

from __future__ import annotations

from pathlib import Path

import click

from ..convert import FORMATS, check_options, convert
from ..data import load_examples
from ._options import data_option, domain_option, make_preprocess_option, output_option, overwrite_option, split_option


@click.command("convert")
@click.option(
    "--to",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    required=True,
    help="Output format: alpaca (JSON list), scrolls, longbench or jsonl (upstream meetings).",
)
@data_option
@split_option
@domain_option
@make_preprocess_option("none")
@output_option("Output file; a name ending in .gz is gzip-compressed.")
@overwrite_option
def command(
    fmt: str, data_path: Path | None, split: str, domain: str | None, preprocess: str, out: Path, overwrite: bool
) -> None:
    """Write QMSum examples as alpaca JSON, SCROLLS JSONL, LongBench JSONL or upstream JSONL."""
    from ..files import check_distinct

    fmt = fmt.lower()
    check_distinct([("-o", out)], [("--data", data_path)])
    check_options(fmt, out, preprocess, overwrite)
    examples = load_examples(data_path, split=split, domain=domain)
    written = convert(examples, fmt, out, preprocess, overwrite)
    click.echo(f"wrote {len(examples)} examples as {written} {fmt} {RECORD_NAMES[fmt]} to {out}")


RECORD_NAMES = {"alpaca": "entries", "scrolls": "rows", "longbench": "rows", "jsonl": "meetings"}

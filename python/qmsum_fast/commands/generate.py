"""``qmsum-fast generate``: query-focused summaries from a model or a baseline."""

from __future__ import annotations

import click

from ..gen.models import ATTENTION, DTYPES
from ..gen.presets import INPUTS, PRESETS


def _batch_size(value: str) -> int | str:
    if value == "auto":
        return value
    if not value.isdigit() or int(value) < 1:
        raise click.BadParameter("a positive integer or 'auto'")
    return int(value)


@click.command("generate")
@click.option(
    "--model",
    "model",
    required=True,
    help=f"A preset ({', '.join(PRESETS)}), a baseline (random, lead, textrank, oracle, bm25), "
    "a hub id or a model folder.",
)
@click.option("--model-path", help="Weights to load instead of the preset's hub id (keeps its settings).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Output JSONL run file.")
@click.option("--data", "data_path", type=click.Path(exists=True), help="QMSum data (default: bundled).")
@click.option("--split", default="test", show_default=True, help="train, val, test or all.")
@click.option("--domain", help="academic, product or committee (default: all).")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N examples.")
@click.option("--resume", is_flag=True, help="Continue --out, skipping ids already done.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(dir_okay=False),
    help="Also write instruction,input,output,summary columns (as the original experiments).",
)
@click.option("--template", help="Built-in template name, template file, or text with {transcript}.")
@click.option("--strategy", type=click.Choice(["truncate", "map-reduce", "locate"]))
@click.option("--input", "input_mode", type=click.Choice(INPUTS), help="full (default), gold spans, or locator.")
@click.option("--preprocess", type=click.Choice(["none", "qmsum"]), default="none", show_default=True)
@click.option("--max-input-tokens", type=click.IntRange(min=1), help="Input budget (map-reduce: per chunk prompt).")
@click.option("--max-new-tokens", type=click.IntRange(min=1))
@click.option("--max-seq-len", type=int, help="MPT context length (preset default 30000, up to 83968).")
@click.option("--instruction/--no-instruction", default=None, help="LED: append the query as an instruction.")
@click.option("--sample/--greedy", "do_sample", default=None, help="Sampling or greedy/beam decoding.")
@click.option("--num-beams", type=click.IntRange(min=1))
@click.option("--temperature", type=float)
@click.option("--top-p", type=float)
@click.option("--top-k", type=int)
@click.option("--repetition-penalty", type=float)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--chunk-overlap", type=click.IntRange(min=0), help="map-reduce: tokens repeated between chunks.")
@click.option("--reduce-tokens", type=click.IntRange(min=1), help="map-reduce: budget of the joined sub-summaries.")
@click.option("--budget", type=click.IntRange(min=1), help="Baselines and locator: output/selection budget in tokens.")
@click.option("--unit", help="Baselines: the extraction unit (passed to the baseline).")
@click.option("--locate-method", default="bm25", show_default=True, help="Locator ranking method.")
@click.option("--batch-size", default="auto", show_default=True, callback=lambda c, p, v: _batch_size(v))
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--dtype", type=click.Choice(DTYPES), default="auto", show_default=True)
@click.option(
    "--device-map",
    type=click.Choice(["auto", "balanced", "sequential"]),
    help="Spread a large model over GPUs (and CPU) with accelerate.",
)
@click.option("--max-memory", help="Per-device limits for --device-map, e.g. 0=70GiB,cpu=200GiB.")
@click.option("--offload-folder", type=click.Path(file_okay=False), help="Where --device-map offloads weights.")
@click.option("--attention", type=click.Choice(ATTENTION), default="auto", show_default=True)
@click.option("--trust-remote-code", is_flag=True, default=None, help="Allow the model's own code (LongLLaMA).")
@click.option("--adapter", type=click.Path(exists=True), help="LLaMA-Adapter weights (PEFT adaption-prompt).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
def command(**options) -> None:
    """Generate a summary for each query and write them to --out as JSONL."""
    from ..gen.run import run_generation

    summary = run_generation(options)
    click.echo(summary, err=True)

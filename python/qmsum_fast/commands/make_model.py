"""``qmsum-fast make-model``: save a random-weight model (for tests and benchmarks)."""

from __future__ import annotations

import click

from ..gen.local.make_model import ARCHITECTURES, SIZES
from ._options import DeviceType, seed_option


@click.command("make-model")
@click.option("--arch", type=click.Choice(ARCHITECTURES), required=True, help="Architecture.")
@click.option(
    "--size",
    type=click.Choice(SIZES),
    default="tiny",
    show_default=True,
    help="tiny: a few small layers; full: the published shape (billions of parameters).",
)
@seed_option
@click.option(
    "--device",
    type=DeviceType(),
    default="cpu",
    show_default=True,
    help="Where to build it: cpu, cuda or cuda:N (cuda is faster for full); auto: a GPU if there is one.",
)
@click.option(
    "--dtype",
    type=click.Choice(["fp32", "bf16", "fp16"]),
    default="fp32",
    show_default=True,
    help="Precision of the saved weights.",
)
@click.argument("out_dir", type=click.Path(file_okay=False))
def command(arch: str, size: str, seed: int, device: str, dtype: str, out_dir: str) -> None:
    """Save a model with ARCH's real architecture, random weights and the
    bundled gpt-neox-20b tokenizer into OUT_DIR."""
    from ..extras import require_gen
    from ..gen.local.make_model import make_model

    require_gen("make-model")
    out = make_model(arch, size, out_dir, seed=seed, device=device, dtype=dtype)
    click.echo(f"saved {size} {arch} to {out}")

"""``qmsum-fast view``: runs side by side in one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ._options import (
    domain_option,
    make_data_option,
    make_metric_option,
    max_lcs_depth_option,
    output_option,
    overwrite_option,
    recorded_split_option,
    references_option,
    resample_option,
    stemmer_option,
)

RUN = click.Path(path_type=Path, dir_okay=False)


@click.command("view")
@click.argument("run_paths", metavar="RUN.jsonl...", type=RUN, nargs=-1, required=True)
@output_option("The HTML file to write.")
@make_metric_option(
    "The headline figures (as report gives them) and the per-example score to sort by; the cards always "
    "show rouge-score's F-measures too, with the words it counted marked."
)
@stemmer_option
@max_lcs_depth_option
@resample_option
@references_option
@make_data_option(
    "The data the runs answer (transcripts, gold spans, ids). Default: the data the first run's header names, "
    "else the bundled QMSum."
)
@recorded_split_option
@domain_option
@click.option(
    "--judgments",
    type=RUN,
    default=None,
    help="A judgments file of qmsum-fast judge: each card also shows the judge's key points, which were found, "
    "its figures and its reasoning. Default: none.",
)
@click.option("--title", default=None, help="The page's title. Default: 'qmsum-fast view: ' and the run names.")
@overwrite_option
@click.pass_context
def command(
    ctx,
    run_paths,
    out,
    metric,
    stemmer,
    max_lcs_depth,
    resample,
    ref_paths,
    data_path,
    split,
    domain,
    judgments,
    title,
    overwrite,
):
    """One HTML page (no server, no network) with every example's query, references, each run's prediction
    with its scores and faithfulness, the gold spans and the turns fed. --split, when not given, is the one the
    runs' headers record (test when they record none)."""
    from ..files import check_distinct, check_output
    from ..view import Options, build_view, write_view

    if max_lcs_depth is not None and metric not in ("longbench", "lm-eval-longbench"):
        raise InputError(f"--max-lcs-depth applies to --metric longbench or lm-eval-longbench only, not {metric}")
    inputs = (
        [("RUN", path) for path in run_paths]
        + [("--ref", path) for path in ref_paths]
        + [("--data", data_path), ("--judgments", judgments)]
    )
    check_distinct([("-o", out)], inputs)
    check_output(out, overwrite)
    view = build_view(
        run_paths,
        reference_paths=ref_paths,
        data_path=data_path,
        split=split,
        domain=domain,
        options=Options(metric, stemmer, max_lcs_depth, resample),
        judgments=judgments,
    )
    path = write_view(view, out, title)
    size = path.stat().st_size / 2**20
    click.echo(f"wrote {path}: {len(view.examples)} examples, {len(view.runs)} runs, {size:.1f} MiB")

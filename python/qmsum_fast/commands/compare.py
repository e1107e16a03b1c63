"""``qmsum-fast compare``: runs against a baseline, paired by example, resampled by meeting."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import InputError
from ..metrics import ROUGE_SCORE
from ._options import (
    MAX_SAMPLES,
    by_option,
    json_option,
    make_data_option,
    make_metric_option,
    max_lcs_depth_option,
    parse_fields,
    recorded_split_option,
    references_option,
    seed_option,
    stemmer_option,
)

RUN = click.Path(path_type=Path, dir_okay=False)
MEASURES = ("precision", "recall", "fmeasure")


@click.command("compare")
@click.argument("base", metavar="BASE", type=RUN)
@click.argument("runs", metavar="RUN...", type=RUN, nargs=-1, required=True)
@make_metric_option("Whose per-example scores to compare:", judge=True)
@click.option(
    "--measure",
    type=click.Choice(MEASURES),
    default="fmeasure",
    show_default=True,
    help="rouge-score: which measure of each ROUGE type; the peers' metrics compare their own F-measures.",
)
@stemmer_option
@max_lcs_depth_option
@by_option
@click.option(
    "--samples",
    type=click.IntRange(1, MAX_SAMPLES),
    default=10_000,
    show_default=True,
    help=f"Meeting-bootstrap samples for the 95% intervals, and sign-flip draws for the p-values beyond 20 "
    f"meetings (fewer are enumerated exactly); 1 to {MAX_SAMPLES:,}.",
)
@seed_option
@click.option(
    "--require-same",
    is_flag=True,
    help="Refuse runs whose examples are not the baseline's. Default: compare on the common examples and name "
    "the missing ids on stderr.",
)
@references_option
@make_data_option(
    "The data the runs answer, to find each prediction's meeting when its id does not name it (peer files, plain "
    "text). Default: the data a run's header names, else the bundled QMSum."
)
@recorded_split_option
@json_option
@click.pass_context
def command(
    ctx,
    base,
    runs,
    metric,
    measure,
    stemmer,
    max_lcs_depth,
    by,
    samples,
    seed,
    require_same,
    ref_paths,
    data_path,
    split,
    as_json,
):
    """Each RUN against BASE on their common examples: the mean paired difference (RUN - BASE) with a 95%
    interval that resamples meetings, a sign-flip test by meeting (Holm-adjusted over the runs), wins, ties
    and losses, the design effect and the smallest detectable difference (docs/statistics.md). --split, when not
    given, is the one the runs' headers record (test when they record none)."""
    from ..compare import (
        CompareSettings,
        ScoreOptions,
        compare_runs,
        comparison_json,
        describe_missing,
        exact_note,
        markdown_table,
        missing_ids,
        score_examples,
    )
    from ..view import distinct_labels, load_view_run

    source = click.core.ParameterSource.COMMANDLINE
    if metric != ROUGE_SCORE:
        for name, flag in (("measure", "--measure"), ("stemmer", "--stemmer/--no-stemmer")):
            if ctx.get_parameter_source(name) == source:
                raise InputError(f"{flag} applies to --metric {ROUGE_SCORE} only")
    if max_lcs_depth is not None and metric not in ("longbench", "lm-eval-longbench"):
        raise InputError(f"--max-lcs-depth applies to --metric longbench or lm-eval-longbench only, not {metric}")
    loaded = [load_view_run(path, ref_paths) for path in (base, *runs)]
    options = ScoreOptions(measure, stemmer, max_lcs_depth)
    scored = [
        score_examples(run, label, metric, options, data_path, split)
        for run, label in zip(loaded, distinct_labels(loaded))
    ]
    for run in scored:
        if run.unscored:
            click.echo(
                f"qmsum-fast: note: {run.path}: {len(run.unscored)} examples have no {metric} score (not judged): "
                "left out",
                err=True,
            )
    baseline, others = scored[0], scored[1:]
    for other in others:
        only_base, only_run = missing_ids(baseline, other)
        if only_base or only_run:
            message = describe_missing(baseline, other, only_base, only_run)
            if require_same:
                raise InputError(f"--require-same: {message}")
            click.echo(f"qmsum-fast: note: {message}", err=True)
    settings = CompareSettings(samples, seed, by=tuple(parse_fields(by)))
    comparisons = compare_runs(baseline, others, settings)
    measure_name = measure if metric == ROUGE_SCORE else "fmeasure"
    if as_json:
        header = {
            "metric": metric,
            "measure": measure_name,
            "resample": "meeting",
            "confidence": settings.confidence,
            "samples": samples,
            "seed": seed,
        }
        click.echo(json.dumps(comparison_json(baseline, comparisons, header), indent=2))
        return
    runs_text = "1 run" if len(others) == 1 else f"{len(others)} runs"
    caption = (
        f"{runs_text} against {baseline.label} ({baseline.path}): {metric} {measure_name} in %, "
        f"difference RUN - BASE with its 95% interval resampling meetings ({samples} samples, seed {seed}); "
        f"p: two-sided sign-flip test by meeting, {exact_note(comparisons, samples)}; p Holm: adjusted over the "
        f"{runs_text}; detectable: the smallest difference found at 80% power and the 5% level."
    )
    click.echo(markdown_table(baseline, comparisons, caption))

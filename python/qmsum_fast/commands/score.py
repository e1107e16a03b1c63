"""``qmsum-fast score``: ROUGE of predictions against references (rouge-score exact),
or as a leaderboard ecosystem computes it (``--metric``, see :mod:`qmsum_fast.metrics`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import InputError
from ..metrics import ROUGE_SCORE
from ..resample import RESAMPLE_MEETING
from ._options import (
    MAX_SAMPLES,
    by_option,
    faithfulness_option,
    json_option,
    make_data_option,
    make_metric_option,
    max_lcs_depth_option,
    parse_fields,
    recorded_split_option,
    resample_option,
    seed_option,
    stemmer_option,
)

PATH = click.Path(path_type=Path, dir_okay=False)
# Options of this package's own rouge-score table; a peer metric has its own fixed settings.
ROUGE_SCORE_OPTIONS = (
    "rouge_types",
    "stemmer",
    "split_sentences",
    "bootstrap",
    "resample",
    "seed",
    "by",
    "data_path",
    "split",
)


@click.command("score")
@click.option(
    "--pred",
    "pred_path",
    type=PATH,
    required=True,
    help="Predictions: plain text (one per line, with --ref) or a JSONL run from generate.",
)
@click.option(
    "--ref",
    "ref_paths",
    type=PATH,
    multiple=True,
    help="References, one per line, parallel to --pred. Repeat for several references. Default: those of the run.",
)
@make_metric_option("Which figures:")
@click.option(
    "--rouge-types",
    default="rouge1,rouge2,rougeL,rougeLsum",
    show_default=True,
    help="Which ROUGE types, comma-separated: rouge1..rouge9, rougeL, rougeLsum.",
)
@stemmer_option
@click.option(
    "--split-sentences",
    is_flag=True,
    help="rougeLsum: split sentences with our rule-based splitter, not only at newlines (default: newlines only).",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(0, MAX_SAMPLES),
    default=1000,
    show_default=True,
    help=f"Bootstrap samples for the 95% interval, 0 to {MAX_SAMPLES:,} (0: means only).",
)
@resample_option
@seed_option
@by_option
@make_data_option(
    "With --resample meeting, the data the predictions answer, to find each one's meeting when its id does not "
    "name it (peer files, plain text). Default: the data the run's header names, else the bundled QMSum."
)
@recorded_split_option
@max_lcs_depth_option
@faithfulness_option
@json_option
@click.pass_context
def command(ctx, pred_path, ref_paths, metric, max_lcs_depth, faithfulness, as_json, **rouge_score_options):
    """ROUGE of predictions against references, with bootstrap intervals, or a leaderboard's figures (--metric).
    --split, when not given, is the one the run's header records (test when it records none)."""
    from ..data.runs import load_predictions

    if metric != ROUGE_SCORE:
        _refuse_given(ctx, ROUGE_SCORE_OPTIONS, f"--metric {ROUGE_SCORE}")
        run = load_predictions(pred_path, ref_paths)
        _print_peer_metric(run, metric, max_lcs_depth, as_json, faithfulness)
        return
    _refuse_given(ctx, ("max_lcs_depth",), "--metric longbench or lm-eval-longbench")
    _rouge_score(pred_path, ref_paths, as_json=as_json, faithfulness=faithfulness, **rouge_score_options)


def _rouge_score(
    pred_path,
    ref_paths,
    rouge_types,
    stemmer,
    split_sentences,
    bootstrap,
    resample,
    seed,
    by,
    data_path,
    split,
    as_json,
    faithfulness,
):
    from ..data.runs import load_predictions
    from ..evaluate import Settings, check_fields, evaluate, group_json, render_table

    types = tuple(t.strip() for t in rouge_types.split(",") if t.strip())
    if not types:
        raise InputError("--rouge-types: no ROUGE type given")
    fields = parse_fields(by)
    if ref_paths and fields:
        raise InputError("--by needs a JSONL run (--pred OUT.jsonl without --ref)")
    run = load_predictions(pred_path, ref_paths)
    check_fields(run, fields)
    settings = Settings(types, stemmer, split_sentences, bootstrap, seed, resample=resample)
    meetings = _meetings(run, data_path, split) if bootstrap and resample == RESAMPLE_MEETING else None
    groups = evaluate(run, settings, fields, meetings)
    if as_json:
        payload = {"resample": resample, **group_json(groups[0])}
        if fields:
            payload["groups"] = {g.label: group_json(g) for g in groups[1:]}
        click.echo(json.dumps(_with_faithfulness(payload, run) if faithfulness else payload, indent=2))
        return
    click.echo(render_table(groups, settings))
    if faithfulness:
        click.echo(_faithfulness_line(run))


def _meetings(run, data_path, split) -> list[str]:
    """Each prediction's meeting, for --resample meeting."""
    from ..compare import example_meetings

    try:
        return [meeting for _, meeting in example_meetings(run, data_path, split)]
    except InputError as exc:
        raise InputError(f"{exc}; or resample examples as if independent (--resample example)") from None


def _print_peer_metric(run, metric: str, max_lcs_depth: int | None, as_json: bool, faithfulness: bool) -> None:
    from ..metrics import peer_metric, render

    if max_lcs_depth is not None and metric not in ("longbench", "lm-eval-longbench"):
        raise InputError(f"--max-lcs-depth applies to --metric longbench or lm-eval-longbench only, not {metric}")
    result = peer_metric(run, metric, max_lcs_depth)
    if as_json:
        payload = result.as_json()
        click.echo(json.dumps(_with_faithfulness(payload, run) if faithfulness else payload, indent=2))
        return
    click.echo(render(result, len(run.predictions)))
    if faithfulness:
        click.echo(_faithfulness_line(run))


def _with_faithfulness(payload: dict, run) -> dict:
    """``payload`` with each prediction's signals under ``examples`` and their means."""
    from ..faithfulness import run_faithfulness
    from ..fragments import mean_signals

    signals = run_faithfulness(run)
    examples = [{"id": p.fields.get("id"), **s.as_json()} for p, s in zip(run.predictions, signals)]
    return {**payload, "faithfulness": mean_signals(signals), "examples": examples}


def _faithfulness_line(run) -> str:
    from ..faithfulness import faithfulness_result

    result = faithfulness_result(run)
    return "\nfaithfulness (means): " + ", ".join(f"{name} {result.text(name)}" for name in result.columns)


def _refuse_given(ctx: click.Context, names: tuple[str, ...], scope: str) -> None:
    """Options given on the command line that the chosen metric would ignore are an error."""
    for param in ctx.command.params:
        if param.name in names and ctx.get_parameter_source(param.name) == click.core.ParameterSource.COMMANDLINE:
            raise InputError(f"{param.opts[0]} applies to {scope} only")

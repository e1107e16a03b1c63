"""``qmsum-fast score``: ROUGE of predictions against references (rouge-score exact)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import InputError
from ._options import json_option, seed_option

# Time grows with samples x examples while the interval hardly moves past a few
# thousand samples; the cap stops a slip of the keyboard from running for hours.
MAX_BOOTSTRAP = 100_000
PATH = click.Path(path_type=Path, dir_okay=False)


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
@click.option(
    "--rouge-types",
    default="rouge1,rouge2,rougeL,rougeLsum",
    show_default=True,
    help="Which ROUGE types, comma-separated: rouge1..rouge9, rougeL, rougeLsum.",
)
@click.option(
    "--stemmer/--no-stemmer",
    default=True,
    show_default=True,
    help="NLTK Porter stemmer on tokens longer than 3 characters (rouge-score's use_stemmer).",
)
@click.option(
    "--split-sentences",
    is_flag=True,
    help="rougeLsum: split sentences with our rule-based splitter, not only at newlines (default: newlines only).",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(0, MAX_BOOTSTRAP),
    default=1000,
    show_default=True,
    help=f"Bootstrap samples for the 95% interval, 0 to {MAX_BOOTSTRAP:,} (0: means only).",
)
@seed_option
@click.option(
    "--by",
    "by",
    default="",
    help="Also report groups by these JSONL fields, e.g. domain,query_type. Default: all examples only.",
)
@json_option
def command(pred_path, ref_paths, rouge_types, stemmer, split_sentences, bootstrap, seed, by, as_json):
    """ROUGE of predictions against references, with bootstrap intervals."""
    from ..data.runs import load_predictions
    from ..evaluate import Settings, evaluate, group_json, render_table

    types = tuple(t.strip() for t in rouge_types.split(",") if t.strip())
    if not types:
        raise InputError("--rouge-types: no ROUGE type given")
    fields = [f.strip() for f in by.split(",") if f.strip()]
    if ref_paths and fields:
        raise InputError("--by needs a JSONL run (--pred OUT.jsonl without --ref)")
    run = load_predictions(pred_path, ref_paths)
    settings = Settings(types, stemmer, split_sentences, bootstrap, seed)
    groups = evaluate(run, settings, fields)
    if as_json:
        payload = group_json(groups[0])
        if fields:
            payload["groups"] = {g.label: group_json(g) for g in groups[1:]}
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(render_table(groups, settings))

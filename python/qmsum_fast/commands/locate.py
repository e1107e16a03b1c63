"""``qmsum-fast locate``: evaluate the query locator against gold turn spans."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import InputError
from ..locate import DEFAULT_WINDOW


def parse_budgets(text: str) -> list[int]:
    try:
        budgets = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--budget: expected comma-separated token counts, got {text!r}") from None
    if not budgets or any(b < 1 for b in budgets):
        raise InputError(f"--budget: expected positive token counts, got {text!r}")
    return budgets


@click.command("locate")
@click.option(
    "--budget", "budgets", default="512,1024,2048,4096", show_default=True, help="Token budgets, comma-separated."
)
@click.option(
    "--method",
    type=click.Choice(["bm25", "tfidf"]),
    default="bm25",
    show_default=True,
    help="How turns are ranked for the query.",
)
@click.option(
    "--window",
    type=click.IntRange(min=0),
    default=DEFAULT_WINDOW,
    show_default=True,
    help="Neighbouring turns (each side) that lend a turn their score, weight 1/distance; 0: none.",
)
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path),
    default=None,
    help="QMSum data (default: the bundled dataset).",
)
@click.option("--split", default="test", show_default=True, help="train, val, test or all.")
@click.option("--domain", default=None, help="academic, product or committee (default: all).")
@click.option(
    "--tokenizer", default=None, help="tokenizer.json, a folder with one, or a cached hub name (default: gpt-neox-20b)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(budgets, method, window, data_path, split, domain, tokenizer, as_json):
    """Turn-level recall and precision of the locator per budget and domain,
    against the relevant_text_span of specific queries."""
    from ..data import load_examples
    from ..locate import evaluate_locator
    from ..stats import TokenCounter

    budget_list = parse_budgets(budgets)
    examples = load_examples(data_path, split=split, domain=domain)
    counter = TokenCounter.load(tokenizer)
    scores = evaluate_locator(examples, budget_list, counter, method, window)
    if as_json:
        payload = {
            "method": method,
            "window": window,
            "split": split,
            "tokenizer": counter.source,
            "scores": [s.as_dict() for s in scores],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(
        f"locator {method} (window {window}), split {split}, turn-level recall / precision vs relevant_text_span"
    )
    click.echo(f"{'budget':>7} {'domain':<10} {'queries':>7} {'recall':>7} {'precision':>9} {'located':>8} {'gold':>6}")
    for s in scores:
        click.echo(
            f"{s.budget:>7} {s.domain:<10} {s.queries:>7} {s.recall:>7.3f} {s.precision:>9.3f} "
            f"{s.located_turns:>8.1f} {s.gold_turns:>6.1f}"
        )

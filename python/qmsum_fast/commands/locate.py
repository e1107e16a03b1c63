"""``qmsum-fast locate``: evaluate the query locator against gold turn spans."""

from __future__ import annotations

import json
from typing import Any

import click

from ..locate import DEFAULT_WINDOW, METHODS
from ._options import MAX_TOKENS, data_option, domain_option, json_option, split_option, tokenizer_option, tokens


class BudgetsType(click.ParamType):
    """Comma-separated token budgets, each 1 to 2**31-1 (what the Rust core holds)."""

    name = "budgets"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[int]:
        if isinstance(value, list):
            return value
        try:
            budgets = [int(part) for part in str(value).split(",") if part.strip()]
        except ValueError:
            self.fail(f"expected comma-separated token counts, got {value!r}", param, ctx)
        if not budgets:
            self.fail("expected at least one token count", param, ctx)
        for budget in budgets:
            if not 1 <= budget <= MAX_TOKENS:
                self.fail(f"{budget} is not in the range 1<=x<={MAX_TOKENS}.", param, ctx)
        return list(dict.fromkeys(budgets))  # a budget given twice is evaluated once, in its first place

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "N[,N...]"


@click.command("locate")
@click.option(
    "--budget",
    "budgets",
    type=BudgetsType(),
    default="512,1024,2048,4096",
    show_default=True,
    help="Token budgets, comma-separated, each 1 to 2**31-1 (one given twice counts once).",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="bm25",
    show_default=True,
    help="How turns are ranked for the query.",
)
@click.option(
    "--window",
    type=tokens(minimum=0),
    default=DEFAULT_WINDOW,
    show_default=True,
    help="Neighbouring turns (each side) that lend a turn their score, weight 1/distance; 0: none (0 to 2**31-1).",
)
@data_option
@split_option
@domain_option
@tokenizer_option
@json_option
def command(budgets, method, window, data_path, split, domain, tokenizer, as_json):
    """Turn-level recall and precision of the locator per budget and domain,
    against the relevant_text_span of specific queries."""
    from ..data import load_examples
    from ..locate import evaluate_locator
    from ..stats import TokenCounter

    examples = load_examples(data_path, split=split, domain=domain)
    counter = TokenCounter.load(tokenizer)
    scores = evaluate_locator(examples, budgets, counter, method, window)
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

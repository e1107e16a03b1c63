"""``qmsum-fast analyze``: exact token statistics and context-fit tables."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from ..errors import InputError

SPLITS = ("train", "val", "test", "all")
DOMAINS = ("academic", "product", "committee", "all")


@click.command("analyze")
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path),
    default=None,
    help="QMSum data (any supported format). Default: the bundled QMSum.",
)
@click.option("--split", type=click.Choice(SPLITS), default="all", show_default=True)
@click.option("--domain", type=click.Choice(DOMAINS), default="all", show_default=True)
@click.option(
    "--tokenizer",
    default=None,
    help="tokenizer.json, a folder holding one, or a hub name in the local HF cache. "
    "Default: the bundled gpt-neox-20b.",
)
@click.option(
    "--template",
    default="alpaca",
    show_default=True,
    help="alpaca|led|plain|scrolls|longbench|zeroscrolls, or a file with {query} and {transcript} placeholders.",
)
@click.option(
    "--preprocess",
    type=click.Choice(("qmsum", "none")),
    default="qmsum",
    show_default=True,
    help="qmsum: the upstream recipe (lowercase, word tokenization, noise markers).",
)
@click.option(
    "--reserve",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Tokens kept for generation when testing whether a prompt fits a window.",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write input/summary histograms and an input CDF (PNG) here.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
def command(data_path, split, domain, tokenizer, template, preprocess, reserve, plots_dir, as_json):
    """Exact token statistics of prompts and reference summaries, per split and domain."""
    from ..analyze import count_examples, group_rows
    from ..data import load_examples
    from ..preprocess import prepare
    from ..stats import TokenCounter
    from ..templates import load_template

    started = time.perf_counter()
    chosen_template = load_template(template)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The tokenizer loads in Rust without the GIL while Python reads the data.
        loading = pool.submit(TokenCounter.load, tokenizer)
        examples = load_examples(data_path, split=split, domain=None if domain == "all" else domain)
        if not examples:
            raise InputError(
                f"no examples for split {split!r} and domain {domain!r} in {data_path or 'the bundled QMSum'}"
            )
        prepared = prepare(examples, preprocess)
        counter = loading.result()
    rows = count_examples(examples, prepared, counter, chosen_template)
    groups = group_rows(rows)
    figures = [group.figures(reserve) for group in groups]
    overall = figures[-1]
    settings = {
        "data": str(data_path) if data_path else "bundled QMSum",
        "tokenizer": tokenizer or "gpt-neox-20b (bundled)",
        "template": template,
        "preprocess": preprocess,
        "reserve": reserve,
    }
    if plots_dir is not None:
        from ..plots import write_plots

        inputs = [row.input_tokens for row in rows]
        summaries = [n for row in rows for n in row.summary_tokens]
        written = write_plots(inputs, summaries, plots_dir, reserve, f"QMSum {split}/{domain}")
        settings["plots"] = [str(path) for path in written]
    seconds = time.perf_counter() - started
    if as_json:
        payload = {**settings, **{k: overall[k] for k in ("pairs", "input_tokens", "summary_tokens", "fits")}}
        payload["groups"] = figures
        payload["seconds"] = round(seconds, 3)
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(_render_tables(settings, figures))
    click.echo(
        f"\n{len(rows)} prompts counted in {seconds:.2f} s"
        + ("" if counter.splits_exactly else " (tokenizer not splittable: every prompt tokenized in full)")
    )
    for path in settings.get("plots", []):
        click.echo(f"wrote {path}")


def _render_tables(settings: dict, figures: list[dict]) -> str:
    head = " · ".join(f"{key} {value}" for key, value in settings.items() if key != "plots")
    lines = [head, ""]
    for key, title in (
        ("input_tokens", "Input tokens (full prompt)"),
        ("summary_tokens", "Summary tokens (reference)"),
    ):
        lines.append(title)
        lines.append(
            f"{'split':<6} {'domain':<10} {'n':>5} {'mean':>9} {'median':>8} {'p90':>8} {'p95':>8} {'min':>7} {'max':>7}"
        )
        for fig in figures:
            s = fig[key]
            if s is None:
                continue
            lines.append(
                f"{fig['split']:<6} {fig['domain']:<10} {s['count']:>5} {s['mean']:>9.2f} {s['median']:>8.1f}"
                f" {s['p90']:>8.1f} {s['p95']:>8.1f} {s['min']:>7} {s['max']:>7}"
            )
        lines.append("")
    windows = list(figures[0]["fits"])
    lines.append(f"Context fit (share of prompts with length + reserve {settings['reserve']} <= window)")
    lines.append(f"{'split':<6} {'domain':<10} {'pairs':>5} " + " ".join(f"{_window_label(w):>6}" for w in windows))
    for fig in figures:
        shares = " ".join(f"{100 * fig['fits'][w]:>5.1f}%" for w in windows)
        lines.append(f"{fig['split']:<6} {fig['domain']:<10} {fig['pairs']:>5} {shares}")
    return "\n".join(lines)


def _window_label(window: str) -> str:
    return f"{int(window) // 1024}k"

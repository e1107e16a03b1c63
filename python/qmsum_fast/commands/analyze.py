"""``qmsum-fast analyze``: exact token statistics and context-fit tables."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from ._options import (
    data_option,
    domain_option,
    json_option,
    make_template_option,
    overwrite_option,
    preprocess_option,
    split_option,
    tokenizer_option,
    tokens,
)


@click.command("analyze")
@data_option
@split_option
@domain_option
@tokenizer_option
@make_template_option("alpaca", "")
@preprocess_option
@click.option(
    "--reserve",
    type=tokens(minimum=0),
    default=0,
    show_default=True,
    help="Tokens kept for generation when testing whether a prompt fits a window (0 to 2**31-1).",
)
@click.option(
    "--plots",
    "plots_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Write input/summary histograms and an input CDF (input_tokens.png, summary_tokens.png, input_cdf.png) "
    "into this folder. Default: no plots.",
)
@overwrite_option
@json_option
def command(data_path, split, domain, tokenizer, template, preprocess, reserve, plots_dir, overwrite, as_json):
    """Exact token statistics of prompts and reference summaries, per split and domain."""
    from ..analyze import group_rows
    from ..templates import default_preprocess, template_from

    started = time.perf_counter()
    chosen_template = template_from(template)
    preprocess = preprocess or default_preprocess(template)
    if plots_dir is not None:
        inputs = [("--data", data_path), ("--tokenizer", tokenizer), ("--template", template)]
        _check_plots(plots_dir, overwrite, inputs)
    rows, counter = _count(data_path, split, domain, tokenizer, preprocess, chosen_template)
    figures = [group.figures(reserve) for group in group_rows(rows)]
    settings = {
        "data": str(data_path) if data_path else "bundled QMSum",
        "tokenizer": tokenizer or "gpt-neox-20b (bundled)",
        "template": template,
        "preprocess": preprocess,
        "reserve": reserve,
    }
    if plots_dir is not None:
        written = _write_plots(rows, plots_dir, reserve, f"QMSum {split}/{domain or 'all'}")
        settings["plots"] = [str(path) for path in written]
    seconds = time.perf_counter() - started
    if as_json:
        overall = figures[-1]
        keys = ("pairs", "input_tokens", "summary_tokens", "fits", "prefill")
        payload = {**settings, **{k: overall[k] for k in keys}}
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


def _check_plots(plots_dir: Path, overwrite: bool, inputs: list) -> None:
    """Refuses the three plot files before any counting, so a bad --plots costs nothing."""
    from ..files import check_distinct, check_outputs
    from ..plots import plot_paths

    paths = plot_paths(plots_dir)
    check_distinct([("--plots", path) for path in paths], inputs)
    check_outputs(paths, overwrite)


def _count(data_path, split, domain, tokenizer, preprocess, template):
    """The counted rows of the chosen examples, and the token counter."""
    from ..analyze import count_examples
    from ..data import load_examples
    from ..preprocess import prepare
    from ..stats import TokenCounter

    with ThreadPoolExecutor(max_workers=1) as pool:
        # The tokenizer loads in Rust without the GIL while Python reads the data.
        loading = pool.submit(TokenCounter.load, tokenizer)
        examples = load_examples(data_path, split=split, domain=domain)
        prepared = prepare(examples, preprocess)
        counter = loading.result()
    return count_examples(examples, prepared, counter, template), counter


def _write_plots(rows, plots_dir: Path, reserve: int, title: str) -> list[Path]:
    from ..plots import write_plots

    inputs = [row.input_tokens for row in rows]
    summaries = [n for row in rows for n in row.summary_tokens]
    return write_plots(inputs, summaries, plots_dir, reserve, title)


def _render_tables(settings: dict, figures: list[dict]) -> str:
    head = " · ".join(f"{key} {value}" for key, value in settings.items() if key != "plots")
    lines = [head, ""]
    for key, title in (
        ("input_tokens", "Input tokens (full prompt)"),
        ("summary_tokens", "Summary tokens (reference)"),
    ):
        lines.append(title)
        lines.append(
            f"{'split':<6} {'domain':<10} {'n':>5} {'mean':>9} {'median':>8} "
            f"{'p90':>8} {'p95':>8} {'min':>7} {'max':>7}"
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
    lines.append("")
    lines.extend(_prefill_table(figures))
    return "\n".join(lines)


def _prefill_table(figures: list[dict]) -> list[str]:
    """Prompt tokens without and with reuse (generate --reuse auto computes a
    meeting's common token prefix once), per group."""
    lines = [
        "Prefill tokens (with reuse: each meeting's common token prefix computed once)",
        f"{'split':<6} {'domain':<10} {'pairs':>5} {'meetings':>9} {'without reuse':>14} {'with reuse':>12}"
        f" {'ratio':>7}",
    ]
    for fig in figures:
        p = fig["prefill"]
        ratio = "-" if p["ratio"] is None else f"{p['ratio']:.2f}x"
        lines.append(
            f"{fig['split']:<6} {fig['domain']:<10} {fig['pairs']:>5} {p['meetings']:>9}"
            f" {p['without_reuse']:>14} {p['with_reuse']:>12} {ratio:>7}"
        )
    return lines


def _window_label(window: str) -> str:
    return f"{int(window) // 1024}k"

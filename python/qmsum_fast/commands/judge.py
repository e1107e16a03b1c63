"""``qmsum-fast judge``: key-point recall, precision and fluency of runs, from a judge model
behind an OpenAI-compatible server (docs/judge.md)."""

from __future__ import annotations

from pathlib import Path

import click

from ._options import (
    MAX_SEED,
    FiniteFloat,
    make_api_key_env_option,
    make_api_option,
    make_base_url_option,
    make_concurrency_option,
    make_max_retries_option,
    make_request_timeout_option,
    output_option,
    overwrite_option,
    tokens,
)

RUN = click.Path(path_type=Path, dir_okay=False)


@click.command("judge")
@click.argument("runs", type=RUN, nargs=-1, required=True)
@output_option("The JSONL judgments file to write (--out is another name for it).", "--out")
@click.option("--model", required=True, help="The judge: the model's name on the server (as /v1/models lists it).")
@make_base_url_option()
@make_api_option()
@make_concurrency_option()
@make_request_timeout_option()
@make_max_retries_option()
@make_api_key_env_option()
@click.option(
    "--max-judge-retries",
    type=click.IntRange(0, 100),
    default=2,
    show_default=True,
    help="Times a prompt is asked again when the reply holds no valid verdict (no JSON object with the "
    "expected key, or a number out of range); then the example is recorded as not judged.",
)
@click.option(
    "--max-new-tokens",
    type=tokens(),
    default=1024,
    show_default=True,
    help="The judge's reply length at most (it reasons before its verdict).",
)
@click.option(
    "--temperature",
    type=FiniteFloat(min=0.0),
    default=0.1,
    show_default=True,
    help="The judge's sampling temperature (HELMET's 0.1; a retry can then give another reply).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="Seed sent with each request when the temperature is above 0 (0 to 2**32-1).",
)
@click.option(
    "--prompts",
    "prompts_folder",
    type=click.Path(path_type=Path, file_okay=False),
    help="A folder with extract.txt, recall.txt, precision.txt and fluency.txt replacing the bundled prompt "
    "templates. Default: the bundled ones.",
)
@click.option(
    "--key-points",
    "key_points",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The key-point file to read and add to (a file of your own, without a qmsum-fast header, is only read). "
    "Default: key-points.jsonl in the folder of -o.",
)
@click.option("--resume", is_flag=True, help="Continue -o (same configuration), redoing examples with errors.")
@overwrite_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print how many requests and prompt tokens the judgment would send, and send nothing.",
)
@click.option(
    "--tokenizer",
    default=None,
    help="--dry-run: the judge's tokenizer (tokenizer.json, its folder, or a hub name in the local HF cache) to "
    "count prompt tokens with. Default: none (characters / 4, approximate).",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal)."
)
def command(**options) -> None:
    """Judge RUNS with a model: key-point recall, precision, fluency and their score per example."""
    from ..errors import InputError
    from ..files import check_distinct
    from ..gen.config import Runtime
    from ..gen.served.client import parse_base_url
    from ..gen.served.config import DEFAULT_CONCURRENCY, DEFAULT_MAX_RETRIES, DEFAULT_REQUEST_TIMEOUT, api_key
    from ..judge import load_prompts
    from ..judge_run import DEFAULT_KEY_POINTS_NAME, Settings, dry_run, judge

    runtime = Runtime(
        base_url=tuple(parse_base_url(url).url for url in options["base_url"]),
        concurrency=options["concurrency"] or DEFAULT_CONCURRENCY,
        request_timeout=options["request_timeout"] or DEFAULT_REQUEST_TIMEOUT,
        max_retries=DEFAULT_MAX_RETRIES if options["max_retries"] is None else options["max_retries"],
        api_key_env=options["api_key_env"],
    )
    out: Path = options["out"]
    settings = Settings(
        runs=tuple(options["runs"]),
        model=options["model"],
        api=options["api"],
        runtime=runtime,
        max_judge_retries=options["max_judge_retries"],
        max_new_tokens=options["max_new_tokens"],
        temperature=options["temperature"],
        seed=options["seed"],
        prompts=load_prompts(options["prompts_folder"]),
        key_points=options["key_points"] or out.parent / DEFAULT_KEY_POINTS_NAME,
        out=out,
        resume=options["resume"],
        overwrite=options["overwrite"],
        progress=options["progress"],
    )
    check_distinct(
        [("-o", out), ("--key-points", settings.key_points)],
        [("RUN", run) for run in settings.runs] + [("--prompts", options["prompts_folder"])],
    )
    if options["dry_run"]:
        click.echo(dry_run(settings, _counting_tokenizer(options["tokenizer"], settings.api)))
        return
    if options["tokenizer"] is not None:
        raise InputError("--tokenizer counts prompt tokens for --dry-run only (the server counts its own)")
    if not runtime.base_url:
        raise InputError("judge needs --base-url (the judge server's API root, e.g. http://127.0.0.1:8000/v1)")
    api_key(runtime)  # an unset variable is refused before anything is sent
    click.echo(judge(settings), err=True)


def _counting_tokenizer(spec: str | None, api: str):
    """The tokenizer counting prompts as the server will (inside the chat template with --api chat)."""
    if spec is None:
        return None
    from ..gen.served.config import served_tokenizer
    from ..gen.served.runner import CountingTokenizer

    return CountingTokenizer(served_tokenizer(spec, api).tokenizer, chat=api == "chat")

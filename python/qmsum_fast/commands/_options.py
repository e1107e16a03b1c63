"""Options shared by several commands, declared once.

The same option has the same name, type, default and help in every command
that takes it; its value arrives normalised (``--split dev`` arrives as
``"val"``, ``--domain ALL`` as None).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import click

from ..data import DOMAINS, SPLIT_ALIASES, SPLITS
from ..judge import JUDGE_PREFIX
from ..preprocess import MODES as PREPROCESS_MODES
from ..resample import RESAMPLE_MEETING, RESAMPLINGS
from ..templates import BUILTIN, PEER_TEMPLATES

# Ranges that keep every integer within what the Rust core and numpy accept.
MAX_TOKENS = 2**31 - 1
MAX_SEED = 2**32 - 1
# Python's recursion limit is a C int.
MAX_DEPTH = 2**31 - 1
# Time grows with samples x examples while an interval hardly moves past a few
# thousand samples; the cap stops a slip of the keyboard from running for hours.
MAX_SAMPLES = 100_000
DEFAULT_SPLIT = "test"


class SplitType(click.ParamType):
    """train, val (aliases validation, dev), test or all; any case."""

    name = "split"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        split = SPLIT_ALIASES.get(str(value).lower())
        if split is None:
            self.fail(f"{value!r} is not one of {', '.join((*SPLITS, 'all'))}", param, ctx)
        return split

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[train|val|test|all]"


class DomainType(click.ParamType):
    """academic, product, committee or all (None); any case."""

    name = "domain"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str | None:
        if value is None:
            return None
        domain = str(value).lower()
        if domain == "all":
            return None
        if domain not in DOMAINS:
            self.fail(f"{value!r} is not one of {', '.join((*DOMAINS, 'all'))}", param, ctx)
        return domain

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[academic|product|committee|all]"


class FiniteFloat(click.FloatRange):
    """A float in a range, never nan or infinite (nan passes any range check:
    every comparison with it is false; and a run header is JSON, which has neither)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


def positive_float() -> FiniteFloat:
    """A finite number above 0 (temperatures, penalties, timeouts)."""
    return FiniteFloat(min=0.0, min_open=True)


_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


class DeviceType(click.ParamType):
    """auto, cpu, cuda or cuda:N. Whether the GPU exists is checked when the
    command starts, before anything loads (gen.local.models.resolve_device)."""

    name = "device"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        device = str(value).strip().lower()
        if not _DEVICE.fullmatch(device):
            self.fail(f"{value!r} is not one of auto, cpu, cuda, cuda:N", param, ctx)
        return device

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[auto|cpu|cuda|cuda:N]"


def output_option(help_text: str, *aliases: str) -> Any:
    """``-o/--output``, the file a command writes (``generate`` also takes ``--out``)."""
    return click.option(
        "-o", "--output", *aliases, "out", type=click.Path(path_type=Path), required=True, help=help_text
    )


def tokens(minimum: int = 1) -> click.IntRange:
    """A token count the Rust core can hold."""
    return click.IntRange(minimum, MAX_TOKENS)


DATA_PATH = click.Path(path_type=Path)


def make_data_option(help_text: str) -> Any:
    """``--data`` with what it is for in one command (``export``: the data of a run)."""
    return click.option("--data", "data_path", type=DATA_PATH, default=None, help=help_text)


data_option = make_data_option(
    "QMSum data: an upstream data root, split folder, meeting file, JSONL (upstream, SCROLLS, ZeroSCROLLS, "
    "LongBench) or alpaca JSON. Default: the bundled QMSum."
)
SPLIT_HELP = "Which split: train, val (or validation, dev), test, or all."
SPLIT = SplitType()
split_option = click.option("--split", type=SPLIT, default=DEFAULT_SPLIT, show_default=True, help=SPLIT_HELP)
# view reads the split from the runs it shows unless told.
recorded_split_option = click.option(
    "--split",
    type=SPLIT,
    default=None,
    help=f"{SPLIT_HELP} Default: the split the runs' headers record (all when they differ, test when they "
    "record none).",
)
domain_option = click.option(
    "--domain",
    type=DomainType(),
    default="all",
    show_default=True,
    help="Which domain: academic, product, committee, or all.",
)
seed_option = click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="Random seed (0 to 2**32-1).",
)
overwrite_option = click.option(
    "--overwrite",
    is_flag=True,
    help="Replace output files that already exist (default: refuse). The old file stays until the new one is complete.",
)


def make_preprocess_option(default: str | None) -> Any:
    """``--preprocess`` with ``default``: ``convert`` keeps 'Speaker: text' lines unless asked (its
    ``--to jsonl`` takes no other mode). None: the template decides
    (:func:`qmsum_fast.templates.default_preprocess`), as in ``analyze`` and ``generate``."""
    modes = "qmsum: the upstream recipe (lowercased, word-tokenized, noise markers removed), as the original "
    modes += "experiments; none: 'Speaker: text' lines as given."
    if default is None:
        modes += (
            f" Default: none with the peers' templates ({', '.join(PEER_TEMPLATES)}), which build their prompts "
            "from the raw transcript; qmsum otherwise."
        )
    return click.option(
        "--preprocess",
        type=click.Choice(PREPROCESS_MODES),
        default=default,
        show_default=default is not None,
        help=modes,
    )


preprocess_option = make_preprocess_option(None)


def make_template_option(default: str | None, default_help: str) -> Any:
    """``--template`` as analyze and generate take it: a built-in name, a file, or the text itself
    (qmsum_fast.templates.template_from)."""
    return click.option(
        "--template",
        default=default,
        show_default=default is not None,
        help=f"A built-in template ({', '.join(BUILTIN)}), a template file, or text with {{transcript}} and "
        f"{{query}}.{default_help}",
    )


tokenizer_option = click.option(
    "--tokenizer",
    default=None,
    help="tokenizer.json, a folder holding one, or a hub name in the local HF cache. Default: the bundled "
    "gpt-neox-20b.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")


# The metric options of score, report and view.
METRIC_HELP = (
    "rouge-score: this package's rouge-score-exact table; scrolls, lm-eval-scrolls, longbench, lm-eval-longbench: "
    "that leaderboard's own figures, rounded as it rounds (docs/leaderboards.md)."
)


JUDGE_HELP = "judge:JUDGMENTS.jsonl: the judge's recall, precision, fluency and score from a file of qmsum-fast judge."


class MetricType(click.ParamType):
    """One of :data:`METRICS`, any case; ``several``: a comma-separated list of
    them (a tuple); ``judge``: ``judge:FILE`` too (the file name as given)."""

    name = "metric"

    def __init__(self, several: bool = False, judge: bool = False) -> None:
        self.several = several
        self.judge = judge

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from ..metrics import METRICS

        parts = str(value).split(",") if self.several else [str(value)]
        names = [self._name(part.strip()) for part in parts if part.strip() or not self.several]
        for name in names:
            if name not in METRICS and not (self.judge and name.startswith(JUDGE_PREFIX)):
                self.fail(f"{name!r} is not one of {', '.join(self._choices())}", param, ctx)
        return tuple(names) if self.several else names[0]

    def _name(self, part: str) -> str:
        if self.judge and part.lower().startswith(JUDGE_PREFIX):
            return JUDGE_PREFIX + part[len(JUDGE_PREFIX) :]
        return part.lower()

    def _choices(self) -> list[str]:
        from ..metrics import METRICS

        return [*METRICS, f"{JUDGE_PREFIX}FILE"] if self.judge else list(METRICS)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self._choices()) + "]" + (",..." if self.several else "")


def make_metric_option(what: str, several: bool = False, judge: bool = False) -> Any:
    """``--metric``, one of :data:`METRICS` (any case); ``several``: repeated or
    comma-separated, side by side; ``judge``: ``judge:FILE`` too. ``what`` says
    what the command does with it. (metrics, with the scorers, is imported by
    the commands that score only.)"""
    from ..metrics import ROUGE_SCORE

    help_text = f"{what} {METRIC_HELP}" + (f" {JUDGE_HELP}" if judge else "")
    if several:
        return click.option(
            "--metric",
            "metric_values",
            type=MetricType(several=True, judge=judge),
            multiple=True,
            default=(ROUGE_SCORE,),
            show_default=True,
            help=f"{what} Repeat or comma-separate them. {help_text[len(what) + 1 :]}",
        )
    return click.option(
        "--metric", type=MetricType(judge=judge), default=ROUGE_SCORE, show_default=True, help=help_text
    )


stemmer_option = click.option(
    "--stemmer/--no-stemmer",
    default=True,
    show_default=True,
    help="rouge-score: NLTK Porter stemmer on tokens longer than 3 characters (rouge-score's use_stemmer); "
    "the peers' metrics fix their own.",
)
max_lcs_depth_option = click.option(
    "--max-lcs-depth",
    type=click.IntRange(0, MAX_DEPTH),
    default=None,
    help="longbench, lm-eval-longbench: how many frames rouge 1.0.1's recursive LCS backtrack may nest before "
    "Python's RecursionError scores the example 0.0 (0: no limit). Default: 991 for longbench, 982 for "
    "lm-eval-longbench (the peer's script on CPython 3.11+; one less on 3.7-3.10).",
)
# view and compare: the references of prediction files that carry none.
references_option = click.option(
    "--ref",
    "ref_paths",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="References for prediction files that hold none: the SCROLLS-format file of a SCROLLS / ZeroSCROLLS "
    "submission, or plain-text references (repeatable) of plain-text predictions. Default: none (runs and "
    "LongBench predictions carry theirs).",
)
faithfulness_option = click.option(
    "--faithfulness",
    is_flag=True,
    help="Also each prediction's faithfulness signals against its transcript and query (extractive coverage "
    "and density, share of novel 2-grams; docs/view.md): per example under 'examples' with --json, means "
    "otherwise. Needs the data the run was made from (its header names it). Default: off.",
)


# The options of a served model (generate --engine openai, judge): the same declarations, whose help
# starts with ``scope`` (where the command has other engines, e.g. "--engine openai: "). Defaults are
# None where the engine fills them in (gen/served/config.py: DEFAULT_CONCURRENCY, ...).
def make_base_url_option(scope: str = "") -> Any:
    return click.option(
        "--base-url",
        multiple=True,
        help=_scoped(
            scope,
            "the server's API root, e.g. http://127.0.0.1:8000/v1; repeat it for replicas "
            "(each request goes to the least busy one, except that generate --reuse auto keeps a meeting's requests "
            "on one). Default: none.",
        ),
    )


def make_api_option(scope: str = "") -> Any:
    return click.option(
        "--api",
        type=click.Choice(["completions", "chat"]),
        default="completions",
        show_default=True,
        help=_scoped(scope, "/completions sends the prompt as is; /chat/completions as one user message."),
    )


def make_concurrency_option(scope: str = "") -> Any:
    return click.option(
        "--concurrency",
        type=click.IntRange(1, 4096),
        help=_scoped(scope, "requests in flight at once, over all replicas (default 8)."),
    )


def make_request_timeout_option(scope: str = "") -> Any:
    return click.option(
        "--request-timeout",
        type=positive_float(),
        help=_scoped(scope, "seconds without an answer before a request is retried (default 600)."),
    )


def make_max_retries_option(scope: str = "") -> Any:
    return click.option(
        "--max-retries",
        type=click.IntRange(0, 100),
        help=_scoped(scope, "retries of a request after 429, 5xx, a lost connection or a timeout (default 5)."),
    )


def make_api_key_env_option(scope: str = "") -> Any:
    return click.option(
        "--api-key-env",
        help=_scoped(scope, "the environment variable holding the API key (never recorded). Default: no key."),
    )


def _scoped(scope: str, text: str) -> str:
    """``text`` after ``scope``, or as a sentence of its own without one."""
    return scope + text if scope else text[0].upper() + text[1:]


resample_option = click.option(
    "--resample",
    type=click.Choice(RESAMPLINGS),
    default=RESAMPLE_MEETING,
    show_default=True,
    help="What bootstrap intervals (and view's paired tests) resample: meeting (draw meetings with replacement, "
    "keeping all their queries, which are not independent; score's figure is then the plain mean) or example "
    "(queries as if independent; in score, rouge-score's BootstrapAggregator, its figures exactly). "
    "docs/statistics.md.",
)
by_option = click.option(
    "--by",
    "by",
    default="",
    help="Also report groups by these JSONL fields, e.g. domain,query_type. Default: all examples only.",
)


def parse_fields(value: str) -> list[str]:
    """The field names of a comma-separated ``--by``."""
    return [f.strip() for f in value.split(",") if f.strip()]

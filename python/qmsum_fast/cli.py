"""The ``qmsum-fast`` command line.

Commands live in ``qmsum_fast.commands.<name>`` and are imported only when
invoked, so ``qmsum-fast analyze`` and ``score`` never load torch. Every error
a user can cause, a bad option included, is one line on stderr with exit
status 2; Ctrl-C exits with status 130. Standard output that cannot be
written (a full disk) is one line and status 2 too; a closed pipe (``| head``)
ends quietly with status 141, as a tool stopped by SIGPIPE.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import sys
from typing import NoReturn

import click

from .errors import InputError, Interrupted

COMMANDS = {
    "analyze": "Exact token statistics, context-fit tables and histograms.",
    "convert": "Write QMSum in another format (alpaca, scrolls, longbench, jsonl).",
    "export": "Write a run as a SCROLLS submission or as LongBench predictions.",
    "score": "ROUGE of predictions: rouge-score exact, or SCROLLS, LongBench and lm-eval figures.",
    "report": "One results table across runs (several metrics side by side), and a bar chart if asked.",
    "compare": "Runs against a baseline: paired differences, intervals and tests that resample meetings.",
    "generate": "Generate query-focused summaries with a model or a baseline.",
    "make-model": "Save a random-weight model with a real architecture (for tests).",
    "locate": "Rank transcript turns for a query and evaluate against gold spans.",
    "judge": "Key-point recall, precision and fluency of runs, from a judge model behind an OpenAI-compatible server.",
    "view": "Runs side by side in one self-contained HTML page (scores, highlights, faithfulness).",
}


class LazyGroup(click.Group):
    """Imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(_module_name(name))
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage_error(ctx, exc)

    def invoke(self, ctx: click.Context):
        from .files import tracking_inputs

        try:
            with tracking_inputs():  # no command replaces a file it has read
                return super().invoke(ctx)
        except click.UsageError as exc:
            _usage_error(exc.ctx or ctx, exc)
        except InputError as exc:
            click.echo(f"qmsum-fast: error: {exc}", err=True)
            ctx.exit(2)
        except Interrupted as exc:
            click.echo(f"qmsum-fast: {exc}", err=True)
            ctx.exit(130)
        except KeyboardInterrupt:
            click.echo("qmsum-fast: interrupted", err=True)
            ctx.exit(130)
        except OSError as exc:
            # Files are written through qmsum_fast.files, whose errors are
            # InputErrors naming the file: what arrives here is a standard stream.
            _stream_error(ctx, exc)


# Write errors of the standard streams: the reader went away (a closed pipe).
CLOSED = (errno.EPIPE, errno.ECONNRESET)
SIGPIPE_STATUS = 128 + 13


def _stream_error(ctx: click.Context, exc: OSError) -> NoReturn:
    """A closed pipe ends quietly (status 141, as a tool stopped by SIGPIPE);
    any other failure to write (a full disk) is one line, status 2. Standard
    output then goes to /dev/null so that the exit's final flush cannot fail
    again (Python would print "Exception ignored")."""
    _silence_stdout()
    if exc.errno in CLOSED:
        ctx.exit(SIGPIPE_STATUS)
    reason = exc.strerror or exc
    what = f"{exc.filename}: {reason}" if exc.filename else f"standard output: cannot write: {reason}"
    with contextlib.suppress(OSError):  # stderr gone too: the status says it
        click.echo(f"qmsum-fast: error: {what}", err=True)
    ctx.exit(2)


def _silence_stdout() -> None:
    try:
        descriptor = os.open(os.devnull, os.O_WRONLY)
        os.dup2(descriptor, sys.stdout.fileno())
        os.close(descriptor)
    except (OSError, ValueError, AttributeError):
        return  # no real descriptor (a test runner's stream): nothing to silence
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()  # what could not be written goes to /dev/null now


def _usage_error(ctx: click.Context, exc: click.UsageError) -> NoReturn:
    """A bad option or argument, in the one-line style of every other error."""
    message = exc.format_message().rstrip(".")
    click.echo(f"qmsum-fast: error: {message} (see '{ctx.command_path} --help')", err=True)
    ctx.exit(2)


def _module_name(command: str) -> str:
    return "qmsum_fast.commands." + command.replace("-", "_")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="qmsum-fast")
def main() -> None:
    """Fast, exact tools for query-based meeting summarization on QMSum."""

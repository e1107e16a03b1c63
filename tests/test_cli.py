"""The installed entry point, in a fresh interpreter (nothing pre-imported)."""

import subprocess
import sys

from qmsum_fast.cli import COMMANDS


def run(*args):
    return subprocess.run([sys.executable, "-m", "qmsum_fast", *args], capture_output=True, text=True)


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for name in COMMANDS:
        assert name in result.stdout


def test_a_command_runs_in_a_fresh_interpreter():
    result = run("analyze", "--split", "val", "--domain", "academic", "--json")
    assert result.returncode == 0, result.stderr
    assert '"pairs": 54' in result.stdout


def test_analyze_and_score_do_not_import_torch():
    code = (
        "import sys\n"
        "from qmsum_fast.cli import main\n"
        "for args in (['analyze', '--split', 'val', '--domain', 'academic', '--json'], ['score', '--help']):\n"
        "    try:\n        main(args)\n    except SystemExit as exit:\n        assert exit.code in (0, None)\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def options_by_command():
    import click

    from qmsum_fast.cli import main

    context = click.Context(main)
    return {
        name: {p.name: p for p in main.get_command(context, name).params if isinstance(p, click.Option)}
        for name in COMMANDS
    }


def test_every_option_says_what_it_does():
    for name, options in options_by_command().items():
        for option in options.values():
            assert option.help and len(option.help) > 10, f"{name} {option.opts} has no help"


SHARED = (
    "data_path",
    "split",
    "domain",
    "seed",
    "tokenizer",
    "preprocess",
    "as_json",
    "overwrite",
    "stemmer",
    "max_lcs_depth",
    "faithfulness",
)


def test_shared_options_are_the_same_in_every_command():
    commands = options_by_command()
    for option_name in SHARED:
        taking = {name: options[option_name] for name, options in commands.items() if option_name in options}
        assert taking, option_name
        # The help may say what the option does in that command; name and type are one.
        declared = {(tuple(o.opts), o.type.__class__, repr(o.type)) for o in taking.values()}
        assert len(declared) == 1, (option_name, declared)
        # convert keeps 'Speaker: text' lines by default; jsonl output takes nothing else.
        defaults = {o.default for name, o in taking.items() if (name, option_name) != ("convert", "preprocess")}
        assert len(defaults) == 1, (option_name, defaults)
    assert commands["analyze"]["split"].default == "test" and commands["locate"]["domain"].default == "all"

"""The installed entry point, in a fresh interpreter (nothing pre-imported)."""

import json
import subprocess
import sys

import pytest

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


# Commands whose --split defaults to what the runs they read record.
RUN_READERS = ("view", "score", "compare")

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
        # convert keeps 'Speaker: text' lines by default (jsonl output takes nothing else); the commands that
        # read runs take the split the runs record unless told (test_run_readers_split_shows_its_real_default).
        own_default = {("convert", "preprocess"), *((reader, "split") for reader in RUN_READERS)}
        defaults = {o.default for name, o in taking.items() if (name, option_name) not in own_default}
        assert len(defaults) == 1, (option_name, defaults)
    assert commands["analyze"]["split"].default == "test" and commands["locate"]["domain"].default == "all"


# Commands that write a file, and the option that names it.
WRITERS = {
    "convert": "out",
    "export": "out",
    "view": "out",
    "generate": "out",
    "judge": "out",
    "report": "markdown_path",
}


def test_every_command_that_writes_a_file_takes_dash_o_and_output():
    commands = options_by_command()
    for name, option_name in WRITERS.items():
        option = commands[name][option_name]
        assert option.opts[:2] == ["-o", "--output"], (name, option.opts)
    assert commands["generate"]["out"].opts == ["-o", "--output", "--out"]
    assert commands["report"]["markdown_path"].opts == ["-o", "--output", "--markdown"]


def test_metric_takes_the_same_values_in_score_report_and_view():
    import click

    from qmsum_fast.metrics import METRICS

    commands = options_by_command()
    taking = {
        name: commands[name]["metric" if name != "report" else "metric_values"] for name in ("score", "view", "report")
    }
    for name, option in taking.items():
        for metric in METRICS:
            for spelled in (metric, metric.upper()):
                converted = option.type.convert(spelled, option, None)
                assert converted == ((metric,) if name == "report" else metric), (name, spelled)
        with pytest.raises(click.BadParameter, match="'rouge' is not one of rouge-score, scrolls"):
            option.type.convert("rouge", option, None)
        assert option.default in ("rouge-score", ("rouge-score",))
    assert taking["report"].type.convert("scrolls, ROUGE-score", taking["report"], None) == ("scrolls", "rouge-score")


def test_template_takes_the_same_forms_in_analyze_and_generate(tmp_path):
    commands = options_by_command()
    analyze, generate = commands["analyze"]["template"], commands["generate"]["template"]
    assert analyze.opts == generate.opts and type(analyze.type) is type(generate.type)
    assert analyze.help.split(".")[0] == generate.help.split(".")[0]
    inline = "Q: {query}\n{transcript}\nA:"
    template_file = tmp_path / "t.txt"
    template_file.write_text(inline)
    figures = []
    for template in ("alpaca", str(template_file), inline):
        result = run("analyze", "--split", "val", "--domain", "academic", "--template", template, "--json")
        assert result.returncode == 0, (template, result.stderr)
        figures.append(json.loads(result.stdout)["input_tokens"])
    assert figures[1] == figures[2]  # the text given inline counts as the same text in a file


def test_run_readers_split_shows_its_real_default():
    for reader in RUN_READERS:
        option = options_by_command()[reader]["split"]
        assert option.default is None and not option.show_default, reader
        assert "Default: the split the runs' headers record" in option.help, reader


def test_the_package_imports_its_names_when_first_used():
    """``import qmsum_fast`` loads no baselines, run configuration or numpy; every public name still resolves."""
    code = (
        "import sys, qmsum_fast\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('qmsum_fast.'))\n"
        "assert loaded == ['qmsum_fast._core', 'qmsum_fast.errors'], loaded\n"
        "assert 'numpy' not in sys.modules\n"
        "assert set(qmsum_fast.__all__) == {'InputError', '__version__', *qmsum_fast._EXPORTS}\n"
        "for name in qmsum_fast.__all__:\n"
        "    getattr(qmsum_fast, name)\n"
        "from qmsum_fast import RougeScorer, build_config, baselines\n"
        "assert set(dir(qmsum_fast)) >= set(qmsum_fast.__all__)\n"
        "try:\n    qmsum_fast.no_such_name\nexcept AttributeError as exc:\n    assert 'no_such_name' in str(exc)\n"
        "else:\n    raise AssertionError('no AttributeError')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_analyze_imports_no_scoring_or_generation_modules():
    code = (
        "import sys\n"
        "from qmsum_fast.cli import main\n"
        "try:\n    main(['analyze', '--split', 'val', '--domain', 'academic', '--json'])\n"
        "except SystemExit as exit:\n    assert exit.code in (0, None)\n"
        "unused = {'qmsum_fast.metrics', 'qmsum_fast.rouge', 'qmsum_fast.data.runs', 'qmsum_fast.baselines',\n"
        "          'qmsum_fast.gen.config', 'qmsum_fast.locate'}\n"
        "assert not unused & set(sys.modules), sorted(unused & set(sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr

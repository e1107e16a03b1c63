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

"""Option values that pass a type but would crash inside torch or transformers
are refused at the command line in one line; a missing gen extra and a
mistyped model folder are one line too (issue 17, items 8, 9 and 12)."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import pytest

from cli_helpers import cli, error, records

DATA = Path(__file__).parent / "data" / "gen_qmsum"
NON_FINITE = ["nan", "NaN", "inf", "-inf", "Infinity"]


def generate(tmp_path, *args):
    return ["generate", "--data", DATA, "--split", "train", "-o", tmp_path / "run.jsonl", *args]


@pytest.mark.parametrize(
    ("option", "values"),
    [
        ("--temperature", ["0", "-1", *NON_FINITE]),
        ("--repetition-penalty", ["0", "-0.5", *NON_FINITE]),
        ("--top-p", ["1.5", "-0.1", *NON_FINITE]),
        ("--request-timeout", ["0", *NON_FINITE]),
    ],
)
def test_float_options_refuse_zero_negative_and_non_finite_values(tmp_path, option, values):
    for value in values:
        message = error(*generate(tmp_path, "--model", "lead", option, value))
        assert message.startswith(f"Invalid value for '{option}': "), (value, message)
        assert not (tmp_path / "run.jsonl").exists()


def test_every_float_option_of_every_command_refuses_nan_and_inf():
    import click

    from test_cli import options_by_command

    for name, options in options_by_command().items():
        for option in options.values():
            if isinstance(option.type, click.types.FloatParamType):
                for value in NON_FINITE:
                    with pytest.raises(click.BadParameter):
                        option.type.convert(value, option, None)
                assert option.type.convert("0.5", option, None) == 0.5, (name, option.name)


@pytest.mark.parametrize("value", ["bogus", "cuda:", "cuda:x", "tpu", "cpu:0"])
def test_a_device_that_cannot_exist_is_refused_by_generate_and_make_model(tmp_path, value):
    message = error(*generate(tmp_path, "--model", "lead", "--device", value))
    assert message.startswith("Invalid value for '--device': ")
    message = error("make-model", "--arch", "llama", "--device", value, tmp_path / "model")
    assert message.startswith("Invalid value for '--device': ")


@pytest.fixture
def no_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from qmsum_fast.gen.local.make_model import make_model

    return make_model("gpt-neox", "tiny", tmp_path_factory.mktemp("models") / "neox")


@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_is_one_line_before_anything_loads(tmp_path, tiny_model, no_gpu, device):
    message = error(*generate(tmp_path, "--model", tiny_model, "--device", device))
    assert message == f"--device {device}: no CUDA GPU is available on this machine"
    message = error("make-model", "--arch", "llama", "--device", device, tmp_path / "model")
    assert message == f"--device {device}: no CUDA GPU is available on this machine"
    assert not (tmp_path / "model").exists() and not (tmp_path / "run.jsonl").exists()


def test_a_header_is_strict_json(tmp_path):
    """Nothing non-finite reaches a header: it parses without JavaScript's Infinity and NaN."""
    out = tmp_path / "run.jsonl"
    assert cli(*generate(tmp_path, "--model", "lead", "--limit", "1")).exit_code == 0

    def refuse(constant):
        raise AssertionError(f"{constant} in the run file")

    for line in out.read_text().splitlines():
        json.loads(line, parse_constant=refuse)
    header, _ = records(out)
    assert all(math.isfinite(v) for v in header["runtime"].values() if isinstance(v, float))


# --- item 8: the gen extra ---------------------------------------------------------------

GEN = 'needs the gen extra (torch is not installed): pip install "qmsum-fast[gen]"'


@pytest.fixture
def without_torch(monkeypatch):
    """As if torch were not installed: importing it fails, find_spec finds nothing."""
    monkeypatch.setitem(sys.modules, "torch", None)


def test_generate_with_a_model_without_the_gen_extra_says_what_to_install(tmp_path, tiny_model, without_torch):
    assert error(*generate(tmp_path, "--model", tiny_model)) == f"--model {tiny_model} {GEN}"
    assert error(*generate(tmp_path, "--model", "led")) == f"--model led {GEN}"
    assert not (tmp_path / "run.jsonl").exists()


def test_make_model_without_the_gen_extra_says_what_to_install(tmp_path, without_torch):
    assert error("make-model", "--arch", "llama", tmp_path / "model") == f"make-model {GEN}"
    assert not (tmp_path / "model").exists()


def test_baselines_need_no_gen_extra(tmp_path, without_torch):
    result = cli(*generate(tmp_path, "--model", "lead", "--limit", "1"))
    assert result.exit_code == 0, result.output


# --- item 12: a mistyped model folder ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["models/neox-tiny", "./neox", "models/neox/", "~/no-such-model-folder", "a/b/c", "../neox"],
)
def test_a_mistyped_model_folder_is_one_line_at_once(tmp_path, monkeypatch, name):
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    started = time.perf_counter()
    message = error("generate", "--model", name, "--data", DATA, "--split", "train", "-o", "run.jsonl")
    assert message == f"--model {name}: no such folder"
    assert time.perf_counter() - started < 10
    assert not Path("run.jsonl").exists()


def test_a_mistyped_model_path_is_one_line_too(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    monkeypatch.chdir(tmp_path)
    message = error(*generate(tmp_path, "--model", "led", "--model-path", "models/led-tiny"))
    assert message == "--model-path models/led-tiny: no such folder"

"""Loading a model: every failure a user can cause is one error line naming the
model, before any run file is written; the weights load once.

Broken model folders are copies of the session's tiny models (``tiny`` in
conftest.py) made of symlinks, with the file under test replaced or left out.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qmsum_fast.cli import main

DATA = Path(__file__).parent / "data" / "gen_qmsum"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def model_variant(source: str, folder: Path, drop=(), write=None) -> str:
    """A model folder linking to ``source``'s files, less ``drop``, with ``write`` (name -> bytes) added."""
    folder.mkdir()
    write = write or {}
    for file in Path(source).iterdir():
        if file.name not in drop and file.name not in write:
            (folder / file.name).symlink_to(file)
    for name, content in write.items():
        (folder / name).write_bytes(content)
    return str(folder)


def generate(tmp_path, model, *extra):
    out = tmp_path / "run.jsonl"
    args = ["generate", "--model", model, "--data", str(DATA), "--split", "train", "--limit", "1"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--no-progress", *extra])
    return out, result


def assert_refused(out: Path, result, *needles: str) -> None:
    """Exit 2, one ``qmsum-fast: error:`` line holding every needle, no traceback, no run file."""
    assert result.exit_code == 2, result.output + repr(result.exception)
    errors = [line for line in result.output.splitlines() if line.startswith("qmsum-fast: error: ")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert not out.exists()


def garbage(size: int) -> bytes:
    return bytes((index * 7919 + 13) % 256 for index in range(size))


# --- corrupt weights ----------------------------------------------------------------------


def truncated_safetensors(source: str) -> dict:
    return {"model.safetensors": (Path(source) / "model.safetensors").read_bytes()[:5000]}


def truncated_bin(source: str) -> dict:
    import torch
    from safetensors.torch import load_file

    whole = Path(source).parent / "whole.bin"
    if not whole.exists():
        torch.save(load_file(Path(source) / "model.safetensors"), whole)
    return {"pytorch_model.bin": whole.read_bytes()[:5000]}


@pytest.mark.parametrize(
    "make_files,drop,message",
    [
        (truncated_safetensors, (), "model.safetensors: corrupt or truncated safetensors file"),
        (lambda source: {"model.safetensors": garbage(4096)}, (), "model.safetensors: corrupt or truncated"),
        (truncated_bin, ("model.safetensors",), "pytorch_model.bin: corrupt or truncated PyTorch file"),
        (lambda source: {"pytorch_model.bin": garbage(4096)}, ("model.safetensors",), "not a readable PyTorch"),
    ],
    ids=["truncated-safetensors", "garbage-safetensors", "truncated-pytorch-bin", "garbage-pytorch-bin"],
)
def test_corrupt_weights_are_one_error_line(tmp_path, tiny, make_files, drop, message):
    model = model_variant(tiny["llama"], tmp_path / "model", drop=drop, write=make_files(tiny["llama"]))
    out, result = generate(tmp_path, model)
    assert_refused(out, result, model, "cannot load the model", message)


# --- tokenizer ----------------------------------------------------------------------------


def test_a_folder_without_tokenizer_files_is_refused_before_the_weights_load(tmp_path, tiny):
    # Without files, AutoTokenizer builds GPT-NeoX's tokenizer with an empty vocabulary:
    # every prompt would be no tokens, and every prediction empty. The weights are garbage
    # here, so reaching them would give another error.
    model = model_variant(
        tiny["gpt-neox"], tmp_path / "model", drop=TOKENIZER_FILES, write={"model.safetensors": garbage(4096)}
    )
    out, result = generate(tmp_path, model)
    assert_refused(out, result, model, "no tokenizer files")


def test_a_tokenizer_without_vocabulary_is_refused(tmp_path, tiny):
    # transformers 5 builds this tokenizer with an empty vocabulary; 4.x fails to load it.
    config = b'{"tokenizer_class": "GPTNeoXTokenizer"}'
    model = model_variant(
        tiny["gpt-neox"], tmp_path / "model", drop=TOKENIZER_FILES, write={"tokenizer_config.json": config}
    )
    out, result = generate(tmp_path, model)
    assert_refused(out, result, model)
    assert "turns text into no tokens" in result.output or "cannot load its tokenizer" in result.output


def test_an_unreadable_tokenizer_is_one_error_line(tmp_path, tiny):
    model = model_variant(tiny["llama"], tmp_path / "model", write={"tokenizer.json": b'{"version": "1.0", "model'})
    out, result = generate(tmp_path, model)
    assert_refused(out, result, model, "cannot load its tokenizer")


# --- where the model is -----------------------------------------------------------------------


def test_an_unknown_hub_id_offline_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)  # no folder of that name here
    out, result = generate(tmp_path, "someone/no-such-model")
    assert_refused(
        out, result, "someone/no-such-model", "neither a local folder nor in the local Hugging Face cache", "offline"
    )


def test_a_missing_folder_is_one_error_line(tmp_path):
    missing = str(tmp_path / "no" / "such" / "model")
    out, result = generate(tmp_path, missing)
    assert_refused(out, result, missing, "no such folder")


def test_hub_failures_are_told_apart_by_exception_type(monkeypatch):
    from huggingface_hub.utils import LocalEntryNotFoundError

    from qmsum_fast.gen.local import models

    def wrapped(cause):
        try:
            raise OSError("transformers' own wording, which may change") from cause
        except OSError as exc:
            return exc

    monkeypatch.setattr(models, "_hub_offline", lambda: False)
    unreachable = models._hub_reason(wrapped(LocalEntryNotFoundError("no connection")))
    assert unreachable.endswith("the Hugging Face hub cannot be reached")
    monkeypatch.setattr(models, "_hub_offline", lambda: True)
    assert models._hub_reason(wrapped(LocalEntryNotFoundError("x"))).endswith("the machine is offline")
    assert models._hub_reason(ValueError("first line\nsecond")) == "first line"


# --- adapters -------------------------------------------------------------------------------


def test_a_corrupt_adapter_file_is_one_error_line(tmp_path, tiny):
    import torch

    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    (tmp_path / "garbage.pth").write_bytes(garbage(2048))
    (tmp_path / "garbage.safetensors").write_bytes(garbage(2048))
    for adapter, message in [
        ("garbage.pth", "not a readable PyTorch weights file"),
        ("garbage.safetensors", "cannot read it"),
        ("tensor.pth", "no flat name-to-tensor dict"),
    ]:
        out, result = generate(tmp_path, tiny["llama"], "--adapter", str(tmp_path / adapter))
        assert_refused(out, result, f"--adapter {tmp_path / adapter}", message)


def test_a_corrupt_peft_adapter_folder_is_an_input_error(tmp_path, tiny):
    import transformers

    from qmsum_fast.errors import InputError
    from qmsum_fast.gen.local.adapters import load_adapter

    peft = tmp_path / "peft"
    peft.mkdir()
    (peft / "adapter_config.json").write_text('{"peft_type": "LORA", "r": 2, "target_modules": ["q_proj"]}')
    (peft / "adapter_model.safetensors").write_bytes(garbage(2048))
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny["llama"])
    with pytest.raises(InputError, match=f"--adapter {peft}: cannot load it: ") as caught:
        load_adapter(model, str(peft))
    assert "\n" not in str(caught.value)


# --- loading once -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arch,attention", [("llama", "sdpa"), ("mpt", "sdpa-blocked"), ("led", "eager")], ids=["llama", "mpt", "led"]
)
def test_the_weights_load_once_with_the_best_attention(tiny, monkeypatch, arch, attention):
    # MPT and LED refuse SDPA; the choice is made without a second from_pretrained
    # (which, for remote code, would run the model's code twice).
    import transformers

    from qmsum_fast.gen.local.models import LoadOptions, load_model

    calls = []
    for auto_class in (transformers.AutoModelForCausalLM, transformers.AutoModelForSeq2SeqLM):
        original = auto_class.from_pretrained.__func__

        def counting(cls, *args, _original=original, **kwargs):
            calls.append(kwargs.get("attn_implementation"))
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(auto_class, "from_pretrained", classmethod(counting))
    loaded = load_model(LoadOptions(path=tiny[arch], device="cpu"))
    assert len(calls) == 1
    assert loaded.attention == attention

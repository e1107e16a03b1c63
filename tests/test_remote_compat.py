"""Remote code written for transformers 4 (LongLLaMA's), run under transformers 5 (gen/local/remote_compat.py).

The stand-in (tests/remote_standin, our own code) has the properties of
LongLLaMA's modeling code that transformers 5 breaks; with the weights of a
plain transformers LLaMA it must generate exactly what that LLaMA generates,
and each fix must matter: without it the run fails or differs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli_helpers import cli, predictions
from qmsum_fast.errors import InputError

STANDIN = Path(__file__).parent / "remote_standin"
DATA = Path(__file__).parent / "data" / "gen_qmsum"
FIXES = (
    "config.rope_scaling shown as None",
    "non-persistent buffers recomputed",
    "no DynamicCache made for it",
    "the cache passed as past_key_values",
    "position_ids left to",
)
# A transformers-4 config sets rope_scaling, which transformers 5 warns is deprecated (the stand-in's, as LongLLaMA's).
pytestmark = pytest.mark.filterwarnings("ignore:`rope_scaling` is deprecated:FutureWarning")
PROMPTS = ["The remote control meeting opened with a long discussion of buttons", "Costs"]


def _randomize(model, seed: int) -> None:
    """Weights far from the near-uniform default init, so a wrong rotary table or mask changes the tokens."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            parameter.copy_(1 + 0.1 * noise if name.endswith("norm.weight") else 0.3 * noise)


def write_standin(folder: Path, model, **config_changes) -> Path:
    """The stand-in's code, a config naming it in ``auto_map``, ``model``'s weights and the bundled tokenizer."""
    from safetensors.torch import save_file

    from qmsum_fast.gen.local.make_model import load_bundled_tokenizer

    folder.mkdir(parents=True)
    for name in ("configuration_standin.py", "modeling_standin.py"):
        shutil.copy(STANDIN / name, folder / name)
    llama = model.config
    config = {
        "architectures": ["StandinForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_standin.StandinConfig",
            "AutoModelForCausalLM": "modeling_standin.StandinForCausalLM",
        },
        "model_type": "qmsum_standin",
        "vocab_size": llama.vocab_size,
        "hidden_size": llama.hidden_size,
        "intermediate_size": llama.intermediate_size,
        "num_hidden_layers": llama.num_hidden_layers,
        "num_attention_heads": llama.num_attention_heads,
        "max_position_embeddings": llama.max_position_embeddings,
        "rms_norm_eps": llama.rms_norm_eps,
        "rope_theta": llama.rope_parameters["rope_theta"],
        "bos_token_id": llama.bos_token_id,
        "eos_token_id": llama.eos_token_id,
        "pad_token_id": llama.pad_token_id,
        **config_changes,
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    weights = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    load_bundled_tokenizer().save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A plain transformers LLaMA and the stand-in, with the same random weights."""
    from qmsum_fast.gen.local.make_model import build_model

    root = tmp_path_factory.mktemp("remote")
    model, tokenizer = build_model("llama", "tiny")
    _randomize(model, seed=11)
    model.save_pretrained(root / "llama")
    tokenizer.save_pretrained(root / "llama")
    return {"llama": str(root / "llama"), "standin": str(write_standin(root / "standin", model)), "model": model}


def load(path: str, remote: bool):
    from qmsum_fast.gen.local.models import LoadOptions, load_model

    return load_model(LoadOptions(path=path, device="cpu", attention="eager", trust_remote_code=remote))


def generate_ids(loaded, seed: int | None = None, **generation) -> list[list[int]]:
    """New token ids for the two prompts, left-padded in one batch as the engine pads them."""
    import torch

    inputs = loaded.tokenizer(PROMPTS, return_tensors="pt", padding=True)
    if seed is not None:
        torch.manual_seed(seed)
    with torch.inference_mode():
        out = loaded.model.generate(
            **inputs, max_new_tokens=8, pad_token_id=loaded.tokenizer.pad_token_id, **generation
        )
    return out[:, inputs["input_ids"].shape[1] :].tolist()


def fed_lengths(loaded) -> list[int]:
    """The number of tokens each forward call gets (one per step once the cache is used)."""
    lengths: list[int] = []
    loaded.model.register_forward_pre_hook(
        lambda module, args, kwargs: lengths.append(kwargs["input_ids"].shape[1]), with_kwargs=True
    )
    return lengths


def test_the_standin_generates_the_plain_llamas_tokens_and_names_each_fix(models, capsys):
    plain = load(models["llama"], remote=False)
    capsys.readouterr()
    standin = load(models["standin"], remote=True)
    said = capsys.readouterr().err.splitlines()
    assert type(standin.model).__name__ == "StandinForCausalLM" and standin.attention == "eager"
    for fix in FIXES:  # each once, naming the model
        assert sum(line.startswith(f"qmsum-fast: remote code {models['standin']}: {fix}") for line in said) == 1
    lengths = fed_lengths(standin)
    greedy = generate_ids(standin, do_sample=False)
    assert greedy == generate_ids(plain, do_sample=False)
    assert lengths == [lengths[0]] + [1] * 7  # the prompt once, then one token per step from the cache
    sampled = generate_ids(standin, seed=5, do_sample=True, temperature=1.0)
    assert sampled == generate_ids(plain, seed=5, do_sample=True, temperature=1.0)
    assert sampled != greedy


@pytest.mark.parametrize(
    "fix,outcome",
    [
        ("_default_rope", "load fails"),
        ("recompute_non_persistent_buffers", "other tokens"),
        ("_own_cache", "generate fails"),
        ("_cache_as_past_key_values", "no cache"),
        ("_no_position_ids", "generate fails"),
    ],
)
def test_each_fix_matters(models, monkeypatch, fix, outcome):
    from qmsum_fast.gen.local import remote_compat

    plain = generate_ids(load(models["llama"], remote=False), do_sample=False)
    disabled = {"_default_rope": False, "recompute_non_persistent_buffers": 0}.get(fix)
    monkeypatch.setattr(remote_compat, fix, lambda *args: disabled)
    if outcome == "load fails":
        with pytest.raises(InputError, match=r"cannot load the model: AssertionError \(modeling_standin\.py, line "):
            load(models["standin"], remote=True)
        return
    standin = load(models["standin"], remote=True)
    lengths = fed_lengths(standin)
    if outcome == "generate fails":
        with pytest.raises(InputError, match="remote code fails at generate: "):
            generate_ids(standin, do_sample=False)
    elif outcome == "other tokens":
        assert generate_ids(standin, do_sample=False) != plain
    else:
        assert generate_ids(standin, do_sample=False) == plain and lengths[1:] == [lengths[0] + 1 + i for i in range(7)]


def test_generate_through_the_cli_equals_the_plain_llama(models, tmp_path):
    from click.testing import CliRunner

    from qmsum_fast.cli import main

    def run(model: str, *extra: str) -> tuple[dict, str]:
        out = tmp_path / f"{Path(model).name}{len(extra)}.jsonl"
        args = ["generate", "--data", DATA, "--split", "train", "--limit", "3", "--preprocess", "none"]
        args += ["--model", model, "--out", out, "--no-progress", "--max-input-tokens", "120"]
        args += ["--max-new-tokens", "6", "--attention", "eager", "--reuse", "off", *extra]
        result = CliRunner().invoke(main, [str(arg) for arg in args])
        assert result.exit_code == 0, result.output
        return predictions(out), result.stderr

    for sampling in (["--greedy"], ["--sample", "--seed", "3"]):
        plain, plain_said = run(models["llama"], *sampling, "--trust-remote-code")
        standin, said = run(models["standin"], *sampling, "--trust-remote-code")
        assert standin == plain and len(plain) == 3 and any(plain.values())
        assert "remote code" not in plain_said  # a transformers model gets no fixes
        assert all(
            sum(f"remote code {models['standin']}: {fix}" in line for line in said.splitlines()) == 1 for fix in FIXES
        )


def test_a_remote_model_loads_once(models, monkeypatch):
    import transformers

    calls = []
    original = transformers.AutoModelForCausalLM.from_pretrained.__func__

    def counting(cls, *args, **kwargs):
        calls.append(kwargs.get("attn_implementation"))
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", classmethod(counting))
    from qmsum_fast.gen.local.models import LoadOptions, load_model

    for load in (1, 2):  # a second load in the process must not get the class registered by the first
        loaded = load_model(LoadOptions(path=models["standin"], device="cpu", trust_remote_code=True))
        assert len(calls) == load and loaded.attention == "eager"  # it refuses SDPA, in the one load
        assert callable(loaded.model.generate)


def error_line(*args) -> str:
    """The one error line (no traceback) of a run that exits 2; the fixes named before it are the only other lines."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    errors = [line for line in lines if line.startswith("qmsum-fast: error: ")]
    assert len(errors) == 1 and all(line.startswith("qmsum-fast: ") for line in lines), result.output
    return errors[0].removeprefix("qmsum-fast: error: ")


def test_a_remote_model_that_still_fails_is_one_line(models, tmp_path):
    run = ["generate", "--data", DATA, "--split", "train", "--limit", "1", "--out", tmp_path / "run.jsonl"]
    run += ["--max-new-tokens", "2", "--no-progress", "--trust-remote-code", "--model"]
    # Scaling the user asked for is not hidden: the remote code refuses it when it builds the model.
    scaled = write_standin(tmp_path / "scaled", models["model"], rope_scaling={"rope_type": "linear", "factor": 2.0})
    line = error_line(*run, scaled)
    assert line.startswith(f"--model {scaled}: cannot load the model: AssertionError (modeling_standin.py, line ")
    broken = write_standin(tmp_path / "broken", models["model"])
    code = (broken / "modeling_standin.py").read_text()
    marker = "        use_cache = self.config.use_cache if use_cache is None else use_cache\n"
    (broken / "modeling_standin.py").write_text(code.replace(marker, marker + '        raise RuntimeError("broken")\n'))
    line = error_line(*run, broken)
    assert line.startswith(f"--model {broken}: remote code fails at generate: broken (modeling_standin.py, line ")

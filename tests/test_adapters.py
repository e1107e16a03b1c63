"""LLaMA-Adapter v1 files (``qmsum_fast.gen.local.adapters``) against the v1 math.

The reference below is a plain-torch LLaMA forward written from the paper and
the authors' ``llama/model.py`` (OpenGVLab/LLaMA-Adapter): each of the top
``rows / adapter_len`` layers adds ``gate * softmax(q k_a^T / sqrt(d)) v_a`` to
its attention output before the output projection, with ``k_a``/``v_a`` the
layer's own k/v projections of its prompt rows, no rotary embedding on them,
and the gate used as stored (no tanh), one value per layer or per head. It
reads the weights of a random transformers LLaMA, so rotary follows the
HF-converted (rotate-half) layout.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_helpers import records
from qmsum_fast.cli import main
from qmsum_fast.errors import InputError

DATA = Path(__file__).parent / "data" / "gen_qmsum"
HEADS = 4
LAYERS = 4


@pytest.fixture(scope="module")
def llama():
    """A random 4-layer LLaMA (the top layers adapted, the lower ones not)."""
    import torch
    import transformers

    config = transformers.LlamaConfig(
        vocab_size=96,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=HEADS,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval()


def fresh(model):
    """A copy of ``model`` (attaching an adapter wraps its attention modules in place)."""
    import copy

    return copy.deepcopy(model)


def v1_file(model, adapter_len, adapted, per_head=True, all_layers=False, seed=1):
    """A v1 state dict: prompt rows for the top ``adapted`` layers, a gate for each
    of them (per head or one value), and with ``all_layers`` zero gates below, as the
    authors' extraction script saves them."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    n_layers = model.config.num_hidden_layers
    state = {"adapter_query.weight": torch.randn(adapter_len * adapted, model.config.hidden_size, generator=generator)}
    for index in range(n_layers):
        if index >= n_layers - adapted:
            shape = (1, HEADS, 1, 1) if per_head else (1,)
            state[f"layers.{index}.attention.gate"] = torch.randn(shape, generator=generator)
        elif all_layers:
            state[f"layers.{index}.attention.gate"] = torch.zeros((1, HEADS, 1, 1) if per_head else (1,))
    return state


# --- the reference: the v1 math in plain torch ------------------------------------------


def _rms(x, weight, eps):
    import torch

    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def _heads(x, heads):
    """(batch, tokens, heads * d) -> (batch, heads, tokens, d)."""
    batch, tokens, width = x.shape
    return x.view(batch, tokens, heads, width // heads).transpose(1, 2)


def _rotate(x, positions, theta):
    import torch

    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
    angles = torch.outer(positions.float(), inv_freq)
    cos, sin = torch.cat([angles, angles], -1).cos(), torch.cat([angles, angles], -1).sin()
    half = torch.cat([-x[..., d // 2 :], x[..., : d // 2]], -1)
    return x * cos + half * sin


def reference_logits(model, ids, state, adapter_len):
    """Logits of ``model`` with the v1 adapter ``state`` on every position of ``ids``."""
    import math

    import torch

    config, weights = model.config, {name: value.detach() for name, value in model.state_dict().items()}
    heads, eps = config.num_attention_heads, config.rms_norm_eps
    theta = config.rope_parameters["rope_theta"]
    prompts = state["adapter_query.weight"].reshape(-1, adapter_len, config.hidden_size)
    first = config.num_hidden_layers - prompts.shape[0]
    tokens = ids.shape[1]
    positions = torch.arange(tokens)
    causal = torch.full((tokens, tokens), float("-inf")).triu(1)
    x = weights["model.embed_tokens.weight"][ids]
    for layer in range(config.num_hidden_layers):
        w = {name.split(f"model.layers.{layer}.", 1)[1]: v for name, v in weights.items() if f"layers.{layer}." in name}
        h = _rms(x, w["input_layernorm.weight"], eps)
        q = _rotate(_heads(h @ w["self_attn.q_proj.weight"].T, heads), positions, theta)
        k = _rotate(_heads(h @ w["self_attn.k_proj.weight"].T, heads), positions, theta)
        v = _heads(h @ w["self_attn.v_proj.weight"].T, heads)
        scale = math.sqrt(q.shape[-1])
        out = torch.softmax(q @ k.transpose(2, 3) / scale + causal, -1) @ v
        if layer >= first:
            prompt = prompts[layer - first].unsqueeze(0)
            k_a = _heads(prompt @ w["self_attn.k_proj.weight"].T, heads)
            v_a = _heads(prompt @ w["self_attn.v_proj.weight"].T, heads)
            gate = state[f"layers.{layer}.attention.gate"]
            gate = gate.reshape(1, -1, 1, 1) if gate.numel() > 1 else gate.reshape(())
            out = out + gate * torch.softmax(q @ k_a.transpose(2, 3) / scale, -1) @ v_a
        x = x + out.transpose(1, 2).reshape(x.shape) @ w["self_attn.o_proj.weight"].T
        h = _rms(x, w["post_attention_layernorm.weight"], eps)
        gated = torch.nn.functional.silu(h @ w["mlp.gate_proj.weight"].T) * (h @ w["mlp.up_proj.weight"].T)
        x = x + gated @ w["mlp.down_proj.weight"].T
    return _rms(x, weights["model.norm.weight"], eps) @ weights["lm_head.weight"].T


def reference_greedy(model, ids, state, adapter_len, new_tokens):
    import torch

    for _ in range(new_tokens):
        step = reference_logits(model, ids, state, adapter_len)[:, -1].argmax(-1, keepdim=True)
        ids = torch.cat([ids, step], 1)
    return ids


def assert_matches_reference(model, state, adapter_len):
    """Logits to 1e-5 and 12 greedy tokens (generate, with its KV cache) equal to the reference's."""
    import torch

    from qmsum_fast.gen.local.adapters import attach_original

    ids = torch.tensor([[5, 17, 3, 88, 41, 9, 60]])
    adapted = attach_original(fresh(model), state, adapter_len)
    with torch.no_grad():
        expected = reference_logits(model, ids, state, adapter_len)
        got = adapted(input_ids=ids).logits
        assert torch.allclose(got, expected, atol=1e-5, rtol=0), (got - expected).abs().max()
        plain = model(input_ids=ids).logits
        assert not torch.allclose(plain, expected, atol=1e-3)  # the adapter changes the outputs
        greedy = adapted.generate(input_ids=ids, max_new_tokens=12, do_sample=False)
    assert greedy.tolist() == reference_greedy(model, ids, state, adapter_len, 12).tolist()


# --- files ------------------------------------------------------------------------------------


def test_release_file_with_per_head_gates_on_the_top_layers(llama):
    assert_matches_reference(llama, v1_file(llama, adapter_len=5, adapted=2), adapter_len=5)


def test_release_file_with_gates_for_all_layers_zero_below(llama):
    top_only = v1_file(llama, adapter_len=5, adapted=2)
    every = v1_file(llama, adapter_len=5, adapted=2, all_layers=True)
    assert len([k for k in every if k.endswith(".gate")]) == LAYERS
    assert_matches_reference(llama, every, adapter_len=5)
    # The zero gates below change nothing: the same model as the top-only file.
    assert all(every[key].equal(top_only[key]) for key in top_only)


def test_scalar_gates_keep_their_meaning(llama):
    state = v1_file(llama, adapter_len=3, adapted=3, per_head=False)
    assert_matches_reference(llama, state, adapter_len=3)


def test_zero_gates_leave_the_model_unchanged(llama):
    """The zero-init state: the adapter adds nothing."""
    import torch

    from qmsum_fast.gen.local.adapters import attach_original

    state = v1_file(llama, adapter_len=5, adapted=2)
    state = {key: value.zero_() if key.endswith(".gate") else value for key, value in state.items()}
    ids = torch.tensor([[5, 17, 3, 88]])
    with torch.no_grad():
        assert torch.equal(attach_original(fresh(llama), state, 5)(input_ids=ids).logits, llama(input_ids=ids).logits)


def test_per_head_gates_act_per_head(llama):
    """A gate open on one head only differs from the same value on every head."""
    import torch

    from qmsum_fast.gen.local.adapters import attach_original

    ids = torch.tensor([[5, 17, 3, 88]])
    one = v1_file(llama, adapter_len=2, adapted=1)
    one[f"layers.{LAYERS - 1}.attention.gate"] = torch.tensor([0.0, 2.0, 0.0, 0.0]).reshape(1, HEADS, 1, 1)
    every = dict(one)
    every[f"layers.{LAYERS - 1}.attention.gate"] = torch.full((1,), 2.0)
    with torch.no_grad():
        head = attach_original(fresh(llama), one, 2)(input_ids=ids).logits
        scalar = attach_original(fresh(llama), every, 2)(input_ids=ids).logits
        assert torch.allclose(head, reference_logits(llama, ids, one, 2), atol=1e-5, rtol=0)
        assert torch.allclose(scalar, reference_logits(llama, ids, every, 2), atol=1e-5, rtol=0)
    assert not torch.allclose(head, scalar, atol=1e-3)


def test_adapter_len_decides_the_adapted_layers(llama):
    """The same 12 rows are 3 layers of 4 or 2 layers of 6: both as the reference says."""
    import torch

    state = v1_file(llama, adapter_len=4, adapted=3, all_layers=True)
    assert_matches_reference(llama, state, adapter_len=4)
    two = dict(state)
    two[f"layers.{LAYERS - 3}.attention.gate"] = torch.zeros(1, HEADS, 1, 1)  # now a lower, unread layer
    assert_matches_reference(llama, two, adapter_len=6)


REFUSALS = [
    ("rows", lambda s: s.update({"adapter_query.weight": s["adapter_query.weight"][:-1]}), 5, "not a multiple"),
    ("too many layers", lambda s: None, 1, "the model has 4"),
    ("gate size", lambda s: s.update({"layers.3.attention.gate": s["layers.3.attention.gate"][:, :3]}), 5, "1 or 4"),
    ("missing gate", lambda s: s.pop("layers.2.attention.gate"), 5, "no gate for adapted layers [2]"),
    ("live gate below", lambda s: s.update({"layers.0.attention.gate": s["layers.3.attention.gate"]}), 5, "non-zero"),
    ("gate beyond", lambda s: s.update({"layers.7.attention.gate": s["layers.3.attention.gate"]}), 5, "layers [7]"),
    ("v2 keys", lambda s: s.update({"layers.3.attention.wq.bias": s["layers.3.attention.gate"]}), 5, "unexpected"),
    ("width", lambda s: s.update({"adapter_query.weight": s["adapter_query.weight"][:, :8]}), 5, "expected [rows, 32]"),
]


@pytest.mark.parametrize("change,adapter_len,message", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_bad_files_are_refused_naming_the_file(tmp_path, llama, change, adapter_len, message):
    import torch

    from qmsum_fast.gen.local.adapters import load_adapter

    state = v1_file(llama, adapter_len=5, adapted=2, all_layers=True)
    change(state)
    path = tmp_path / "adapter.pth"
    torch.save(state, path)
    with pytest.raises(InputError) as error:
        load_adapter(fresh(llama), str(path), adapter_len)
    assert str(path) in str(error.value) and message in str(error.value), str(error.value)
    assert "\n" not in str(error.value)


# --- the command line --------------------------------------------------------------------------


def _generate(tmp_path, tiny, adapter, *extra, out="run.jsonl", expect=0):
    result = CliRunner().invoke(
        main,
        [
            "generate",
            "--data",
            str(DATA),
            "--split",
            "train",
            "--out",
            str(tmp_path / out),
            "--no-progress",
            "--preprocess",
            "none",
            "--model",
            "llama-adapter",
            "--model-path",
            tiny["llama"],
            *(["--adapter", str(adapter)] if adapter else []),
            "--limit",
            "1",
            "--greedy",
            "--max-new-tokens",
            "3",
            "--max-input-tokens",
            "900",
            *extra,
        ],
    )
    assert result.exit_code == expect, result.output + repr(result.exception)
    return tmp_path / out, result


def _error_line(result):
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("qmsum-fast: error: ") and "Traceback" not in result.output, result.output
    return lines[-1]


def test_cli_reads_a_release_file_with_the_given_adapter_len(tmp_path, tiny):
    """10 rows with live gates on both layers of the tiny LLaMA: 2 layers of 5 rows with
    --adapter-len 5; the default 10 would adapt only the top layer and is refused."""
    import torch
    import transformers

    base = transformers.AutoModelForCausalLM.from_pretrained(tiny["llama"])
    state = v1_file(base, adapter_len=5, adapted=2)
    path = tmp_path / "llama_adapter_len5_layer2.pth"
    torch.save(state, path)
    out, _ = _generate(tmp_path, tiny, path, "--adapter-len", "5")
    config = records(out)[0]["config"]
    assert (config["adapter"], config["adapter_len"]) == (str(path), 5)
    _, result = _generate(tmp_path, tiny, path, out="default.jsonl", expect=2)
    line = _error_line(result)
    assert str(path) in line and "--adapter-len 10" in line and "non-zero" in line


def test_cli_default_adapter_len_is_the_release_files(tmp_path, tiny):
    import torch
    import transformers

    base = transformers.AutoModelForCausalLM.from_pretrained(tiny["llama"])
    path = tmp_path / "release.pth"
    torch.save(v1_file(base, adapter_len=10, adapted=1, all_layers=True), path)
    out, _ = _generate(tmp_path, tiny, path)
    assert records(out)[0]["config"]["adapter_len"] == 10


def test_cli_resume_compares_adapter_len(tmp_path, tiny):
    import torch
    import transformers

    base = transformers.AutoModelForCausalLM.from_pretrained(tiny["llama"])
    path = tmp_path / "release.pth"
    torch.save(v1_file(base, adapter_len=5, adapted=2), path)
    state = torch.load(path)
    state["layers.0.attention.gate"].zero_()  # read as 1 layer of 10 rows, or as 2 layers of 5
    torch.save(state, path)
    _generate(tmp_path, tiny, path)
    _, result = _generate(tmp_path, tiny, path, "--adapter-len", "5", "--resume", expect=2)
    assert "adapter_len was 10, now 5" in _error_line(result)


def test_cli_refuses_adapter_len_where_it_does_not_apply(tmp_path, tiny):
    _, result = _generate(tmp_path, tiny, None, "--adapter-len", "5", expect=2)
    assert "--adapter-len applies only with --adapter" in _error_line(result)
    peft_folder = tmp_path / "peft"
    peft_folder.mkdir()
    (peft_folder / "adapter_config.json").write_text("{}")
    _, result = _generate(tmp_path, tiny, peft_folder, "--adapter-len", "5", out="peft.jsonl", expect=2)
    assert "is a PEFT folder" in _error_line(result)

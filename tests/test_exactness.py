"""An example's generated tokens do not depend on which examples ran before it or beside it.

The reference is each prompt alone (``--reuse off``, batch size 1). Padded batches
(``--reuse off``) and a meeting's shared prefix (``--reuse auto``, one query at a
time or batched) must give the same token ids, greedy, for every architecture
``make-model`` builds and the config classes of tests/tiny_architectures.py, on
prompts on both sides of each length switch (gen/local/exactness.py).
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tiny_architectures as archs
from exactness_harness import alone, ids_of, loaded_model, prompts_of, token_runs

# Transcript tokens. With SWITCH = 100 and 6 new tokens: prompts of 81-95 tokens stay within
# it (the longest reaches exactly position 100), 91-105 straddle it, 131-145 all cross it.
BELOW, STRADDLE, ABOVE = 70, 80, 120


@functools.cache
def _loaded(name: str):
    return loaded_model(*archs.build(name))


@functools.cache
def _reference(name: str, cut: int) -> dict[str, str]:
    loaded = _loaded(name)
    sources, prompts = prompts_of(loaded.tokenizer, cut)
    return alone(loaded, sources, prompts)


def _workload(name: str, cut: int):
    loaded = _loaded(name)
    return (loaded, *prompts_of(loaded.tokenizer, cut))


def _plain_batch(loaded, prompts) -> dict[str, str]:
    """transformers' own padded batch of all prompts, nothing restored: what a run computed before."""
    import torch

    from qmsum_fast.gen.local.generate_call import _generated_length

    encoded = loaded.tokenizer([p.text for p in prompts], return_tensors="pt", padding=True)
    with torch.inference_mode():
        rows = loaded.model.generate(**encoded, max_new_tokens=6, do_sample=False)
    rows = rows[:, encoded["input_ids"].shape[1] :]
    ids = [row.tolist() for row in rows]
    return {
        f"q{k}": " ".join(str(i) for i in row[: _generated_length(row, loaded.tokenizer, False)])
        for k, row in enumerate(ids)
    }


# In the default suite: what make-model builds and every scheme with a switch or a window
# (about 10 s each on a 2-core CPU); the other architectures behind --runslow.
DEFAULT = (*archs.MAKE_MODEL, "llama-dynamic", "llama-longrope", "phi3-longrope", "gpt-neo", "bart")


@pytest.mark.parametrize(
    "name", [name if name in DEFAULT else pytest.param(name, marks=pytest.mark.slow) for name in archs.ALL]
)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_batched_and_reused_tokens_equal_each_prompt_alone_in_any_order(name, data, capsys):
    """Any order of the examples, any batch size: --reuse off and --reuse auto generate,
    per example, the token ids that example generates alone."""
    cut = data.draw(st.sampled_from([STRADDLE, ABOVE]), label="transcript tokens")
    loaded, sources, prompts = _workload(name, cut)
    order = data.draw(st.permutations(range(len(prompts))), label="order")
    batch_size = data.draw(st.integers(2, 4), label="batch size")
    reference = _reference(name, cut)
    assert len(reference) == len(prompts) and all(reference.values())
    off = ids_of(token_runs(loaded, sources, prompts, "off", batch_size, order))
    auto = token_runs(loaded, sources, prompts, "auto", batch_size, order)
    assert off == reference
    assert ids_of(auto) == reference
    # Records say what was computed: a prefix from the cache, the rest computed.
    assert all(f.extra["computed_tokens"] + f.extra["prefix_tokens"] == f.n_input_tokens for _, f in auto.values())
    capsys.readouterr()


@pytest.mark.parametrize("name", ["llama-dynamic", "llama-longrope", "phi3-longrope"])
def test_length_dependent_rope_reuses_and_batches_below_its_switch_and_runs_alone_past_it(name, capsys):
    """Below the switch (prompt + generated tokens within SWITCH positions) nothing changes
    the frequencies: reuse and batches as usual. Past it, a meeting runs without reuse and
    its prompts one at a time, said once each; every example's tokens equal its own run's."""
    loaded, sources, prompts = _workload(name, BELOW)
    below = token_runs(loaded, sources, prompts, "auto", 4)
    assert sum(1 for _, f in below.values() if f.extra["prefix_tokens"]) == len(prompts) - 1
    assert ids_of(below) == alone(loaded, sources, prompts)
    assert "changes its frequencies" not in capsys.readouterr().err
    for cut in (STRADDLE, ABOVE):  # some prompts cross; all do
        loaded, sources, prompts = _workload(name, cut)
        auto = token_runs(loaded, sources, prompts, "auto", 4)
        err = capsys.readouterr().err
        assert not any(f.extra["prefix_tokens"] for _, f in auto.values())
        assert all(f.extra["computed_tokens"] == f.n_input_tokens for _, f in auto.values())
        assert err.count("--reuse auto: ") == 1 and f"past {archs.SWITCH} positions" in err
        assert err.count("qmsum-fast: batching: ") == 1
        assert ids_of(auto) == _reference(name, cut)
        # Each alone, in reverse order: a long prompt's frequencies do not stay for the next one.
        assert alone(loaded, sources, prompts, order=range(len(prompts) - 1, -1, -1)) == _reference(name, cut)


def test_dynamic_rope_outputs_depend_on_the_batch_without_these_limits():
    """The workload above is one where it matters: transformers' own padded batch of the
    prompts past the switch generates other tokens than each prompt alone."""
    loaded, _, prompts = _workload("llama-dynamic", ABOVE)
    assert _plain_batch(loaded, prompts) != _reference("llama-dynamic", ABOVE)


def test_gpt_neo_continues_only_equal_tails_together(monkeypatch, capsys):
    """GPT-Neo's local window counts by index: pads between the prefix and a tail would push
    prefix tokens out of it. Tails of different lengths continue in separate batches."""
    loaded, sources, prompts = _workload("gpt-neo", BELOW)
    reference = _reference("gpt-neo", BELOW)
    sizes: list[int] = []
    real = loaded.model.generate

    def generate(*args, **kwargs):
        sizes.append(kwargs["input_ids"].shape[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", generate)
    auto = token_runs(loaded, sources, prompts, "auto", 4)
    assert ids_of(auto) == reference
    assert sum(1 for _, f in auto.values() if f.extra["prefix_tokens"]) == len(prompts) - 1
    lengths = sorted((p.n_tokens for p in prompts), reverse=True)
    assert sizes == [lengths.count(n) for n in sorted(set(lengths), reverse=True)]  # one batch per tail length


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("rwkv", "RwkvForCausalLM keeps no per-token cache"),
        ("mamba", "its cache has LinearAttentionLayer layers"),
        ("mistral-sliding", "its cache has DynamicSlidingWindowLayer layers"),
        ("gemma2", "its cache has DynamicSlidingWindowLayer layers"),
    ],
)
def test_models_without_a_per_token_cache_fall_back_before_computing_a_prefix(name, reason, capsys):
    """Decided from the model (forward signature, cache layers), named by what it has, before
    any prefix runs: every generate call is a whole prompt's."""
    loaded, sources, prompts = _workload(name, BELOW)
    auto = token_runs(loaded, sources, prompts, "auto", 4)
    err = capsys.readouterr().err
    assert f"qmsum-fast: --reuse auto: {reason}" in err and err.count("--reuse auto:") == 1
    assert "DynamicCache" not in err
    assert all(
        f.extra["computed_tokens"] == f.n_input_tokens and not f.extra["prefix_tokens"] for _, f in auto.values()
    )
    assert ids_of(auto) == _reference(name, BELOW)


def test_rwkv_runs_one_prompt_at_a_time(monkeypatch, capsys):
    """RWKV ignores the attention mask, and even batched prompts of equal length generate
    other tokens than alone: each runs alone, said once."""
    loaded, sources, prompts = _workload("rwkv", BELOW)
    reference = _reference("rwkv", BELOW)
    equal = [k for k, p in enumerate(prompts) if p.n_tokens == prompts[0].n_tokens]
    assert len(equal) > 1
    assert _plain_batch(loaded, [prompts[k] for k in equal]) != {
        f"q{n}": reference[f"q{k}"] for n, k in enumerate(equal)
    }
    sizes: list[int] = []
    real = loaded.model.generate
    monkeypatch.setattr(
        loaded.model, "generate", lambda *a, **kw: sizes.append(kw["input_ids"].shape[0]) or real(*a, **kw)
    )
    off = ids_of(token_runs(loaded, sources, prompts, "off", 4))
    assert sizes == [1] * len(prompts) and off == reference
    assert capsys.readouterr().err.count("qmsum-fast: batching: RWKV") == 1

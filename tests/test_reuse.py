"""--reuse: a meeting's shared prompt prefix computed once gives the outputs of the plain path.

Tiny random-weight models with real architectures, real QMSum meetings
(tests/data/gen_qmsum, two meetings of seven queries) cut to a few hundred
tokens, with the longbench template (transcript first, query last).
"""

from __future__ import annotations

import pytest

from qmsum_fast.gen.engine import example_seed
from qmsum_fast.gen.local.reuse import MIN_PREFIX_TOKENS, common_prefix_length
from test_generate import generate, records

SHORT = ["--template", "longbench", "--max-input-tokens", "400", "--max-new-tokens", "8"]


def run(tmp_path, model, *args, out):
    path, result = generate(tmp_path, "--model", model, *SHORT, *args, out=out)
    header, rows = records(path)
    return header, {row["id"]: row for row in rows}, result


@pytest.mark.parametrize("arch", ["llama", "gpt-neox"])
def test_greedy_predictions_with_reuse_equal_those_without(tmp_path, tiny, arch):
    _, plain, _ = run(tmp_path, tiny[arch], "--reuse", "off", out="off.jsonl")
    header, reused, _ = run(tmp_path, tiny[arch], out="auto.jsonl")
    assert header["config"]["reuse"] == "auto"
    assert {i: r["prediction"] for i, r in reused.items()} == {i: r["prediction"] for i, r in plain.items()}
    assert all(r["prefix_tokens"] == 0 and r["computed_tokens"] == r["n_input_tokens"] for r in plain.values())
    # Each meeting's first query computes the prefix, the other six take it from the cache.
    shared = [r for r in reused.values() if r["prefix_tokens"]]
    assert len(shared) == 12 and all(r["prefix_tokens"] >= MIN_PREFIX_TOKENS for r in shared)
    assert all(r["computed_tokens"] + r["prefix_tokens"] == r["n_input_tokens"] for r in reused.values())
    assert sum(r["computed_tokens"] for r in reused.values()) < sum(r["n_input_tokens"] for r in reused.values()) / 3


@pytest.mark.parametrize(
    ("arch", "args"), [("mpt", ["--attention", "eager"]), pytest.param("led", [], marks=pytest.mark.slow)]
)
def test_a_fallback_architecture_runs_the_plain_path(tmp_path, tiny, arch, args):
    """transformers' own MPT attention (ALiBi aligned to the last key) and LED (seq2seq)."""
    one_meeting = ["--limit", "7", *args]
    _, plain, _ = run(tmp_path, tiny[arch], *one_meeting, "--reuse", "off", out="off.jsonl")
    _, auto, result = run(tmp_path, tiny[arch], *one_meeting, out="auto.jsonl")
    assert {i: r["prediction"] for i, r in auto.items()} == {i: r["prediction"] for i, r in plain.items()}
    assert all(r["prefix_tokens"] == 0 for r in auto.values())
    assert result.stderr.count("running without prefix reuse") == 1


QUERY_FREE = "{transcript}\nA short summary of the following conversation is:"


@pytest.mark.parametrize(
    ("arch", "args"),
    [
        ("llama", ["--template", QUERY_FREE, "--greedy"]),
        pytest.param("led", ["--template", "{transcript}", "--num-beams", "2"], id="led-beams"),
    ],
)
def test_identical_prompts_decoded_deterministically_are_generated_once_per_meeting(tmp_path, tiny, arch, args):
    """A template without {query} (LED without instruction, MPT's prompt): one generation per
    meeting, the same prediction written for each query, the copies marked shared_with."""
    one_meeting = [*SHORT, "--limit", "7", *args]
    path, result = generate(tmp_path, "--model", tiny[arch], *one_meeting, "--reuse", "off", out="off.jsonl")
    plain = {row["id"]: row for row in records(path)[1]}
    path, result = generate(tmp_path, "--model", tiny[arch], *one_meeting, out="auto.jsonl")
    once = {row["id"]: row for row in records(path)[1]}
    assert {i: r["prediction"] for i, r in once.items()} == {i: r["prediction"] for i, r in plain.items()}
    assert len(set(r["prediction"] for r in once.values())) == 1 and len(once) == 7
    computed = [r for r in once.values() if "shared_with" not in r]
    assert len(computed) == 1 and computed[0]["computed_tokens"] == computed[0]["n_input_tokens"]
    copies = [r for r in once.values() if "shared_with" in r]
    assert len(copies) == 6 and all(r["shared_with"] == computed[0]["id"] for r in copies)
    assert all(r["computed_tokens"] == 0 and r["prefix_tokens"] == r["n_input_tokens"] for r in copies)
    assert not any("shared_with" in r for r in plain.values())
    assert result.stderr.count("generated once") == 1


@pytest.mark.parametrize("arch", ["llama", pytest.param("mpt", marks=pytest.mark.slow)])
def test_sampled_query_free_prompts_share_the_prefill_and_sample_each_query_from_its_seed(tmp_path, tiny, arch):
    """Sampling: no copies; the whole prompt but its last token is the shared prefix, and each
    query samples from its own seed (MPT: its preset's prompt). LLaMA: as --reuse off samples.
    MPT: as a resumed run samples that continues the meeting in two parts (each its own prefix)."""
    sampled = [*SHORT, "--template", QUERY_FREE, "--sample", "--temperature", "1.5", "--seed", "3"]
    _, auto, _ = run(tmp_path, tiny[arch], *sampled, "--limit", "7", out="auto.jsonl")
    assert len(set(r["prediction"] for r in auto.values())) > 1  # each query its own seed
    assert not any("shared_with" in r for r in auto.values())
    from_cache = [r for r in auto.values() if r["prefix_tokens"]]
    assert len(from_cache) == 6 and all(r["prefix_tokens"] == r["n_input_tokens"] - 1 for r in from_cache)
    if arch == "llama":
        _, other, _ = run(tmp_path, tiny[arch], *sampled, "--limit", "7", "--reuse", "off", out="other.jsonl")
    else:
        run(tmp_path, tiny[arch], *sampled, "--limit", "3", out="other.jsonl")
        _, other, _ = run(tmp_path, tiny[arch], *sampled, "--limit", "7", "--resume", out="other.jsonl")
    assert {i: r["prediction"] for i, r in auto.items()} == {i: r["prediction"] for i, r in other.items()}


def test_sampled_runs_are_equal_with_and_without_reuse_and_across_a_resume(tmp_path, tiny):
    sample = ["--sample", "--temperature", "1.5", "--limit", "7"]
    _, off, _ = run(tmp_path, tiny["llama"], *sample, "--seed", "7", "--reuse", "off", out="off.jsonl")
    _, auto, _ = run(tmp_path, tiny["llama"], *sample, "--seed", "7", out="auto.jsonl")
    assert {i: r["prediction"] for i, r in auto.items()} == {i: r["prediction"] for i, r in off.items()}
    # Three examples, then the rest on resume: the meeting is split across the two invocations.
    run(tmp_path, tiny["llama"], "--sample", "--temperature", "1.5", "--seed", "7", "--limit", "3", out="resumed.jsonl")
    _, resumed, _ = run(tmp_path, tiny["llama"], *sample, "--seed", "7", "--resume", out="resumed.jsonl")
    assert {i: r["prediction"] for i, r in resumed.items()} == {i: r["prediction"] for i, r in auto.items()}
    # Each invocation ran its part of the meeting together: one query computed the prefix, the others shared it.
    assert sum(1 for r in resumed.values() if r["prefix_tokens"]) == 2 + 3
    # Sampling is on: a different seed changes something.
    _, other, _ = run(
        tmp_path, tiny["llama"], "--sample", "--temperature", "1.5", "--limit", "3", "--seed", "8", out="other.jsonl"
    )
    assert {i: r["prediction"] for i, r in other.items()} != {i: auto[i]["prediction"] for i in other}


def test_resume_refuses_another_reuse_setting(tmp_path, tiny):
    run(tmp_path, tiny["gpt-neox"], "--limit", "1", out="run.jsonl")
    _, result = generate(
        tmp_path, "--model", tiny["gpt-neox"], *SHORT, "--reuse", "off", "--resume", out="run.jsonl", expect=2
    )
    assert "reuse was 'auto', now 'off'" in result.output


def test_common_prefix_length():
    assert common_prefix_length([]) == 0
    assert common_prefix_length([[1, 2, 3]]) == 3
    assert common_prefix_length([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]]) == 2
    assert common_prefix_length([[1, 2], [3, 2]]) == 0
    assert common_prefix_length([[1, 2], [1, 2, 3]]) == 2


def test_example_seed_depends_only_on_the_run_seed_and_the_id():
    assert example_seed(0, "train/ES2005a/s0") == example_seed(0, "train/ES2005a/s0")
    seeds = {example_seed(seed, ident) for seed in (0, 1) for ident in ("a", "b")}
    assert len(seeds) == 4 and all(0 <= seed < 2**63 for seed in seeds)


def _token_runs(loaded, model: str, reuse: str, batch_size: int, template="longbench", **request):
    """One in-process run over the first meeting (7 queries), its transcript cut to its first
    1,000 characters and no input budget, so prompts differ in length by their queries'.
    Per example id, its finished record, the prediction replaced by the generated token ids
    up to end-of-sequence."""
    import dataclasses

    from qmsum_fast.data import load_examples
    from qmsum_fast.gen.config import Request, build_config
    from qmsum_fast.gen.inputs import build_sources, prepare_function
    from qmsum_fast.gen.local.batching import Batcher
    from qmsum_fast.gen.local.generate_call import GenerateCall as Engine
    from qmsum_fast.gen.local.generate_call import Output, _generated_length
    from qmsum_fast.gen.local.reuse import prefix_reuse
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.templates import parse_template
    from test_generate import DATA

    sources = build_sources(load_examples(str(DATA), split="train")[:7], "full", prepare_function("none"))
    sources = [dataclasses.replace(source, transcript=source.transcript[:1000]) for source in sources]
    config = build_config(Request(model=model, template=template, max_new_tokens=8, reuse=reuse, **request))
    engine = Engine(loaded, config)

    def token_ids(row):
        ids = row.tolist()
        stop = _generated_length(ids, loaded.tokenizer, loaded.is_seq2seq)
        return Output(" ".join(str(i) for i in ids[:stop]), stop)

    engine._decode = token_ids  # type: ignore[method-assign]
    builder = PromptBuilder(loaded.tokenizer, parse_template(config.template or ""), None)
    prompts = [builder.build(s.query, s.transcript) for s in sources]
    finished: list = []
    prefix_reuse(engine, Batcher(engine.generate, batch_size), config).run(sources, prompts, finished.append)
    return {f.source.example.id: f for f in finished}


def _recording_batch_sizes(monkeypatch, model) -> list[int]:
    sizes: list[int] = []
    real = model.generate

    def generate(*args, **kwargs):
        sizes.append(kwargs["input_ids"].shape[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(model, "generate", generate)
    return sizes


@pytest.mark.parametrize("arch", ["llama", "gpt-neox", "mpt"])
def test_generated_token_ids_batched_and_one_at_a_time_equal_those_without_reuse(tiny, monkeypatch, arch):
    """Every generated token id, per example: reuse off (plain batches of 4), reuse with
    one query at a time (batch size 1), reuse with batched continuation (batch size 4:
    each tail left-padded between the prefix and the tail)."""
    from qmsum_fast.gen.local.models import LoadOptions, load_model

    loaded = load_model(LoadOptions(path=tiny[arch], device="cpu", dtype="fp32"))
    sizes = _recording_batch_sizes(monkeypatch, loaded.model)
    off = _token_runs(loaded, tiny[arch], "off", 4)
    del sizes[:]
    single = _token_runs(loaded, tiny[arch], "auto", 1)
    assert sizes == [1] * 7
    del sizes[:]
    batched = _token_runs(loaded, tiny[arch], "auto", 4)
    tails = {f.n_input_tokens - f.extra["prefix_tokens"] for f in batched.values() if f.extra["prefix_tokens"]}
    assert len(tails) > 1, "the queries' tails should differ in length, so batches need padding"
    if arch == "mpt":  # ALiBi would count pads as distance: only equal tails share a batch
        assert len(sizes) > 2
    else:
        assert sizes == [4, 3]
    runs = {"off": off, "one at a time": single, "batched": batched}
    ids = {name: {i: f.prediction for i, f in found.items()} for name, found in runs.items()}
    assert len(ids["off"]) == 7 and all(ids["off"].values())
    assert ids["batched"] == ids["one at a time"] == ids["off"]
    assert sum(1 for f in single.values() if f.extra["prefix_tokens"]) == 6
    assert sum(1 for f in batched.values() if f.extra["prefix_tokens"]) == 6
    assert all(f.extra["computed_tokens"] + f.extra["prefix_tokens"] == f.n_input_tokens for f in batched.values())


def test_batched_continuation_out_of_memory_halves_the_batch_size(tiny, monkeypatch):
    """As the batcher does: a batch that does not fit is retried in halves, smaller from then on."""
    from qmsum_fast.gen.local.models import LoadOptions, load_model

    loaded = load_model(LoadOptions(path=tiny["llama"], device="cpu", dtype="fp32"))
    single = _token_runs(loaded, tiny["llama"], "auto", 1)
    real, sizes = loaded.model.generate, []

    def tight_memory(*args, **kwargs):
        sizes.append(kwargs["input_ids"].shape[0])
        if sizes[-1] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", tight_memory)
    halved = _token_runs(loaded, tiny["llama"], "auto", 4)
    assert sizes == [4, 2, 2, 2, 1]
    assert {i: f.prediction for i, f in halved.items()} == {i: f.prediction for i, f in single.items()}
    assert not any(f.error for f in halved.values())


def test_mpt_continues_from_a_cache_as_the_whole_prompt_computes_in_bf16(tiny):
    """gen/local/mpt_attention.py's ALiBi is relative to each query, so a (query, key) pair gets
    the same bias whether the prompt runs whole or from a cache: equal logits even in bf16,
    where transformers' last-key-aligned bias (values up to slope x length) rounds coarsely."""
    import torch
    from transformers import DynamicCache

    from qmsum_fast.gen.local.models import LoadOptions, load_model

    loaded = load_model(LoadOptions(path=tiny["mpt"], device="cpu", dtype="bf16"))
    assert loaded.attention == "sdpa-blocked"
    torch.manual_seed(0)
    prompt = torch.randint(100, 5000, (1, 1200))
    with torch.inference_mode():
        whole = loaded.model(input_ids=prompt).logits[0, -1]
        cache = loaded.model(input_ids=prompt[:, :1190], cache=DynamicCache(config=loaded.model.config)).cache
        mask = torch.ones_like(prompt)
        continued = loaded.model(input_ids=prompt[:, 1190:], attention_mask=mask, cache=cache).logits[0, -1]
    assert torch.equal(whole, continued)


def test_data_parallel_processes_take_whole_meetings_balanced_by_count():
    """Each meeting's queries in one process (they share its prefix), every example in
    exactly one, counts balanced, and the same split when computed again (a resumed run)."""
    from collections import Counter
    from types import SimpleNamespace

    from qmsum_fast.gen.parallel import Parallel
    from qmsum_fast.gen.run import meetings_of_rank

    sizes = {"a": 7, "b": 2, "c": 5, "d": 5, "e": 1, "f": 4}
    examples = [SimpleNamespace(id=f"{m}{q}", split="test", meeting=m) for m in sizes for q in range(sizes[m])]
    for world in (1, 2, 3):
        split = [meetings_of_rank(examples, Parallel(rank, world, rank)) for rank in range(world)]
        assert split == [meetings_of_rank(examples, Parallel(rank, world, rank)) for rank in range(world)]
        assert sorted(e.id for part in split for e in part) == sorted(e.id for e in examples)
        owners = {e.meeting: rank for rank, part in enumerate(split) for e in part}
        assert all(
            e.meeting in owners and Counter(x.meeting for x in split[owners[e.meeting]])[e.meeting] == sizes[e.meeting]
            for e in examples
        )
        # data order within a process
        assert all([examples.index(e) for e in part] == sorted(examples.index(e) for e in part) for part in split)
        loads = [len(part) for part in split]
        assert max(loads) - min(loads) <= max(sizes.values())
    # 24 queries on two processes, largest meeting first to the lighter one: a7 | c5, d5 | f4 | b2 | e1
    assert [len(meetings_of_rank(examples, Parallel(rank, 2, rank))) for rank in (0, 1)] == [12, 12]
    assert {e.meeting for e in meetings_of_rank(examples, Parallel(0, 2, 0))} == {"a", "f", "e"}


def test_pads_go_between_prefix_and_tail_only_where_they_change_nothing():
    """Positions from the mask (not ALiBi's key distance), and no processor that reads the prompt's ids."""
    from types import SimpleNamespace

    from qmsum_fast.gen.local.reuse import _pads_are_exact

    def engine(generation, forward=lambda input_ids, position_ids=None: None):
        return SimpleNamespace(generation=generation, loaded=SimpleNamespace(model=SimpleNamespace(forward=forward)))

    assert _pads_are_exact(engine({"max_new_tokens": 8}))
    assert _pads_are_exact(engine({"repetition_penalty": 1.0}))
    assert not _pads_are_exact(engine({"repetition_penalty": 1.2}))
    assert not _pads_are_exact(engine({"no_repeat_ngram_size": 3}))
    assert not _pads_are_exact(engine({}, forward=lambda input_ids, attention_mask=None: None))  # MPT

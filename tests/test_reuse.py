"""--reuse: a meeting's shared prompt prefix computed once gives the outputs of the plain path.

Tiny random-weight models with real architectures, real QMSum meetings
(tests/data/gen_qmsum, two meetings of seven queries) cut to a few hundred
tokens, with the longbench template (transcript first, query last).
"""

from __future__ import annotations

import pytest

from qmsum_fast.gen.reuse import MIN_PREFIX_TOKENS, common_prefix_length, example_seed
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


@pytest.mark.parametrize("arch", ["mpt", pytest.param("led", marks=pytest.mark.slow)])
def test_a_fallback_architecture_runs_the_plain_path(tmp_path, tiny, arch):
    one_meeting = ["--limit", "7"]
    _, plain, _ = run(tmp_path, tiny[arch], *one_meeting, "--reuse", "off", out="off.jsonl")
    _, auto, result = run(tmp_path, tiny[arch], *one_meeting, out="auto.jsonl")
    assert {i: r["prediction"] for i, r in auto.items()} == {i: r["prediction"] for i, r in plain.items()}
    assert all(r["prefix_tokens"] == 0 for r in auto.values())
    assert result.stderr.count("running without prefix reuse") == 1


def test_sampled_runs_are_equal_with_and_without_reuse_and_across_a_resume(tmp_path, tiny):
    sample = ["--sample", "--temperature", "1.5", "--limit", "7"]
    _, off, _ = run(tmp_path, tiny["llama"], *sample, "--seed", "7", "--reuse", "off", out="off.jsonl")
    _, auto, _ = run(tmp_path, tiny["llama"], *sample, "--seed", "7", out="auto.jsonl")
    assert {i: r["prediction"] for i, r in auto.items()} == {i: r["prediction"] for i, r in off.items()}
    # Three examples, then the rest on resume: the meeting is split across the two invocations.
    run(tmp_path, tiny["llama"], "--sample", "--temperature", "1.5", "--seed", "7", "--limit", "3", out="resumed.jsonl")
    _, resumed, _ = run(tmp_path, tiny["llama"], *sample, "--seed", "7", "--resume", out="resumed.jsonl")
    assert {i: r["prediction"] for i, r in resumed.items()} == {i: r["prediction"] for i, r in auto.items()}
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


@pytest.mark.parametrize("arch", ["llama", "gpt-neox"])
def test_generated_token_ids_with_reuse_equal_those_without(tiny, arch):
    """Below the text: every generated token id, per example, up to its end-of-sequence token."""
    from qmsum_fast.data import load_examples
    from qmsum_fast.gen.batching import Batcher
    from qmsum_fast.gen.config import Request, build_config
    from qmsum_fast.gen.engine import Engine, _generated_length
    from qmsum_fast.gen.inputs import build_sources, prepare_function
    from qmsum_fast.gen.models import LoadOptions, load_model
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.gen.reuse import prefix_reuse
    from qmsum_fast.templates import parse_template
    from test_generate import DATA

    loaded = load_model(LoadOptions(path=tiny[arch], device="cpu", dtype="fp32"))
    sources = build_sources(load_examples(str(DATA), split="train")[:7], "full", prepare_function("none"))
    ids, shared = {}, {}
    for reuse in ("off", "auto"):
        config = build_config(Request(model=tiny[arch], template="longbench", max_new_tokens=24, reuse=reuse))
        engine = Engine(loaded, config)
        decode = engine._decode
        generated: list[list[int]] = []

        def recording(row, decode=decode, generated=generated):
            generated.append(row.tolist()[: _generated_length(row.tolist(), loaded.tokenizer, False)])
            return decode(row)

        engine._decode = recording  # type: ignore[method-assign]
        builder = PromptBuilder(loaded.tokenizer, parse_template(config.template or ""), 500)
        prompts = [builder.build(s.query, s.transcript) for s in sources]
        finished: list = []
        prefix_reuse(engine, Batcher(engine.generate, 4), config).run(sources, prompts, finished.append)
        ids[reuse] = {f.source.example.id: row for f, row in zip(finished, generated)}
        shared[reuse] = sum(1 for f in finished if f.extra["prefix_tokens"] > 0)
    assert len(ids["auto"]) == 7 and ids["auto"] == ids["off"]
    assert shared == {"off": 0, "auto": 6}

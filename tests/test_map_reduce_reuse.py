"""--reuse with map-reduce: a meeting's chunk summaries computed once give the outputs of the plain path.

The llama-adapter preset (map-reduce, "Summarize the following conversation."
for each chunk) on the tiny random-weight LLaMA, real QMSum meetings
(tests/data/gen_qmsum: two meetings of seven queries), chunk prompts of 300 tokens.
"""

from __future__ import annotations

import pytest

from qmsum_fast.gen.local.generate_call import GenerateCall as Engine
from test_generate import generate, records, tokenizer_of

ADAPTER = ["--model", "llama-adapter", "--max-input-tokens", "300", "--max-new-tokens", "4"]
SAMPLED = ["--sample", "--temperature", "1.5", "--top-p", "1.0"]
MAP = "### Instruction:\nSummarize the following conversation."


@pytest.fixture
def prompts(monkeypatch):
    """Every prompt the engine is given, in order."""
    given: list[str] = []
    real_generate = Engine.generate

    def recording(self, texts):
        given.extend(texts)
        return real_generate(self, texts)

    monkeypatch.setattr(Engine, "generate", recording)
    return given


def run(tmp_path, tiny, *args, out):
    path, _ = generate(tmp_path, *ADAPTER, "--model-path", tiny["llama"], *args, out=out)
    header, rows = records(path)
    return header, {row["id"]: row for row in rows}


def predictions(rows):
    return {i: r["prediction"] for i, r in rows.items()}


def test_greedy_map_reduce_with_reuse_equals_without_and_summarizes_each_chunk_once(tmp_path, tiny, prompts):
    both = ["--greedy", "--batch-size", "4"]  # the two meetings, 14 queries
    _, off = run(tmp_path, tiny, *both, "--reuse", "off", out="off.jsonl")
    off_maps = [p for p in prompts if MAP in p]
    prompts.clear()
    header, auto = run(tmp_path, tiny, *both, out="auto.jsonl")
    auto_maps = [p for p in prompts if MAP in p]
    assert header["config"]["reuse"] == "auto" and len(auto) == 14
    assert predictions(auto) == predictions(off)
    # With reuse each distinct chunk once per meeting; without, once per query (7 per meeting).
    assert len(auto_maps) == len(set(auto_maps)) == len(set(off_maps)) > 2
    assert sorted(off_maps) == sorted(auto_maps * 7)
    reduces = [p for p in prompts if MAP not in p]
    assert len(reduces) == 14  # one per query
    tokenizer = tokenizer_of(tiny["llama"])
    count = lambda text: len(tokenizer(text)["input_ids"])
    # The meetings run in data order; both ask "Summarize the whole meeting.".
    by_meeting = {"ES2005a": reduces[:7], "IS1004a": reduces[7:]}
    reduce_tokens = {i: count(_reduce_of(by_meeting[r["meeting"]], r["query"])) for i, r in auto.items()}
    _check_accounting(off, auto, reduce_tokens)
    assert sum(r["prefix_tokens"] for r in auto.values()) == 6 * sum(count(p) for p in auto_maps)


def _reduce_of(reduces, query):
    (prompt,) = [p for p in reduces if f"### Instruction:\n{query}\n\n" in p]
    return prompt


def _check_accounting(off, auto, reduce_tokens):
    """Without reuse every token is computed for its example; with it a meeting's
    first query computes the chunk prompts and the other six take their summaries."""
    for row in off.values():
        assert row["prefix_tokens"] == 0 and row["computed_tokens"] == row["n_input_tokens"]
    for meeting in ("ES2005a", "IS1004a"):
        first = auto[f"train/{meeting}/g0"]
        map_tokens = first["n_input_tokens"] - reduce_tokens[first["id"]]
        assert first["computed_tokens"] == first["n_input_tokens"] and first["prefix_tokens"] == 0
        for ident in (f"train/{meeting}/s{n}" for n in range(6)):
            row = auto[ident]
            assert row["n_input_tokens"] == off[ident]["n_input_tokens"]
            assert row["prefix_tokens"] == map_tokens and row["computed_tokens"] == reduce_tokens[ident]


def test_sampled_map_reduce_is_equal_with_and_without_reuse_and_across_a_resume(tmp_path, tiny):
    seven = [*SAMPLED, "--seed", "7", "--limit", "7"]
    _, off = run(tmp_path, tiny, *seven, "--reuse", "off", out="off.jsonl")
    _, auto = run(tmp_path, tiny, *seven, out="auto.jsonl")
    assert len(auto) == 7 and predictions(auto) == predictions(off)
    # Three queries, then the other four on resume: the meeting's chunks are summarized in both invocations.
    run(tmp_path, tiny, *SAMPLED, "--seed", "7", "--limit", "3", out="resumed.jsonl")
    _, resumed = run(tmp_path, tiny, *seven, "--resume", out="resumed.jsonl")
    assert predictions(resumed) == predictions(auto)
    # g0 (first run) and s2 (the resume) each compute the chunk prompts; the others share them.
    assert [i for i, r in resumed.items() if r["prefix_tokens"] == 0] == ["train/ES2005a/g0", "train/ES2005a/s2"]
    # Sampling is on: another seed changes something.
    _, other = run(tmp_path, tiny, *SAMPLED, "--seed", "8", "--limit", "3", out="other.jsonl")
    assert predictions(other) != {i: auto[i]["prediction"] for i in other}


def test_a_record_gives_its_chunks_turns(tmp_path, tiny, prompts):
    """``chunks`` holds each chunk's first and last turn: consecutive, covering
    the meeting, and each is the text its chunk prompt summarized."""
    from qmsum_fast.data import load_examples
    from qmsum_fast.gen.inputs import prepare_function, with_turns
    from test_generate import DATA

    _, rows = run(tmp_path, tiny, "--greedy", "--limit", "1", out="one.jsonl")
    (row,) = rows.values()
    example = next(e for e in load_examples(str(DATA), split="train") if e.id == row["id"])
    chunks = row["chunks"]
    assert chunks[0][0] == 0 and chunks[-1][1] == len(example.turns) - 1 and len(chunks) > 2
    assert all(after[0] == before[1] + 1 for before, after in zip(chunks, chunks[1:]))  # no overlap asked
    maps = [p for p in prompts if MAP in p]
    assert len(maps) == len(chunks)
    texts = prepare_function("none")([with_turns(example, [tuple(chunk)]) for chunk in chunks])
    # The batcher runs the longest prompt first: each chunk's text is in one map prompt of its own.
    holders = [[i for i, prompt in enumerate(maps) if item.transcript in prompt] for item in texts]
    assert all(len(found) == 1 for found in holders) and len({found[0] for found in holders}) == len(maps)

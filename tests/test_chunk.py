"""Chunking turns into exact token budgets (rust/src/chunk.rs via qmsum_fast.chunk)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qmsum_fast import InputError
from qmsum_fast.chunk import Chunk, chunk_turn_counts, chunk_turns
from qmsum_fast.stats import TokenCounter

MEETING = Path(__file__).parent / "data" / "gen_qmsum" / "train" / "ES2005a.json"


COUNTER = TokenCounter.load(None)


@pytest.fixture(scope="module")
def counter():
    return COUNTER


def real_turns():
    meeting = json.loads(MEETING.read_text(encoding="utf-8"))
    return [f"{t['speaker']}: {t['content']}" for t in meeting["meeting_transcripts"]]


def check_chunks(chunks, turns, budget, counter, separator="\n"):
    assert chunks[0].start == 0 and chunks[-1].end == len(turns) - 1
    for before, after in zip(chunks, chunks[1:]):
        assert before.start < after.start <= before.end + 1 and after.end > before.end
    for chunk in chunks:
        text = separator.join(turns[chunk.start : chunk.end + 1])
        assert chunk.tokens == counter.count(text)
        assert chunk.tokens <= budget or chunk.start == chunk.end
        if chunk.end + 1 < len(turns):  # maximal: the next turn would not fit
            assert counter.count(separator.join(turns[chunk.start : chunk.end + 2])) > budget


@pytest.mark.parametrize("budget,overlap", [(64, 0), (300, 0), (300, 60), (1000, 200)])
def test_real_meeting_chunks_are_exact_and_maximal(counter, budget, overlap):
    turns = real_turns()
    check_chunks(chunk_turns(turns, budget, counter, overlap=overlap), turns, budget, counter)


def test_overlap_repeats_at_most_the_overlap(counter):
    turns = real_turns()
    chunks = chunk_turns(turns, 300, counter, overlap=50)
    repeated = [c for c in zip(chunks, chunks[1:]) if c[1].start <= c[0].end]
    assert repeated  # the overlap is used on a real meeting
    for before, after in repeated:
        shared = "\n".join(turns[after.start : before.end + 1])
        assert counter.count(shared) <= 50 + 2  # joins can merge a token or two


def test_counts_only_chunks_and_errors():
    assert chunk_turn_counts([5, 5, 5], 10, separator_tokens=0) == [Chunk(0, 1, 10), Chunk(2, 2, 5)]
    assert chunk_turn_counts([5, 5, 5], 10, separator_tokens=1) == [Chunk(0, 0, 5), Chunk(1, 1, 5), Chunk(2, 2, 5)]
    with pytest.raises(InputError, match="overlap"):
        chunk_turn_counts([1, 2], 5, overlap=5)
    with pytest.raises(InputError, match="at least 1"):
        chunk_turn_counts([1, 2], 0)


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_ints_that_do_not_fit_are_input_errors(counter, bad):
    limit = 2**64 - 1
    with pytest.raises(InputError, match=rf"^chunking: budget must be an integer from 0 to {limit}, not {bad}$"):
        chunk_turn_counts([1, 2], bad)
    with pytest.raises(InputError, match=r"^chunking: turn_tokens\[1\] must be an integer"):
        chunk_turn_counts([1, bad], 5)
    with pytest.raises(InputError, match=r"^chunking: separator_tokens must be an integer"):
        chunk_turn_counts([1, 2], 5, separator_tokens=bad)
    with pytest.raises(InputError, match=r"^chunking: overlap must be an integer"):
        chunk_turns(["a", "b"], 5, counter, overlap=bad)


def test_huge_budgets_and_counts_do_not_overflow(counter):
    huge = 2**64 - 1
    assert chunk_turn_counts([huge, huge, 1], huge, separator_tokens=huge) == [Chunk(0, 2, huge)]
    assert chunk_turn_counts([huge, 1], huge - 1, overlap=huge - 2) == [Chunk(0, 0, huge), Chunk(1, 1, 1)]
    assert chunk_turns(["a", "b"], huge, counter, overlap=huge - 1) == [Chunk(0, 1, counter.count("a\nb"))]


turn_text = st.text(alphabet=st.sampled_from(list("ab cd,.'\n\té—")), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(turn_text, min_size=1, max_size=25),
    st.integers(3, 60),
    st.integers(0, 20),
    st.sampled_from(["\n", " ", ""]),
)
# Found by hypothesis: the repeated turns merge with the next one past the budget.
@example(turns=["a", "a", " \n", "a"], budget=3, overlap=2, separator="")
def test_chunks_cover_fit_and_are_maximal(turns, budget, overlap, separator):
    counter = COUNTER
    overlap = min(overlap, budget - 1)
    chunks = chunk_turns(turns, budget, counter, overlap=overlap, separator=separator)
    check_chunks(chunks, turns, budget, counter, separator)

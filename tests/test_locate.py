"""The query locator: spans within exact token budgets, evaluation against
gold spans, the locate command, bad input."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from qmsum_fast import _core
from qmsum_fast.cli import main
from qmsum_fast.data import Example, Turn, load_examples
from qmsum_fast.errors import InputError
from qmsum_fast.locate import (
    DEFAULT_WINDOW,
    evaluate_locator,
    gold_turns,
    locate_turns,
    located_transcript,
    turn_costs,
)
from qmsum_fast.stats import TokenCounter

DATA = Path(__file__).parent / "data" / "qmsum"


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter.load(None)


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_examples(DATA, split="test")


@pytest.mark.parametrize("method", ["bm25", "tfidf"])
@pytest.mark.parametrize("budget", [0, 5, 64, 512, 2048, 10**9])
def test_spans_fit_the_budget_and_are_merged(examples, counter, method, budget):
    for example in examples[::4]:
        costs = turn_costs(example.turns, counter)
        spans = locate_turns(example, budget, counter, method)
        turns = [i for start, end in spans for i in range(start, end + 1)]
        assert sum(costs[i] for i in turns) <= budget
        assert turns == sorted(set(turns))
        # Neighbouring spans are merged: a gap of at least one turn between spans.
        assert all(b[0] > a[1] + 1 for a, b in zip(spans, spans[1:]))
        if budget >= sum(costs):
            assert spans == [(0, len(example.turns) - 1)]


def test_costs_are_exact_token_counts_of_transcript_lines(examples, counter):
    example = examples[0]
    costs = turn_costs(example.turns[:20], counter)
    assert costs == [counter.count(f"{t.speaker}: {t.content}\n") for t in example.turns[:20]]


@pytest.mark.parametrize("budget", [64, 300, 1500])
def test_located_transcript_fits_the_budget_exactly_counted(examples, counter, budget):
    # Lines joined by newlines cost the sum of their "line\n" counts, less the
    # last newline, with gpt-neox-20b: what the model gets stays within budget.
    for example in examples[1::3]:
        spans = locate_turns(example, budget, counter)
        costs = turn_costs(example.turns, counter)
        located = [i for start, end in spans for i in range(start, end + 1)]
        assert counter.count(located_transcript(example, spans)) == sum(costs[i] for i in located) - 1
        assert sum(costs[i] for i in located) <= budget


def test_located_spans_hold_query_words(examples, counter):
    example = next(e for e in examples if e.id == "test/IS1003a/s2")  # product price and cost
    spans = locate_turns(example, 200, counter)
    text = located_transcript(example, spans).lower()
    assert "price" in text and "cost" in text
    assert text.count("\n") + 1 == sum(end - start + 1 for start, end in spans)


def test_skips_turns_that_do_not_fit():
    turns = (Turn("A", "remote " * 50), Turn("B", "the remote control"), Turn("C", "lunch"))
    example = Example("test/x/s0", "x", "product", "test", "specific", "remote", ("r",), turns)
    costs = [60, 5, 3]
    # The best turn (0) costs too much: the next remote turn still fits, and
    # the rest of the budget is filled with the turns that share no word.
    assert locate_turns(example, 5, None, "bm25", costs, window=0) == [(1, 1)]
    assert locate_turns(example, 10, None, "bm25", costs, window=0) == [(1, 2)]
    assert locate_turns(example, 2, None, "bm25", costs) == []  # smaller than every turn


def test_smoothing_locates_the_run_around_query_turns():
    contents = ["lunch plans", "the remote", "so yes", "agreed", "the remote", "weather", "coffee"]
    turns = tuple(Turn("A", c) for c in contents)
    example = Example("test/x/s0", "x", "product", "test", "specific", "remote", ("r",), turns)
    costs = [1] * len(turns)
    # Plain: the two remote turns, then the budget filled in transcript order.
    assert locate_turns(example, 4, None, "bm25", costs, window=0) == [(0, 2), (4, 4)]
    # Smoothed (1/distance over 3 turns): the turns between them rank first.
    assert locate_turns(example, 4, None, "bm25", costs, window=3) == [(1, 4)]
    with pytest.raises(InputError, match="window"):
        locate_turns(example, 4, None, "bm25", costs, window=-1)


def test_no_turns_and_no_words(counter):
    empty = Example("test/x/s0", "x", "product", "test", "specific", "remote", ("r",), ())
    assert locate_turns(empty, 100, counter) == []
    turns = (Turn("A", "remote"),)
    wordless = Example("test/x/s1", "x", "product", "test", "specific", "?!", ("r",), turns)
    with pytest.raises(InputError, match=r"test/x/s1: .*no words"):
        locate_turns(wordless, 100, counter)
    with pytest.raises(InputError, match="unknown locator method"):
        locate_turns(wordless, 100, counter, method="dense")


def test_gold_spans_outside_the_transcript_are_input_errors():
    turns = (Turn("A", "a"), Turn("B", "b"))
    bad = Example("test/x/s0", "x", "product", "test", "specific", "a", ("r",), turns, spans=((1, 2),))
    with pytest.raises(InputError, match=r"test/x/s0: relevant_text_span \[1, 2\] is outside"):
        gold_turns(bad)
    assert gold_turns(Example(**{**bad.__dict__, "spans": ((0, 0), (0, 1))})) == {0, 1}


def test_evaluation_counts_recall_and_precision(examples, counter):
    scores = evaluate_locator(examples, [256, 10**9], counter)
    by_key = {(s.budget, s.domain): s for s in scores}
    specific = [e for e in examples if e.spans]
    assert by_key[10**9, "all"].queries == len(specific)
    # An unlimited budget locates every turn: recall 1, precision = gold share.
    assert by_key[10**9, "all"].recall == pytest.approx(1.0)
    share = sum(len(gold_turns(e)) / len(e.turns) for e in specific) / len(specific)
    assert by_key[10**9, "all"].precision == pytest.approx(share)
    assert 0 < by_key[256, "all"].recall < 1
    assert {s.domain for s in scores} == {"product", "committee", "all"}


@settings(max_examples=200, deadline=None)
@given(
    data=st.lists(
        st.tuples(st.sampled_from(["remote", "the remote", "lunch", "buttons remote", "", "ok ."]), st.integers(0, 40)),
        max_size=12,
    ),
    budget=st.integers(0, 120),
    window=st.integers(0, 5),
    method=st.sampled_from(["bm25", "tfidf"]),
)
def test_locator_invariants(data, budget, window, method):
    texts = [f"A: {text}" for text, _ in data]
    costs = [cost for _, cost in data]
    spans = _core.locate_turns(texts, costs, "remote buttons", budget, method, window)
    chosen = [i for start, end in spans for i in range(start, end + 1)]
    used = sum(costs[i] for i in chosen)
    assert used <= budget
    assert chosen == sorted(set(chosen))
    assert all(b[0] > a[1] + 1 for a, b in zip(spans, spans[1:]))
    # The budget is filled: every turn left out no longer fits.
    assert all(costs[i] > budget - used for i in range(len(texts)) if i not in chosen)


def test_default_window_comes_from_the_core():
    # One value, in rust/src/locate.rs: the core's default, the package's, the CLI's.
    assert DEFAULT_WINDOW is _core.DEFAULT_WINDOW and DEFAULT_WINDOW == 16
    assert inspect.signature(locate_turns).parameters["window"].default == DEFAULT_WINDOW
    texts = [f"A: {word}" for word in ["remote"] + ["x"] * 20 + ["remote", "y", "z"]]
    costs = [1] * len(texts)
    default = _core.locate_turns(texts, costs, "remote", 5)
    assert default == _core.locate_turns(texts, costs, "remote", 5, "bm25", DEFAULT_WINDOW)
    assert default != _core.locate_turns(texts, costs, "remote", 5, "bm25", 0)


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_ints_that_do_not_fit_are_input_errors(bad):
    texts, costs = ["A: remote", "B: lunch"], [1, 1]
    with pytest.raises(InputError, match=rf"^budget must be an integer from 0 to {2**64 - 1}, not {bad}$"):
        _core.locate_turns(texts, costs, "remote", bad)
    with pytest.raises(InputError, match="window must be an integer"):
        _core.locate_turns(texts, costs, "remote", 1, "bm25", bad)
    with pytest.raises(InputError, match=r"token_counts\[1\] must be an integer"):
        _core.locate_turns(texts, [1, bad], "remote", 1)
    example = Example("test/x/s0", "x", "product", "test", "specific", "remote", ("r",), (Turn("A", "remote"),))
    with pytest.raises(InputError, match=r"^test/x/s0: token_counts\[0\] must be an integer"):
        locate_turns(example, 5, None, costs=[bad])


def test_huge_budgets_and_windows_take_every_turn():
    texts, costs = ["A: remote", "B: lunch", "C: remote"], [2**62, 2**62, 2**62]
    assert _core.locate_turns(texts, costs, "remote", 2**64 - 1, "tfidf", 2**64 - 1) == [(0, 2)]
    assert _core.locate_turns(texts, costs, "remote", 2**63, "bm25", 2**64 - 1) == [(0, 1)]


def invoke(*args: str):
    return CliRunner().invoke(main, ["locate", *args])


def test_cli_table_and_json():
    result = invoke("--data", str(DATA), "--budget", "256,1024")
    assert result.exit_code == 0, result.output
    assert "recall" in result.output and "committee" in result.output
    result = invoke("--data", str(DATA), "--budget", "512", "--method", "tfidf", "--json")
    payload = json.loads(result.output)
    assert payload["method"] == "tfidf" and payload["window"] == 16
    assert [s["budget"] for s in payload["scores"]] == [512, 512, 512]


@pytest.mark.parametrize(
    "budget, message",
    [
        ("abc", "expected comma-separated token counts, got 'abc'"),
        ("0", "0 is not in the range 1<=x<=2147483647."),
        ("512,-1", "-1 is not in the range 1<=x<=2147483647."),
        ("512,2147483648", "2147483648 is not in the range 1<=x<=2147483647."),
        ("", "expected at least one token count"),
    ],
)
def test_cli_bad_budget_is_a_usage_error(budget, message):
    result = invoke("--data", str(DATA), "--budget", budget)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"qmsum-fast: error: Invalid value for '--budget': {message.rstrip('.')} (see 'main locate --help')"
    ]


def test_cli_spans_outside_transcript(tmp_path):
    meeting = json.loads((DATA / "ALL" / "test" / "education_17.json").read_text())
    meeting["specific_query_list"][0]["relevant_text_span"] = [["120", "999"]]
    folder = tmp_path / "test"
    folder.mkdir()
    (folder / "education_17.json").write_text(json.dumps(meeting))
    result = invoke("--data", str(folder / "education_17.json"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("qmsum-fast: error: ")
    assert "999" in lines[0]


def test_cli_no_specific_queries(tmp_path):
    meeting = json.loads((DATA / "ALL" / "test" / "education_17.json").read_text())
    meeting["specific_query_list"] = []
    folder = tmp_path / "test"
    folder.mkdir()
    (folder / "education_17.json").write_text(json.dumps(meeting))
    result = invoke("--data", str(folder / "education_17.json"))
    assert result.exit_code == 2
    assert "no examples with gold spans" in result.output


def test_cli_unknown_method():
    result = invoke("--data", str(DATA), "--method", "dense")
    assert result.exit_code == 2

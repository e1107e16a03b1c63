"""Extractive baselines: exactness of the oracle against a plain rouge-score
greedy loop, behaviour of each baseline, bad input."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer, tokenize

from qmsum_fast import _core
from qmsum_fast.baselines import (
    BASELINES,
    clean_annotations,
    make_predictor,
    options_for,
    oracle_batch,
    transcript_units,
)
from qmsum_fast.data import Example, Turn, load_examples
from qmsum_fast.errors import InputError

DATA = Path(__file__).parent / "data" / "qmsum"
SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2"], use_stemmer=True)


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return load_examples(DATA, split="test")


def greedy_oracle_on_rouge_score(units: list[str], reference: str, max_units: int | None = None) -> list[int]:
    """The straightforward oracle: rescore the joined summary for every candidate."""
    selected: list[int] = []
    current = 0.0
    while max_units is None or len(selected) < max_units:
        best, best_score = None, current
        for unit in range(len(units)):
            if unit in selected:
                continue
            text = "\n".join(units[i] for i in sorted([*selected, unit]))
            scores = SCORER.score(reference, text)
            score = scores["rouge1"].fmeasure + scores["rouge2"].fmeasure
            if score > best_score:
                best, best_score = unit, score
        if best is None:
            break
        selected.append(best)
        current = best_score
    return sorted(selected)


def test_oracle_equals_rouge_score_greedy_on_real_meetings(examples):
    for example in examples[:6] + examples[7:10]:
        units = transcript_units(example, "turn", clean=False)[:60]
        expected = greedy_oracle_on_rouge_score(units, example.references[0])
        assert _core.OracleUnits(units).select([example.references[0]]) == expected, example.id


word = st.sampled_from(["remote", "remotes", "the", "button", "buttons", "big", "is", "a", "yellow", "x1", "é"])
text = st.lists(word, max_size=8).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(units=st.lists(text, max_size=7), reference=text, max_units=st.one_of(st.none(), st.integers(1, 3)))
def test_oracle_equals_rouge_score_greedy_on_random_text(units, reference, max_units):
    expected = greedy_oracle_on_rouge_score(units, reference, max_units)
    assert _core.oracle_select(units, [reference], stem=True, max_units=max_units) == expected
    assert _core.oracle_select_batch([units], [(0, [reference])], max_units=max_units) == [expected]


def test_speaker_names_are_shown_but_not_counted(examples):
    example = examples[1]
    shown = make_predictor("textrank", {"budget": 30})(example).split("\n")
    plain = make_predictor("textrank", {"budget": 30, "speaker": False})(example).split("\n")
    speakers = {t.speaker for t in example.turns}
    assert [line.split(": ", 1)[1] for line in shown] == plain
    assert all(line.split(": ", 1)[0] in speakers for line in shown)


def test_oracle_batch_equals_single_calls(examples):
    summaries = oracle_batch(examples)
    predict = make_predictor("oracle", {})
    assert summaries == [predict(e) for e in examples]
    assert all(s for s in summaries)


def test_oracle_token_budget(examples):
    predict = make_predictor("oracle", {"budget": 40})
    for example in examples[:5]:
        summary = predict(example)
        assert len(tokenize.tokenize(summary, None)) <= 40


def test_lead_takes_the_first_units(examples):
    example = examples[1]
    units = transcript_units(example, "sentence", clean=False)
    assert make_predictor("lead", {"budget": 3})(example) == "\n".join(units[:3])


def test_random_is_seeded_and_in_transcript_order(examples):
    example = examples[1]
    units = transcript_units(example, "sentence", clean=False)
    first = make_predictor("random", {"seed": 5})(example)
    assert first == make_predictor("random", {"seed": 5})(example)
    assert first != make_predictor("random", {"seed": 6})(example)
    positions = [units.index(line) for line in first.split("\n")]
    assert positions == sorted(positions) and len(positions) == 4


@pytest.mark.parametrize("name", ["textrank", "bm25"])
def test_ranked_baselines_fill_the_word_budget(examples, name):
    predict = make_predictor(name, {"budget": 30, "speaker": False})
    for example in examples[:4]:
        lines = predict(example).split("\n")
        words = [len(line.split()) for line in lines]
        # "reach": stop once 30 words are reached; the unit taken last (some
        # line) crossed the budget, so without the longest line it is not met.
        assert sum(words) >= 30
        assert sum(words) - max(words) < 30


def test_bm25_prefers_turns_with_query_words(examples):
    example = next(e for e in examples if e.id == "test/IS1003a/s2")  # "... product price and cost ..."
    summary = make_predictor("bm25", {"unit": "turn", "budget": 2, "budget_kind": "units"})(example)
    assert "price" in summary.lower() or "cost" in summary.lower()


def python_bm25(documents: list[list[str]], query: list[str], k1=1.2, b=0.75) -> list[float]:
    n = len(documents)
    mean = sum(map(len, documents)) / n
    df = Counter(w for d in documents for w in set(d))
    scores = []
    for d in documents:
        tf = Counter(d)
        score = 0.0
        for w in query:
            if tf[w]:
                idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
                score += idf * tf[w] * (k1 + 1) / (tf[w] + k1 * (1 - b + b * len(d) / mean))
        scores.append(score)
    return scores


def test_bm25_scores_equal_a_python_implementation(examples):
    import re

    # Words of 8+ letters are never stop words, so both sides see the same words.
    long_words = lambda t: [w for w in re.findall(r"[a-z0-9]+", t.lower()) if len(w) >= 8]
    units = [" ".join(long_words(t.content)) for t in examples[0].turns]
    documents = [long_words(u) for u in units]
    vocabulary = sorted({w for d in documents for w in d})
    query = " ".join(vocabulary[:: max(1, len(vocabulary) // 6)])
    rust = _core.score_units(units, query, "bm25")
    expected = python_bm25(documents, long_words(query))
    assert any(s > 0 for s in rust)
    assert rust == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_units_sentences_and_cleaning():
    turns = (Turn("A", "Okay . { vocalsound } So the remote ? Yes ."), Turn("B", "{ gap }"))
    example = Example("test/x/s0", "x", "product", "test", "specific", "remote?", ("ref",), turns)
    assert transcript_units(example) == ["Okay .", "So the remote ?", "Yes ."]
    assert clean_annotations("a { vocalsound } b {gap}") == "a b"
    assert transcript_units(example, "turn", clean=False, speaker=True) == [
        "A: Okay . { vocalsound } So the remote ? Yes .",
        "B: { gap }",
    ]


def empty_meeting(query: str = "What about the remote?") -> Example:
    return Example("test/empty/s0", "empty", "product", "test", "specific", query, ("the remote",), ())


@pytest.mark.parametrize("name", BASELINES)
def test_meeting_with_no_turns_gives_an_empty_summary(name):
    assert make_predictor(name, {})(empty_meeting()) == ""


def test_query_with_no_words_is_an_input_error(examples):
    example = Example(**{**examples[1].__dict__, "query": "?!"})
    with pytest.raises(InputError, match="no words"):
        make_predictor("bm25", {})(example)
    # TextRank ignores the query.
    assert make_predictor("textrank", {})(example)


def test_oracle_needs_a_reference(examples):
    example = Example(**{**examples[1].__dict__, "references": ("  ",)})
    with pytest.raises(InputError, match="reference"):
        make_predictor("oracle", {})(example)


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("gpt", {}, "unknown baseline"),
        ("lead", {"unit": "word"}, "unit"),
        ("lead", {"budget": 0}, "positive"),
        ("lead", {"budget": "10"}, "positive"),
        ("lead", {"budget_kind": "pages"}, "budget_kind"),
        ("lead", {"colour": 1}, "unknown option"),
        ("bm25", {"budget_kind": "tokens"}, "oracle only"),
        ("oracle", {"budget_kind": "words"}, "units or tokens"),
    ],
)
def test_bad_options_are_input_errors(name, options, message):
    with pytest.raises(InputError, match=message):
        options_for(name, options)


def test_none_options_keep_defaults_and_budget_kind_none(examples):
    assert options_for("textrank", {"unit": None, "budget": None}) == options_for("textrank")
    example = examples[1]
    everything = make_predictor("lead", {"budget_kind": "none"})(example)
    assert everything == "\n".join(transcript_units(example, "sentence", clean=False))
    unlimited = make_predictor("oracle", {"budget_kind": "none"})(example)
    assert len(unlimited.split()) > len(make_predictor("oracle", {"budget": 10})(example).split())


def test_budget_smaller_than_one_unit():
    turns = (Turn("A", "a long turn about the remote control"),)
    example = Example("test/x/s0", "x", "product", "test", "specific", "remote", ("remote control",), turns)
    # "reach": the first unit is always taken, then the budget is met.
    assert make_predictor("bm25", {"budget": 1})(example) == "A: " + turns[0].content
    # The oracle's token budget skips units that do not fit: nothing fits.
    assert make_predictor("oracle", {"budget": 2})(example) == ""


def test_oracle_batch_equals_one_example_at_a_time(examples):
    chosen = examples[:8]
    predict = make_predictor("oracle", {})
    assert oracle_batch(chosen) == [predict(e) for e in chosen]


def test_core_oracle_flags_are_keyword_only():
    with pytest.raises(TypeError):
        _core.OracleUnits(["a"], True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        _core.oracle_select(["a"], ["a"], True)  # type: ignore[misc]
    assert _core.OracleUnits(["the remotes", "lunch"], stem=False).select(["remotes"]) == [0]


@pytest.mark.parametrize("bad", [-1, 2**64, 2**100])
def test_ints_that_do_not_fit_are_input_errors(bad):
    with pytest.raises(InputError, match=rf"budget must be an integer from 0 to {2**64 - 1}, not {bad}"):
        _core.select_within_budget([0], [1], bad, "reach")
    with pytest.raises(InputError, match=r"lengths\[1\] must be an integer"):
        _core.select_within_budget([0], [1, bad], 1, "reach")
    with pytest.raises(InputError, match="max_tokens must be an integer"):
        _core.OracleUnits(["a"]).select(["a"], max_tokens=bad)
    with pytest.raises(InputError, match="max_units must be an integer"):
        _core.oracle_select(["a"], ["a"], max_units=bad)
    with pytest.raises(InputError, match=r"queries\[1\]\[0\] must be an integer"):
        _core.oracle_select_batch([["a"]], [(0, ["a"]), (bad, ["a"])])
    with pytest.raises(TypeError):  # not an int at all: PyO3's TypeError
        _core.select_within_budget([0], [1], 1.5, "reach")


def test_core_selection_errors_are_input_errors():
    with pytest.raises(InputError, match=r'unknown fill rule "fill" \(use stop, skip or reach\)'):
        _core.select_within_budget([0], [1], 1, "fill")
    with pytest.raises(InputError, match="unit 2 out of range: 1 units"):
        _core.select_within_budget([2], [1], 1, "skip")
    with pytest.raises(InputError, match=r'unknown ranking method "dense" \(use bm25, tfidf or textrank\)'):
        _core.score_units(["a"], "a", "dense")
    with pytest.raises(InputError, match="query refers to meeting 1, but there are 1"):
        _core.oracle_select_batch([["a"]], [(1, ["a"])])
    # Unlimited budgets take everything, without overflow.
    assert _core.select_within_budget([1, 0], [2**63, 2**63], 2**64 - 1, "skip") == [1]
    assert _core.select_within_budget([1, 0], [2**63, 2**63], 2**64 - 1, "reach") == [0, 1]

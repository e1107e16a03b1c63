"""qmsum_fast.rouge against the pinned rouge-score 0.1.2 and NLTK, compared with ==."""

from __future__ import annotations

import threading
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nltk.stem.porter import PorterStemmer
from rouge_score import rouge_scorer, scoring

import qmsum_fast
from qmsum_fast import _core
from qmsum_fast.data import load_examples, plain_transcript
from qmsum_fast.errors import InputError
from qmsum_fast.rouge import (
    AggregateScore,
    BootstrapAggregator,
    RougeScorer,
    Score,
    split_summary_sentences,
    tokenize,
)

ALL_TYPES = [f"rouge{n}" for n in range(1, 10)] + ["rougeL", "rougeLsum"]
NLTK_STEMMER = PorterStemmer()


def reference_scores(types, stem, target, prediction):
    return rouge_scorer.RougeScorer(types, use_stemmer=stem).score(target, prediction)


def assert_same(ours: dict, theirs: dict):
    assert list(ours) == list(theirs)
    for key in theirs:
        assert tuple(ours[key]) == tuple(theirs[key]), key


# Three QMSum test meetings of the bundled dataset, one per domain.
MEETINGS = ("Bed016", "IS1003a", "education_17")


@cache
def qmsum_meetings() -> list[list]:
    """The examples of each of MEETINGS (one list per meeting)."""
    examples = load_examples(split="test")
    return [[e for e in examples if e.meeting == name] for name in MEETINGS]


def answers(meeting) -> list[str]:
    return [reference for example in meeting for reference in example.references]


def transcript(meeting) -> str:
    return plain_transcript(meeting[0])  # one "speaker: content" line per turn


# --- texts for property tests ------------------------------------------------

WORDS = [
    "the",
    "a",
    "meeting",
    "meetings",
    "remote",
    "controls",
    "designing",
    "designed",
    "agreed",
    "agreement",
    "happy",
    "cost",
    "costs",
    "25",
    "12.5",
    "euro",
    "running",
    "ran",
    "yes",
    "no",
    "organization",
    "relational",
    "hopefulness",
    "skies",
    "dying",
    "news",
    "A",
    "The",
    "MEETING",
]
PIECES = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from([" ", "  ", "\n", "\n\n", ".", ",", "!", "?", "-", "'s", "\t", "\r\n"]),
    st.sampled_from(
        ["\u0130", "\u212a", "\u00e9", "caf\u00e9", "na\u00efve", "\u00df", "\U0001f600", "\u00a0", "\u2028"]
    ),
    st.text(max_size=6),
)
TEXTS = st.one_of(
    st.lists(PIECES, max_size=60).map(" ".join),
    st.lists(PIECES, max_size=60).map("".join),
    st.text(max_size=80),
    st.just(""),
)


# --- tokenizer and stemmer ---------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, stem=st.booleans())
def test_tokenizer_matches_rouge_score(text, stem):
    from rouge_score import tokenize as rs_tokenize

    assert tokenize(text, stem) == rs_tokenize.tokenize(text, NLTK_STEMMER if stem else None)


def test_every_code_point_lowercases_like_python():
    # Python's str.lower() is what rouge-score applies; only U+0130 and U+212A
    # lower to ASCII letters outside ASCII. Check every code point, alone and in a word.
    from rouge_score import tokenize as rs_tokenize

    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp < 0xE000]
    text = " ".join(f"a{c}b" for c in chars)
    assert tokenize(text) == rs_tokenize.tokenize(text, None)


def test_stemmer_matches_nltk_on_every_qmsum_word():
    # Every distinct token of the bundled QMSum: transcripts, queries, answers.
    texts = set()
    for example in load_examples():
        texts.add(plain_transcript(example))
        texts.add(example.query)
        texts.update(example.references)
    words = sorted({word for text in texts for word in tokenize(text)})
    assert len(words) > 20000
    # The package stems through its tokenizer: tokens longer than 3 characters.
    stemmed = tokenize(" ".join(words), use_stemmer=True)
    expected = [NLTK_STEMMER.stem(w) if len(w) > 3 else w for w in words]
    assert len(stemmed) == len(words)
    mismatches = [(w, ours, nltk) for w, ours, nltk in zip(words, stemmed, expected) if ours != nltk]
    assert mismatches == []


@settings(max_examples=2000, deadline=None)
@given(
    word=st.text(alphabet="abcdeilmnostuyz0", min_size=4, max_size=14)
    | st.tuples(
        st.text(alphabet="bcdlmnprstaeiouy", min_size=1, max_size=6),
        st.sampled_from(
            [
                "ational",
                "tional",
                "alli",
                "fulli",
                "logi",
                "ement",
                "ies",
                "ied",
                "eed",
                "ing",
                "ed",
                "bli",
                "iviti",
                "ness",
                "icate",
                "ll",
                "e",
                "y",
                "sses",
                "izer",
                "ousli",
                "ization",
                "alism",
                "iveness",
                "ion",
            ]
        ),
    ).map("".join)
)
def test_stemmer_matches_nltk_on_suffix_heavy_words(word):
    assert tokenize(word, use_stemmer=True) == [NLTK_STEMMER.stem(word) if len(word) > 3 else word]


def test_core_flags_are_keyword_only():
    assert _core.rouge_tokenize("Meetings were running", stem=True) == ["meet", "were", "run"]
    with pytest.raises(TypeError):
        _core.rouge_tokenize("Meetings", True)  # type: ignore[misc]
    with pytest.raises(TypeError):
        _core.RougeCore(["rouge1"], True)  # type: ignore[misc]


# --- scores --------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=TEXTS, prediction=TEXTS, stem=st.booleans())
def test_scores_equal_rouge_score_on_random_texts(target, prediction, stem):
    ours = RougeScorer(ALL_TYPES, use_stemmer=stem).score(target, prediction)
    assert_same(ours, reference_scores(ALL_TYPES, stem, target, prediction))


@settings(max_examples=25, deadline=None)
@given(
    words=st.lists(st.sampled_from([*WORDS, "\n", "."]), min_size=150, max_size=400),
    cut=st.integers(0, 400),
    stem=st.booleans(),
)
def test_scores_equal_rouge_score_on_long_texts(words, cut, stem):
    # More than 64 tokens on both sides exercises the multi-word bit-parallel LCS.
    target, prediction = " ".join(words), " ".join(words[cut:] + words[: cut // 2])
    ours = RougeScorer(ALL_TYPES, use_stemmer=stem).score(target, prediction)
    assert_same(ours, reference_scores(ALL_TYPES, stem, target, prediction))


@pytest.mark.parametrize("stem", [False, True])
def test_qmsum_answers_against_each_other(stem):
    types = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
    ours, theirs = RougeScorer(types, use_stemmer=stem), rouge_scorer.RougeScorer(types, use_stemmer=stem)
    pairs = 0
    for meeting in qmsum_meetings():
        texts = answers(meeting) + [e.query for e in meeting if e.query_type == "specific"]
        for target in texts:
            for prediction in texts:
                assert_same(ours.score(target, prediction), theirs.score(target, prediction))
                pairs += 1
    assert pairs > 500


@pytest.mark.parametrize("stem", [False, True])
def test_qmsum_transcripts_against_answers(stem):
    # Full transcripts (one line per turn, so rougeLsum has hundreds of sentences).
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    ours, theirs = RougeScorer(types, use_stemmer=stem), rouge_scorer.RougeScorer(types, use_stemmer=stem)
    meeting = qmsum_meetings()[1]  # the Product meeting: the shortest transcript
    text = transcript(meeting)
    for answer in answers(meeting)[:2]:
        assert_same(ours.score(text, answer), theirs.score(text, answer))
        assert_same(ours.score(answer, text), theirs.score(answer, text))


@pytest.mark.slow
@pytest.mark.parametrize("stem", [False, True])
def test_all_bundled_transcripts_against_all_answers(stem):
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    ours, theirs = RougeScorer(types, use_stemmer=stem), rouge_scorer.RougeScorer(types, use_stemmer=stem)
    for meeting in qmsum_meetings():
        text = transcript(meeting)
        for answer in answers(meeting):
            assert_same(ours.score(text, answer), theirs.score(text, answer))


@settings(max_examples=100, deadline=None)
@given(targets=st.lists(TEXTS, min_size=1, max_size=4), prediction=TEXTS)
def test_score_multi_equals_rouge_score(targets, prediction):
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    ours = RougeScorer(types, use_stemmer=True).score_multi(targets, prediction)
    theirs = rouge_scorer.RougeScorer(types, use_stemmer=True).score_multi(targets, prediction)
    assert_same(ours, theirs)


def test_score_batch_equals_score_and_accepts_reference_lists():
    meetings = qmsum_meetings()
    texts = [a for m in meetings for a in answers(m)]
    targets, predictions = texts, texts[1:] + texts[:1]
    scorer = RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    assert scorer.score_batch(targets, predictions) == [scorer.score(t, p) for t, p in zip(targets, predictions)]
    multi = [[t, p[::-1]] for t, p in zip(targets, predictions)]
    assert scorer.score_batch(multi, predictions) == [scorer.score_multi(t, p) for t, p in zip(multi, predictions)]
    with pytest.raises(ValueError):
        scorer.score_batch(targets, predictions[:-1])
    with pytest.raises(ValueError):
        scorer.score_batch([[]], ["x"])
    # The core checks the pairing too, and says so with the package's error.
    with pytest.raises(InputError, match="2 targets but 1 predictions"):
        scorer._core.score_batch(["a", "b"], ["a"])
    with pytest.raises(InputError, match="1 target lists but 2 predictions"):
        scorer._core.score_multi_batch([["a"]], ["a", "b"])


def test_score_batch_runs_in_threads_without_the_gil():
    # Releasing the GIL must not break anything when Python threads score at once.
    scorer = RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    texts = [a for m in qmsum_meetings() for a in answers(m)]
    expected = scorer.score_batch(texts, texts[::-1])
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(scorer.score_batch(texts, texts[::-1]))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def test_empty_texts_score_zero_as_rouge_score():
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    for target, prediction in [("", ""), ("", "a b"), ("a b", ""), ("...", "a"), ("\n\n", "a\n")]:
        ours = RougeScorer(types).score(target, prediction)
        assert_same(ours, reference_scores(types, False, target, prediction))
        assert all(s == (0, 0, 0) for s in ours.values())


def test_invalid_rouge_types_raise():
    for name in ["rouge0", "rouge10", "rougeX", "bleu"]:
        with pytest.raises(InputError):  # a ValueError, as rouge-score raises
            RougeScorer([name])
    with pytest.raises(TypeError):
        RougeScorer("rouge1")


def test_score_behaves_like_rouge_score_namedtuple():
    ours = RougeScorer(["rouge1"]).score("a b c", "a b")["rouge1"]
    theirs = rouge_scorer.RougeScorer(["rouge1"]).score("a b c", "a b")["rouge1"]
    assert ours == theirs and ours._fields == theirs._fields
    assert (ours.precision, ours.recall, ours.fmeasure) == tuple(ours) == (ours[0], ours[1], ours[2])
    assert ours._asdict() == theirs._asdict()
    assert qmsum_fast.RougeScorer is RougeScorer and qmsum_fast.Score is Score


# --- rougeLsum with sentence splitting ---------------------------------------


@settings(max_examples=200, deadline=None)
@given(target=TEXTS, prediction=TEXTS)
def test_split_summaries_equals_rouge_score_on_our_sentences(target, prediction):
    # rouge-score's split_summaries needs NLTK punkt; with our splitter's
    # sentences joined by newlines, rouge-score must agree on every type.
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    ours = RougeScorer(types, use_stemmer=True, split_summaries=True).score(target, prediction)
    theirs = reference_scores(
        types, True, "\n".join(split_summary_sentences(target)), "\n".join(split_summary_sentences(prediction))
    )
    assert_same(ours, theirs)


@given(text=TEXTS)
def test_sentences_keep_every_token(text):
    assert tokenize(" ".join(split_summary_sentences(text))) == tokenize(text)


def test_sentence_splitter_on_a_qmsum_answer():
    text = "The team agreed on a remote. Dr. Smith disagreed, e.g. on cost! Was it 12.5 euros? Yes."
    assert split_summary_sentences(text) == [
        "The team agreed on a remote.",
        "Dr. Smith disagreed, e.g. on cost!",
        "Was it 12.5 euros?",
        "Yes.",
    ]


# --- bootstrap -----------------------------------------------------------------


def _random_scores(types, n, seed):
    rng = np.random.default_rng(seed)
    words = ["a", "b", "c", "d", "e", "f"]
    pairs = [
        (" ".join(rng.choice(words, rng.integers(0, 9))), " ".join(rng.choice(words, rng.integers(0, 9))))
        for _ in range(n)
    ]
    return pairs, RougeScorer(types).score_batch([t for t, _ in pairs], [p for _, p in pairs])


@pytest.mark.parametrize("n", [1, 5, 137])
def test_bootstrap_equals_rouge_score_given_the_same_numpy_seed(n):
    types = ["rouge1", "rouge2", "rougeL"]
    pairs, ours_scores = _random_scores(types, n, n)
    theirs = scoring.BootstrapAggregator(confidence_interval=0.9, n_samples=200)
    reference = rouge_scorer.RougeScorer(types)
    for target, prediction in pairs:
        theirs.add_scores(reference.score(target, prediction))
    np.random.seed(7)
    expected = theirs.aggregate()

    seeded = BootstrapAggregator(confidence_interval=0.9, n_samples=200, seed=7)
    seeded.add_batch(ours_scores)
    global_state = BootstrapAggregator(confidence_interval=0.9, n_samples=200)
    global_state.add_batch(ours_scores)
    np.random.seed(7)
    for result in (seeded.aggregate(), global_state.aggregate()):
        assert list(result) == list(expected)
        for key in expected:
            assert isinstance(result[key], AggregateScore)
            assert tuple(map(tuple, result[key])) == tuple(map(tuple, expected[key]))


def test_bootstrap_is_reproducible_with_a_seed():
    _, scores = _random_scores(["rouge1"], 50, 1)
    results = []
    for seed in (3, 3, 4):
        aggregator = BootstrapAggregator(seed=seed)
        aggregator.add_batch(scores)
        results.append(aggregator.aggregate())
    assert results[0] == results[1]
    assert results[0] != results[2]


def test_bootstrap_rejects_bad_settings():
    with pytest.raises(ValueError):
        BootstrapAggregator(confidence_interval=1.5)
    with pytest.raises(ValueError):
        BootstrapAggregator(n_samples=0)

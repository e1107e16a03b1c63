"""``--preprocess qmsum``: byte-for-byte against the original experiments' files, and
against NLTK (the recipe's own tokenizers) on generated text and on all of QMSum."""

from __future__ import annotations

import gzip
import json
import statistics
import string
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nltk_reference as ref
from qmsum_fast import Example, InputError, Prepared, TokenCounter, Turn, _core, load_template, prepare
from qmsum_fast.cli import main
from qmsum_fast.data import load_examples, plain_transcript
from qmsum_fast.stats import count_prompt_tokens

SEED = Path(__file__).parent / "data" / "seed"

# The original experiments' token statistics of their alpaca files (gpt-neox-20b, no special
# tokens, alpaca prompt): pairs, input mean and max, output mean and max.
SEED_STATISTICS = {
    "test": (58, 17895.34, 27690, 65.24, 167),
    "val": (54, 15591.67, 26513, 67.59, 146),
}


def seed_pairs(split: str) -> list[dict[str, str]]:
    with gzip.open(SEED / f"alpaca_format_{split}.json.gz", "rt", encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module", params=["test", "val"])
def converted(request) -> tuple[str, list[Prepared], list[dict[str, str]]]:
    # The bundled dataset lists meetings in the upstream JSONL order, general queries
    # first: the order of the original experiments' files.
    examples = load_examples(split=request.param, domain="academic")
    return request.param, prepare(examples, mode="qmsum"), seed_pairs(request.param)


def test_matches_the_original_files_byte_for_byte(converted):
    split, prepared, seed = converted
    assert len(prepared) == len(seed) == SEED_STATISTICS[split][0]
    instructions = sum(p.query == s["instruction"] for p, s in zip(prepared, seed))
    inputs = sum(p.transcript == s["input"] for p, s in zip(prepared, seed))
    outputs = sum(p.references == (s["output"],) for p, s in zip(prepared, seed))
    assert (instructions, inputs, outputs) == (len(seed),) * 3


def test_token_statistics_equal_the_original_experiments(converted):
    split, prepared, _ = converted
    counter = TokenCounter.load()
    inputs = count_prompt_tokens(
        counter, load_template("alpaca"), [p.query for p in prepared], [p.transcript for p in prepared]
    )
    outputs = counter.count_batch([p.references[0] for p in prepared])
    figures = (
        len(prepared),
        round(statistics.mean(inputs), 2),
        max(inputs),
        round(statistics.mean(outputs), 2),
        max(outputs),
    )
    assert figures == SEED_STATISTICS[split]


@pytest.mark.parametrize("split", ["test", "val"])
def test_convert_writes_the_original_files_byte_for_byte(split, tmp_path):
    out = tmp_path / f"alpaca_{split}.json"
    argv = [
        "convert",
        "--to",
        "alpaca",
        "--split",
        split,
        "--domain",
        "academic",
        "--preprocess",
        "qmsum",
        "-o",
        str(out),
    ]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    with gzip.open(SEED / f"alpaca_format_{split}.json.gz", "rb") as handle:
        assert out.read_bytes() == handle.read()


@pytest.mark.parametrize("split", ["test", "val"])
def test_analyze_reports_the_original_statistics(split):
    argv = ["analyze", "--split", split, "--domain", "academic", "--preprocess", "qmsum", "--json"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    inputs, outputs = report["input_tokens"], report["summary_tokens"]
    figures = (report["pairs"], round(inputs["mean"], 2), inputs["max"], round(outputs["mean"], 2), outputs["max"])
    assert figures == SEED_STATISTICS[split]


def test_unknown_preprocessing_exits_2():
    result = CliRunner().invoke(main, ["analyze", "--preprocess", "nltk"])
    assert result.exit_code == 2
    assert "Invalid value for '--preprocess'" in result.output


# --- prepare() ---------------------------------------------------------------


def meeting(queries: list[tuple[str, tuple[str, ...]]], turns: tuple[Turn, ...], raw: str | None = None):
    return [
        Example(f"test/M/s{i}", "M", "academic", "test", "specific", query, refs, turns, raw_transcript=raw)
        for i, (query, refs) in enumerate(queries)
    ]


TURNS = (Turn("PhD A", "Uh , we 're on {disfmarker} OK ."), Turn("Professor B", "Yeah . {vocalsound} Good ."))


def test_none_keeps_the_data_and_shares_each_transcript():
    examples = meeting([("What did A say?", ("A said hi.",)), ("Summarize", ("x", "y"))], TURNS)
    first, second = prepare(examples, mode="none")
    assert first == Prepared("What did A say?", plain_transcript(examples[0]), ("A said hi.",))
    assert first.transcript == "PhD A: Uh , we 're on {disfmarker} OK .\nProfessor B: Yeah . {vocalsound} Good ."
    assert second.transcript is first.transcript
    assert second.references == ("x", "y")
    assert prepare(examples) == [first, second]


def test_qmsum_tokenizes_queries_references_and_transcripts():
    examples = meeting([("What did A say?", ("A said hi. Then left.", "Twice."))], TURNS)
    (prepared,) = prepare(examples, mode="qmsum")
    assert prepared.query == "what did a say ?"
    assert prepared.references == ("a said hi . then left .", "twice .")
    assert prepared.transcript == "phd a: uh , we 're on ok . professor b: yeah . good ."


def test_qmsum_builds_each_meeting_once():
    first = meeting([("q1", ("a",)), ("q2", ("b",))], TURNS)
    other = meeting([("q3", ("c",))], (Turn("X", "Other ."),))
    prepared = prepare(first + other, mode="qmsum")
    assert prepared[0].transcript is prepared[1].transcript
    assert prepared[2].transcript == "x: other ."


def test_raw_transcripts_are_tokenized_whole():
    raw = "PhD A: Uh , hi . {vocalsound} Bye.\nB: L_C_D_ screens"
    examples = meeting([("q", ("a",)), ("r", ("b",))], (), raw=raw)
    other = meeting([("s", ("c",))], (), raw="C: Different.")
    none = prepare(examples + other, mode="none")
    assert none[0].transcript is raw and none[2].transcript == "C: Different."
    qmsum = prepare(examples + other, mode="qmsum")
    assert qmsum[0].transcript == "phd a : uh , hi . bye . b : lcd screens"
    assert qmsum[1].transcript is qmsum[0].transcript
    assert qmsum[2].transcript == "c : different ."


def test_unknown_mode_is_an_input_error():
    with pytest.raises(InputError, match="unknown preprocessing 'nltk': use one of none, qmsum"):
        prepare(meeting([("q", ("a",))], TURNS), mode="nltk")


def test_empty_input():
    assert prepare([], mode="qmsum") == []


# --- against NLTK on generated text ------------------------------------------

WORDS = [
    "the",
    "Team",
    "MEETING",
    "a",
    "I",
    "b",
    "e.g.",
    "i.e.",
    "etc.",
    "Mr.",
    "U.S.",
    "A.",
    "twenty-five",
    "voice-unvoice",
    "{disfmarker}",
    "{vocalsound}",
    "a_m_i_",
    "l_c_d_",
    "OK",
    "uh",
    "naïve",
    "Ångström",
    "straße",
    "ΣΟΦΙΑ",
    "İstanbul",
    "_x",
]
CONTRACTIONS = [
    "don't",
    "can't",
    "won't",
    "I'm",
    "we're",
    "they've",
    "you'll",
    "he'd",
    "it's",
    "IT'S",
    "users'",
    "'s",
    "'S",
    "'re",
    "n't",
    "N'T",
    "cannot",
    "CanNot",
    "gonna",
    "gotta",
    "gimme",
    "lemme",
    "wanna",
    "more'n",
    "d'ye",
    "'tis",
    "'Twas",
    "'em",
    "o'clock",
    "rock'n'roll",
]
PUNCTUATION = [*".,;:?!-/_&$%#@*()[]{}<>", "...", "..", ". . .", "--", "---", "?!", ".)", '."']
QUOTES = ['"', "'", "`", "``", "''", "«", "»", "“", "”", "‘", "’", "„"]
SEPARATORS = ["", " ", " ", " ", "  ", "\n", "\t", "\u00a0", "\u3000", "\x1c", " \n "]

numbers = st.from_regex(r"-?[.,]?[0-9]{1,4}([.,:-][0-9]{1,3})?\.?", fullmatch=True) | st.sampled_from(
    ["٣٤", "²", "½", "2001.", "3.88", "3,36", "10:30"]
)
# Any assigned character (of this Python's Unicode version): letters, marks, symbols.
unicode_bits = st.text(st.characters(exclude_categories=("Cs", "Cn")), min_size=1, max_size=3)
pieces = st.one_of(
    st.sampled_from(WORDS),
    st.sampled_from(CONTRACTIONS),
    st.sampled_from(PUNCTUATION),
    st.sampled_from(QUOTES),
    numbers,
    unicode_bits,
    st.text(string.ascii_letters, min_size=1, max_size=6),
)
texts = st.lists(st.tuples(pieces, st.sampled_from(SEPARATORS)), max_size=25).map(
    lambda parts: "".join(piece + separator for piece, separator in parts)
)

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Punkt sentences and Treebank tokens are tested through the functions the package
# uses, which lowercase first (the recipe's `word_tokenize(text.lower())`); the Rust
# modules also test them alone (rust/src/preprocess_sentences.rs, treebank.rs).


@SETTINGS
@given(texts)
def test_qmsum_text_equals_the_recipe(text):
    assert _core.qmsum_tokenize_texts([text]) == [ref.qmsum_text(text)]


@SETTINGS
@given(st.lists(texts, max_size=4))
def test_qmsum_texts_equal_the_recipe(batch):
    assert _core.qmsum_tokenize_texts(batch) == [ref.qmsum_text(text) for text in batch]


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["PhD A", "Grad Ä", "Marketing"]), texts), max_size=6))
def test_transcripts_equal_the_recipe(turns):
    assert _core.qmsum_transcripts([turns]) == [ref.qmsum_transcript(turns)]
    raw = "\n".join(f"{speaker}: {content}" for speaker, content in turns)
    assert _core.qmsum_raw_transcripts([raw]) == [ref.remove_noise(ref.qmsum_text(raw))]


@pytest.mark.parametrize(
    "sentence",
    [
        "for 'bleeping out' any",  # NLTK 3.9+ splits the quote off; the recipe did not
        "a  'x' \tb's\ty's z",  # whitespace other than one space before clitics
        "from 1999\u20132001 on",  # NLTK 3.9+ pads en dashes
    ],
)
def test_reference_keeps_the_381_rules(sentence):
    # Where NLTK 3.9 changed the tokenizer, the reference (and the core) keep 3.8.1's rules.
    assert _core.qmsum_tokenize_texts([sentence]) == [" ".join(ref.TREEBANK.tokenize(sentence))]


# --- against NLTK on real data -----------------------------------------------


@pytest.mark.slow
def test_all_of_qmsum_equals_the_recipe():
    examples = load_examples()
    prepared = prepare(examples, mode="qmsum")
    done: dict[int, str] = {}
    for example, result in zip(examples, prepared):
        if id(example.turns) not in done:
            turns = [(turn.speaker, turn.content) for turn in example.turns]
            done[id(example.turns)] = ref.qmsum_transcript(turns)
        assert result.transcript == done[id(example.turns)], example.id
        assert result.query == ref.qmsum_text(example.query), example.id
        assert result.references == tuple(map(ref.qmsum_text, example.references)), example.id

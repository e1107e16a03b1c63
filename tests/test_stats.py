"""Token counts must equal HF tokenizers' exactly, on real data and random text."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from qmsum_fast import InputError, TokenCounter, count_prompt_tokens, length_summary, load_template
from qmsum_fast.data import load_examples
from qmsum_fast.preprocess import prepare
from qmsum_fast.stats import BUNDLED_TOKENIZER, fit_shares, resolve_tokenizer


@pytest.fixture(scope="module")
def counter():
    return TokenCounter.load()


@pytest.fixture(scope="module")
def hf():
    return Tokenizer.from_file(str(BUNDLED_TOKENIZER))


def hf_counts(hf, texts):
    return [len(e) for e in hf.encode_batch_fast(list(texts), add_special_tokens=False)]


def test_bundled_tokenizer_is_counted_by_segments(counter):
    assert counter.splits_exactly


@pytest.mark.parametrize(
    "mode, split",
    [
        ("qmsum", "test"),
        ("none", "test"),
        pytest.param("qmsum", "all", marks=pytest.mark.slow),
        pytest.param("none", "all", marks=pytest.mark.slow),
    ],
)
def test_every_bundled_prompt_matches_hf(counter, hf, mode, split):
    examples = load_examples(split=split)
    prepared = prepare(examples, mode)
    template = load_template("alpaca")
    ours = count_prompt_tokens(counter, template, [p.query for p in prepared], [p.transcript for p in prepared])
    prompts = [template.render(p.query, p.transcript) for p in prepared]
    assert ours == hf_counts(hf, prompts)


@pytest.mark.parametrize("template_name", ["led", "plain", "scrolls", "longbench", "zeroscrolls"])
def test_every_template_matches_hf_on_a_split(counter, hf, template_name):
    examples = load_examples(split="test", domain="academic")
    prepared = prepare(examples, "none")
    template = load_template(template_name)
    ours = count_prompt_tokens(counter, template, [p.query for p in prepared], [p.transcript for p in prepared])
    assert ours == hf_counts(hf, [template.render(p.query, p.transcript) for p in prepared])


# Pieces that stress the cut rule: space runs (added tokens), non-breaking
# spaces, combining accents (NFC), contractions, special tokens, emoji.
PIECES = [*"ab c\n\t.,'-{}0123456789é", "  ", "   ", "\u00a0", "e\u0301", "<|endoftext|>", "'s", "😀", " \n"]
texts = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(prefix=texts, transcript=texts.map(lambda s: s * 40), suffix=texts)
def test_segmented_counts_equal_full_counts(counter, hf, prefix, transcript, suffix):
    ours = counter._core.count_prompts([transcript], [(prefix, 0, suffix)])
    assert ours == hf_counts(hf, [prefix + transcript + suffix])


def metaspace_tokenizer_json():
    vocab = {"[UNK]": 0, "▁a": 1, "b": 2, "▁": 3, "a": 4}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    return tokenizer


def test_other_tokenizers_count_full_prompts_exactly(tmp_path):
    tokenizer = metaspace_tokenizer_json()
    path = tmp_path / "tokenizer.json"
    path.write_text(tokenizer.to_str(), encoding="utf-8")
    counter = TokenCounter.load(tmp_path)  # a folder holding tokenizer.json
    assert not counter.splits_exactly
    transcript = "a b ab ba a  b " * 50
    template = load_template("plain")
    queries = ["a", "b b", ""]
    ours = count_prompt_tokens(counter, template, queries, [transcript] * 3)
    full = [len(tokenizer.encode(template.render(q, transcript), add_special_tokens=False)) for q in queries]
    assert ours == full


def test_saved_truncation_does_not_cap_counts(tmp_path, hf):
    config = json.loads(BUNDLED_TOKENIZER.read_text(encoding="utf-8"))
    config["truncation"] = {"direction": "Right", "max_length": 8, "strategy": "LongestFirst", "stride": 0}
    counter = TokenCounter.from_json(json.dumps(config))
    text = "one two three four five six seven eight nine ten eleven"
    assert counter.count(text) == len(hf.encode(text, add_special_tokens=False)) > 8


@pytest.mark.parametrize(
    "spec, message",
    [
        ("missing/tokenizer.json", "not found"),
        ("EleutherAI/not-cached-anywhere", "not in the local Hugging Face cache"),
    ],
)
def test_unknown_tokenizers_are_input_errors(spec, message):
    with pytest.raises(InputError, match=message):
        resolve_tokenizer(spec)


def test_unreadable_tokenizer_is_an_input_error(tmp_path):
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot load tokenizer"):
        TokenCounter.load(bad)
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(InputError, match=r"holds no tokenizer\.json"):
        TokenCounter.load(empty_dir)


def test_hf_cache_snapshots_are_found(tmp_path, monkeypatch):
    snapshot = tmp_path / "hub" / "models--org--tok" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "tokenizer.json").write_text(BUNDLED_TOKENIZER.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert TokenCounter.load("org/tok").count("hello world") == 2


def test_length_summary_and_fits_follow_numpy():
    import numpy as np

    lengths = [5, 1, 9, 12, 40, 7, 7]
    summary = length_summary(lengths)
    assert summary.mean == pytest.approx(np.mean(lengths))
    for q, value in ((50, summary.median), (90, summary.p90), (95, summary.p95)):
        assert value == pytest.approx(np.percentile(lengths, q))
    assert (summary.min, summary.max, summary.count) == (1, 40, 7)
    assert length_summary([]) is None
    assert fit_shares(lengths, reserve=2, windows=[10, 50]) == {10: 4 / 7, 50: 1.0}


def test_huge_lengths_do_not_overflow():
    huge = 2**64 - 1
    summary = length_summary([huge, huge, 1])
    assert summary.mean == (2 * float(huge) + 1) / 3 and summary.max == huge
    assert fit_shares([1, huge], reserve=huge, windows=[huge]) == {huge: 0.0}
    assert fit_shares([1, huge], reserve=0, windows=[huge]) == {huge: 1.0}


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_ints_that_do_not_fit_are_input_errors(bad):
    limit = 2**64 - 1
    with pytest.raises(InputError, match=rf"^lengths\[2\] must be an integer from 0 to {limit}, not {bad}$"):
        length_summary([1, 2, bad])
    with pytest.raises(InputError, match=r"^reserve must be an integer"):
        fit_shares([1], reserve=bad)
    with pytest.raises(InputError, match=r"^windows\[0\] must be an integer"):
        fit_shares([1], reserve=0, windows=[bad])
    counter = TokenCounter.load(None)
    with pytest.raises(InputError, match=r"^prompts\[1\]\[1\] must be an integer"):
        counter._core.count_prompts(["t"], [("a", 0, "b"), ("a", bad, "b")])
    with pytest.raises(InputError, match="prompt refers to transcript 1, but there are 1"):
        counter._core.count_prompts(["t"], [("a", 1, "b")])

"""`qmsum-fast analyze` through the CLI, on the bundled data."""

import json

import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qmsum_fast.cli import main
from qmsum_fast.stats import common_prefix_tokens
from qmsum_fast.templates import parse_template as load_template_text


@pytest.fixture(scope="module")
def bundled():
    """The bundled tokenizer, as our counter and as HF tokenizers."""
    from tokenizers import Tokenizer

    from qmsum_fast.stats import BUNDLED_TOKENIZER, TokenCounter

    return TokenCounter.load(), Tokenizer.from_file(str(BUNDLED_TOKENIZER))


def run(*args):
    result = CliRunner().invoke(main, ["analyze", *args])
    return result


def test_reproduces_the_original_experiments_figures():
    # ../shared/data/README.md: Academic test with the upstream preprocessing,
    # alpaca prompt, gpt-neox-20b: input mean 17895.34 max 27690, output mean 65.24 max 167.
    result = run("--split", "test", "--domain", "academic", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["pairs"] == 58
    assert round(report["input_tokens"]["mean"], 2) == 17895.34
    assert report["input_tokens"]["max"] == 27690
    assert round(report["summary_tokens"]["mean"], 2) == 65.24
    assert report["summary_tokens"]["max"] == 167


def test_json_has_the_documented_keys():
    result = run("--split", "val", "--preprocess", "none", "--reserve", "512", "--json")
    report = json.loads(result.output)
    for key in ("input_tokens", "summary_tokens"):
        assert set(report[key]) == {"count", "mean", "median", "p90", "p95", "min", "max"}
    assert list(report["fits"]) == ["2048", "4096", "8192", "16384", "32768", "81920", "131072"]
    assert report["pairs"] == 272
    groups = {(g["split"], g["domain"]): g["pairs"] for g in report["groups"]}
    assert groups == {("val", "academic"): 54, ("val", "product"): 145, ("val", "committee"): 73, ("val", "all"): 272}
    fits = list(report["fits"].values())
    assert fits == sorted(fits) and fits[-1] == 1.0


def test_tables_and_plots(tmp_path):
    result = run("--split", "test", "--domain", "product", "--template", "scrolls", "--plots", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "Input tokens (full prompt)" in result.output
    assert "Context fit" in result.output
    assert "test   product      151" in result.output
    for name in ("input_tokens.png", "summary_tokens.png", "input_cdf.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_reserve_lowers_the_fit_share():
    base = json.loads(run("--split", "test", "--json").output)["fits"]["16384"]
    reserved = json.loads(run("--split", "test", "--reserve", "4000", "--json").output)["fits"]["16384"]
    assert reserved < base


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "does/not/exist"], "does/not/exist"),
        (["--template", "nope"], "unknown template 'nope'"),
        (["--tokenizer", "missing.json"], "tokenizer 'missing.json' not found"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.output


def test_unknown_placeholder_in_a_template_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("{question}\n{transcript}", encoding="utf-8")
    result = run("--template", str(path))
    assert result.exit_code == 2
    assert "unknown placeholder {question}" in result.output


def test_unreadable_tokenizer(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_bytes(b"\xff\xfe not a tokenizer")
    result = run("--tokenizer", str(path))
    assert result.exit_code == 2
    assert str(path) in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("template", ["scrolls", "lm-eval-scrolls", "longbench", "zeroscrolls"])
def test_the_peers_templates_count_raw_transcripts_unless_told(template):
    # The peers build their prompts from the raw transcript; the table's head says what was used.
    head = run("--split", "val", "--domain", "academic", "--template", template).output.splitlines()[0]
    assert head.endswith(f"template {template} · preprocess none · reserve 0")
    told = run("--split", "val", "--domain", "academic", "--template", template, "--preprocess", "qmsum", "--json")
    assert json.loads(told.output)["preprocess"] == "qmsum"


def test_the_default_template_keeps_the_original_experiments_preprocessing():
    head = run("--split", "val", "--domain", "academic").output.splitlines()[0]
    assert head.endswith("· template alpaca · preprocess qmsum · reserve 0")  # as the README shows it


# --- prefill tokens with and without reuse ------------------------------------------------


def common_start(rows):
    """The longest common prefix of id lists, element by element."""
    first, length = rows[0], 0
    while length < min(len(row) for row in rows) and all(row[length] == first[length] for row in rows):
        length += 1
    return first[:length]


def hf_prefill(tokenizer, examples, prompts):
    """A plain computation: per meeting, its prompts' common token-id prefix once,
    plus what each prompt has beyond it."""
    ids = [e.ids for e in tokenizer.encode_batch_fast(prompts, add_special_tokens=False)]
    meetings: dict = {}
    for item, row in zip(examples, ids):
        meetings.setdefault((item.split, item.meeting), []).append(row)
    without = sum(len(row) for row in ids)
    with_reuse = 0
    for rows in meetings.values():
        shared = len(common_start(rows))
        with_reuse += shared + sum(len(row) - shared for row in rows)
    return {"meetings": len(meetings), "without_reuse": without, "with_reuse": with_reuse}


@pytest.mark.parametrize("template, preprocess", [("alpaca", "qmsum"), ("longbench", "none")])
def test_prefill_with_and_without_reuse_equals_a_plain_computation_on_hf_token_ids(template, preprocess):
    from tokenizers import Tokenizer

    from qmsum_fast.data import load_examples
    from qmsum_fast.preprocess import prepare
    from qmsum_fast.stats import BUNDLED_TOKENIZER
    from qmsum_fast.templates import load_template

    args = ["--split", "val", "--domain", "academic", "--template", template, "--preprocess", preprocess]
    report = json.loads(run(*args, "--json").output)
    examples = load_examples(split="val", domain="academic")
    chosen = load_template(template)
    prompts = [chosen.render(p.query, p.transcript) for p in prepare(examples, preprocess)]
    expected = hf_prefill(Tokenizer.from_file(str(BUNDLED_TOKENIZER)), examples, prompts)
    prefill = report["prefill"]
    assert {k: prefill[k] for k in expected} == expected
    assert prefill["ratio"] == expected["without_reuse"] / expected["with_reuse"]
    # The query first shares only a preamble; the transcript first shares the transcript.
    assert (prefill["ratio"] > 4) == (template != "alpaca")
    text = run(*args).output
    assert f"val    academic      54         9 {expected['without_reuse']:>14} {expected['with_reuse']:>12}" in text


def test_prefill_table_keeps_the_tables_before_it():
    output = run("--split", "test").output
    before, table = output.split("Prefill tokens (with reuse: each meeting's common token prefix computed once)\n")
    assert before.rstrip().endswith("test   all          281   0.0%   5.0%  28.8%  71.2% 100.0% 100.0% 100.0%")
    assert table.splitlines()[0].split() == [
        "split",
        "domain",
        "pairs",
        "meetings",
        "without",
        "reuse",
        "with",
        "reuse",
        "ratio",
    ]


PIECES = [*"ab c\n\t.,'-0123456789é", "  ", "\u00a0", "e\u0301", "<|endoftext|>", "'s", "😀", " \n", "Query: "]
pieces = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    layout=st.sampled_from(["{query}{transcript}", "{transcript}{query}", "{query}{transcript}{query}"]),
    transcript=pieces.map(lambda s: s * 30),
    parts=st.lists(st.tuples(pieces, pieces), min_size=1, max_size=4),
    common=pieces,
)
# Texts that differ but tokenize alike (NFC): the common prefix runs on past where they differ.
@example(layout="{query}{transcript}", transcript=" the end" * 30, parts=[("é", ""), ("e\u0301", "")], common="caf")
def test_common_prefixes_equal_those_of_hf_token_ids(bundled, layout, transcript, parts, common):
    """A group of prompts: a common start and each query's own text, each transcript with its own tail."""
    from qmsum_fast.stats import count_prompt_tokens

    counter, tokenizer = bundled
    template = load_template_text(layout)
    queries = [common + own for own, _ in parts]
    texts = [transcript + tail for _, tail in parts]
    counts = count_prompt_tokens(counter, template, queries, texts)
    got = common_prefix_tokens(counter, template, queries, texts, [len(parts)], counts)
    prompts = [template.render(query, text) for query, text in zip(queries, texts)]
    ids = [e.ids for e in tokenizer.encode_batch_fast(prompts, add_special_tokens=False)]
    assert got == [len(common_start(ids))]


def test_common_prefixes_of_a_tokenizer_that_does_not_split_at_spaces(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    from qmsum_fast.stats import TokenCounter, count_prompt_tokens

    vocab = {"[UNK]": 0, "▁a": 1, "b": 2, "▁": 3, "a": 4}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    counter = TokenCounter.from_json(tokenizer.to_str())
    assert not counter.splits_exactly
    template = load_template_text("{transcript} {query}")
    queries, transcripts = ["a b", "a a", "b", "a"], ["a b ab " * 20] * 3 + ["b a"]
    counts = count_prompt_tokens(counter, template, queries, transcripts)
    got = common_prefix_tokens(counter, template, queries, transcripts, [3, 1], counts)
    ids = [tokenizer.encode(template.render(q, t), add_special_tokens=False).ids for q, t in zip(queries, transcripts)]
    assert got == [len(common_start(ids[:3])), len(ids[3])]

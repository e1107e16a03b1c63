import pytest

from qmsum_fast import InputError, load_template
from qmsum_fast.templates import BUILTIN, PEER_TEMPLATES, default_preprocess, parse_template


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_templates_split_around_the_transcript(name):
    template = load_template(name)
    prefix, suffix = template.split("what did they decide?")
    rendered = template.render("what did they decide?", "A: hi\nB: yes")
    assert rendered == prefix + "A: hi\nB: yes" + suffix
    assert "{" not in prefix + suffix


def test_alpaca_matches_the_original_experiments_prompt():
    rendered = load_template("alpaca").render("Q", "T")
    assert rendered.startswith("Below is an instruction that describes a task, paired with an input")
    assert rendered.endswith("### Instruction:\nQ\n\n### Input:\nT\n\n### Response:")


def test_template_file_with_braces_and_query(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("{{json}} {query}\n{transcript}\nend {query}", encoding="utf-8")
    template = load_template(str(path))
    assert template.render("q", "T") == "{json} q\nT\nend q"
    assert template.split("q") == ("{json} q\n", "\nend q")


@pytest.mark.parametrize(
    "text, message",
    [
        ("{query} {context}", "unknown placeholder {context}"),
        ("{query} only", "exactly one {transcript}"),
        ("{transcript} {transcript}", "exactly one {transcript}"),
        ("{transcript", "malformed template"),
    ],
)
def test_bad_templates_name_the_problem(text, message):
    with pytest.raises(InputError, match=message.replace("{", r"\{").replace("}", r"\}")):
        parse_template(text, source="my.txt")


def test_unknown_template_name():
    with pytest.raises(InputError, match="unknown template 'nope'"):
        load_template("nope")


def test_lm_eval_scrolls_is_lm_evals_scrolls_qmsum_prompt():
    # lm-evaluation-harness 0.4.13 (MIT), lm_eval/tasks/scrolls/task.py: QMSum splits the
    # SCROLLS input at its first blank line, question = input[:split], text = input[split + 2:],
    # and renders f"{doc['text']}\n\nQuestion: {doc['question']}\nAnswer:".
    scrolls_input = load_template("scrolls").render("What did they decide?", "A: hi\n\nB: yes")
    split = scrolls_input.find("\n\n")
    question, text = scrolls_input[:split], scrolls_input[split + 2 :]
    rendered = load_template("lm-eval-scrolls").render("What did they decide?", "A: hi\n\nB: yes")
    assert rendered == f"{text}\n\nQuestion: {question}\nAnswer:"


def test_longbench_is_longbenchs_qmsum_prompt():
    # THUDM/LongBench (MIT), LongBench/config/dataset2prompt.json, "qmsum".
    prompt = (
        "You are given a meeting transcript and a query containing a question or instruction. "
        "Answer the query in one or more sentences.\n\nTranscript:\n{context}\n\n"
        "Now, answer the query based on the above meeting transcript in one or more sentences.\n\n"
        "Query: {input}\nAnswer:"
    )
    assert load_template("longbench").render("Q", "T") == prompt.format(context="T", input="Q")


def test_the_peers_templates_take_the_raw_transcript_by_default():
    assert set(PEER_TEMPLATES) == {"scrolls", "lm-eval-scrolls", "longbench", "zeroscrolls"} <= set(BUILTIN)
    assert [default_preprocess(name) for name in PEER_TEMPLATES] == ["none"] * 4
    for other in ("alpaca", "led", "plain", None, "{query}\n\n{transcript}"):
        assert default_preprocess(other) == "qmsum"


@pytest.mark.parametrize(
    "template, preprocess, expected",
    [
        ("longbench", None, "none"),
        ("lm-eval-scrolls", None, "none"),
        (None, None, "qmsum"),
        ("longbench", "qmsum", "qmsum"),
    ],
)
def test_generate_decides_the_default_preprocessing_by_the_same_rule(template, preprocess, expected):
    from qmsum_fast.gen.config import Request, build_config

    config = build_config(Request(model="led", template=template, preprocess=preprocess), dtype="float32")
    assert config.preprocess == expected
    assert build_config(Request(model="lead")).preprocess == "qmsum"  # baselines have no template

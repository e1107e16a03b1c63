import pytest

from qmsum_fast import InputError, load_template
from qmsum_fast.templates import BUILTIN, parse_template


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

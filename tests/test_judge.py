"""The judge protocol: verdicts read exactly from recorded replies, scores as HELMET computes them."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qmsum_fast.errors import InputError
from qmsum_fast.judge import (
    EXTRACT,
    FLUENCY,
    KINDS,
    PRECISION,
    RECALL,
    Verdict,
    as_count,
    example_figures,
    extract_prompt,
    f1,
    fill,
    fluency_prompt,
    last_object_with,
    load_prompts,
    precision_prompt,
    read_verdict,
    recall_prompt,
)

# --- verdicts from replies -------------------------------------------------------------

WELL_FORMED = 'Key point 1 is present, 2 is not.\n{"recall": 1}'
SEVERAL = 'Draft: {"recall": 3}. On reflection point 3 is wrong.\nFinal: {"recall": 2}\n{"note": "checked"}'
FENCED = 'Reasoning...\n```json\n{\n  "precision": 3,\n  "sentence_count": 5\n}\n```\n'
TRAILING = '{"fluency": 1} The text is coherent and fluent; I hope this helps!'
STRINGS = 'So: {"precision": "2", "sentence_count": "4"}'
NESTED = 'Result: {"verdict": {"recall": 2}, "confidence": "high"}'


@pytest.mark.parametrize(
    ("kind", "reply", "limit", "value"),
    [
        (RECALL, WELL_FORMED, 3, 1),
        (RECALL, SEVERAL, 3, 2),  # the last object with the key, not the last object
        (PRECISION, FENCED, None, (3, 5)),
        (FLUENCY, TRAILING, None, 1),
        (PRECISION, STRINGS, None, (2, 4)),
        (RECALL, NESTED, 2, 2),
        (RECALL, '{"recall": 2.0}', 2, 2),
        (RECALL, '{"recall": 0}', 4, 0),
        (FLUENCY, '{"fluency": "0"}', None, 0),
        (PRECISION, '{"precision": 0, "sentence_count": 0}', None, (0, 0)),
        (
            EXTRACT,
            'Here they are:\n```json\n{"key_points": [" A said x. ", "B decided y."]}\n```',
            None,
            ["A said x.", "B decided y."],
        ),
    ],
)
def test_valid_verdicts_are_read_exactly(kind, reply, limit, value):
    verdict = read_verdict(kind, reply, limit)
    assert verdict.problem is None
    assert verdict.value == value


@pytest.mark.parametrize(
    ("kind", "reply", "limit", "problem"),
    [
        (RECALL, '{"recall": 4}', 3, '"recall" 4 is out of range: the reference has 3 key points'),
        (RECALL, '{"recall": -1}', 3, '"recall" -1 is out of range: the reference has 3 key points'),
        (RECALL, '{"recall": 1.5}', 3, '"recall" is not a whole number: 1.5'),
        (RECALL, '{"recall": "two"}', 3, "\"recall\" is not a whole number: 'two'"),
        (RECALL, '{"recall": true}', 3, '"recall" is not a whole number: True'),
        (
            PRECISION,
            '{"precision": 5, "sentence_count": 4}',
            None,
            '"precision" 5 is out of range for "sentence_count" 4',
        ),
        (PRECISION, '{"precision": 2}', None, 'the object with "precision" has no "sentence_count"'),
        (FLUENCY, '{"fluency": 2}', None, '"fluency" is not 0 or 1: 2'),
        (FLUENCY, '{"fluency": "yes"}', None, "\"fluency\" is not 0 or 1: 'yes'"),
        (FLUENCY, "The text is fluent. Score: 1", None, 'no JSON object with "fluency"'),
        (RECALL, "", 3, 'no JSON object with "recall"'),
        (RECALL, '{"recall": 2', 3, 'no JSON object with "recall"'),  # cut off
        (RECALL, "{'recall': 2}", 3, 'no JSON object with "recall"'),  # not JSON
        (RECALL, '{"fluency": 1}', 3, 'no JSON object with "recall"'),  # another kind's key
        (EXTRACT, '{"key_points": []}', None, '"key_points" is empty'),
        (EXTRACT, '{"key_points": "A said x."}', None, '"key_points" is not a list of strings'),
        (EXTRACT, '{"key_points": ["A", 3]}', None, '"key_points" is not a list of strings'),
    ],
)
def test_replies_without_a_valid_verdict_say_why_and_give_no_value(kind, reply, limit, problem):
    verdict = read_verdict(kind, reply, limit)
    assert verdict.value is None
    assert verdict.problem == problem


def test_the_last_object_with_the_key_wins_over_earlier_and_keyless_ones():
    assert last_object_with('{"a": 1} {"recall": 1} {"recall": 2} {"b": 3}', "recall") == {"recall": 2}
    assert last_object_with("no braces at all", "recall") is None
    # An object holding another: the outer one ends last, so it is the verdict.
    assert last_object_with('{"recall": 3, "detail": {"recall": 5}}', "recall") == {
        "recall": 3,
        "detail": {"recall": 5},
    }
    assert last_object_with('{"a": {"recall": 1}} then {"recall": 2}', "recall") == {"recall": 2}


@pytest.mark.parametrize(
    ("value", "count"), [(3, 3), (3.0, 3), ("3", 3), (" 3 ", 3), ("3.0", 3), ("-1", -1), (True, None), (None, None)]
)
def test_counts_as_judges_write_them(value, count):
    assert as_count(value) == count


# --- scores -----------------------------------------------------------------------------


def test_figures_are_helmets_f1_times_fluency():
    figures = example_figures([2], [4], 3, 5, 1)
    assert figures == {"recall": 0.5, "precision": 0.6, "fluency": 1, "score": 2 * 0.5 * 0.6 / (0.5 + 0.6)}
    assert example_figures([2], [4], 3, 5, 0)["score"] == 0.0  # not fluent: 0 whatever F1 is
    assert example_figures([0], [4], 0, 5, 1) == {"recall": 0.0, "precision": 0.0, "fluency": 1, "score": 0.0}
    assert example_figures([1], [2], 0, 0, 1)["precision"] == 0.0  # no sentences: precision 0, as HELMET


def test_several_references_take_the_best_recall():
    assert example_figures([1, 3], [4, 4], 1, 1, 1)["recall"] == 0.75
    assert example_figures([2, 3], [2, 6], 1, 1, 1)["recall"] == 1.0  # a fraction, not a count
    assert f1(1.0, 1.0) == 1.0 and f1(0.0, 0.0) == 0.0


# --- prompts -------------------------------------------------------------------------------


def test_bundled_prompts_hold_their_placeholders_and_render_once():
    prompts = load_prompts()
    assert set(prompts.texts) == set(KINDS)
    summary = "The group chose {query} a plain case."  # a placeholder inside a value stays as is
    text = recall_prompt(prompts, "What was decided?", ["A plain case.", "A coloured cover."], summary)
    assert "1. A plain case.\n2. A coloured cover." in text
    assert summary in text and "What was decided?" in text and '"supported_key_points": [1, 2], "recall": 2}' in text
    assert "{key_points}" not in text and "{summary}" not in text
    precision = precision_prompt(prompts, "Q?", ["First.", "Second."], "S.")
    assert "Reference 1: First.\n\nReference 2: Second." in precision
    assert "{" + "references}" not in precision
    assert 'Expert summary: "Ref."' in extract_prompt(prompts, " Ref. ")
    assert 'Text: "S."' in fluency_prompt(prompts, "S.")
    assert fill("{a} {summary}", {"summary": "x"}) == "{a} x"


def test_a_prompts_folder_needs_every_template_with_its_placeholders(tmp_path):
    for kind, text in load_prompts().texts.items():
        (tmp_path / f"{kind}.txt").write_text(text, encoding="utf-8")
    assert load_prompts(tmp_path).folder == str(tmp_path)
    (tmp_path / "recall.txt").write_text("Count {summary}", encoding="utf-8")
    with pytest.raises(InputError, match=r"recall.txt: the template lacks \{query\}, \{key_points\}"):
        load_prompts(tmp_path)
    (tmp_path / "recall.txt").write_text(load_prompts().texts[RECALL], encoding="utf-8")
    (tmp_path / "fluency.txt").unlink()
    with pytest.raises(InputError, match=r"fluency\.txt: missing"):
        load_prompts(tmp_path)


@pytest.mark.parametrize(
    ("reply", "points"),
    [
        ('{"supported_key_points": [3, 1], "recall": 2}', [1, 3]),
        ('{"supported_key_points": ["1", "2"], "recall": "2"}', [1, 2]),
        ('{"supported_key_points": [1], "recall": 2}', None),  # disagrees with the count
        ('{"supported_key_points": [1, 1], "recall": 2}', None),
        ('{"supported_key_points": [1, 5], "recall": 2}', None),  # there are 3
        ('{"recall": 2}', None),
    ],
)
def test_which_key_points_were_found_is_kept_only_when_it_agrees_with_the_count(reply, points):
    verdict = read_verdict(RECALL, reply, 3)
    assert verdict.value == 2 and verdict.detail == points


PROSE = st.text(alphabet=st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=60)


@given(PROSE, PROSE, st.integers(0, 9), st.integers(0, 9), st.booleans(), st.booleans())
def test_a_verdict_in_any_prose_is_read_and_checked(before, after, supported, sentences, fenced, as_strings):
    value = {"precision": str(supported) if as_strings else supported, "sentence_count": sentences}
    body = json.dumps(value)
    reply = before + (f"```json\n{body}\n```" if fenced else body) + after
    verdict = read_verdict(PRECISION, reply)
    if supported <= sentences:
        assert verdict == Verdict((supported, sentences))
    else:
        assert verdict.value is None and "out of range" in (verdict.problem or "")

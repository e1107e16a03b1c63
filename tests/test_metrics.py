"""Peer metrics (qmsum_fast.metrics) against the peers' own scorers, compared with ==.

LongBench's ROUGE-L is checked per pair against the ``rouge`` package 1.0.1
itself, every input where it raises included: a RecursionError depends on how
deep the caller's stack already is, so each call of the package here first
measures the stack headroom it has and the Rust side is given the frames that
call had left.
SCROLLS' figures are checked against a plain computation with rouge-score.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rouge import Rouge
from rouge_score import rouge_scorer

from qmsum_fast import _core
from qmsum_fast.cli import main
from qmsum_fast.data.runs import Prediction, Run, load_predictions
from qmsum_fast.metrics import (
    LM_EVAL_MAX_DEPTH,
    LONGBENCH_MAX_DEPTH,
    lm_eval_longbench,
    lm_eval_scrolls,
    longbench,
    longbench_example_scores,
    parse_metrics,
    peer_metric,
    scrolls,
    scrolls_example_scores,
)
from qmsum_fast.rouge import split_summary_sentences

BASELINES = ("bm25", "lead", "textrank", "random")
MEMORY = Path("in-memory.jsonl")  # the path of runs built in a test


# --- the rouge package, called as LongBench calls it ----------------------------------


def _headroom(count: int = 0) -> int:
    """How many more nested Python calls fit below the caller, less one: the
    stack as the interpreter counts it (C calls in between included)."""
    try:
        return _headroom(count + 1)
    except RecursionError:
        return count


# Frames of the rouge package between the caller and the backtrack: get_scores,
# _get_avg_scores, the rouge-l lambda, rouge_l_summary_level, _union_lcs, _recon_lcs.
ROUGE_FRAMES = 6


def peer_rouge_l(prediction: str, reference: str) -> tuple[float | None, int]:
    """LongBench's ``rouge_score`` without its bare except: rouge 1.0.1's ROUGE-L F,
    None where it raises; and the backtrack frames this call had left, which
    decide RecursionError."""
    frames_left = _headroom() + 1 - ROUGE_FRAMES
    try:
        return Rouge().get_scores([prediction], [reference], avg=True)["rouge-l"]["f"], frames_left
    except Exception:
        return None, frames_left


def assert_pair_equal(prediction: str, reference: str) -> float | None:
    theirs, frames_left = peer_rouge_l(prediction, reference)
    ours = _core.longbench_rouge_l(prediction, reference, frames_left)
    assert ours == theirs, (prediction, reference)
    return theirs


# --- real QMSum runs -----------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """The extractive baselines on the bundled test split, as `generate` writes them."""
    folder = tmp_path_factory.mktemp("runs")
    loaded = {}
    for model in BASELINES:
        path = folder / f"{model}.jsonl"
        result = CliRunner().invoke(main, ["generate", "--model", model, "--out", str(path)])
        assert result.exit_code == 0, result.output
        loaded[model] = load_predictions(path)
    return loaded


@pytest.mark.parametrize("model", BASELINES)
def test_longbench_rouge_l_equals_the_rouge_package_on_real_runs(runs, model):
    for example in runs[model].predictions:
        for reference in example.references:
            assert assert_pair_equal(example.prediction, reference) is not None
            assert_pair_equal(example.prediction.strip(), reference)
            assert_pair_equal(reference, reference)


@pytest.mark.parametrize("model", BASELINES)
def test_longbench_figures_equal_eval_py_on_real_runs(runs, model):
    run = runs[model]
    best = []
    for example in run.predictions:
        score = 0.0
        for reference in example.references:
            value, _ = peer_rouge_l(example.prediction, reference)
            score = max(score, 0.0 if value is None else value)
        best.append(score)
    assert longbench_example_scores(run, LONGBENCH_MAX_DEPTH) == best
    total_score = 0.0
    for score in best:
        total_score += score
    assert longbench(run).figures == {"qmsum": round(100 * total_score / len(best), 2)}


def test_lm_eval_longbench_strips_and_reports_mean_and_stderr(runs):
    run = runs["textrank"]
    scores = []
    for example in run.predictions:
        values = [peer_rouge_l(example.prediction.strip(), r)[0] for r in example.references]
        scores.append(max([0.0] + [v for v in values if v is not None]))
    mean = sum(scores) / len(scores)
    stderr = math.sqrt(sum([(x - mean) ** 2 for x in scores]) / (len(scores) - 1)) / math.sqrt(len(scores))
    result = lm_eval_longbench(run)
    assert result.figures == {
        "score,none": mean,
        "score_stderr,none": stderr,
        "rouge_score,none": mean,
        "rouge_score_stderr,none": stderr,
    }
    assert result.headline == "score,none" and result.score == mean


def test_lm_eval_longbench_scores_the_stripped_prediction():
    # " ." is one sentence (the empty word) unstripped; stripped it is only a dot: rouge raises.
    run = Run(MEMORY, {}, [Prediction(" .", (" . x",)), Prediction(" .", (" . x",))])
    assert longbench_example_scores(run, None) == [assert_pair_equal(" .", " . x")] * 2
    assert longbench_example_scores(run, None, strip=True) == [0.0, 0.0]
    assert assert_pair_equal(".", " . x") is None
    assert lm_eval_longbench(run).figures["score_stderr,none"] == 0.0
    one = Run(MEMORY, {}, [Prediction("x", ("x",))])
    assert lm_eval_longbench(one).figures["score_stderr,none"] == "N/A"  # lm-eval: n = 1


# --- generated text, including every way rouge raises ------------------------------

# Dots, Python whitespace (ASCII, U+001F, U+3000; U+200B is not), case, punctuation, unicode.
WORDS = ["a", "A", "b", "cat", "Cat", "cat,", ",", "é", "日本"]
SEPARATORS = [".", "..", " ", "  ", "\t", "\n", "\x1f", "\u3000", "\u200b"]
PIECES = st.sampled_from(WORDS + SEPARATORS)
TEXTS = st.lists(PIECES, max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prediction=TEXTS, reference=TEXTS)
def test_longbench_rouge_l_equals_the_rouge_package_on_generated_text(prediction, reference):
    assert_pair_equal(prediction, reference)


@settings(max_examples=60, deadline=None)
@given(
    prediction=st.lists(st.sampled_from(["a", "b", "c"]), min_size=850, max_size=1100).map(" ".join),
    reference=st.lists(st.sampled_from(["a", "b", "x", "y", "."]), min_size=1, max_size=40).map(" ".join),
)
def test_long_sentences_raise_recursion_error_exactly_where_rouge_does(prediction, reference):
    """A predicted sentence of about a thousand words: the backtrack walks back through
    most of it, one frame a step, so rouge raises RecursionError on about half of these."""
    assert_pair_equal(prediction, reference)


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [
        ("", "a"),
        ("a", ""),
        ("...", "a. b"),
        ("a", ". . "),
        (" ", " "),
        ("\u3000", "a.\u3000"),
        (" w" * 2000, " w" * 2000),  # RecursionError at any depth
        ("w " * 100 + "." + " w" * 100, "w " * 150),
    ],
)
def test_edge_cases_equal_the_rouge_package(prediction, reference):
    assert_pair_equal(prediction, reference)


def test_depth_limit_is_exact_around_the_boundary():
    """k identical words against themselves: k diagonal steps and the last call, k + 1 frames."""
    _, frames = peer_rouge_l("w", "w")
    assert frames > 900
    for words in (frames - 2, frames - 1, frames, frames + 1):
        text = " ".join(["w"] * words)
        theirs, frames_here = peer_rouge_l(text, text)
        assert frames_here == frames
        assert (theirs is None) == (words + 1 > frames)
        assert _core.longbench_rouge_l(text, text, frames) == theirs
    assert _core.longbench_rouge_l(" w" * 5000, " w" * 5000) is not None  # no limit


# The stack of LongBench's eval.py, run as a script: <module> -> scorer -> rouge_score
# (loops, not comprehensions: before Python 3.12 a comprehension is a frame of its own).
_EVAL_PY_STACK = """
import sys
from rouge import Rouge

def rouge_score(prediction, ground_truth, **kwargs):
    rouge = Rouge()
    try:
        scores = rouge.get_scores([prediction], [ground_truth], avg=True)
    except:
        return 0.0
    return scores["rouge-l"]["f"]

def scorer(predictions, answers):
    total_score = 0.
    for (prediction, ground_truths) in zip(predictions, answers):
        score = 0.
        for ground_truth in ground_truths:
            score = max(score, rouge_score(prediction, ground_truth))
        total_score += score
    return total_score

# Called at module level, as eval.py calls scorer: passes with words + 1 = frames, fails with one more.
frames = int(sys.argv[1])
for words in (frames - 1, frames):
    text = " ".join(["w"] * words)
    print(scorer([text], [[text]]) > 0)
"""


def test_longbench_default_depth_is_eval_py_as_a_script(tmp_path):
    script = tmp_path / "eval_stack.py"
    script.write_text(textwrap.dedent(_EVAL_PY_STACK))
    frames = LONGBENCH_MAX_DEPTH if sys.version_info >= (3, 11) else LONGBENCH_MAX_DEPTH - 1
    probe = subprocess.run([sys.executable, str(script), str(frames)], capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["True", "False"]
    # lm-eval's `lm-eval run` holds 9 more frames above its rouge_score (counted in lm_eval 0.4.13).
    assert LM_EVAL_MAX_DEPTH == LONGBENCH_MAX_DEPTH - 9


def test_longbench_scores_zero_where_rouge_raises_and_checks_lengths():
    run = Run(MEMORY, {}, [Prediction("", ("a",)), Prediction("a", ("...", "a")), Prediction("a", ("b",))])
    scores = longbench_example_scores(run, None)
    assert scores[0] == 0.0 and scores[1] == assert_pair_equal("a", "a") and scores[2] == 0.0
    with pytest.raises(Exception, match="2 predictions but 1 reference lists"):
        _core.longbench_rouge_scores(["a", "b"], [["a"]])


# --- SCROLLS and lm-eval's scrolls_qmsum ----------------------------------------


def postprocess_text(text: str) -> str:
    """SCROLLS' postprocess_text with our sentence splitter in place of nltk.sent_tokenize."""
    return "\n".join(split_summary_sentences(text))


def straightforward_scrolls(run: Run) -> tuple[dict[str, list[float]], dict]:
    """SCROLLS' figures with rouge-score itself: every (prediction, reference) pair,
    F x 100, max per type, sum / len, geometric mean, everything rounded to 4."""
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=False)
    per_example: dict[str, list[float]] = {t: [] for t in types}
    for example in run.predictions:
        pairs = [
            scorer.score(postprocess_text(ref), postprocess_text(example.prediction)) for ref in example.references
        ]
        for t in types:
            per_example[t].append(max(pair[t].fmeasure * 100 for pair in pairs))
    means = {t: sum(v) / len(v) for t, v in per_example.items()}
    means["geometric_mean"] = (means["rouge1"] * means["rouge2"] * means["rougeL"]) ** (1.0 / 3.0)
    figures = {f"rouge/{k}": v for k, v in means.items()}
    figures["num_predicted"] = len(run.predictions)
    lengths = [len(p.prediction) for p in run.predictions]
    figures["mean_prediction_length_characters"] = sum(lengths) / len(lengths)
    figures = {k: round(v, 4) for k, v in figures.items()}
    figures["scrolls_score"] = figures["rouge/geometric_mean"]
    return per_example, figures


def test_scrolls_figures_equal_rouge_score_itself_on_a_real_run(runs):
    run = runs["bm25"]
    per_example, figures = straightforward_scrolls(run)
    assert scrolls_example_scores(run) == per_example
    result = scrolls(run)
    display = ["rouge/rouge1", "rouge/rouge2", "rouge/rougeL"]
    assert result.figures == {**figures, "display_keys": display, "display": [figures[k] for k in display]}
    assert result.score == figures["scrolls_score"]
    assert result.as_json()["metric"] == "scrolls"


def test_scrolls_with_several_references_takes_the_best_per_type(runs):
    examples = runs["lead"].predictions[:30]
    # A second reference that is the prediction's own first sentence wins some types, not others.
    run = Run(
        MEMORY,
        {},
        [Prediction(e.prediction, (*e.references, e.prediction.split("\n")[0])) for e in examples],
    )
    per_example, figures = straightforward_scrolls(run)
    assert scrolls_example_scores(run) == per_example
    assert {k: v for k, v in scrolls(run).figures.items() if k not in ("display", "display_keys")} == figures


def test_lm_eval_scrolls_reports_the_scrolls_metric_under_lm_eval_names(runs):
    figures = scrolls(runs["random"]).figures
    result = lm_eval_scrolls(runs["random"])
    assert result.figures == {
        "rouge1,none": figures["rouge/rouge1"],
        "rouge1_stderr,none": "N/A",
        "rouge2,none": figures["rouge/rouge2"],
        "rouge2_stderr,none": "N/A",
        "rougeL,none": figures["rouge/rougeL"],
        "rougeL_stderr,none": "N/A",
    }
    assert result.text("rouge1,none") == f"{figures['rouge/rouge1']:.4f} ± N/A"


# --- names ----------------------------------------------------------------------


def test_parse_metrics_repeated_and_comma_separated():
    assert parse_metrics(["scrolls,longbench", "scrolls", " lm-eval-longbench "]) == (
        "scrolls",
        "longbench",
        "lm-eval-longbench",
    )
    with pytest.raises(ValueError, match="unknown metric 'rouge'"):
        parse_metrics(["rouge"])


def test_peer_metric_depth_zero_means_no_limit():
    long = " w" * 1500
    run = Run(MEMORY, {}, [Prediction(long, (long,))])
    assert peer_metric(run, "longbench").score == 0.0  # RecursionError in LongBench's eval.py
    assert peer_metric(run, "longbench", 0).score > 99.99

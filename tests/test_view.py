"""``qmsum-fast view``: the HTML page of runs, its figures and highlights, the
faithfulness signals, and the page itself in headless Chromium.

The runs are real: the bm25, lead and oracle baselines on the bundled test
split (281 examples), made once per module.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from cli_helpers import error, ok
from fragments_reference import paper_fragments
from qmsum_fast.data import Example, load_examples, plain_transcript, render_turns
from qmsum_fast.data.runs import load_run, read_run
from qmsum_fast.faithfulness import run_faithfulness
from qmsum_fast.fragments import faithfulness, faithfulness_of, mean_signals
from qmsum_fast.report import build_report
from qmsum_fast.rouge import tokenize
from qmsum_fast.view import Options, build_view, packed_spans, rouge_token_spans

BASELINES = ("bm25", "lead", "oracle")
MAX_BYTES = 10 * 2**20
MAX_LOAD_SECONDS = 2.0


def page_data(path: Path) -> dict:
    """The JSON the page renders from."""
    text = path.read_text(encoding="utf-8")
    start = text.index('<script type="application/json" id="view-data">') + len(
        '<script type="application/json" id="view-data">'
    )
    return json.loads(text[start : text.index("</script>", start)])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("runs")
    paths = {}
    for model in BASELINES:
        paths[model] = folder / f"{model}.jsonl"
        ok("generate", "--model", model, "--split", "test", "--out", paths[model])
    return paths


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page") / "view.html"
    output = ok("view", *runs.values(), "-o", out)
    assert output.startswith(f"wrote {out}: 281 examples, 3 runs")
    return out


@pytest.fixture(scope="module")
def data(page) -> dict:
    return page_data(page)


@pytest.fixture(scope="module")
def examples():
    return {example.id: example for example in load_examples(split="test")}


# --- the file -------------------------------------------------------------------------------


class Structure(HTMLParser):
    """Tags, ids and external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter = Counter()
        self.ids: set[str] = set()
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        for name in ("src", "href"):
            if attributes.get(name) and not attributes[name].startswith("#"):
                self.external.append(attributes[name])
        if tag == "link":
            self.external.append(str(attributes))


def test_the_page_is_one_self_contained_file(page):
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size < MAX_BYTES
    structure = Structure()
    structure.feed(text)
    assert structure.external == []  # no stylesheet, script, image or font from elsewhere
    assert structure.tags["script"] == 2 and structure.tags["style"] == 1
    assert {"overview", "controls", "cards", "plot", "view-data", "search", "run-a", "run-b"} <= structure.ids
    assert structure.tags["table"] == 3  # runs, paired differences from the first run, groups
    assert "default-src 'none'" in text  # the page may fetch nothing at all


def test_every_example_and_run_is_in_the_page(data, examples):
    assert [run["label"] for run in data["runs"]] == list(BASELINES)
    assert [item["id"] for item in data["examples"]] == list(examples)
    for item in data["examples"]:
        example = examples[item["id"]]
        assert (item["m"], item["d"], item["q"], item["k"]) == (
            example.meeting,
            example.domain,
            example.query_type,
            example.query,
        )
        assert item["r"] == list(example.references)
        assert all(prediction is not None for prediction in item["p"])


def test_overview_figures_are_report_s(data, runs):
    rows = build_report(list(runs.values()))
    for run, row in zip(data["runs"], rows):
        assert run["headline"] == {name: row.results[0].text(name) for name in row.results[0].columns}
    labels = [row["label"] for row in data["groups"]]
    domains = [f"domain={d}" for d in ("academic", "product", "committee")]
    assert labels == ["all", *domains, "query_type=general", "query_type=specific"]
    assert [cell["n"] for cell in data["groups"][1]["cells"]] == [58, 58, 58]


def test_a_domain_row_is_the_report_of_that_domain_s_run(data, tmp_path):
    academic = tmp_path / "academic.jsonl"
    ok("generate", "--model", "bm25", "--split", "test", "--domain", "academic", "--out", academic)
    result = build_report([academic])[0].results[0]
    row = next(row for row in data["groups"] if row["label"] == "domain=academic")
    assert row["cells"][0]["figures"] == {name: result.text(name) for name in result.columns}


# --- the words ROUGE counted ------------------------------------------------------------------


def test_marked_words_are_what_rouge_1_counted(data):
    """Marked prediction tokens / tokens is rouge-score's ROUGE-1 precision, and
    marked reference tokens / tokens its recall, for every prediction."""
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    for item in data["examples"]:
        for prediction in item["p"]:
            score = scorer.score(item["r"][prediction["rb"]], prediction["t"])["rouge1"]
            assert prediction["s"]["r1"] == score.fmeasure
            assert len(prediction["h"]) == prediction["s"]["nt"] == len(tokenize(prediction["t"]))
            assert prediction["h"].count("1") / max(len(prediction["h"]), 1) == score.precision
            assert prediction["rh"].count("1") / max(len(prediction["rh"]), 1) == score.recall


def unpack(text: str, packed: list[int]) -> list[str]:
    """The tokens the page cuts out of ``text`` (offsets in UTF-16 code units, as JavaScript)."""
    units = text.encode("utf-16-le")
    words, position = [], 0
    for gap, length in zip(packed[::2], packed[1::2]):
        start = position + gap
        position = start + length
        words.append(units[2 * start : 2 * position].decode("utf-16-le"))
    return words


def test_the_page_cuts_out_rouge_s_tokens(data):
    for item in data["examples"]:
        for text, packed in [(item["r"][0], item["ro"][0])] + [(p["t"], p["o"]) for p in item["p"]]:
            assert [w.lower() for w in unpack(text, packed)] == tokenize(text)


@given(st.text(alphabet=st.sampled_from("aZ9 .\n\u0130\u212a\u00e9\U0001f600\u03a3-x")))
def test_token_spans_on_unusual_text(text):
    tokens, spans = rouge_token_spans(text)
    assert tokens == tokenize(text)
    assert [text[start:end].lower()[: len(token)] for (start, end), token in zip(spans, tokens)] == tokens
    assert len(unpack(text, packed_spans(text, spans))) == len(tokens)


# --- faithfulness ---------------------------------------------------------------------------


def paper_signals(summary: str, article: str, query: str, n: int = 2) -> tuple:
    s, a, q = tokenize(summary), tokenize(article), tokenize(query)
    fragments = paper_fragments(s, a)
    coverage = sum(f[2] for f in fragments) / len(s) if s else None
    density = sum(f[2] ** 2 for f in fragments) / len(s) if s else None
    grams = [tuple(s[i : i + n]) for i in range(len(s) - n + 1)]
    known = {tuple(t[i : i + n]) for t in (a, q) for i in range(len(t) - n + 1)}
    novel = sum(g not in known for g in grams) / len(grams) if grams else None
    return tuple(fragments), coverage, density, novel


def real_summaries(runs, examples, step: int) -> list[tuple[str, Example]]:
    """Every ``step``-th gold summary (abstractive: partly copied) and baseline
    prediction (extractive) of the test split, with its example."""
    summaries = [(example.references[0], example) for example in list(examples.values())[::step]]
    for path in runs.values():
        summaries += [(p.prediction, examples[p.fields["id"]]) for p in load_run(path).predictions[::step]]
    return summaries


def check_against_the_paper(summaries: list[tuple[str, Example]]) -> list:
    rust = faithfulness_of([s for s, _ in summaries], [e for _, e in summaries])
    for (summary, example), got in zip(summaries, rust):
        expected = paper_signals(summary, plain_transcript(example), example.query)
        assert (got.fragments, got.coverage, got.density, got.novel_ngrams) == expected
    return rust


def test_fragments_equal_the_paper_s_algorithm_on_real_examples(runs, examples):
    rust = check_against_the_paper(real_summaries(runs, examples, step=4))
    gold = rust[: len(range(0, len(examples), 4))]  # abstractive: mostly not copied whole
    assert sum(got.coverage is not None and got.coverage < 1 for got in gold) > len(gold) / 2
    assert sum(bool(got.novel_ngrams) for got in gold) > len(gold) / 2


@pytest.mark.slow
def test_fragments_equal_the_paper_s_algorithm_on_the_whole_split(runs, examples):
    assert len(check_against_the_paper(real_summaries(runs, examples, step=1))) == 4 * 281


def test_faithfulness_of_one_prediction():
    got = faithfulness("The budget was cut. Nobody agreed.", "A: the budget was cut\nB: yes", "budget")
    assert (got.tokens, got.coverage, got.density) == (6, 4 / 6, 16 / 6)
    assert got.novel_ngrams == 2 / 5  # "cut nobody", "nobody agreed"
    assert got.as_json() == {"tokens": 6, "coverage": 4 / 6, "density": 16 / 6, "novel_2grams": 2 / 5}
    assert faithfulness("", "text", "").coverage is None


def test_run_faithfulness_finds_the_run_s_examples(runs, data):
    signals = run_faithfulness(load_run(runs["oracle"]))
    assert [s.coverage for s in signals] == [item["p"][2]["s"]["cov"] for item in data["examples"]]
    assert [s.density for s in signals] == [item["p"][2]["s"]["den"] for item in data["examples"]]
    means = mean_signals(signals)
    assert data["runs"][2]["faithfulness"] == means
    assert means["density"] == sum(s.density for s in signals) / 281


# --- what the runs fed their models --------------------------------------------------------


def test_located_and_gold_turns_are_recomputed(tmp_path, examples):
    located = tmp_path / "located.jsonl"
    gold = tmp_path / "gold.jsonl"
    where = ("--split", "test", "--domain", "committee", "--limit", "12")
    ok("generate", "--model", "bm25", *where, "--input", "locator", "--locate-budget", "300", "--out", located)
    ok("generate", "--model", "lead", *where, "--input", "gold", "--out", gold)
    view = build_view([located, gold])
    for item in view.payload["examples"]:
        example = examples[item["id"]]
        bm25, lead = item["p"]
        assert bm25["fn"] == "input: located turns (bm25, 300 tokens; recorded)"
        fed = render_turns([example.turns[i] for start, end in bm25["fed"] for i in range(start, end + 1)])
        # bm25 picks whole turns: every word it wrote is in the turns it was fed.
        assert faithfulness(bm25["t"], fed).coverage == 1.0
        if example.query_type == "specific":
            assert lead["fed"] == item["g"] and lead["fn"] == "input: the gold spans"
        else:
            assert lead["fed"] is None
        turns = view.payload["turns"][item["tk"]]["t"]
        assert {str(i) for start, end in bm25["fed"] + item["g"] for i in range(start, end + 1)} <= set(turns)


def test_a_model_run_s_located_turns_are_what_it_was_fed(tmp_path, examples):
    """The prompt rebuilt from the recomputed turns has the token count the
    run recorded, with the room beside each prompt or --locate-budget."""
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from qmsum_fast.gen.inputs import prepare_function, with_turns
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.templates import parse_template

    model = tmp_path / "tiny-llama"
    ok("make-model", "--arch", "llama", "--size", "tiny", model)
    paths = [tmp_path / "room.jsonl", tmp_path / "budget.jsonl"]
    for path, budget in zip(paths, ([], ["--locate-budget", "300"])):
        where = ["--split", "test", "--domain", "academic", "--limit", "3"]
        limits = ["--max-input-tokens", "512", "--max-new-tokens", "2"]
        ok("generate", "--model", model, *where, *limits, "--input", "locator", *budget, "--out", path)
    view = build_view(paths)
    tokenizer = transformers.AutoTokenizer.from_pretrained(model)
    for index, path in enumerate(paths):
        config = read_run(path).config
        builder = PromptBuilder(tokenizer, parse_template(config["template"]), config["max_input_tokens"])
        for item in view.payload["examples"]:
            prediction = item["p"][index]
            assert "recorded" in prediction["fn"] and prediction["fed"]
            chosen = with_turns(examples[item["id"]], prediction["fed"])
            source = prepare_function(config["preprocess"])([chosen])[0]
            assert builder.build(source.query, source.transcript).n_tokens == prediction["s"]["ni"]


def test_a_run_file_from_before_records_said_what_was_fed_shows_no_turns_and_says_so(tmp_path):
    """The turns fed come from the records alone: with them taken out (a run
    file written before they were recorded) the page shows none, and says why."""
    located, old = tmp_path / "located.jsonl", tmp_path / "old.jsonl"
    where = ("--split", "test", "--domain", "committee", "--limit", "3")
    ok("generate", "--model", "bm25", *where, "--input", "locator", "--locate-budget", "300", "--out", located)
    lines = [json.loads(line) for line in located.read_text().splitlines()]
    assert all(isinstance(record["fed_turns"], list) and record["located_budget"] == 300 for record in lines[1:])
    for record in lines[1:]:
        del record["fed_turns"], record["located_budget"]
    old.write_text("".join(json.dumps(record) + "\n" for record in lines))
    for item in build_view([old]).payload["examples"]:
        prediction = item["p"][0]
        assert prediction["fed"] is None
        assert prediction["fn"] == "input: located turns (not recorded: the run file predates records of what was fed)"


# --- runs of other shapes ---------------------------------------------------------------------


def test_examples_missing_from_a_run_are_shown_as_missing(runs, tmp_path):
    partial = tmp_path / "partial.jsonl"
    ok("generate", "--model", "lead", "--split", "test", "--limit", "5", "--out", partial)
    view = build_view([partial, runs["bm25"]])
    items = view.payload["examples"]
    assert len(items) == 281
    assert [item["p"][0] is not None for item in items] == [True] * 5 + [False] * 276
    assert view.payload["runs"][0]["n"] == 5


def test_peer_files_and_plain_text(runs, tmp_path, data):
    references = tmp_path / "refs.jsonl"
    ok("convert", "--to", "scrolls", "--split", "test", "-o", references)
    submission = tmp_path / "submission.json"
    ok("export", runs["bm25"], "--to", "scrolls", "-o", submission)
    longbench = tmp_path / "longbench.jsonl"
    ok("export", runs["lead"], "--to", "longbench", "-o", longbench)
    text, text_refs = tmp_path / "oracle.txt", tmp_path / "refs.txt"
    oracle = load_run(runs["oracle"]).predictions
    text.write_text("".join(p.prediction.replace("\n", " ") + "\n" for p in oracle))
    text_refs.write_text("".join(p.references[0] + "\n" for p in oracle))
    out = tmp_path / "peers.html"
    ok("view", submission, longbench, "-o", out, "--ref", references, "--metric", "longbench")
    peers = page_data(out)
    assert [run["label"] for run in peers["runs"]] == ["submission", "longbench"]
    assert [[p["t"] for p in item["p"]] for item in peers["examples"]] == [
        [p["t"] for p in item["p"][:2]] for item in data["examples"]
    ]
    assert peers["runs"][0]["headline"].keys() == {"qmsum"}
    ok("view", text, "--ref", text_refs, "-o", tmp_path / "text.html")
    assert page_data(tmp_path / "text.html")["examples"][3]["p"][0]["t"] == oracle[3].prediction.replace("\n", " ")


def test_peer_metric_scores_per_example(runs, tmp_path):
    out = tmp_path / "scrolls.html"
    ok("view", runs["lead"], "-o", out, "--metric", "scrolls", "--no-stemmer")
    page = page_data(out)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"])
    for item in page["examples"][:40]:
        prediction = item["p"][0]
        scores = scorer.score(item["r"][0], prediction["t"])
        assert prediction["s"]["s1"] == scores["rouge1"].fmeasure * 100  # in percent, as SCROLLS keeps it
        assert prediction["s"]["r2"] == scores["rouge2"].fmeasure
    assert page["runs"][0]["headline"].keys() >= {"scrolls_score"}


def test_domain_option_keeps_that_domain(runs, tmp_path):
    view = build_view([runs["lead"]], domain="product", options=Options())
    assert {item["d"] for item in view.payload["examples"]} == {"product"}
    assert len(view.payload["examples"]) == 151


# --- errors -------------------------------------------------------------------------------


def test_errors_are_one_line(runs, tmp_path, page):
    assert error("view", runs["lead"], "-o", page) == f"{page} already exists: pass --overwrite to replace it"
    message = error("view", runs["lead"], "-o", tmp_path / "v.html", "--max-lcs-depth", "5")
    assert message == "--max-lcs-depth applies to --metric longbench or lm-eval-longbench only, not rouge-score"
    message = error("view", runs["lead"], "-o", tmp_path / "v.html", "--split", "val")
    assert "id 'test/education_13/g0' is not in the data" in message
    text = tmp_path / "three.txt"
    text.write_text("a\nb\nc\n")
    message = error("view", text, "--ref", text, "-o", tmp_path / "v.html")
    assert message.startswith(f"{text}: 3 predictions without ids, but the data holds 281 examples")
    missing = tmp_path / "missing.jsonl"
    assert error("view", missing, "-o", tmp_path / "v.html") == f"{missing}: cannot read: No such file or directory"


# --- the page in a browser ------------------------------------------------------------------


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium): the page is not opened in a browser"
)


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4;
    nothing listens on a port)."""

    def __init__(self, binary: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_browser, commands = os.pipe()
        replies, from_browser = os.pipe()
        script = f'exec "$0" "$@" 3<&{to_browser} 4>&{from_browser}'
        flags = ["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--remote-debugging-pipe"]
        self.process = subprocess.Popen(
            ["bash", "-c", script, binary, *flags, f"--user-data-dir={self.profile}", "about:blank"],
            pass_fds=(to_browser, from_browser),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser)
        os.close(from_browser)
        self.commands, self.replies = commands, replies
        self.buffer = b""
        self.last_id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.page(f"{domain}.enable")
        self.page("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)

    def _message(self) -> dict:
        deadline = time.monotonic() + self.timeout
        while b"\0" not in self.buffer:
            ready, _, _ = select.select([self.replies], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self.last_id += 1
        message: dict = {"id": self.last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def page(self, method: str, **params) -> dict:
        return self.send(method, self.session, **params)

    def evaluate(self, expression: str):
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def open(self, url: str) -> float:
        """Loads ``url`` afresh; the seconds until the page says it is ready."""
        self.page("Page.navigate", url="about:blank")
        started = time.perf_counter()
        self.page("Page.navigate", url=url)
        while self.evaluate("document.body && document.body.dataset.ready") != "1":
            if time.perf_counter() - started > self.timeout:
                raise TimeoutError(f"{url} never got ready")
            time.sleep(0.01)
        return time.perf_counter() - started

    def key(self, key: str) -> None:
        codes = {"j": 74, "k": 75, "ArrowDown": 40, "ArrowUp": 38}
        for kind in ("keyDown", "keyUp"):
            text = {"text": key} if kind == "keyDown" and len(key) == 1 else {}
            self.page("Input.dispatchKeyEvent", type=kind, key=key, windowsVirtualKeyCode=codes[key], **text)

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.page("Page.captureScreenshot", format="png")["data"]))
        return path

    def problems(self) -> list[dict]:
        """Exceptions, console errors and warnings, and browser log errors so far."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            console_error = method == "Runtime.consoleAPICalled" and params.get("type") in (
                "error",
                "warning",
                "assert",
            )
            if method == "Runtime.exceptionThrown" or console_error:
                found.append(params)
            elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                found.append(params["entry"])
        return found

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.commands)
        os.close(self.replies)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM is not None
    opened = Browser(CHROMIUM)
    yield opened
    opened.close()


def shown(browser: Browser) -> dict:
    return browser.evaluate(
        "({shown: Number(document.body.dataset.shown), order: window.qmsumView.order(),"
        " cards: [...document.querySelectorAll('.card')].map(c => c.dataset.id),"
        " current: (document.querySelector('.card.current') || {dataset: {}}).dataset.id || null,"
        " hash: decodeURIComponent(location.hash)})"
    )


@needs_chromium
def test_the_page_renders_in_chromium(browser, page, data, tmp_path):
    seconds = browser.open(page.as_uri())
    assert seconds < MAX_LOAD_SECONDS, f"ready after {seconds:.2f} s"
    state = shown(browser)
    ids = [item["id"] for item in data["examples"]]
    assert state["shown"] == 281 and state["order"] == ids
    assert state["cards"] == ids[:30]  # the first batch; the rest render on scrolling
    assert browser.evaluate("document.querySelectorAll('.card .pred:not(.missing)').length") == 90
    assert browser.evaluate("document.querySelectorAll('#plot rect').length") == 281
    assert browser.evaluate("document.querySelectorAll('.pred .h').length") > 1000  # marked words
    screenshot = browser.screenshot(tmp_path / "view.png")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert browser.problems() == []


@needs_chromium
def test_filters_and_sorting_in_chromium(browser, page, data):
    items = data["examples"]
    browser.open(page.as_uri() + "#domain=academic&type=specific")
    state = shown(browser)
    expected = [i["id"] for i in items if i["d"] == "academic" and i["q"] == "specific"]
    assert state["shown"] == len(expected) == 49 and state["order"] == expected

    browser.open(page.as_uri() + "#sort=a&a=2&key=r2")  # oracle's R-2, highest first
    by_score = sorted(range(len(items)), key=lambda i: (-items[i]["p"][2]["s"]["r2"], i))
    assert shown(browser)["order"] == [items[i]["id"] for i in by_score]

    browser.open(page.as_uri() + "#sort=diff&a=0&b=1&key=r1&dir=asc")  # bm25 - lead, lowest first
    by_difference = sorted(
        range(len(items)), key=lambda i: (items[i]["p"][0]["s"]["r1"] - items[i]["p"][1]["s"]["r1"], i)
    )
    assert shown(browser)["order"] == [items[i]["id"] for i in by_difference]

    browser.open(page.as_uri() + "#q=" + "Barry%20Hughes")
    expected = [
        i["id"]
        for i in items
        if "barry hughes" in "\n".join([i["id"], i["m"], i["k"], *i["r"], *(p["t"] for p in i["p"])]).lower()
    ]
    assert 0 < shown(browser)["shown"] == len(expected) < 281
    assert browser.problems() == []


@needs_chromium
def test_keyboard_and_permalinks_in_chromium(browser, page, data):
    ids = [item["id"] for item in data["examples"]]
    browser.open(page.as_uri() + "#domain=product")
    product = [item["id"] for item in data["examples"] if item["d"] == "product"]
    for key in ("j", "j", "ArrowDown", "k"):
        browser.key(key)
    state = shown(browser)
    assert state["current"] == product[1]
    assert "domain=product" in state["hash"] and f"ex={product[1]}" in state["hash"]

    browser.open(page.as_uri() + f"#ex={ids[200]}")  # beyond the first batch: rendered on demand
    state = shown(browser)
    assert state["current"] == ids[200] and len(state["cards"]) > 200
    top = browser.evaluate("document.querySelector('.card.current').getBoundingClientRect().top")
    assert 0 <= top < 200  # scrolled to, below the sticky controls
    browser.evaluate("document.querySelector('.card.current details.turns').open = true")
    turns = browser.evaluate("document.querySelectorAll('.card.current .turn.gold').length")
    assert turns == sum(end - start + 1 for start, end in data["examples"][200]["g"])
    assert browser.problems() == []

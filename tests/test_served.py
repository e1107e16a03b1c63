"""``generate --engine openai`` against a real OpenAI-compatible server.

The server is ``transformers serve`` (continuous batching, CPU, one thread)
with a tiny random-weight LLaMA on 127.0.0.1, started once for the module;
faults come from tests/fault_proxy.py, a proxy in front of it. Greedy
decoding throughout: with continuous batching the server's sampling settings
are those of its first request.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_helpers import predictions, records
from fault_proxy import FaultProxy
from qmsum_fast.cli import main
from qmsum_fast.data import load_examples

DATA = Path(__file__).parent / "data" / "gen_qmsum"
LIMIT = 6
# A chat template the tiny model's folder gets, so --api chat can be tested.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SERVER_START_SECONDS = 120


# --- the server ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``transformers serve MODEL`` on 127.0.0.1; always stopped by its process id."""

    def __init__(self, model: Path, log: Path) -> None:
        self.model, self.log = model, log
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        # The transformers CLI as a module: the same interpreter, wherever its console script went.
        command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(self.model)]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu", "--continuous-batching"]
        command += ["--cb-block-size", "32", "--cb-num-blocks", "256", "--cb-max-batch-tokens", "1024"]
        env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_until_healthy()
        self._warm_up()

    def _wait_until_healthy(self) -> None:
        deadline = time.time() + SERVER_START_SECONDS
        while time.time() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not start: {self.log.read_text()[-3000:]}")

    def _warm_up(self) -> None:
        """The first request starts continuous batching (greedy): the tests' timeouts exclude it."""
        body = {"model": str(self.model), "prompt": "warm up", "max_tokens": 2, "temperature": 0}
        request = urllib.request.Request(
            f"{self.url}/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert answer.status == 200

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from qmsum_fast.gen.local.make_model import make_model

    folder = make_model("llama", "tiny", tmp_path_factory.mktemp("served") / "tiny-llama")
    (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    return folder


@pytest.fixture(scope="module")
def server(model, tmp_path_factory):
    running = Server(model, tmp_path_factory.mktemp("server") / "server.log")
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
def proxy(server):
    running = FaultProxy(server.port).start()
    try:
        yield running
    finally:
        running.stop()


# --- runs ---------------------------------------------------------------------------------


def served_args(model, urls, out, *args) -> list[str]:
    base = [f"--base-url={url}" for url in urls]
    return [
        "generate",
        "--engine",
        "openai",
        *base,
        "--model",
        str(model),
        "--tokenizer",
        str(model),
        "--data",
        str(DATA),
        "--split",
        "train",
        "--limit",
        str(LIMIT),
        "--preprocess",
        "none",
        "--max-input-tokens",
        "300",
        "--max-new-tokens",
        "8",
        "--max-retries",
        "3",
        "--out",
        str(out),
        "--no-progress",
        *args,
    ]


def generate(model, urls, out, *args, expect=0, env=None):
    result = CliRunner().invoke(main, served_args(model, urls, out, *args), env=env)
    assert result.exit_code == expect, result.output + repr(result.exception)
    return result


def one_line_error(output: str, *needles: str) -> str:
    lines = output.strip().splitlines()
    assert lines[-1].startswith("qmsum-fast: error: "), output
    assert "Traceback" not in output
    for needle in needles:
        assert needle in lines[-1], lines[-1]
    return lines[-1]


@pytest.fixture(scope="module")
def reference(model, server, tmp_path_factory):
    """The run at concurrency 1, straight to the server: what every other run must equal."""
    out = tmp_path_factory.mktemp("reference") / "reference.jsonl"
    generate(model, [server.url], out, "--concurrency", "1")
    return out


EXPECTED_IDS = [e.id for e in load_examples(DATA, split="train")][:LIMIT]


# --- a run through the server -------------------------------------------------------------


def test_a_served_run_records_the_server_and_equals_itself_at_any_concurrency(tmp_path, model, server, reference):
    header, rows = records(reference)
    assert [r["id"] for r in rows] == EXPECTED_IDS
    served = header["config"]["served"]
    assert served["engine"] == "openai" and served["model"] == str(model) and served["api"] == "completions"
    assert served["reported"] == {"id": str(model), "owned_by": "local"}
    assert served["request"] == {"max_tokens": 8, "temperature": 0.0}
    assert header["runtime"]["base_url"] == [server.url] and header["runtime"]["concurrency"] == 1
    for row in rows:
        assert row["usage"] == {"prompt_tokens": row["n_input_tokens"], "completion_tokens": 8}
        assert row["n_input_tokens"] <= 300 and row["finish_reason"] == "length" and row["prediction"]
    proxy = FaultProxy(server.port).start()
    try:
        result = generate(model, [proxy.url], tmp_path / "c4.jsonl", "--concurrency", "4", "--progress")
    finally:
        proxy.stop()
    assert predictions(tmp_path / "c4.jsonl") == predictions(reference)
    assert proxy.max_in_flight > 1 and len(proxy.posts()) == LIMIT
    assert "in flight" in result.output and "req/s" in result.output
    assert "warning" not in result.output  # the server counted every prompt as --tokenizer did


def test_chat_counts_each_prompt_inside_the_chat_template(tmp_path, model, server):
    out = tmp_path / "chat.jsonl"
    result = generate(model, [server.url], out, "--api", "chat", "--limit", "3")
    header, rows = records(out)
    assert header["config"]["served"]["api"] == "chat"
    assert "chat_template" in header["config"]["served"]["tokenizer"]
    assert all(r["usage"]["prompt_tokens"] == r["n_input_tokens"] <= 300 for r in rows)
    assert any(r["truncated"] for r in rows) and "warning" not in result.output


def test_a_chat_run_s_records_say_what_was_fed_and_the_viewer_shows_it(tmp_path, model, server):
    """The turns a chat run's locator picked, as recorded, rebuild a prompt the
    server counts as it counted the one it was sent; the viewer shows them."""
    from qmsum_fast.gen.inputs import prepare_function, with_turns
    from qmsum_fast.gen.prompting import PromptBuilder
    from qmsum_fast.gen.served.config import served_tokenizer
    from qmsum_fast.gen.served.runner import CountingTokenizer
    from qmsum_fast.templates import parse_template
    from qmsum_fast.view import build_view

    out = tmp_path / "chat-located.jsonl"
    generate(model, [server.url], out, "--api", "chat", "--input", "locator", "--limit", "2")
    header, rows = records(out)
    counting = CountingTokenizer(served_tokenizer(str(model), "chat").tokenizer, chat=True)
    builder = PromptBuilder(counting, parse_template(header["config"]["template"]), 300)
    examples = {e.id: e for e in load_examples(DATA, split="train")}
    for row in rows:
        chosen = with_turns(examples[row["id"]], [tuple(span) for span in row["fed_turns"]])
        source = prepare_function("none")([chosen])[0]
        prompt = builder.build(source.query, source.transcript)
        assert prompt.n_tokens == row["n_input_tokens"] == row["usage"]["prompt_tokens"]
    for item in build_view([out]).payload["examples"]:
        shown = item["p"][0]
        row = next(r for r in rows if r["id"] == item["id"])
        assert shown["fed"] == [tuple(span) for span in row["fed_turns"]]
        assert "recorded" in shown["fn"] and "sent as one chat message" in shown["fn"]


def test_presets_run_through_the_server(tmp_path, model, server):
    out = tmp_path / "adapter.jsonl"
    generate(model, [server.url], out, "--model", "llama-adapter", "--served-model", str(model), "--greedy")
    header, rows = records(out)
    config = header["config"]
    assert config["kind"] == "preset" and config["strategy"] == "map-reduce" and config["max_input_tokens"] == 300
    assert config["served"]["model"] == str(model) and config["template"].startswith("Below is an instruction")
    for row in rows:  # a map-reduce record's usage sums its chunk requests and its answer
        assert row["usage"]["prompt_tokens"] == row["n_input_tokens"] > 300
    mpt = tmp_path / "mpt.jsonl"
    generate(model, [server.url], mpt, "--model", "mpt-storywriter", "--served-model", str(model), "--greedy")
    request = records(mpt)[0]["config"]["served"]["request"]
    assert request["stop"] == ["A short summary of the following conversation is:"]
    located = tmp_path / "locate.jsonl"
    generate(model, [server.url], located, "--strategy", "locate", "--limit", "2")
    config = records(located)[0]["config"]
    assert config["strategy"] == "locate" and config["input"] == "locator"
    assert all(r["usage"]["prompt_tokens"] == r["n_input_tokens"] <= 300 for r in records(located)[1])
    result = generate(model, [server.url], tmp_path / "led.jsonl", "--model", "led", "--served-model", "x", expect=2)
    one_line_error(result.output, "the API cannot express num_beams=4", "repetition_penalty=3.5")


# --- faults ----------------------------------------------------------------------------------


def test_overload_errors_drops_and_timeouts_are_retried(tmp_path, model, proxy, reference):
    proxy.inject("429", "", "500", "", "503", "", "drop", "", "close", "", "slow:3", "")  # "": no fault
    out = tmp_path / "faults.jsonl"
    generate(model, [proxy.url], out, "--concurrency", "1", "--request-timeout", "1.5", "--max-retries", "6")
    assert predictions(out) == predictions(reference)
    posts = proxy.posts()
    assert len(posts) == LIMIT + 6  # each fault cost one retry
    assert posts[1]["at"] - posts[0]["at"] >= 0.95  # the 429's Retry-After: 1 was honoured
    assert [r["id"] for r in records(out)[1]] == EXPECTED_IDS


def test_requests_spread_over_replicas_and_skip_one_that_is_down(tmp_path, model, server, reference):
    first, second = FaultProxy(server.port).start(), FaultProxy(server.port).start()
    down = f"http://127.0.0.1:{_free_port()}/v1"
    try:
        first.delay = second.delay = 0.2  # requests overlap, so both replicas get some
        out = tmp_path / "replicas.jsonl"
        # --reuse off: each request to the least busy replica (auto keeps this one meeting on one replica).
        result = generate(model, [down, first.url, second.url], out, "--concurrency", "4", "--reuse", "off")
    finally:
        first.stop()
        second.stop()
    assert predictions(out) == predictions(reference)
    assert first.posts() and second.posts() and len(first.posts()) + len(second.posts()) == LIMIT
    assert f"--base-url {down}: cannot read /models" in result.output
    assert records(out)[0]["runtime"]["base_url"] == [down, first.url, second.url]


def test_a_request_the_server_rejects_stops_the_run_with_one_line(tmp_path, model, proxy, reference):
    out = tmp_path / "rejected.jsonl"
    proxy.inject("", "", "400")  # the third example's request is refused for its own sake
    result = generate(model, [proxy.url], out, "--concurrency", "1", expect=2)
    line = one_line_error(result.output, f"example {EXPECTED_IDS[2]}", "HTTP 400", "maximum context length is 300")
    assert "2 records kept" in line and "add --resume" in line, line
    _, rows = records(out)
    assert [r["id"] for r in rows] == EXPECTED_IDS[:2] and all(r["prediction"] and "error" not in r for r in rows)
    generate(model, [proxy.url], out, "--concurrency", "1", "--resume")
    assert predictions(out) == predictions(reference)


def test_retries_that_run_out_stop_the_run_naming_the_example_and_the_server(tmp_path, model, proxy, reference):
    out = tmp_path / "exhausted.jsonl"
    proxy.inject("", "500", "500", "500")
    result = generate(model, [proxy.url], out, "--concurrency", "1", "--max-retries", "2", expect=2)
    one_line_error(result.output, f"example {EXPECTED_IDS[1]}", "HTTP 500: injected 500", "after 3 tries")
    assert [r["id"] for r in records(out)[1]] == EXPECTED_IDS[:1]
    generate(model, [proxy.url], out, "--resume")
    assert predictions(out) == predictions(reference)


def test_a_miscounted_prompt_is_reported_once(tmp_path, model, proxy):
    proxy.inject("miscount", "miscount")
    result = generate(model, [proxy.url], tmp_path / "miscount.jsonl", "--concurrency", "1", "--limit", "3")
    warnings = [line for line in result.output.splitlines() if "the server counted" in line]
    assert len(warnings) == 1 and f"example {EXPECTED_IDS[0]}" in warnings[0]
    assert "where --tokenizer counts" in warnings[0]


def test_the_api_key_is_sent_and_never_shown(tmp_path, model, proxy):
    secret = "sk-test-0123456789abcdef"
    env = {"QMSUM_TEST_KEY": secret}
    out = tmp_path / "key.jsonl"
    generate(model, [proxy.url], out, "--api-key-env", "QMSUM_TEST_KEY", "--limit", "1", env=env)
    assert all(r["headers"].get("Authorization") == f"Bearer {secret}" for r in proxy.requests)
    assert secret not in out.read_text() and "QMSUM_TEST_KEY" in out.read_text()
    proxy.inject("401")
    result = generate(
        model, [proxy.url], tmp_path / "refused.jsonl", "--api-key-env", "QMSUM_TEST_KEY", expect=2, env=env
    )
    line = one_line_error(result.output, "HTTP 401", "Incorrect API key provided: Bearer ***")
    assert secret not in result.output and "--api-key-env" in line
    result = generate(model, [proxy.url], tmp_path / "none.jsonl", "--api-key-env", "QMSUM_UNSET_KEY", expect=2)
    one_line_error(result.output, "--api-key-env QMSUM_UNSET_KEY: that environment variable is not set")


# --- what the configuration refuses -------------------------------------------------------------


def test_resume_refuses_another_server_model(tmp_path, model, server, reference):
    out = tmp_path / "other.jsonl"
    out.write_text(reference.read_text().replace('"owned_by": "local"', '"owned_by": "elsewhere"', 1))
    result = generate(model, [server.url], out, "--resume", expect=2)
    # The differing field is named down to its own key (gen.config._differing looks 4 levels deep).
    one_line_error(result.output, "cannot resume: served.reported.owned_by was")
    result = generate(model, [server.url], tmp_path / "x.jsonl", "--model", "mpt-storywriter", expect=2)
    one_line_error(result.output, "served model 'mosaicml/mpt-7b-storywriter'", f"it lists: {model}")


def test_options_of_the_other_engine_are_refused(tmp_path, model, server):
    bare = tmp_path / "bare" / "tokenizer.json"  # a tokenizer file without a chat template
    bare.parent.mkdir()
    bare.write_bytes((model / "tokenizer.json").read_bytes())
    cases = [
        (["--model-path", str(model)], "--model-path: does not apply to --engine openai"),
        (["--batch-size", "4"], "--batch-size: does not apply to --engine openai"),
        (["--model", "lead"], "extractive baseline: --engine openai runs models only"),
        (["--base-url", "http://user:pw@127.0.0.1:9/v1"], "credentials in the URL are refused"),
        (["--api", "chat", "--tokenizer", str(bare)], "--api chat needs the model's chat template"),
        (["--max-input-tokens", "3"], "leaves no room for the transcript"),
    ]
    for args, message in cases:
        out = tmp_path / "refused.jsonl"
        result = generate(model, [server.url], out, *args, expect=2)
        one_line_error(result.output, message)
        assert "pw" not in result.output and not out.exists()
    result = CliRunner().invoke(main, ["generate", "--model", "lead", "--out", str(out), "--base-url", server.url])
    assert result.exit_code == 2
    one_line_error(result.output, "--base-url: only with --engine openai")


# --- a run that stops ---------------------------------------------------------------------------


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "qmsum_fast", *args]


def _wait_for_records(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.time() + 90
    while time.time() < deadline and process.poll() is None:
        if out.exists() and out.read_text().count("\n") >= count + 1:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} records: {process.communicate()}")


def test_ctrl_c_keeps_what_finished_and_resume_completes(tmp_path, model, proxy, reference):
    out = tmp_path / "interrupted.jsonl"
    proxy.delay = 2.0  # the requests left take seconds: the run cannot finish before the signal, even on a busy machine
    args = served_args(model, [proxy.url], out, "--concurrency", "2")
    process = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_records(process, out, 2)
    time.sleep(0.1)  # not while the second record is being written
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr.decode() and "add --resume to continue" in stderr.decode()
    kept = [r["id"] for r in records(out)[1]]
    assert len(kept) == len(proxy.posts()) < LIMIT  # every request sent finished and was written; no more were sent
    proxy.delay = 0.0
    generate(model, [proxy.url], out, "--resume")
    assert predictions(out) == predictions(reference) and [r["id"] for r in records(out)[1]] == EXPECTED_IDS


def test_a_server_killed_mid_run_stops_it_and_resume_after_a_restart_completes(tmp_path, model, server, reference):
    out = tmp_path / "killed.jsonl"
    args = served_args(model, [server.url], out, "--concurrency", "1", "--max-retries", "2", "--max-new-tokens", "48")
    process = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_records(process, out, 2)
        server.kill()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        server.start()  # the module's server again, for what follows
    assert process.returncode == 2, stderr
    line = one_line_error(stderr, "connection", server.url, "add --resume to continue")
    assert line.startswith("qmsum-fast: error: example train/")
    kept = [r["id"] for r in records(out)[1]]
    assert 2 <= len(kept) < LIMIT and kept == EXPECTED_IDS[: len(kept)]
    generate(model, [server.url], out, "--resume", "--max-new-tokens", "48")
    uninterrupted = tmp_path / "uninterrupted.jsonl"
    generate(model, [server.url], uninterrupted, "--max-new-tokens", "48", "--concurrency", "3")
    assert [r["id"] for r in records(out)[1]] == EXPECTED_IDS
    assert predictions(out) == predictions(uninterrupted)


# --- the parts ------------------------------------------------------------------------------------


def test_retry_after_server_messages_and_base_urls():
    from qmsum_fast.errors import InputError
    from qmsum_fast.gen.served.client import parse_base_url, retry_after, server_message

    assert retry_after("3") == 3.0 and retry_after(None) is None and retry_after("soon") is None
    assert 58 <= retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))) <= 60
    assert server_message(b'{"error": {"message": "too\\nlong", "code": 400}}') == "too long"
    assert server_message(b'{"detail": "pinned"}') == "pinned" and server_message(b'{"error": "tgi"}') == "tgi"
    assert server_message(b"<html>bad gateway</html>") == "<html>bad gateway</html>"
    assert parse_base_url("http://localhost:8000/v1/").url == "http://localhost:8000/v1"
    assert parse_base_url("https://api.example.com/v1").url == "https://api.example.com:443/v1"
    with pytest.raises(InputError) as refused:
        parse_base_url("http://me:secret@host/v1")
    assert "secret" not in str(refused.value)


def test_replicas_take_the_least_busy_and_rest_after_a_failure():
    from qmsum_fast.gen.served.client import Endpoint, Replicas, Retryable

    replicas = Replicas([Endpoint("http", "127.0.0.1", port, "/v1") for port in (1, 2, 3)])
    assert [replicas.acquire("m", None) for _ in range(3)] == [0, 1, 2]
    replicas.release(1, None)
    assert replicas.acquire("other", None) == 1
    replicas.release(0, Retryable("down"))
    replicas.release(1, None)
    replicas.release(2, None)
    assert replicas.acquire("m", 1) == 2  # 0 rests, 1 is the one to avoid
    replicas.release(2, None)
    assert replicas.acquire("m", None) == 2  # ties go to the meeting's last replica


def test_generation_settings_map_to_the_api_or_are_refused():
    from qmsum_fast.errors import InputError
    from qmsum_fast.gen.served.config import api_fields

    greedy = {"max_new_tokens": 16, "do_sample": False, "num_beams": 1}
    assert api_fields(greedy, 7, None) == {"max_tokens": 16, "temperature": 0.0}
    sampled = {"max_new_tokens": 16, "do_sample": True, "temperature": 0.1, "top_p": 0.75}
    assert api_fields(sampled, 7, "END") == {
        "max_tokens": 16,
        "temperature": 0.1,
        "top_p": 0.75,
        "seed": 7,
        "stop": ["END"],
    }
    for refused in ({"top_k": 50}, {"num_beams": 2}, {"repetition_penalty": 1.2}):
        with pytest.raises(InputError, match="cannot express"):
            api_fields({**greedy, **refused}, 0, None)

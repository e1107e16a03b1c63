"""A scripted judge: an OpenAI-compatible server (standard library, 127.0.0.1) whose
replies to the bundled judge prompts follow known rules, so a test can recompute
every verdict and score from the judged run alone.

The rules (``expected_*`` give the same numbers from the texts):

- extraction: the reference's sentences (split at ". ") are its key points;
- recall: the summary's word count modulo (key points + 1);
- precision: the summary's sentences (its "." count, at least 1) and, supported,
  its character count modulo (sentences + 1); sent as strings, in a code fence;
- fluency: 0 when the summary holds "bad", else 1.

A summary holding "flaky" first gets an out-of-range recall and a reply without
JSON for the other kinds (a retry then gets the valid one); one holding "garbage"
never gets a verdict.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = "scripted-judge"


def key_points_of(reference: str) -> list[str]:
    return [part.strip().rstrip(".") + "." for part in reference.strip().split(". ") if part.strip()]


def expected_recall(summary: str, key_points: int) -> int:
    return len(summary.split()) % (key_points + 1)


def expected_precision(summary: str) -> tuple[int, int]:
    sentences = max(1, summary.strip().count("."))
    return len(summary.strip()) % (sentences + 1), sentences


def expected_fluency(summary: str) -> int:
    return 0 if "bad" in summary else 1


def _quoted_after(prompt: str, marker: str) -> str:
    start = prompt.rindex(marker) + len(marker)
    return prompt[start : prompt.rindex('"')]


def kind_of(prompt: str) -> str:
    if "Break it into its key points" in prompt:
        return "extract"
    if "Decide how many of them the provided summary contains" in prompt:
        return "recall"
    if "Decide how many sentences of the provided summary" in prompt:
        return "precision"
    if "evaluate the fluency" in prompt:
        return "fluency"
    raise ValueError(f"not a judge prompt: {prompt[:80]!r}")


def reply_to(prompt: str, attempt: int) -> str:
    """The scripted reply to the ``attempt``-th (0-based) sending of ``prompt``."""
    kind = kind_of(prompt)
    if kind == "extract":
        points = key_points_of(_quoted_after(prompt, 'Expert summary: "'))
        return "The key points are:\n```json\n" + json.dumps({"key_points": points}, indent=2) + "\n```"
    summary = _quoted_after(prompt, 'Provided summary: "' if kind != "fluency" else 'Text: "')
    if "garbage" in summary or ("flaky" in summary and attempt == 0 and kind != "recall"):
        return "I am not sure how to score this."
    if kind == "recall":
        block = prompt[prompt.rindex("Key points:\n") + len("Key points:\n") : prompt.rindex("\n\nProvided summary:")]
        total = len(block.splitlines())
        found = total + 1 if "flaky" in summary and attempt == 0 else expected_recall(summary, total)
        listed = list(range(1, found + 1)) if 0 <= found <= total else [1]
        final = json.dumps({"supported_key_points": listed, "recall": found})
        return f'Point by point... {{"recall": 99}} was my first guess.\nFinal: {final}\nDone.'
    if kind == "precision":
        supported, sentences = expected_precision(summary)
        return f'Reasoning.\n```json\n{{"precision": "{supported}", "sentence_count": "{sentences}"}}\n```'
    return f'{{"fluency": {expected_fluency(summary)}}} because of the rubric.'


class ScriptedJudge:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.refuse = False  # answer every POST with a 400 (a request's own fault: never retried)
        self.sent: Counter[str] = Counter()  # how often each prompt was sent
        self.kinds: Counter[str] = Counter()
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> ScriptedJudge:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def forget(self) -> None:
        """Every prompt as if never sent (a "flaky" summary fails its first try again)."""
        with self._lock:
            self.sent.clear()
            self.kinds.clear()

    def answer(self, body: dict, chat: bool) -> dict:
        prompt = body["messages"][0]["content"] if chat else body["prompt"]
        with self._lock:
            attempt = self.sent[prompt]
            self.sent[prompt] += 1
            self.kinds[kind_of(prompt)] += 1
            self.bodies.append(body)
        if self.delay:
            time.sleep(self.delay)
        text = reply_to(prompt, attempt)
        choice = {"index": 0, "message": {"role": "assistant", "content": text}} if chat else {"index": 0, "text": text}
        return {"choices": [{**choice, "finish_reason": "stop"}], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


def _handler(judge: ScriptedJudge):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "tests"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if judge.refuse:
                self._send(400, {"error": {"message": "This model's maximum context length is 8 tokens"}})
            elif self.path == "/v1/chat/completions":
                self._send(200, judge.answer(body, chat=True))
            elif self.path == "/v1/completions":
                self._send(200, judge.answer(body, chat=False))
            else:
                self._send(404, {"error": {"message": "not found"}})

    return Handler

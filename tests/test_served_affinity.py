"""Served runs keep a meeting together (``generate --engine openai --reuse auto``).

With real requests: one ``transformers serve`` (tests/test_served.py's server,
tiny random LLaMA on CPU) behind several FaultProxy ports, each port a
replica that records what came through it. Without a server: how meetings
are spread over replicas, how they move when a replica rests, and the order
in which the dispatcher sends a meeting's requests.
"""

from __future__ import annotations

import threading
import time

import pytest

from cli_helpers import predictions, records
from fault_proxy import FaultProxy
from qmsum_fast.data import load_examples
from test_served import DATA, generate, model, server  # noqa: F401  (model, server: the module's fixtures)

# lm-eval's scrolls template puts the transcript first: a meeting's prompts share it, so its first request primes.
TRANSCRIPT_FIRST = ["--template", "lm-eval-scrolls", "--max-new-tokens", "4"]
EXAMPLES = load_examples(DATA, split="train")  # two meetings of seven queries each
ALL = ["--limit", str(len(EXAMPLES))]


# --- the parts, without a server --------------------------------------------------------------


def endpoints(count: int):
    from qmsum_fast.gen.served.client import Endpoint

    return [Endpoint("http", "127.0.0.1", port, "/v1") for port in range(1, count + 1)]


def test_meetings_are_spread_longest_first_onto_the_least_loaded_replica():
    from qmsum_fast.gen.parallel import spread

    tokens = {"a": 10, "b": 7, "c": 5, "d": 3, "e": 1}
    assert spread(tokens, 2) == {"a": 0, "b": 1, "c": 1, "d": 0, "e": 1}  # loads 13 and 13
    assert spread(tokens, 1) == dict.fromkeys(tokens, 0)
    assert spread({"x": 4, "y": 4, "z": 4}, 3) == {"x": 0, "y": 1, "z": 2}  # equal meetings in the order given
    shuffled = dict(reversed(list(tokens.items())))
    assert spread(shuffled, 2)["a"] == 0 and spread(tokens, 5) == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}


def test_a_meeting_stays_on_its_replica_and_moves_when_it_rests():
    from qmsum_fast.gen.served.client import Replicas, Retryable

    replicas = Replicas(endpoints(3))
    homes = replicas.keep_together({"a": 100, "b": 60, "c": 50, "d": 20})
    assert homes == {"a": 0, "b": 1, "c": 2, "d": 2}  # replicas hold 100, 60 and 70 tokens
    taken = [replicas.acquire("a", None) for _ in range(4)]
    assert taken == [0, 0, 0, 0]  # however busy its replica is
    assert replicas.busy("a") == 4 and replicas.busy("b") == 0
    for _ in taken[1:]:
        replicas.release(0, None)
    replicas.release(0, Retryable("connection refused"))  # replica 0 rests now
    assert replicas.acquire("a", 0) == 1  # to the ready replica holding the fewest tokens (60 < 70)...
    replicas.release(1, None)
    assert replicas.home("a") == 1 and replicas.acquire("a", None) == 1  # ...for good
    replicas.release(1, None)
    assert replicas.acquire("c", 2) == 1  # a request that just failed on its replica moves its meeting too
    replicas.release(1, None)
    assert [replicas.home(m) for m in "abcd"] == [1, 1, 1, 2]
    assert replicas.acquire("unplaced", None) == 1  # no replica of its own: the least busy ready one


def test_with_one_replica_a_meeting_stays_however_it_fails():
    from qmsum_fast.gen.served.client import Replicas, Retryable

    replicas = Replicas(endpoints(1))
    replicas.keep_together({"a": 1})
    assert replicas.acquire("a", None) == 0
    replicas.release(0, Retryable("down"))
    assert replicas.acquire("a", 0) == 0 and replicas.home("a") == 0


class Timeline:
    """A fake server: records when each prompt's request started and ended."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.spans: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def send(self, text: str, affinity) -> str:
        started = time.monotonic()
        time.sleep(self.seconds)
        with self.lock:
            self.spans[text] = (started, time.monotonic())
        return text.upper()


def dispatch(texts, affinity, keep_together: bool, concurrency: int = 4):
    from qmsum_fast.gen.served.dispatch import Dispatcher
    from qmsum_fast.gen.served.runner import common_start

    fake = Timeline()
    dispatcher = Dispatcher(fake.send, concurrency, lambda: None, keep_together)
    dispatcher.affinity = lambda index: affinity[index]
    dispatcher.shared_tokens = lambda first, second: len(common_start(first, second))
    delivered = []
    try:
        dispatcher.run(texts, [1] * len(texts), lambda result: delivered.append((result.index, result.output)))
    finally:
        dispatcher.close()
    assert sorted(delivered) == [(index, text.upper()) for index, text in enumerate(texts)]
    return fake.spans


def test_a_meetings_first_request_goes_alone_when_its_prompts_share_a_prefix():
    long_a, long_b = "A" * 100, "B" * 100  # 100 shared "tokens" each: worth priming
    texts = [f"{long_a}{q}" for q in "123"] + [f"{long_b}{q}" for q in "1234"] + ["short 1", "short 2"]
    affinity = ["a"] * 3 + ["b"] * 4 + ["c"] * 2
    spans = dispatch(texts, affinity, keep_together=True)
    for first, rest in ((texts[0], texts[1:3]), (texts[3], texts[4:7])):
        assert all(spans[text][0] >= spans[first][1] for text in rest), "followed before the first had finished"
    assert spans["short 2"][0] < spans["short 1"][1]  # no shared prefix: nothing to wait for
    assert spans[texts[3]][0] < spans[texts[0]][1]  # meetings prime side by side


def test_without_keeping_meetings_together_requests_go_in_order_at_once():
    texts = [f"{'A' * 100}{q}" for q in "1234"]
    spans = dispatch(texts, ["a"] * 4, keep_together=False)
    assert spans[texts[1]][0] < spans[texts[0]][1]  # --reuse off: as before, nothing is held back
    in_order = dispatch(texts, ["a"] * 4, keep_together=False, concurrency=1)
    assert sorted(texts, key=lambda text: in_order[text][0]) == texts


def test_a_replicas_requests_go_to_the_replica_with_the_fewest_in_flight():
    """Among waiting requests, the least busy replica's go first (then the order given)."""
    from qmsum_fast.gen.served.dispatch import Dispatcher, _Job

    dispatcher = Dispatcher(lambda text, affinity: text, 1, lambda: None, keep_together=True)
    busy = {"a": 3, "b": 1}
    dispatcher.busy = lambda affinity: busy[affinity]
    jobs = [_Job(None, index, key) for index, key in enumerate("aabb")]  # type: ignore[arg-type]
    assert dispatcher._least_busy_first(jobs).index == 2
    busy["b"] = 3
    assert dispatcher._least_busy_first(jobs).index == 0


def test_cached_tokens_are_read_summed_and_summarized():
    from qmsum_fast.gen.served.runner import CacheHits, Reply, _cached_tokens

    assert _cached_tokens({"prompt_tokens_details": {"cached_tokens": 96}}) == 96
    assert _cached_tokens({"prompt_tokens_details": None}) is None and _cached_tokens({}) is None
    assert _cached_tokens({"prompt_tokens_details": {"cached_tokens": -1}}) is None
    hits = CacheHits()
    assert hits.summary() is None  # no request: nothing to say
    hits.add(Reply("x", 1, 100, "stop", None))
    assert "no server reported cached prompt tokens" in (hits.summary() or "")
    hits.add(Reply("x", 1, 200, "stop", 150))
    hits.add(Reply("x", 1, 200, "stop", 0))
    assert hits.summary() == (
        "prefix cache: hit rate 37.5% (150 of 400 prompt tokens cached, over the 2 of 3 requests that reported it)"
    )


# --- with a server behind several ports -----------------------------------------------------------


def meeting_of_prompt(body: bytes) -> str:
    """The meeting a recorded request was for: the transcript its prompt starts with."""
    import json

    from qmsum_fast.data import turn_text

    prompt = json.loads(body)["prompt"]
    found = {example.meeting for example in EXAMPLES if prompt.startswith(turn_text(example.turns[0])[:40])}
    assert len(found) == 1, prompt[:200]
    return found.pop()


def by_replica(proxies) -> list[dict[str, list[dict]]]:
    """For each replica, its requests by meeting."""
    seen: list[dict[str, list[dict]]] = []
    for proxy in proxies:
        meetings: dict[str, list[dict]] = {}
        for post in proxy.posts():
            meetings.setdefault(meeting_of_prompt(post["body"]), []).append(post)
        seen.append(meetings)
    return seen


@pytest.fixture
def replicas(server):  # noqa: F811
    running = [FaultProxy(server.port).start() for _ in range(2)]
    try:
        yield running
    finally:
        for proxy in running:
            proxy.stop()


def test_each_meeting_reaches_one_replica_its_first_request_alone(tmp_path, model, replicas):  # noqa: F811
    for proxy in replicas:
        proxy.delay = 0.1  # requests overlap
        proxy.cached_tokens = 40
    out = tmp_path / "auto.jsonl"
    result = generate(model, [p.url for p in replicas], out, *TRANSCRIPT_FIRST, *ALL, "--concurrency", "4")
    seen = by_replica(replicas)
    # Every prompt is cut to 300 tokens, so both meetings weigh 7 x 300 tokens: they go in data order.
    assert [sorted(meetings) for meetings in seen] == [["ES2005a"], ["IS1004a"]]
    for meetings in seen:
        for posts in meetings.values():
            assert len(posts) == 7
            first, *rest = sorted(posts, key=lambda post: post["at"])
            assert all(post["at"] >= first["done"] for post in rest)  # primed alone, then the others together
    header, rows = records(out)
    assert header["config"]["served"]["reuse"] == "auto" and len(rows) == len(EXAMPLES)
    assert all(row["usage"]["prompt_tokens_details"] == {"cached_tokens": 40} for row in rows)
    prompt_tokens = sum(row["usage"]["prompt_tokens"] for row in rows)
    rate = 40 * len(rows) / prompt_tokens
    assert f"prefix cache: hit rate {rate:.1%} ({40 * len(rows)} of {prompt_tokens} prompt tokens cached" in (
        result.output
    )

    off = tmp_path / "off.jsonl"
    for proxy in replicas:
        proxy.requests.clear()
        proxy.cached_tokens = None
    result = generate(
        model, [p.url for p in replicas], off, *TRANSCRIPT_FIRST, *ALL, "--concurrency", "4", "--reuse", "off"
    )
    assert predictions(off) == predictions(out)  # greedy: where a request went changes nothing
    seen = by_replica(replicas)
    assert any(meeting in seen[1] for meeting in seen[0])  # least busy first: meetings split over replicas
    assert records(off)[0]["config"]["served"]["reuse"] == "off"
    assert "no server reported cached prompt tokens" in result.output
    assert "prompt_tokens_details" not in records(off)[1][0]["usage"]


def test_a_replica_that_goes_down_mid_run_hands_its_meetings_over(tmp_path, model, replicas):  # noqa: F811
    reference = tmp_path / "reference.jsonl"
    generate(model, [replicas[0].url], reference, *TRANSCRIPT_FIRST, *ALL, "--concurrency", "4")
    for proxy in replicas:
        proxy.requests.clear()
        proxy.delay = 0.3
    doomed = replicas[0]

    def close_after_two_answers() -> None:
        deadline = time.time() + 60
        while time.time() < deadline and sum("done" in post for post in doomed.posts()) < 2:
            time.sleep(0.01)
        doomed.stop()  # its port refuses connections from now on

    closer = threading.Thread(target=close_after_two_answers)
    closer.start()
    out = tmp_path / "moved.jsonl"
    try:
        result = generate(model, [p.url for p in replicas], out, *TRANSCRIPT_FIRST, *ALL, "--concurrency", "4")
    finally:
        closer.join()
    assert predictions(out) == predictions(reference) and len(records(out)[1]) == len(EXAMPLES)
    lost, kept = by_replica(replicas)
    assert list(lost) == ["ES2005a"] and 2 <= len(lost["ES2005a"]) < 7  # then the port closed
    assert len(kept["IS1004a"]) == 7 and len(kept["ES2005a"]) == 7 - len(lost["ES2005a"])
    assert "error" not in result.output


@pytest.mark.slow
def test_map_reduce_and_locate_keep_a_meetings_requests_on_one_replica(tmp_path, model, replicas):  # noqa: F811
    """A meeting is all its requests: map-reduce's chunk summaries and answers, locate's prompts."""
    import json

    from qmsum_fast.gen.inputs import prepare_function

    prepared = prepare_function("none")(EXAMPLES)
    transcripts = {example.meeting: item.transcript for example, item in zip(EXAMPLES, prepared)}

    def owner(prompt: str) -> str | None:
        """The meeting a prompt is for, where its text tells: an answer's query (alpaca), else a
        chunk summary's input, else (locate) its first located turn; None where both meetings fit."""
        asked = {e.meeting for e in EXAMPLES if f"### Instruction:\n{e.query}\n\n### Input:" in prompt}
        if not asked and "### Input:" in prompt:
            chunk = prompt.split("### Input:\n", 1)[1].rsplit("\n\n### Response:", 1)[0]
            asked = {meeting for meeting, transcript in transcripts.items() if chunk in transcript}
        elif not asked:
            asked = {meeting for meeting, transcript in transcripts.items() if prompt.splitlines()[0] in transcript}
        return asked.pop() if len(asked) == 1 else None

    def split() -> list[set[str]]:
        owners = [[owner(json.loads(post["body"])["prompt"]) for post in proxy.posts()] for proxy in replicas]
        told = [meeting for meetings in owners for meeting in meetings if meeting is not None]
        assert len(told) >= sum(map(len, owners)) / 2  # most requests tell their meeting
        for proxy in replicas:
            proxy.requests.clear()
        return [{meeting for meeting in meetings if meeting is not None} for meetings in owners]

    args = ["--model", "llama-adapter", "--served-model", str(model), "--greedy", *ALL, "--concurrency", "4"]
    out = tmp_path / "map-reduce.jsonl"
    generate(model, [p.url for p in replicas], out, *args)
    assert sorted(map(sorted, split())) == [["ES2005a"], ["IS1004a"]]  # a replica each
    off = tmp_path / "map-reduce-off.jsonl"
    generate(model, [p.url for p in replicas], off, *args, "--reuse", "off")
    split()
    assert predictions(off) == predictions(out)

    located = tmp_path / "locate.jsonl"
    generate(model, [p.url for p in replicas], located, *TRANSCRIPT_FIRST, *ALL, "--strategy", "locate")
    assert sorted(map(sorted, split())) == [["ES2005a"], ["IS1004a"]]


def test_resume_compares_reuse(tmp_path, model, server):  # noqa: F811
    out = tmp_path / "resumed.jsonl"
    generate(model, [server.url], out, "--limit", "1")
    kept = out.read_text()
    result = generate(model, [server.url], out, "--limit", "2", "--resume", "--reuse", "off", expect=2)
    assert "reuse was 'auto', now 'off'" in result.output
    assert out.read_text() == kept

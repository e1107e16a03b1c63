"""Prompts sent concurrently, results handed back on the calling thread.

:class:`Dispatcher` has the Batcher's ``run(texts, lengths, on_result)``, so
the strategies (truncate, locate, map-reduce) run through it unchanged. Up to
``concurrency`` worker threads send the requests; every result is delivered on
the thread that called ``run``, so records are written by one thread as they
finish.

Which request goes next: with ``--reuse off``, in the order given (one
meeting's prompts together). With ``--reuse auto`` (``keep_together``), a
meeting's requests go to one replica (the client places meetings), and when
they share a prefix worth caching (:data:`PRIME_MIN_TOKENS`), the meeting's
first request is sent alone, the rest once it has finished, so the replica's
prefix cache holds the shared part (the transcript) when they arrive; the next
request is that of the replica with the fewest requests in flight, the
earliest in the order given among equals.

Winding down (Ctrl-C, a request that failed for good, an error while writing):
nothing new is sent, the requests in flight get a few seconds to finish and
those that do are still delivered, then the rest are cut off.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..engine import Result
from .client import RequestFailed, Stopped

GRACE_SECONDS = 5.0  # how long requests in flight may still finish when a run stops
TICK_SECONDS = 0.25  # how often the progress line is redrawn while waiting
# A meeting's first request primes the replica's prefix cache only when its prompts share at least
# this many tokens: vLLM caches whole blocks of 16, and a shorter prefix saves less than holding the
# meeting's other requests back costs.
PRIME_MIN_TOKENS = 64


class _Call:
    """One ``run``: its results and how many of its requests were sent."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.results: queue.Queue = queue.Queue()
        self.sent = 0
        self.delivered = 0


@dataclass(eq=False)
class _Job:
    """One request of a call; ``followers``: its meeting's other requests,
    held back until this one has primed the replica's prefix cache."""

    call: _Call
    index: int
    affinity: Hashable
    followers: list[_Job] = field(default_factory=list)


class _Waiting:
    """The requests no worker has taken yet, and ``None`` for each worker to
    end (after the jobs). ``order`` None: first in, first out; else
    ``order(jobs)`` picks the job that goes next."""

    def __init__(self) -> None:
        self.order: Callable[[list[_Job]], _Job] | None = None
        self._items: list[_Job | None] = []
        self._changed = threading.Condition()

    def put(self, *items: _Job | None) -> None:
        with self._changed:
            self._items.extend(items)
            self._changed.notify(len(items))

    def get(self) -> _Job | None:
        with self._changed:
            self._changed.wait_for(lambda: bool(self._items))
            jobs = [item for item in self._items if item is not None]
            if self.order is None or not jobs:
                return self._items.pop(0)
            chosen = self.order(jobs)
            self._items.remove(chosen)
            return chosen


class Dispatcher:
    def __init__(
        self,
        send: Callable[[str, Hashable], Any],
        concurrency: int,
        abort: Callable[[], None],
        keep_together: bool = False,
    ) -> None:
        """``send(text, affinity)`` makes one request (with its retries); ``abort``
        cuts the requests in flight; ``keep_together`` (``--reuse auto``): a
        meeting's first request primes its replica's cache (see the module).
        With it, ``busy(affinity)`` is how many requests the replica that
        takes this key has in flight, and ``shared_tokens(a, b)`` the tokens
        two prompts share at their start."""
        self.send = send
        self.concurrency = concurrency
        self.abort = abort
        self.keep_together = keep_together
        self.affinity: Callable[[int], Hashable] = lambda index: None
        self.busy: Callable[[Hashable], int] = lambda affinity: 0
        self.shared_tokens: Callable[[str, str], int] = lambda first, second: 0
        self.on_tick: Callable[[], None] = lambda: None
        self.in_flight = 0
        self.requests_done = 0
        self.started = time.perf_counter()
        self._waiting = _Waiting()
        if keep_together:
            self._waiting.order = self._least_busy_first
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self._lock = threading.Lock()

    def run(self, texts: Sequence[str], lengths: Sequence[int], on_result: Callable[[Result], None]) -> None:
        call = _Call(texts)
        jobs = [_Job(call, index, self.affinity(index)) for index in range(len(texts))]
        self._waiting.put(*(_with_followers(jobs) if self.keep_together else jobs))
        self._start_workers(len(texts))
        delivering = False
        try:
            while call.delivered < len(texts):
                index, outcome, seconds = self._next(call)
                if isinstance(outcome, BaseException):
                    raise outcome
                delivering = True
                on_result(Result(index, outcome, seconds))
                delivering = False
        except KeyboardInterrupt:
            # Ctrl-C in the middle of writing a record: write nothing more after it.
            self._wind_down(call, None if delivering else on_result)
            raise
        except RequestFailed:
            self._wind_down(call, on_result)
            raise
        except BaseException:
            self._wind_down(call, None)
            raise

    def rate(self) -> float:
        return self.requests_done / max(time.perf_counter() - self.started, 1e-9)

    def close(self) -> None:
        """Ends the worker threads (after a wind-down, also cuts what is in flight)."""
        self._waiting.put(*[None for _ in self._workers])
        if self._stopping:
            self.abort()
        for worker in self._workers:
            worker.join(timeout=1.0)
        self._workers = []

    def _next(self, call: _Call, timeout: float | None = None) -> tuple[int, Any, float]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = TICK_SECONDS if deadline is None else min(TICK_SECONDS, deadline - time.monotonic())
            if wait <= 0:
                raise queue.Empty
            try:
                item = call.results.get(timeout=wait)
            except queue.Empty:
                self.on_tick()
                continue
            call.delivered += 1
            return item

    def _wind_down(self, call: _Call, on_result: Callable[[Result], None] | None) -> None:
        """Sends nothing more; delivers what finishes within the grace period."""
        with self._lock:
            self._stopping = True
        deadline = time.monotonic() + GRACE_SECONDS
        try:
            while call.delivered < call.sent:
                index, outcome, seconds = self._next(call, deadline - time.monotonic())
                if on_result is not None and not isinstance(outcome, BaseException):
                    on_result(Result(index, outcome, seconds))
        except queue.Empty:
            pass
        finally:
            self.abort()

    def _start_workers(self, wanted: int) -> None:
        while len(self._workers) < min(self.concurrency, wanted):
            worker = threading.Thread(target=self._work, name=f"qmsum-request-{len(self._workers)}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        while True:
            job = self._waiting.get()
            if job is None:
                return
            call, index = job.call, job.index
            with self._lock:
                if self._stopping:
                    continue  # never sent (nor are its followers): the run is winding down
                call.sent += 1
                self.in_flight += 1
            started = time.perf_counter()
            outcome: Any
            try:
                text = call.texts[index]
                if job.followers and not self._primes(job, text):
                    self._release_followers(job)
                outcome = self.send(text, job.affinity)
            except RequestFailed as failure:
                failure.index, failure.text = index, call.texts[index]
                outcome = failure
                with self._lock:
                    self._stopping = True  # the run stops: nothing more is sent
            except Stopped as stopped:
                outcome = stopped
            except Exception as exc:  # a bug must reach the caller, not kill the thread silently
                outcome = exc
            self._release_followers(job)
            with self._lock:
                self.in_flight -= 1
                if not isinstance(outcome, BaseException):
                    self.requests_done += 1
            call.results.put((index, outcome, time.perf_counter() - started))

    def _primes(self, job: _Job, text: str) -> bool:
        """Whether the job's meeting shares a prefix worth caching before its other requests go."""
        try:
            second = job.call.texts[job.followers[0].index]
        except Exception:  # its prompt cannot be built: that request raises it when it is sent
            return False
        return self.shared_tokens(text, second) >= PRIME_MIN_TOKENS

    def _release_followers(self, job: _Job) -> None:
        followers, job.followers = job.followers, []
        if followers:
            self._waiting.put(*followers)

    def _least_busy_first(self, jobs: list[_Job]) -> _Job:
        """The earliest job of the replica with the fewest requests in flight."""
        busy: dict[Hashable, int] = {}
        for job in jobs:
            if job.affinity not in busy:
                busy[job.affinity] = self.busy(job.affinity)
        return min(jobs, key=lambda job: (busy[job.affinity], job.index))


def _with_followers(jobs: list[_Job]) -> list[_Job]:
    """Each meeting's first job, its other jobs as its followers (meetings by affinity key)."""
    firsts: dict[Hashable, _Job] = {}
    for job in jobs:
        first = firsts.setdefault(job.affinity, job)
        if first is not job:
            first.followers.append(job)
    return list(firsts.values())

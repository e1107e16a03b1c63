"""Prompts sent concurrently, results handed back on the calling thread.

:class:`Dispatcher` has the Batcher's ``run(texts, lengths, on_result)``, so
the strategies (truncate, locate, map-reduce) run through it unchanged. Up to
``concurrency`` worker threads send requests in the order given (one meeting's
prompts together); every result is delivered on the thread that called
``run``, so records are written by one thread as they finish.

Winding down (Ctrl-C, a request that failed for good, an error while writing):
nothing new is sent, the requests in flight get a few seconds to finish and
those that do are still delivered, then the rest are cut off.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from ..engine import Result
from .client import RequestFailed, Stopped

GRACE_SECONDS = 5.0  # how long requests in flight may still finish when a run stops
TICK_SECONDS = 0.25  # how often the progress line is redrawn while waiting


class _Call:
    """One ``run``: its results and how many of its requests were sent."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.results: queue.Queue = queue.Queue()
        self.sent = 0
        self.delivered = 0


class Dispatcher:
    def __init__(self, send: Callable[[str, Hashable], Any], concurrency: int, abort: Callable[[], None]) -> None:
        """``send(text, affinity)`` makes one request (with its retries); ``abort``
        cuts the requests in flight."""
        self.send = send
        self.concurrency = concurrency
        self.abort = abort
        self.affinity: Callable[[int], Hashable] = lambda index: None
        self.on_tick: Callable[[], None] = lambda: None
        self.in_flight = 0
        self.requests_done = 0
        self.started = time.perf_counter()
        self._jobs: queue.Queue = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self._lock = threading.Lock()

    def run(self, texts: Sequence[str], lengths: Sequence[int], on_result: Callable[[Result], None]) -> None:
        call = _Call(texts)
        for index in range(len(texts)):
            self._jobs.put((call, index, self.affinity(index)))
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
        for _ in self._workers:
            self._jobs.put(None)
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
            job = self._jobs.get()
            if job is None:
                return
            call, index, affinity = job
            with self._lock:
                if self._stopping:
                    continue  # never sent: the run is winding down
                call.sent += 1
                self.in_flight += 1
            started = time.perf_counter()
            outcome: Any
            try:
                outcome = self.send(call.texts[index], affinity)
            except RequestFailed as failure:
                failure.index, failure.text = index, call.texts[index]
                outcome = failure
                with self._lock:
                    self._stopping = True  # the run stops: nothing more is sent
            except Stopped as stopped:
                outcome = stopped
            except Exception as exc:  # a bug must reach the caller, not kill the thread silently
                outcome = exc
            with self._lock:
                self.in_flight -= 1
                if not isinstance(outcome, BaseException):
                    self.requests_done += 1
            call.results.put((index, outcome, time.perf_counter() - started))

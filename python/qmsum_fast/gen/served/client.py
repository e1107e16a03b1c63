"""HTTP to OpenAI-compatible servers: replicas, retries, backoff, one-line errors.

Standard library only (``http.client``), one fresh connection per attempt:
nothing stale to detect, and an attempt in flight can be aborted by shutting
its socket down. With ``--reuse off`` a request goes to the replica with the
fewest requests outstanding (among those not resting after a failure); with
``--reuse auto`` each meeting has a replica (:func:`spread`) that takes all
its requests, so the replica's prefix cache holds its transcript, and the
meeting moves to another replica when its own rests. 429, 408, 5xx, a
dropped connection, a malformed answer and a timeout are retried, on another
replica when one is ready, else after an exponential backoff with jitter that
honours ``Retry-After``. Anything else (400, 401, 404, 422, ...) is the
request's own fault and fails at once. The API key goes into the
Authorization header and nowhere else: every message a server sends back is
scrubbed of it.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import json
import random
import socket
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ...errors import InputError
from ..parallel import spread

BACKOFF_BASE = 0.5  # seconds before the first retry (halved and jittered)
BACKOFF_CAP = 30.0
RETRY_AFTER_CAP = 300.0  # a longer Retry-After is waited this long at most
REST_CAP = 30.0  # the longest a failing replica is left out
MESSAGE_CHARS = 300  # a server message is cut to this in an error line
RETRIED_STATUS = frozenset({408, 425, 429})


@dataclass(frozen=True)
class Endpoint:
    """A replica's API root, e.g. ``http://127.0.0.1:8000/v1``."""

    scheme: str
    host: str
    port: int
    path: str  # the root's path without its trailing slash, e.g. "/v1"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_base_url(url: str) -> Endpoint:
    """A --base-url, refused (without echoing any credentials) unless it is a
    plain http(s) root: credentials belong in --api-key-env."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--base-url {_without_credentials(url)!r}: not an http:// or https:// URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"--base-url {_without_credentials(url)!r}: the port is not a number in 0..65535") from None
    endpoint = Endpoint(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))
    if parts.username is not None or parts.password is not None:
        raise InputError(
            f"--base-url {endpoint.url}: credentials in the URL are refused; "
            "put the key in an environment variable and name it with --api-key-env"
        )
    if parts.query or parts.fragment:
        raise InputError(f"--base-url {endpoint.url}: a query or fragment is refused (give the API root, e.g. .../v1)")
    return endpoint


def _without_credentials(url: str) -> str:
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    host_part, slash, path = rest.partition("/")
    host_part = host_part.rsplit("@", 1)[-1]
    return f"{scheme}://{host_part}{slash}{path}" if scheme else f"{host_part}{slash}{path}"


class Retryable(Exception):
    """A failure worth another try: overload, a server error, a lost connection, a timeout."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestFailed(Exception):
    """A request that failed for good; the message names the server and what it said.
    The dispatcher adds which prompt it was (``index``, ``text``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.index: int | None = None
        self.text: str | None = None


class Stopped(Exception):
    """The run is stopping (Ctrl-C or another request's failure): no further attempt."""


class Replicas:
    """Which replica takes the next request.

    A meeting placed with :meth:`keep_together` goes to its replica while that
    replica is ready; when it rests after a failure (or just failed this
    request), the meeting moves for good to the ready replica holding the
    fewest tokens, so its later requests find its transcript cached there.
    Any other request goes to the replica with the fewest requests
    outstanding, skipping those resting after a failure; ties go to the
    replica that last took a request with the same affinity key."""

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        self.endpoints = list(endpoints)
        self._outstanding = [0] * len(self.endpoints)
        self._resting_until = [0.0] * len(self.endpoints)
        self._failures = [0] * len(self.endpoints)
        self._last: dict[Hashable, int] = {}
        self._homes: dict[Hashable, int] = {}  # meeting -> the replica that takes its requests
        self._tokens: dict[Hashable, int] = {}  # meeting -> its prompt tokens (what spread() balanced)
        self._held = [0] * len(self.endpoints)  # the tokens of the meetings each replica takes
        self._lock = threading.Lock()

    def keep_together(self, tokens: Mapping[Hashable, int]) -> dict[Hashable, int]:
        """Gives each meeting a replica (:func:`spread` by its tokens); returns them."""
        homes = spread(tokens, len(self.endpoints))
        with self._lock:
            for meeting, replica in homes.items():
                self._homes[meeting] = replica
                self._tokens[meeting] = tokens[meeting]
                self._held[replica] += tokens[meeting]
        return homes

    def home(self, meeting: Hashable) -> int | None:
        """The replica that takes the meeting's requests now (None: not kept together)."""
        with self._lock:
            return self._homes.get(meeting)

    def busy(self, affinity: Hashable) -> int:
        """Requests outstanding at the replica a request with this key would go to."""
        with self._lock:
            home = self._homes.get(affinity)
            return self._outstanding[home] if home is not None else min(self._outstanding)

    def acquire(self, affinity: Hashable, avoid: int | None) -> int:
        with self._lock:
            if affinity in self._homes:
                chosen = self._home_for(affinity, avoid)
            else:
                chosen = self._least_busy(affinity, avoid)
            self._outstanding[chosen] += 1
            self._last[affinity] = chosen
            return chosen

    def _least_busy(self, affinity: Hashable, avoid: int | None) -> int:
        choices = [i for i in range(len(self.endpoints)) if i != avoid] or [avoid or 0]
        now = time.monotonic()
        ready = [i for i in choices if self._resting_until[i] <= now]
        if not ready:
            ready = [min(choices, key=lambda i: self._resting_until[i])]
        preferred = self._last.get(affinity)
        return min(ready, key=lambda i: (self._outstanding[i], i != preferred, i))

    def _home_for(self, meeting: Hashable, avoid: int | None) -> int:
        """The meeting's replica, or, when it rests or is to be avoided, the one it moves to."""
        home = self._homes[meeting]
        now = time.monotonic()
        if home != avoid and self._resting_until[home] <= now:
            return home
        others = [i for i in range(len(self.endpoints)) if i not in (home, avoid)]
        ready = [i for i in others if self._resting_until[i] <= now]
        if ready:
            moved = min(ready, key=lambda i: (self._held[i], self._outstanding[i], i))
        elif home != avoid or not others:
            return home  # nothing better is ready: the home replica is tried again
        else:
            moved = min(others, key=lambda i: self._resting_until[i])
        self._homes[meeting] = moved
        self._held[home] -= self._tokens[meeting]
        self._held[moved] += self._tokens[meeting]
        return moved

    def release(self, index: int, failure: Retryable | None) -> None:
        with self._lock:
            self._outstanding[index] -= 1
            if failure is None:
                self._failures[index] = 0
                self._resting_until[index] = 0.0
                return
            self._failures[index] += 1
            rest = min(REST_CAP, 2.0 ** (self._failures[index] - 1))
            if failure.retry_after is not None:
                rest = max(rest, min(failure.retry_after, RETRY_AFTER_CAP))
            self._resting_until[index] = time.monotonic() + rest

    def another_is_ready(self, index: int) -> bool:
        with self._lock:
            now = time.monotonic()
            return any(i != index and self._resting_until[i] <= now for i in range(len(self.endpoints)))


class Client:
    """Requests with retries over ``endpoints``; ``stop`` ends every wait and attempt."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        api_key: str | None,
        timeout: float,
        max_retries: int,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self.replicas = Replicas(endpoints)
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.on_retry = on_retry
        self.stop = threading.Event()
        self._open: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()

    def post(self, path: str, body: dict, parse: Callable[[dict], Any], affinity: Hashable = None) -> Any:
        """``parse`` of the JSON answer to ``body``, tried up to 1 + max_retries times."""
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        failed: int | None = None
        last: Retryable | None = None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.on_retry()
                self._back_off(attempt - 1, failed, last)
            if self.stop.is_set():
                raise Stopped()
            index = self.replicas.acquire(affinity, failed)
            endpoint = self.replicas.endpoints[index]
            try:
                result = parse(self.exchange(endpoint, "POST", path, payload))
            except Retryable as exc:
                self.replicas.release(index, exc)
                failed, last = index, Retryable(f"{endpoint.url}: {exc}", exc.retry_after)
                continue
            except BaseException:
                self.replicas.release(index, None)
                raise
            self.replicas.release(index, None)
            return result
        assert last is not None
        tries = self.max_retries + 1
        raise RequestFailed(f"{last} (gave up after {tries} {'try' if tries == 1 else 'tries'})")

    def _back_off(self, retry: int, failed: int | None, last: Retryable | None) -> None:
        """Another ready replica is tried at once; otherwise wait, honouring Retry-After."""
        if failed is not None and self.replicas.another_is_ready(failed):
            return
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**retry)
        delay = delay / 2 + random.uniform(0, delay / 2)
        if last is not None and last.retry_after is not None:
            delay = max(delay, min(last.retry_after, RETRY_AFTER_CAP))
        if self.stop.wait(delay):
            raise Stopped()

    def exchange(self, endpoint: Endpoint, method: str, path: str, payload: bytes | None = None) -> dict:
        """One attempt: the JSON object a 200 answer holds. Raises Retryable for
        what another try may cure, RequestFailed for what it cannot."""
        if self.stop.is_set():
            raise Stopped()
        connection = self._connect(endpoint)
        try:
            connection.request(method, endpoint.path + path, body=payload, headers=self._headers(payload))
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            if self.stop.is_set():
                raise Stopped() from None
            raise Retryable(self._describe(exc)) from None
        finally:
            self._close(connection)
        return self._answer(endpoint, response, data)

    def _answer(self, endpoint: Endpoint, response: http.client.HTTPResponse, data: bytes) -> dict:
        status = response.status
        if status == 200:
            try:
                answer = json.loads(data)
            except ValueError:
                raise Retryable(f"HTTP 200 with a body that is not JSON: {self.scrub(_snippet(data))}") from None
            if not isinstance(answer, dict):
                raise Retryable("HTTP 200 with a JSON body that is not an object")
            return answer
        message = f"HTTP {status}: {self.scrub(server_message(data)) or response.reason}"
        if status in RETRIED_STATUS or status >= 500:
            raise Retryable(message, retry_after(response.getheader("Retry-After")))
        if status in (401, 403):
            message += " (check the key in the variable --api-key-env names)"
        elif status == 404:
            message += " (is --base-url the API root, e.g. http://HOST:PORT/v1?)"
        raise RequestFailed(f"{endpoint.url}: {message}")

    def _headers(self, payload: bytes | None) -> dict:
        headers = {"Accept": "application/json", "Connection": "close"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _connect(self, endpoint: Endpoint) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if endpoint.scheme == "https" else http.client.HTTPConnection
        connection = kind(endpoint.host, endpoint.port, timeout=self.timeout)
        with self._lock:
            self._open.add(connection)
        return connection

    def _close(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            self._open.discard(connection)
        connection.close()

    def abort(self) -> None:
        """Stops every wait and cuts every attempt in flight (their threads then end)."""
        self.stop.set()
        with self._lock:
            sockets = [c.sock for c in self._open if c.sock is not None]
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return f"no answer within --request-timeout {self.timeout:g} s"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused (is the server running?)"
        if isinstance(exc, http.client.RemoteDisconnected):
            return "the server closed the connection without answering"
        if isinstance(exc, http.client.IncompleteRead):
            return "the connection closed in the middle of the answer"
        if isinstance(exc, OSError) and exc.strerror:
            return f"connection failed: {exc.strerror}"
        return f"connection failed: {type(exc).__name__}"

    def scrub(self, text: str) -> str:
        """``text`` without the API key (some servers quote the key they refuse)."""
        return text.replace(self.api_key, "***") if self.api_key else text


def server_message(data: bytes) -> str:
    """What an error answer says, on one line: OpenAI's and llama.cpp's
    ``error.message``, TGI's ``error``, FastAPI's ``detail``, or the text."""
    try:
        body = json.loads(data)
    except ValueError:
        return _snippet(data)
    found: Any = body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            found = error.get("message", error)
        elif error is not None:
            found = error
        elif "detail" in body:
            found = body["detail"]
        elif "message" in body:
            found = body["message"]
    text = found if isinstance(found, str) else json.dumps(found, ensure_ascii=False)
    return _one_line(text)


def _snippet(data: bytes) -> str:
    return _one_line(data.decode("utf-8", "replace"))


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 3] + "..."


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delay seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())

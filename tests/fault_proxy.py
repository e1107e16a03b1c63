"""A fault-injecting HTTP proxy for the served-engine tests (standard library only).

It listens on 127.0.0.1 (a free port) and forwards every request to an
upstream server on 127.0.0.1, except that each POST first takes the next
fault queued with :meth:`FaultProxy.inject`:

- ``"429"``: 429 with ``Retry-After: 1``; ``"500"``, ``"503"``: that status;
- ``"400"``: a vLLM-style context-length rejection; ``"401"``: an auth error
  that quotes the bearer token it got (as some APIs do);
- ``"drop"``: the upstream answer cut in the middle, then the connection closed;
- ``"close"``: the connection closed without an answer;
- ``"slow:S"``: the answer held S seconds before it is forwarded;
- ``"miscount"``: the answer with ``usage.prompt_tokens`` one higher.

``delay`` holds every POST that long (to slow a run down). ``cached_tokens``
(None: off) is added to each answer's usage as
``prompt_tokens_details.cached_tokens`` (at most its prompt tokens), as vLLM
and SGLang report prefix-cache hits. It records what it saw (``requests``:
method, path, headers, body, arrival time and ``done``, when its answer
started back, so a request sent after that answer arrived always comes later)
and the most requests it had in flight at once.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.faults: deque[str] = deque()
        self.delay = 0.0
        self.cached_tokens: int | None = None
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def inject(self, *faults: str) -> None:
        self.faults.extend(faults)

    def posts(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST"]

    def _take_fault(self) -> str | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    return type("Handler", (_Handler,), {"proxy": proxy})


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    seen: dict  # the record of the request being handled

    def log_message(self, format, *args):  # quiet
        pass

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = {"method": method, "path": self.path, "headers": dict(self.headers), "body": body, "at": time.time()}
        self.seen = seen
        self.proxy.requests.append(seen)
        fault = self.proxy._take_fault() if method == "POST" else None
        self.proxy._enter()
        try:
            self._respond(method, body, fault)
        except OSError:  # the client gave up (a timeout): nothing more to say
            return
        finally:
            seen.setdefault("done", time.time())  # closed without an answer
            self.proxy._leave()

    def _respond(self, method: str, body: bytes, fault: str | None) -> None:
        if method == "POST" and self.proxy.delay:
            time.sleep(self.proxy.delay)
        if fault in ("429", "500", "503"):
            headers = {"Retry-After": "1"} if fault == "429" else {}
            return self._send(int(fault), {"error": {"message": f"injected {fault}"}}, headers)
        if fault == "400":
            message = "This model's maximum context length is 300 tokens. However, you requested 9999 tokens."
            return self._send(400, {"error": {"message": message, "type": "BadRequestError"}})
        if fault == "401":
            token = self.headers.get("Authorization", "")
            return self._send(401, {"error": {"message": f"Incorrect API key provided: {token}"}})
        if fault == "close":
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        if fault and fault.startswith("slow:"):
            time.sleep(float(fault.split(":", 1)[1]))
        status, data = self._forward(method, body)
        if fault == "miscount":
            answer = json.loads(data)
            answer["usage"]["prompt_tokens"] += 1
            data = json.dumps(answer).encode()
        if method == "POST" and status == 200 and self.proxy.cached_tokens is not None:
            answer = json.loads(data)
            cached = min(self.proxy.cached_tokens, answer["usage"]["prompt_tokens"])
            answer["usage"]["prompt_tokens_details"] = {"cached_tokens": cached}
            data = json.dumps(answer).encode()
        if fault == "drop":
            return self._cut(status, data)
        return self._send_bytes(status, data)

    def _forward(self, method: str, body: bytes) -> tuple[int, bytes]:
        upstream = http.client.HTTPConnection("127.0.0.1", self.proxy.upstream_port, timeout=120)
        try:
            headers = {"Content-Type": "application/json"} if body else {}
            upstream.request(method, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            return response.status, response.read()
        except OSError as exc:
            return 502, json.dumps({"error": {"message": f"upstream: {exc}"}}).encode()
        finally:
            upstream.close()

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict | None = None) -> None:
        self.seen["done"] = time.time()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _cut(self, status: int, data: bytes) -> None:
        self.seen["done"] = time.time()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(2)

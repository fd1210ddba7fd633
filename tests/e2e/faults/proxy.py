"""A fault-injecting HTTP proxy on 127.0.0.1 between the real ccxt client and the local Bybit fake.

ccxt is pointed at the proxy (``make_exchange(api_base=proxy.base_url)``); every request is forwarded to
the fake unless a ``Rule`` matches it. A rule names a path (substring), a fault ``kind`` and how many
matching requests it hits (``times``), optionally skipping the first ``skip`` matches. Kinds:

- ``timeout``: never forwarded, the connection is held until the client gives up;
- ``timeout_after``: forwarded (the fake acts on it), then held: the reply is lost;
- ``http_503`` / ``http_502_after``: a 5xx before / after the fake acted;
- ``http_429``: HTTP 429 with ``Retry-After``;
- ``drop`` / ``drop_after``: the connection is closed without a reply, before / after the fake acted;
- ``rate_limit``: HTTP 200 with Bybit's retCode 10006 (too many visits);
- ``busy``: HTTP 200 with Bybit's retCode 10016 (system busy);
- ``kill_before`` / ``kill_after``: call ``on_kill`` (SIGKILL the client) before / after forwarding.

``counts`` tallies injected faults by kind, ``forwarded`` the requests that reached the fake.
"""

from __future__ import annotations

import http.client
import json
import select
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

KINDS = (
    "timeout", "timeout_after", "http_503", "http_502_after", "http_429", "drop", "drop_after", "rate_limit",
    "busy", "kill_before", "kill_after",
)  # fmt: skip
_FORWARD_FIRST = {"timeout_after", "http_502_after", "drop_after", "kill_after"}


@dataclass
class Rule:
    """Inject ``kind`` into the requests whose path contains ``path`` (and method matches, if given)."""

    path: str
    kind: str
    times: int = 1
    skip: int = 0
    method: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")

    def matches(self, method: str, path: str) -> bool:
        """True when this rule applies to the request (and still has hits left)."""
        return self.times > 0 and self.path in path and (self.method is None or self.method == method)


class FaultProxy:
    """``with FaultProxy(fake.base_url) as proxy: proxy.add(Rule("/v5/order/create", "drop_after"))``."""

    def __init__(self, target: str, on_kill: Callable[[], None] | None = None) -> None:
        parts = urlsplit(target)
        self.target_host, self.target_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.on_kill = on_kill
        self.rules: list[Rule] = []
        self.fired: list[Rule] = []  # rules in the order they fired
        self.observer: Callable[[str, str, bytes], None] | None = None  # sees each request before the fake
        self.counts: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server: _Server | None = None

    def add(self, *rules: Rule) -> None:
        """Arm rules (checked in order; the first matching one fires)."""
        with self.lock:
            self.rules.extend(rules)

    def clear(self) -> None:
        """Disarm every rule (the fault clears)."""
        with self.lock:
            self.rules.clear()

    def pick(self, method: str, path: str) -> str | None:
        """The fault for this request, consuming one hit of its rule."""
        with self.lock:
            for rule in self.rules:
                if rule.matches(method, path):
                    if rule.skip > 0:
                        rule.skip -= 1
                        return None
                    rule.times -= 1
                    self.counts[rule.kind] += 1
                    self.fired.append(rule)
                    return rule.kind
        return None

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes, list[Any]]:
        """Send the request to the fake; its status, body and headers."""
        conn = http.client.HTTPConnection(self.target_host, self.target_port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
            with self.lock:
                self.forwarded[urlsplit(path).path] += 1
            return reply.status, data, reply.getheaders()
        finally:
            conn.close()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the proxy."""
        if self._server is None:
            raise RuntimeError("FaultProxy is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        """Serve on a free port in a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Forward or fault a GET."""
        self._handle("GET")

    def do_POST(self) -> None:
        """Forward or fault a POST."""
        self._handle("POST")

    def _handle(self, method: str) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        if proxy.observer is not None:
            proxy.observer(method, urlsplit(self.path).path, body)
        kind = proxy.pick(method, urlsplit(self.path).path)
        if kind == "kill_before" and proxy.on_kill is not None:
            proxy.on_kill()
            return self._hold()
        if kind is None or kind in _FORWARD_FIRST:
            status, data, _headers = proxy.forward(method, self.path, headers, body)
            if kind is None:
                return self._reply(status, data)
            if kind == "kill_after" and proxy.on_kill is not None:
                proxy.on_kill()
        if kind in ("timeout", "timeout_after", "kill_after", "kill_before"):
            return self._hold()
        if kind in ("drop", "drop_after"):
            self.close_connection = True
            return None
        if kind in ("http_503", "http_502_after"):
            return self._reply(503 if kind == "http_503" else 502, b"<html>bad gateway</html>", "text/html")
        if kind == "http_429":
            return self._reply(429, b'{"retCode":10006,"retMsg":"Too many visits!"}', extra={"Retry-After": "1"})
        code, message = (10006, "Too many visits!") if kind == "rate_limit" else (10016, "System error")
        envelope = {"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": 0}
        return self._reply(200, json.dumps(envelope).encode())

    def _reply(
        self, status: int, data: bytes, kind: str = "application/json", extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _hold(self) -> None:
        """Keep the connection open and silent until the client closes it (its timeout fired)."""
        self.close_connection = True
        for _ in range(600):  # at most 60 s
            ready, _, _ = select.select([self.connection], [], [], 0.1)
            if ready:
                try:
                    if not self.connection.recv(1024):
                        return
                except OSError:
                    return

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

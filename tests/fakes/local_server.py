"""The serving half every exchange fake shares: a threaded HTTP server on 127.0.0.1 that records requests.

A fake subclasses ``LocalFake``, names its request handler (``handler_class``, whose requests reach
``self.server.fake.handle``) and its thread, and sets up ``self.requests`` and ``self._lock`` through
``_init_serving``. The real ccxt client is then pointed at ``fake.base_url``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import SplitResult, urlsplit


class FakeHTTPServer(ThreadingHTTPServer):
    """The server object handlers see as ``self.server``: it carries the fake they answer for."""

    daemon_threads = True
    fake: Any


class JsonRequestHandler(BaseHTTPRequestHandler):
    """Reads a request, lets the subclass turn it into the fake's answer, writes that as JSON."""

    server: FakeHTTPServer

    def do_GET(self) -> None:
        """Answer a GET."""
        self._answer("GET")

    def do_POST(self) -> None:
        """Answer a POST."""
        self._answer("POST")

    def answer(self, method: str, parts: SplitResult, body: bytes) -> tuple[int, Any]:
        """(HTTP status, JSON payload) for one request (``parts``: the split URL, ``body``: the raw body)."""
        raise NotImplementedError

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        status, payload = self.answer(method, urlsplit(self.path), self.rfile.read(length) if length else b"")
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


class LocalFake[R]:
    """Start/stop, ``base_url`` and the request log of a local fake (requests of type ``R``)."""

    handler_class: ClassVar[type[BaseHTTPRequestHandler]]
    thread_name: ClassVar[str] = "fake-exchange"

    def _init_serving(self, lock: threading.Lock | threading.RLock) -> None:
        self.requests: list[R] = []
        self._lock = lock
        self._server: FakeHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def requests_to(self, path: str) -> list[R]:
        """The recorded requests for one path, in order."""
        with self._lock:
            return [r for r in self.requests if getattr(r, "path", None) == path]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self.requests.clear()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` of the running server."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use it as a context manager or call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._server = FakeHTTPServer(("127.0.0.1", 0), self.handler_class)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=self.thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

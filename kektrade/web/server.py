"""The read-only web page over the standard library's HTTP server, serving on a daemon thread.

Routes: ``/`` (the page), ``/api/snapshot``, ``/api/results``, ``/plot/equity.svg`` and
``/plot/price/<subaccount>.svg``. There are no commands: the page is for viewing only.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from kektrade.control.facade import RunController
from kektrade.web.charts import equity_svg, price_svg
from kektrade.web.jsonify import dumps
from kektrade.web.page import render_page

log = logging.getLogger("kektrade.web")

HTML = "text/html; charset=utf-8"
JSON = "application/json"
SVG = "image/svg+xml"
TEXT = "text/plain; charset=utf-8"
PRICE_PREFIX = "/plot/price/"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self'"
    ),
}


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer: status, content type and body."""

    status: int
    content_type: str
    body: bytes


def not_found(what: str) -> Reply:
    """A plain-text 404 naming what was not found."""
    return Reply(404, TEXT, f"not found: {what}\n".encode())


def route(controller: RunController, raw_path: str, refresh_ms: int = 3000) -> Reply:
    """The reply to ``GET raw_path`` (query strings are ignored)."""
    path = urlsplit(raw_path).path
    if path in ("/", "/index.html"):
        error = repr(controller.error) if controller.error is not None else ""
        page = render_page(controller.snapshot(), controller.results, controller.results_text(), error, refresh_ms)
        return Reply(200, HTML, page.encode("utf-8"))
    if path == "/api/snapshot":
        return Reply(200, JSON, dumps(controller.snapshot()))
    if path == "/api/results":
        results = controller.results
        if results is None:
            return not_found("results (the run has not finished)")
        return Reply(200, JSON, dumps(results))
    if path == "/plot/equity.svg":
        return Reply(200, SVG, equity_svg(controller.snapshot()).encode("utf-8"))
    if path.startswith(PRICE_PREFIX) and path.endswith(".svg"):
        sub_id = unquote(path[len(PRICE_PREFIX) : -len(".svg")])
        svg = price_svg(controller.snapshot(), sub_id)
        return not_found(f"subaccount {sub_id!r}") if svg is None else Reply(200, SVG, svg.encode("utf-8"))
    return not_found(path)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "kektrade-web"

    def do_GET(self) -> None:
        try:
            reply = route(self.server.controller, self.path, self.server.refresh_ms)
        except Exception:  # a rendering bug must not kill the server; the log has the traceback
            log.exception("web: rendering %s failed", self.path)
            reply = Reply(500, TEXT, b"internal error (see the run's log)\n")
        self._send(reply)

    def _read_only(self) -> None:
        self._send(Reply(405, TEXT, b"read-only: only GET is served\n"), {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = _read_only

    def _send(self, reply: Reply, extra: dict[str, str] | None = None) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("web %s %s", self.address_string(), format % args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], controller: RunController, refresh_ms: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.controller = controller
        self.refresh_ms = refresh_ms


class WebServer:
    """Serves the read-only page of one run on a daemon thread (``port=0`` picks a free port)."""

    def __init__(
        self, controller: RunController, host: str = "127.0.0.1", port: int = 8765, refresh_ms: int = 3000
    ) -> None:
        self.controller = controller
        self.host = host
        self.port = port
        self.refresh_ms = refresh_ms
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind and serve in the background; raises OSError when the address is taken."""
        if self._server is not None:
            raise RuntimeError("the web server is already running")
        self._server = _Server((self.host, self.port), self.controller, self.refresh_ms)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="kektrade-web", daemon=True)
        self._thread.start()
        log.info("web page on %s", self.url)

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8765/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

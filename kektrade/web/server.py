"""The web server (aiohttp) on its own thread: run list, run pages, static files and the JSON API.

Routes: ``/`` (the run list; straight to the run when there is only one), ``/runs/<id>/`` (a run's page),
``/static/<file>`` (the page's script, styles and the vendored chart library), ``/api/runs`` and
``/api/runs/<id>/<endpoint>`` (kektrade.web.api). Read-only: anything but GET/HEAD is 405.

Robustness: request handling is bounded (``max_concurrent`` at once, the rest wait up to ``queue_timeout_s``
then get 503), each answer has ``request_timeout_s``, data work runs on a small thread pool so the event loop
keeps accepting, idle keep-alive connections close after ``keepalive_s``; a client that disconnects mid-answer
is dropped quietly (no traceback). Security: kektrade.web.guard (Host check, token) and strict headers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from kektrade.control.viewing import RunCatalog
from kektrade.web.api import ENDPOINTS, BadRequest
from kektrade.web.guard import COOKIE, AccessGuard
from kektrade.web.jsonify import to_jsonable
from kektrade.web.page import run_list_page, run_page

log = logging.getLogger("kektrade.web")

STATIC_DIR = Path(__file__).with_name("static")
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(to_jsonable(data), allow_nan=False, separators=(",", ":"))
    return web.Response(status=status, body=body.encode(), content_type="application/json")


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


class WebApp:
    """The aiohttp application of a catalog of runs, with its guard, limits and thread pool."""

    def __init__(
        self,
        catalog: RunCatalog,
        guard: AccessGuard,
        max_concurrent: int = 16,
        queue_timeout_s: float = 10.0,
        request_timeout_s: float = 30.0,
        workers: int = 4,
    ) -> None:
        self.catalog = catalog
        self.guard = guard
        self.queue_timeout_s = queue_timeout_s
        self.request_timeout_s = request_timeout_s
        self.max_concurrent = max_concurrent
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kektrade-web-data")
        self._slots: asyncio.Semaphore | None = None

    def build(self) -> web.Application:
        """The application (middlewares and routes)."""
        self._slots = asyncio.Semaphore(self.max_concurrent)
        app = web.Application(middlewares=[self._guard_mw, self._limit_mw], client_max_size=64 * 1024)
        app.router.add_get("/", self.index)
        app.router.add_get("/runs/{run}/", self.page)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/api/runs", self.runs)
        app.router.add_get("/api/runs/{run}/{endpoint}", self.endpoint)
        app.router.add_route("*", "/{tail:.*}", self.fallback)
        return app

    # -- middlewares -----------------------------------------------------------------------------

    @web.middleware
    async def _guard_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.guard.host_ok(request.headers.get("Host")):
            return self._secure(web.Response(status=421, text="unknown Host: this server answers its own name only\n"))
        code = request.query.get("login")
        if code is not None:
            return self._secure(self._login(request, code))
        bearer = request.headers.get("Authorization", "")
        token = request.headers.get("X-Kektrade-Token") or (bearer[7:] if bearer.startswith("Bearer ") else None)
        if not self.guard.authorized(token, request.cookies.get(COOKIE)):
            return self._secure(web.Response(status=401, text="a token is required (header or login link)\n"))
        return self._secure(await handler(request))

    def _login(self, request: web.Request, code: str) -> web.StreamResponse:
        session = self.guard.redeem(code)
        if session is None:
            return web.Response(status=401, text="this login link is unknown or was used already\n")
        response = web.Response(status=303, headers={"Location": request.path})
        response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
        return response

    @staticmethod
    def _secure(response: web.StreamResponse) -> web.StreamResponse:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @web.middleware
    async def _limit_mw(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="read-only: only GET is served\n", headers={"Allow": "GET, HEAD"})
        assert self._slots is not None
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_timeout_s)
        except TimeoutError:
            return web.Response(status=503, text="busy, try again\n", headers={"Retry-After": "1"})
        try:
            async with asyncio.timeout(self.request_timeout_s):
                return await handler(request)
        except TimeoutError:
            return web.Response(status=504, text="the answer took too long\n")
        except (ConnectionResetError, BrokenPipeError):  # the client went away: nothing to answer
            log.debug("web: client %s disconnected", request.remote)
            raise
        finally:
            self._slots.release()

    # -- handlers --------------------------------------------------------------------------------

    async def _off_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The run list, or the only run's page."""
        ids = await self._off_loop(self.catalog.ids)
        if len(ids) == 1:
            return web.Response(status=302, headers={"Location": f"/runs/{ids[0]}/"})
        return web.Response(text=run_list_page(), content_type="text/html")

    async def page(self, request: web.Request) -> web.StreamResponse:
        """A run's page (a shell; the script loads everything through the API)."""
        run_id = request.match_info["run"]
        if await self._off_loop(self.catalog.get, run_id) is None:
            return web.Response(status=404, text=f"no run {run_id!r} here\n")
        return web.Response(text=run_page(run_id), content_type="text/html")

    async def static(self, request: web.Request) -> web.StreamResponse:
        """A file of kektrade/web/static (no sub-folders, no dot files)."""
        name = request.match_info["name"]
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or not path.is_file() or path.suffix not in STATIC_TYPES:
            return web.Response(status=404, text=f"no static file {name!r}\n")
        body = await self._off_loop(path.read_bytes)
        response = web.Response(body=body, content_type=STATIC_TYPES[path.suffix], charset="utf-8")
        response.headers["Cache-Control"] = "max-age=300"
        return response

    async def runs(self, request: web.Request) -> web.StreamResponse:
        """Every run shown, with headline figures."""
        return _json({"runs": await self._off_loop(self.catalog.summaries)})

    async def endpoint(self, request: web.Request) -> web.StreamResponse:
        """``/api/runs/<id>/<endpoint>``: 404 for unknown runs/endpoints/subaccounts, 400 for bad parameters."""
        run_id, name = request.match_info["run"], request.match_info["endpoint"]
        fn = ENDPOINTS.get(name)
        if fn is None:
            return _error(404, f"no endpoint {name!r}; known: {sorted(ENDPOINTS)}")
        view = await self._off_loop(self.catalog.get, run_id)
        if view is None:
            return _error(404, f"no run {run_id!r} here")
        try:
            data = await self._off_loop(fn, view, dict(request.query))
            body = await self._off_loop(lambda: json.dumps(to_jsonable(data), allow_nan=False, separators=(",", ":")))
        except BadRequest as exc:
            return _error(400, str(exc))
        except LookupError as exc:
            return _error(404, str(exc))
        return web.Response(body=body.encode(), content_type="application/json")

    async def fallback(self, request: web.Request) -> web.StreamResponse:
        """Anything else: 404."""
        return web.Response(status=404, text=f"not found: {request.path}\n")


class WebServer:
    """Serves a ``RunCatalog`` on a background thread (``port=0`` picks a free port)."""

    def __init__(
        self,
        catalog: RunCatalog,
        host: str = "127.0.0.1",
        port: int = 8765,
        token: str | None = None,
        allowed_hosts: tuple[str, ...] = (),
        keepalive_s: float = 15.0,
        **limits: Any,
    ) -> None:
        self.catalog = catalog
        self.host = host
        self.port = port
        self.guard = AccessGuard(host, token, allowed_hosts)
        self.keepalive_s = keepalive_s
        self.app = WebApp(catalog, self.guard, **limits)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The server's address, e.g. ``http://127.0.0.1:8765/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def login_url(self) -> str:
        """A one-time link that signs a browser in (sets the session cookie); the plain URL without a token."""
        return f"{self.url}?login={self.guard.login_code()}" if self.guard.needs_token else self.url

    def start(self) -> None:
        """Bind and serve in the background; raises OSError when the address is taken."""
        if self._thread is not None:
            raise RuntimeError("the web server is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, failure), name="kektrade-web", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        log.info("web page on %s", self.url)

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._bind())
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.run_until_complete(self._unbind())
        loop.close()

    async def _bind(self) -> None:
        self._runner = web.AppRunner(
            self.app.build(),
            access_log=None,
            handler_cancellation=True,
            keepalive_timeout=self.keepalive_s,
            shutdown_timeout=2.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=256)
        await site.start()
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]

    async def _unbind(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self.app.pool.shutdown(wait=False, cancel_futures=True)
        self._thread = None
        self._loop = None

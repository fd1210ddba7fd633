"""Host check (DNS rebinding), the token for remote viewing, one-time login links, and the load limits."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kektrade.control.facade import RunController
from kektrade.control.viewing import LiveView, RunCatalog
from kektrade.web.guard import COOKIE, AccessGuard, host_name
from kektrade.web.server import WebServer

from .conftest import RUN_ID


def test_host_header_is_checked(client: httpx.Client, server: WebServer) -> None:
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", "localhost", f"[::1]:{server.port}"):
        assert client.get("/api/runs", headers={"Host": host}).status_code == 200, host
    for host in ("evil.example", f"evil.example:{server.port}", "127.0.0.1.evil.example", "10.0.0.1"):
        answer = client.get("/api/runs", headers={"Host": host})
        assert answer.status_code == 421 and "Host" in answer.text, host


def test_guard_for_remote_binds() -> None:
    remote = AccessGuard("0.0.0.0", allowed_hosts=("box.lan",))
    assert remote.needs_token and remote.token is not None and len(remote.token) >= 24
    assert remote.host_ok("192.168.1.5:8765") and remote.host_ok("box.lan:8765") and remote.host_ok("localhost")
    assert not remote.host_ok("evil.example") and not remote.host_ok(None) and not remote.host_ok("")
    assert AccessGuard("0.0.0.0").token != remote.token  # a new token per server
    named = AccessGuard("trader.example")
    assert named.host_ok("trader.example:80") and not named.host_ok("other.example")
    assert not AccessGuard("127.0.0.1").needs_token
    assert host_name("[::1]:8765") == "::1" and host_name("Example.COM:80") == "example.com"


@pytest.fixture(scope="module")
def token_server(finished: RunController) -> Iterator[WebServer]:
    """A server that requires a token (as a remote bind does), on loopback."""
    web = WebServer(RunCatalog([LiveView(finished)]), port=0, token="s3cret-token-for-tests")
    web.start()
    yield web
    web.stop()


def test_token_header_and_one_time_link(token_server: WebServer) -> None:
    url = f"{token_server.url}api/runs"
    assert httpx.get(url, timeout=30).status_code == 401
    assert httpx.get(url, headers={"X-Kektrade-Token": "wrong"}, timeout=30).status_code == 401
    assert httpx.get(url, headers={"X-Kektrade-Token": "s3cret-token-for-tests"}, timeout=30).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer s3cret-token-for-tests"}, timeout=30).status_code == 200
    link = token_server.login_url()
    assert "?login=" in link and "s3cret" not in link
    with httpx.Client(timeout=30) as browser:
        signed_in = browser.get(link)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"
        cookie = signed_in.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert browser.get(url).status_code == 200  # the session cookie is enough now
        assert browser.get(f"{token_server.url}runs/{RUN_ID}/").status_code == 200
    assert httpx.get(link, timeout=30).status_code == 401  # a link works once


class _Blocking:
    """A run view whose ``info`` waits for ``release`` (to hold the server's only slot)."""

    def __init__(self) -> None:
        self.run_id = "blocked"
        self.release = threading.Event()
        self.entered = threading.Event()

    def info(self) -> dict[str, Any]:
        self.entered.set()
        self.release.wait(60)
        return {"subaccounts": []}


def test_busy_and_slow_answers_are_bounded() -> None:
    view = _Blocking()
    web = WebServer(RunCatalog([view]), port=0, max_concurrent=1, queue_timeout_s=0.05, request_timeout_s=600)  # type: ignore[list-item]
    web.start()
    try:
        with httpx.Client(base_url=web.url, timeout=60) as http:
            holder = threading.Thread(target=lambda: http.get("/api/runs/blocked/info"))
            holder.start()
            assert view.entered.wait(60)
            busy = http.get("/api/runs/blocked/info")
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            view.release.set()
            holder.join(60)
    finally:
        web.stop()
    slow = _Blocking()
    web = WebServer(RunCatalog([slow]), port=0, request_timeout_s=0.05)  # type: ignore[list-item]
    web.start()
    try:
        assert httpx.get(f"{web.url}api/runs/blocked/info", timeout=60).status_code == 504
    finally:
        slow.release.set()
        web.stop()


def test_disconnects_and_half_open_connections(server: WebServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    half_open = []
    for _ in range(150):  # connections that never finish their request
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        half_open.append(sock)
    try:
        for _ in range(20):  # clients that ask for a big answer and leave at once
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
            sock.sendall(
                f"GET /api/runs/{RUN_ID}/candles?sub=sma_btc&limit=5000 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            )
            sock.close()
        answer = httpx.get(f"{server.url}api/runs/{RUN_ID}/info", timeout=60)
        assert answer.status_code == 200  # the half-open ones hold no worker
    finally:
        for sock in half_open:
            sock.close()
    assert httpx.get(f"{server.url}api/runs", timeout=60).status_code == 200
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == [], [r.getMessage() for r in problems]


def test_load_on_loopback(server: WebServer) -> None:
    """200 concurrent requests x 5 waves, all answered (bounded in count; the timeout only ends a hang)."""

    async def waves() -> list[int]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(base_url=server.url, timeout=120, limits=limits) as http:
            statuses: list[int] = []
            paths = [f"/api/runs/{RUN_ID}/info", f"/api/runs/{RUN_ID}/candles?sub=sma_btc&limit=200", "/api/runs"]
            for _ in range(5):
                answers = await asyncio.gather(*(http.get(paths[k % 3]) for k in range(200)))
                statuses.extend(a.status_code for a in answers)
            return statuses

    statuses = asyncio.run(waves())
    assert len(statuses) == 1000 and set(statuses) == {200}

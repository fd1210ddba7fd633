"""The web server against a real finished backtest, driven by the real httpx client."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from kektrade.config import parse_config
from kektrade.control.facade import RunController
from kektrade.web.jsonify import to_jsonable
from kektrade.web.server import WebServer

from .conftest import web_config

CHROMIUM = Path("/usr/bin/chromium")


def test_page_shows_run_subaccounts_charts_and_results(client: httpx.Client, finished: RunController) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    snap = finished.snapshot()
    for row in snap.subaccounts:
        assert f"<td>{row.id}</td>" in page
        assert f'id="sub-{row.id}"' in page
    assert "<svg" in page and "<polyline" in page
    assert "Account equity" in page
    assert "<pre>" in page and "ACCOUNT" in page  # the results table of results_text()
    assert "opt_btc walk-forward equity" in page  # curves of the live-optimized subaccount
    assert "sma_btc walk-forward equity" not in page  # the fixed one has none
    assert 'data-live="0"' in page  # finished with results: the page stops refreshing itself
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing external


def test_api_snapshot_matches_controller(client: httpx.Client, finished: RunController) -> None:
    response = client.get("/api/snapshot")
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    snap = finished.snapshot()
    assert data["state"] == snap.state == "finished"
    assert [row["id"] for row in data["subaccounts"]] == [row.id for row in snap.subaccounts]
    assert data["subaccounts"][0]["parameters"]["rsi"] == 7
    assert data == to_jsonable(snap)


def test_api_results_equals_controller_results(client: httpx.Client, finished: RunController) -> None:
    response = client.get("/api/results")
    assert response.status_code == 200
    data = response.json()
    assert data == to_jsonable(finished.results)
    assert data["extra"]["optimization"]["opt_btc"]["curves"]["times_ms"]


def test_svg_endpoints(client: httpx.Client, finished: RunController) -> None:
    equity = client.get("/plot/equity.svg")
    assert equity.status_code == 200
    assert equity.headers["content-type"] == "image/svg+xml"
    assert equity.text.startswith("<svg") and equity.text.count("<polyline") >= 4  # axes + account + 2 subs
    price = client.get("/plot/price/sma_btc.svg")
    assert price.headers["content-type"] == "image/svg+xml"
    assert "<polyline" in price.text
    for name, _overlay, _values in finished.snapshot().charts["sma_btc"].indicators:
        assert f">{name}</text>" in price.text


def test_unknown_paths_404_and_read_only(client: httpx.Client) -> None:
    assert client.get("/plot/price/nope.svg").status_code == 404
    assert "nope" in client.get("/plot/price/nope.svg").text
    assert client.get("/admin").status_code == 404
    post = client.post("/api/snapshot", content=b"{}")
    assert post.status_code == 405
    assert post.headers["allow"] == "GET"


def test_results_404_while_running_and_stop_releases_port(tmp_path: Path) -> None:
    config = web_config(tmp_path)
    del config["subaccounts"][1]
    controller = RunController(parse_config(json.dumps(config), source="web.json"))
    controller.build()  # built, not started: no results yet
    server = WebServer(controller, port=0)
    server.start()
    try:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", server.url) and server.port > 0
        with httpx.Client(base_url=server.url, timeout=10) as http:
            assert http.get("/api/results").status_code == 404
            page = http.get("/").text
            assert 'data-live="1"' in page and "sma_btc" in page
    finally:
        server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)
    server.stop()  # idempotent
    controller.close()


def test_chromium_screenshot(server: WebServer, tmp_path: Path) -> None:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed: no browser screenshot")
    shot = tmp_path / "page.png"
    subprocess.run(
        [
            str(CHROMIUM) if CHROMIUM.exists() else "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,900",
            server.url,
        ],
        check=True,
        timeout=60,
        capture_output=True,
    )
    assert shot.exists()
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one

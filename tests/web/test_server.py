"""The JSON API and pages against real runs, driven by the real httpx client; numbers checked independently."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from kektrade.control.facade import RunController
from kektrade.persistence.database import open_run_database
from kektrade.web.server import WebServer

from .conftest import RUN_ID


def api(http: httpx.Client, endpoint: str, **params: object) -> httpx.Response:
    """GET /api/runs/<RUN_ID>/<endpoint>."""
    return http.get(f"/api/runs/{RUN_ID}/{endpoint}", params={k: str(v) for k, v in params.items()})


def test_index_goes_to_the_only_run_and_pages_are_local(client: httpx.Client) -> None:
    first = client.get("/")
    assert first.status_code == 302 and first.headers["location"] == f"/runs/{RUN_ID}/"
    page = client.get(f"/runs/{RUN_ID}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/lightweight-charts.standalone.production.js" in page.text and "/static/app.js" in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    library = client.get("/static/lightweight-charts.standalone.production.js")
    assert library.status_code == 200 and library.headers["content-type"].startswith("text/javascript")
    assert "Lightweight Charts" in library.text[:400]
    assert client.get("/static/../server.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_results_are_compact_and_equal_the_controller(client: httpx.Client, finished: RunController) -> None:
    got = api(client, "results")
    data = got.json()
    assert finished.results is not None
    assert len(got.content) < 300_000
    for entry, full in zip(data["subaccounts"], finished.results["subaccounts"], strict=True):
        assert "fills" not in entry and "trades" not in entry
        assert entry["metrics"] == full["metrics"] and entry["analysis"] == full["analysis"]
    assert data["account"] == json.loads(json.dumps(finished.results["account"]))
    stored = json.loads((finished.paths.folder / "results.json").read_text())  # type: ignore[union-attr]
    assert data["extra"] == stored["extra"]


def test_candles_by_range(client: httpx.Client, finished: RunController) -> None:
    inst = finished.session.instances[0]  # type: ignore[union-attr]
    market = inst.venue.market
    latest = api(client, "candles", sub="sma_btc", limit=100).json()
    assert latest["time_ms"] == list(market.time_ms[-100:]) and latest["close"] == list(market.close[-100:])
    assert latest["more"] is True and latest["total"] == len(market.time_ms) and latest["timeframe_ms"] == 300_000
    assert latest["overlay"] == {name: overlay for name, overlay in inst.plot_indicators(6)}
    end = market.time_ms[500]
    older = api(client, "candles", sub="sma_btc", end=end, limit=50).json()
    assert older["time_ms"] == list(market.time_ms[450:500])  # the 50 candles before ``end``
    for name in older["indicators"]:
        expected = inst.frame[name].to_numpy()[450:500]
        got = np.array([np.nan if v is None else v for v in older["indicators"][name]])
        np.testing.assert_allclose(got, expected, equal_nan=True)
    first = api(client, "candles", sub="sma_btc", start=0, end=market.time_ms[10]).json()
    assert first["more"] is False and len(first["time_ms"]) == 10
    assert api(client, "candles", sub="sma_btc", limit=10**9).json()["time_ms"].__len__() <= 5000


def test_fills_equity_switches(client: httpx.Client, finished: RunController) -> None:
    inst = finished.session.instances[0]  # type: ignore[union-attr]
    fills = inst.venue.fills
    start, end = fills[2].time_ms, fills[-3].time_ms
    got = api(client, "fills", sub="sma_btc", start=start, end=end).json()["fills"]
    expected = [f for f in fills if start <= f.time_ms < end]
    assert [(f["time_ms"], f["price"], f["fee"]) for f in got] == [(f.time_ms, f.price, f.fee) for f in expected]
    equity = api(client, "equity", sub="sma_btc", points=100000).json()
    assert equity["times_ms"] == inst.times_ms and equity["equity"] == inst.equity
    peaks = np.maximum.accumulate(np.array(inst.equity))
    np.testing.assert_allclose(equity["drawdown"], 1 - np.array(inst.equity) / peaks)
    small = api(client, "equity", points=20).json()
    assert len(small["times_ms"]) <= 22 and small["sub"] is None
    switches = api(client, "switches", sub="opt_btc").json()["switches"]
    report = finished.results["extra"]["optimization"]["opt_btc"]  # type: ignore[index]
    assert [s["parameters"] for s in switches] == [s["parameters"] for s in report["selections"]]


def test_trades_sort_filter_page(client: httpx.Client, finished: RunController) -> None:
    stored = json.loads((finished.paths.folder / "trades.json").read_text())["subaccounts"]  # type: ignore[union-attr]
    everything = [dict(r, subaccount=s) for s, rows in stored.items() for r in rows]
    page = api(client, "trades", sort="pnl_quote", desc=1, limit=5).json()
    assert page["total"] == len(everything)
    best = sorted(everything, key=lambda r: -r["pnl_quote"])[:5]
    assert [r["pnl_quote"] for r in page["rows"]] == [r["pnl_quote"] for r in best]
    only = api(client, "trades", q="opt_btc", limit=1000).json()
    assert only["total"] == len(stored["opt_btc"]) and {r["subaccount"] for r in only["rows"]} == {"opt_btc"}
    second = api(client, "trades", sub="sma_btc", offset=5, limit=5).json()
    assert [r["n"] for r in second["rows"]] == [r["n"] for r in stored["sma_btc"][5:10]]


def test_bad_requests_name_the_parameter(client: httpx.Client) -> None:
    assert api(client, "candles").status_code == 400 and "sub" in api(client, "candles").json()["error"]
    bad = api(client, "candles", sub="sma_btc", limit="many")
    assert bad.status_code == 400 and "limit" in bad.json()["error"]
    assert api(client, "trades", sort="evil").status_code == 400
    assert api(client, "candles", sub="nope").status_code == 404
    assert api(client, "nope").status_code == 404
    assert client.get("/api/runs/other/info").status_code == 404
    assert client.get("/runs/other/").status_code == 404
    post = client.post(f"/api/runs/{RUN_ID}/info", content=b"{}")
    assert post.status_code == 405 and "GET" in post.headers["allow"]


def test_stored_run_after_its_process_ended(stored_server: WebServer, ended_run: tuple[Path, str]) -> None:
    history, run_id = ended_run
    with httpx.Client(base_url=stored_server.url, timeout=60) as http:
        runs = http.get("/api/runs").json()["runs"]
        assert [r["run_id"] for r in runs] == [run_id] and runs[0]["state"] == "finished"
        results = json.loads((history / run_id / "results.json").read_text())
        assert runs[0]["metrics"] == results["account"]["metrics"]
        info = http.get(f"/api/runs/{run_id}/info").json()
        assert [s["id"] for s in info["subaccounts"]] == ["sma_btc", "opt_btc"] and info["live"] is False
        candles = http.get(f"/api/runs/{run_id}/candles", params={"sub": "sma_btc"}).json()
        assert len(candles["time_ms"]) == 2000 and candles["more"] and candles["total"] == 8 * 288
        with open_run_database(history / run_id / "run.sqlite") as db:
            fills = db.fills("sma_btc")
            times, equity, _ = db.equity("sma_btc")
        got = http.get(f"/api/runs/{run_id}/fills", params={"sub": "sma_btc"}).json()["fills"]
        assert [(f["time_ms"], f["qty"]) for f in got] == [(f.time_ms, abs(f.contracts)) for f in fills]
        eq = http.get(f"/api/runs/{run_id}/equity", params={"sub": "sma_btc", "points": 20000}).json()
        assert eq["times_ms"] == times and eq["equity"] == pytest.approx(equity)
        trades = json.loads((history / run_id / "trades.json").read_text())["subaccounts"]
        page = http.get(f"/api/runs/{run_id}/trades", params={"sub": "opt_btc", "limit": 1000}).json()
        assert [r["n"] for r in page["rows"]] == [r["n"] for r in trades["opt_btc"]]


def test_round_trips_carry_the_parameters_in_force(stored_server: WebServer, ended_run: tuple[Path, str]) -> None:
    """Each optimized trade's parameters are the optimizer's last pick before its entry (from the database)."""
    history, run_id = ended_run
    with open_run_database(history / run_id / "run.sqlite") as db:
        picks = [(s.time_ms, s.parameters) for s in db.selections("opt_btc")]
    trades = json.loads((history / run_id / "trades.json").read_text())["subaccounts"]
    assert trades["opt_btc"], "the optimized subaccount traded"
    for row in trades["opt_btc"]:
        before = [p for t, p in picks if t <= row["entry_time_ms"]]
        assert row["parameters"] == (before[-1] if before else None)
    assert {r["parameters"]["rsi"] for r in trades["sma_btc"]} == {7}
    reasons = {r["exit_reason"] for rows in trades.values() for r in rows}
    assert reasons <= {"strategy", "stop", "take_profit", "liquidation", "flatten", "optimizer_switch", "open"}


def test_trades_while_running_are_rebuilt_like_the_results(finished: RunController) -> None:
    """The running path (no results yet) rebuilds round trips from the fills and tags seen so far."""
    from types import SimpleNamespace

    from kektrade.control.viewing import LiveView

    going = SimpleNamespace(run_id="going", results=None, session=finished.session, paths=None)
    view = LiveView(going)  # type: ignore[arg-type]
    stored = json.loads((finished.paths.folder / "trades.json").read_text())["subaccounts"]  # type: ignore[union-attr]
    for sub_id, rows in stored.items():
        assert json.loads(json.dumps(view.trades(sub_id))) == rows

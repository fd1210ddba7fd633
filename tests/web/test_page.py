"""The page renderer on hand-built snapshots: escaping, formatting, refresh flag, sections."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from kektrade.engine.snapshot import ChartData, EngineSnapshot, FillRow, OrderRow, Progress, SubaccountRow
from kektrade.web.charts import curves_svg, optimization_curves, price_svg
from kektrade.web.jsonify import dumps, to_jsonable
from kektrade.web.page import render_page
from kektrade.web.tables import fills_table, num, price

EVIL = '<script>alert("x")</script>'


def row(sub_id: str = "a", **changes: object) -> SubaccountRow:
    """A subaccount row with a few fields changed."""
    base: dict[str, object] = dict(
        id=sub_id,
        venue="backtest_perpetual",
        pair="BTC/USDT:USDT",
        strategy="S",
        parameters={"n": 3},
        status="running",
        contracts=0.0,
        entry_price=0.0,
        mark_price=100.0,
        liquidation_price=0.0,
        unrealized_pnl=0.0,
        equity=1000.0,
        equity_quote=1000.0,
        settle_currency="USDT",
    )
    base.update(changes)
    return SubaccountRow(**base)  # type: ignore[arg-type]


def snapshot(state: str = "running", **changes: object) -> EngineSnapshot:
    """A small running snapshot of one subaccount with a chart."""
    base: dict[str, object] = dict(
        run_id="r1",
        mode="backtest",
        testnet=False,
        state=state,
        now_ms=1_704_067_200_000,
        progress=Progress(50, 100, 1000.0, 0.05, 1.0),
        subaccounts=(row(),),
        equity_times_ms=(1, 2, 3),
        equity_total=(1000.0, 1001.0, 999.0),
        equity_by_subaccount={"a": (1000.0, 1001.0, 999.0)},
        charts={
            "a": ChartData(
                (1, 2, 3),
                (1.0,) * 3,
                (2.0,) * 3,
                (0.5,) * 3,
                (1.0, 1.5, math.nan),
                (("ema<3>", True, (1.0, 1.2, 1.3)), ("rsi", False, (40.0, 60.0, 55.0))),
            )
        },
    )
    base.update(changes)
    return EngineSnapshot(**base)  # type: ignore[arg-type]


def test_html_characters_are_escaped_everywhere() -> None:
    order = OrderRow("a", EVIL, "buy", "limit", 1.0, None, 1.0, 0.0, True, False, 0, "open")
    snap = snapshot(
        subaccounts=(row(parameters={"p": EVIL}, error=EVIL),),
        orders=(order,),
        message=EVIL,
    )
    page = render_page(snap, {"x": 1}, f"results {EVIL}", error=EVIL)
    assert EVIL not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 5
    assert "ema&lt;3&gt;" in page  # an indicator name in the SVG legend


def test_sections_and_formatting() -> None:
    page = render_page(snapshot(subaccounts=(row(contracts=0.5, entry_price=42_000.5, unrealized_pnl=12.3456),)))
    assert "<h2>Subaccounts</h2>" in page and "<h2>Open orders</h2>" in page and "no open orders" in page
    assert "<td>42,000.50</td>" in page and "<td>+12.35</td>" in page and "<td>1,000.00 USDT</td>" in page
    assert "<td>n=3</td>" in page and "2024-01-01 00:00" in page and "50.0%" in page
    assert "<h2>Results</h2>" not in page  # none yet
    assert page.count("<svg") >= 3  # equity, price, indicator panel


def test_refresh_stops_once_results_or_error_are_there() -> None:
    assert 'data-live="1"' in render_page(snapshot("running"))
    assert 'data-live="1"' in render_page(snapshot("finished"))  # results still being written
    assert 'data-live="0"' in render_page(snapshot("finished"), {"x": 1}, "table")
    assert 'data-live="0"' in render_page(snapshot("failed"), error="boom")
    assert "ms=2500;" in render_page(snapshot(), refresh_ms=2500)


def test_numbers_blank_when_missing() -> None:
    assert num(math.nan) == "-" and num(None) == "-" and num(math.inf) == "-"
    assert price(0.123456) == "0.123456" and price(1.5) == "1.5000" and price(42_000.5) == "42,000.50"
    assert num(0.0, blank_zero=True) == "-" and num(0.0) == "0.00" and num(-1.5, signed=True) == "-1.50"


def test_fills_newest_first_and_limited() -> None:
    fills = [FillRow(i * 60_000, "trade", "buy", 1.0, 100.0 + i, 0.1, 0.0, float(i)) for i in range(30)]
    html = fills_table(fills, limit=5)
    assert html.count("<tr>") == 6 and html.index("129.00") < html.index("125.00") and "124.00" not in html


def test_price_chart_and_curves() -> None:
    snap = snapshot()
    svg = price_svg(snap, "a")
    assert svg is not None and ">close</text>" in svg and ">rsi</text>" in svg and price_svg(snap, "b") is None
    curves = {"times_ms": [1, 2], "live": [1.0, 2.0], "best": [1.0, 3.0], "median": [1.0, 1.5], "worst": [1.0, 0.5]}
    results = {"extra": {"optimization": {"a": {"curves": curves}}}}
    assert optimization_curves(results, "a") == curves and optimization_curves(results, "b") is None
    assert optimization_curves({"extra": {"optimization": {"a": {"curves": {"times_ms": []}}}}}, "a") is None
    walk = curves_svg(results, "a")
    assert walk is not None and walk.count("stroke-width") == 4 and ">live-opt</text>" in walk


def test_json_of_snapshot_has_no_nan() -> None:
    data = to_jsonable(snapshot())
    assert data["charts"]["a"]["close"] == [1.0, 1.5, None]
    assert data["progress"] == {"done": 50, "total": 100, "candles_per_s": 1000.0, "eta_s": 0.05, "elapsed_s": 1.0}
    assert to_jsonable({"x": (math.inf, -math.inf, {1, 2})}) == {"x": [None, None, [1, 2]]}
    assert b"NaN" not in dumps(snapshot()) and b"Infinity" not in dumps({"v": math.inf})


def test_refresh_script_is_valid_javascript(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: no JavaScript syntax check")
    page = render_page(snapshot())
    script = page[page.index("<script>") + len("<script>") : page.index("</script>")]
    source = tmp_path / "refresh.js"
    source.write_text(script)
    subprocess.run([node, "--check", str(source)], check=True, timeout=30, capture_output=True)

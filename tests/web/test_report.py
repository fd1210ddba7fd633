"""``kektrade report``: one HTML file that opens offline, draws its charts, and shows results.json's numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kektrade.cli import main

from .test_browser import DRAWN_PIXELS, Page


@pytest.fixture(scope="module")
def report(ended_run: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the ended run, written by the CLI."""
    history, run_id = ended_run
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["report", run_id, "--history-dir", str(history), "-o", str(out)]) == 0
    return out


def embedded(path: Path) -> Any:
    """The data the report carries inline."""
    html = path.read_text(encoding="utf-8")
    found = re.search(r'<script id="kektrade-data" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_report_is_self_contained(report: Path, ended_run: tuple[Path, str]) -> None:
    html = report.read_text(encoding="utf-8")
    assert "<script src=" not in html and '<link rel="stylesheet"' not in html  # everything inline
    assert "Lightweight Charts" in html and "kektrade-data" in html
    data = embedded(report)
    history, run_id = ended_run
    results = json.loads((history / run_id / "results.json").read_text())
    for got, full in zip(data["results"]["subaccounts"], results["subaccounts"], strict=True):
        assert got == {k: v for k, v in full.items() if k != "fills"}
    assert data["results"]["account"] == results["account"]
    trades = json.loads((history / run_id / "trades.json").read_text())["subaccounts"]
    assert {sid: sub["trades"] for sid, sub in data["subs"].items()} == trades
    assert len(data["subs"]["sma_btc"]["candles"]["time_ms"]) == 8 * 288


def test_report_opens_offline_with_the_same_numbers(
    report: Path, browser: Any, ended_run: tuple[Path, str], tmp_path: Path
) -> None:
    tab = Page(browser)
    requested: list[str] = []

    def block(route: Any) -> None:
        if not route.request.url.startswith(("file:", "data:")):
            requested.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    tab.context.route("**/*", block)
    try:
        page = tab.open(report.as_uri())
        assert requested == [] and tab.problems() == []
        assert page.evaluate(DRAWN_PIXELS, "#price-chart") > 2000
        assert page.evaluate(DRAWN_PIXELS, "#equity-chart") > 500
        history, run_id = ended_run
        results = json.loads((history / run_id / "results.json").read_text())
        metrics = results["account"]["metrics"]
        cards = dict(
            zip(
                page.locator("#account-cards .card span").all_inner_texts(),
                page.locator("#account-cards .card b").all_inner_texts(),
                strict=True,
            )
        )
        assert cards["return (quote)"] == f"{100 * metrics['total_return']:,.2f} %"
        assert cards["max drawdown"] == f"{100 * metrics['max_drawdown']:,.2f} %"
        assert cards["trades"] == f"{metrics['trades']:,}"
        assert cards["final equity (quote)"] == f"{results['account']['final']:,.2f}"
        trades = json.loads((history / run_id / "trades.json").read_text())["subaccounts"]
        assert page.locator("#trade-table tbody tr").count() == min(100, sum(len(r) for r in trades.values()))
        page.evaluate("window.kektrade.charts.price.timeScale().setVisibleLogicalRange({from: -20, to: 200})")
        assert tab.poll("window.kektrade.price.candles.length", lambda n: n == 8 * 288) == 8 * 288
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert requested == [] and tab.problems() == []
    finally:
        tab.context.close()


def test_report_of_an_unknown_run_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "nope", "--history-dir", str(tmp_path)]) == 2
    assert "no run 'nope'" in capsys.readouterr().err
    assert main(["serve", "nope", "--history-dir", str(tmp_path)]) == 2

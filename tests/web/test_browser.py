"""The page in headless Chromium: no console errors, charts drawn, zoom, lazy candle loading, tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kektrade.web.server import WebServer

from .conftest import RUN_ID

# pixels of a canvas that differ from the page background: proof that something was drawn
DRAWN_PIXELS = """(selector) => {
  let best = 0;
  for (const c of document.querySelectorAll(selector + ' canvas')) {
    if (!c.width || !c.height) continue;
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 16) {
      if (data[i + 3] > 0 && Math.abs(data[i] - 13) + Math.abs(data[i + 1] - 17) + Math.abs(data[i + 2] - 23) > 40) n++;
    }
    best = Math.max(best, n);
  }
  return best;
}"""


class Page:
    """A Playwright page that records console messages and page errors."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.messages: list[tuple[str, str]] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))

    def open(self, url: str) -> Any:
        """Load ``url`` and wait until the script says it is ready."""
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready]", state="attached", timeout=60_000)
        assert self.page.evaluate("document.body.dataset.ready") == "1", self.messages
        return self.page

    def problems(self) -> list[tuple[str, str]]:
        """Console errors and warnings, and uncaught exceptions."""
        return [(t, m) for t, m in self.messages if t in ("error", "warning", "pageerror")]

    def poll(self, script: str, done: Any, tries: int = 200) -> Any:
        """Evaluate ``script`` until ``done(value)`` (a bounded wait for the page's own fetches)."""
        value = None
        for _ in range(tries):
            value = self.page.evaluate(script)
            if done(value):
                return value
            self.page.wait_for_timeout(100)
        return value


@pytest.fixture
def tab(browser: Any) -> Iterator[Page]:
    """A fresh browser tab."""
    page = Page(browser)
    yield page
    page.context.close()


WIDTH = (
    "(() => { const r = window.kektrade.charts.price.timeScale().getVisibleLogicalRange(); return r.to - r.from; })()"
)


def visible_width(page: Any) -> float:
    """Logical bars shown by the price chart."""
    return float(page.evaluate(WIDTH))


def test_live_run_page_draws_and_zooms(tab: Page, server: WebServer, tmp_path: Path) -> None:
    page = tab.open(f"{server.url}runs/{RUN_ID}/")
    assert tab.problems() == []
    assert page.locator("#price-chart canvas").count() >= 3 and page.locator("#equity-chart canvas").count() >= 3
    assert page.evaluate(DRAWN_PIXELS, "#price-chart") > 2000
    assert page.evaluate(DRAWN_PIXELS, "#equity-chart") > 500
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 100_000
    before = visible_width(page)
    box = page.locator("#price-chart").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    for _ in range(3):
        page.mouse.wheel(0, -400)  # zoom in
    after = tab.poll(WIDTH, lambda w: w < before * 0.9)
    assert after < before * 0.9
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 200, box["y"] + box["height"] / 3, steps=5)  # pan right
    page.mouse.up()
    shifted = page.evaluate("window.kektrade.charts.price.timeScale().getVisibleLogicalRange().to")
    assert shifted < page.evaluate("window.kektrade.price.candles.length")  # dragged back in time
    assert tab.problems() == []


def test_markers_tables_sorting_and_filter(tab: Page, server: WebServer, finished: Any) -> None:
    page = tab.open(f"{server.url}runs/{RUN_ID}/")
    texts = page.evaluate("window.kektrade.price.markers.markers().map(m => m.text)")
    assert "B" in texts and "S" in texts
    page.select_option("#sub-select", "opt_btc")
    texts = tab.poll(
        "(() => { const p = window.kektrade.price;"
        " return p && p.markers ? p.markers.markers().map(m => m.text) : []; })()",
        lambda t: "opt" in t,
    )
    assert "opt" in texts  # the live optimizer's switches
    stored = json.loads((finished.paths.folder / "trades.json").read_text())["subaccounts"]
    total = sum(len(rows) for rows in stored.values())
    assert page.locator("#trade-table tbody tr").count() == min(total, 100)
    page.click("#trade-table th[data-sort=pnl_quote]")  # ascending
    page.click("#trade-table th[data-sort=pnl_quote]")  # descending
    best = max(r["pnl_quote"] for rows in stored.values() for r in rows)
    first = tab.poll(
        "(() => { const th = document.querySelector('#trade-table th.sorted'); return th && th.textContent; })()",
        lambda t: t and "▼" in t,
    )
    assert first and "▼" in first
    cell = page.locator("#trade-table tbody tr").first.locator("td").nth(9).inner_text()
    assert cell == f"{best:,.2f}"
    page.fill("#trade-filter", "opt_btc")
    rows = tab.poll("document.querySelectorAll('#trade-table tbody tr').length", lambda n: n == len(stored["opt_btc"]))
    assert rows == len(stored["opt_btc"])
    assert set(page.locator("#trade-table tbody tr td:nth-child(2)").all_inner_texts()) == {"opt_btc"}
    assert "opt_btc: 42 combinations" in page.locator("#optimization-body").inner_text()
    page.select_option("#period-select", "day")
    assert page.locator("#period-table tbody tr").count() == len(
        finished.results["account"]["analysis"]["periods"]["day"]
    )
    assert tab.problems() == []


def test_finished_run_browsable_after_its_process_ended(
    tab: Page, stored_server: WebServer, ended_run: tuple[Path, str]
) -> None:
    _history, run_id = ended_run
    listing = tab.open(stored_server.url)  # one run: straight to it
    assert listing.url.endswith(f"/runs/{run_id}/")
    page = listing
    assert page.locator("#state").inner_text() == "finished"
    assert page.evaluate(DRAWN_PIXELS, "#price-chart") > 2000
    loaded = page.evaluate("window.kektrade.price.candles.length")
    assert loaded == 2000  # the latest window; 8 days of 5m candles = 2304 in the run
    page.evaluate("window.kektrade.charts.price.timeScale().setVisibleLogicalRange({from: -20, to: 200})")
    count = tab.poll("window.kektrade.price.candles.length", lambda n: n == 8 * 288)
    assert count == 8 * 288  # older candles came by range as the view reached the left edge
    times = page.evaluate("window.kektrade.price.candles.map(c => c.time)")
    assert times == sorted(set(times))
    assert tab.problems() == []


def test_page_of_a_run_that_has_not_ended(tab: Page, tmp_path: Path) -> None:
    """Built, not finished: the page draws candles and says results come at the end (it polls the state)."""
    from kektrade.config import parse_config
    from kektrade.control.facade import RunController
    from kektrade.control.viewing import LiveView, RunCatalog

    from .conftest import web_config

    config = web_config(tmp_path)
    del config["subaccounts"][1]
    controller = RunController(parse_config(json.dumps(config), source="web.json"))
    controller.build()
    controller.run_id = "going"
    web = WebServer(RunCatalog([LiveView(controller)]), port=0)
    web.start()
    try:
        page = tab.open(f"{web.url}runs/going/")
        assert page.locator("#state").inner_text() == "starting"
        assert "results appear when the run ends" in page.locator("#account-cards").inner_text()
        assert page.locator("#sub-table tbody tr").count() == 1
        assert page.evaluate("window.kektrade.price.candles.length") == 0  # the engine reached none yet
        inst = controller.session.instances[0]  # type: ignore[union-attr]
        inst.advance(inst.first_index + 300)  # the engine moves on (driven here, step by step)
        reached = inst.first_index + 300
        got = tab.poll("window.kektrade.price.candles.length", lambda n: n == reached)
        assert got == reached  # the refresh drew the candles reached so far
        assert page.evaluate(DRAWN_PIXELS, "#price-chart") > 2000
        inst.advance(reached + 50)
        got = tab.poll("window.kektrade.price.candles.length", lambda n: n == reached + 50)
        assert got == reached + 50  # new candles appended, not redrawn from scratch
        assert tab.poll("window.kektrade.refreshes", lambda n: n >= 2) >= 2
        assert page.locator("#state").inner_text() == "starting" and tab.problems() == []
    finally:
        web.stop()
        controller.close()


def test_a_running_run_shows_the_live_set_the_leaderboard_and_exchange_faults(tab: Page, tmp_path: Path) -> None:
    """While a run goes, the page shows each subaccount's live parameters and notices and the optimizer's ranking."""
    from dataclasses import replace

    from kektrade.config import parse_config
    from kektrade.control.facade import RunController
    from kektrade.control.viewing import LiveView, RunCatalog

    from .conftest import web_config

    config = web_config(tmp_path)
    del config["subaccounts"][1]
    controller = RunController(parse_config(json.dumps(config), source="web.json"))
    controller.build()
    controller.run_id = "going"
    snap = controller.session.engine.snapshot()  # type: ignore[union-attr]
    notice = "exchange faults (2): http_503 on fetch_positions; retrying"
    row = replace(snap.subaccounts[0], parameters={"sma": 50, "rsi": 7}, notice=notice, status="running")
    board = [({"sma": 50, "rsi": 7}, 1.25), ({"sma": 100, "rsi": 5}, 0.5)]
    controller._publish(replace(snap, subaccounts=(row,), leaderboards={row.id: board}))
    web = WebServer(RunCatalog([LiveView(controller)]), port=0)
    web.start()
    try:
        page = tab.open(f"{web.url}runs/going/")
        table = page.locator("#sub-table").inner_text()
        assert "sma" in table and "50" in table and "rsi" in table  # the live set, not a never-live default
        assert "http_503" in table
        rows = page.locator("#optimization-body .leaderboard tbody tr")
        assert rows.count() == 2
        assert "1.2500" in rows.nth(0).inner_text() and "0.5000" in rows.nth(1).inner_text()
        assert tab.problems() == []
    finally:
        web.stop()
        controller.close()

"""Make the web page's screenshots in docs/images/ from a real run, so the docs show what the code draws.

Runs a 10-day synthetic backtest with the ``kektrade`` CLI (one fixed and one live-optimized SMA/RSI
subaccount), serves the finished run like ``kektrade serve``, opens it in headless Chromium (Playwright
driving /usr/bin/chromium) and saves:

- docs/images/web-overview.png  header, account figures, subaccounts, the candle chart with fills
- docs/images/web-chart.png     the candle chart zoomed in (markers, indicator panes)
- docs/images/web-tables.png    equity and drawdown, round trips, the period/exit-reason analysis

Usage: ``.venv/bin/python scripts/web_screenshots.py`` (from the repository root).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"


def config(tmp: Path) -> dict[str, object]:
    """Ten days of synthetic 5m BTC candles: SMA/RSI fixed and SMA/RSI re-optimized daily."""
    subs = [
        {
            "id": "sma_btc",
            "strategy": "SmaRsiStrategy",
            "pair": "BTC/USDT:USDT",
            "timeframe": "5m",
            "leverage": 3,
            "parameters": {"rsi": 7, "sma": 50},
        },
        {
            "id": "opt_btc",
            "strategy": "SmaRsiStrategy",
            "pair": "BTC/USDT:USDT",
            "timeframe": "5m",
            "leverage": 2,
            "optimization": {"enabled": True, "reoptimize_every": "1d", "lookback": "2d", "workers": 1},
        },
    ]
    return {
        "metastrategy_id": "screenshots",
        "strategies_dir": str(ROOT / "strategies"),
        "history_dir": str(tmp / "history"),
        "data": {"source": "synthetic", "synthetic": {"seed": 7, "start": "2024-01-01", "days": 10}},
        "subaccounts": subs,
    }


def run_backtest(tmp: Path) -> Path:
    """Run the backtest in a ``kektrade`` process; the history folder."""
    path = tmp / "config.json"
    path.write_text(json.dumps(config(tmp)))
    subprocess.run(
        [sys.executable, "-m", "kektrade", str(path), "--no-tui", "--log-level", "WARNING"],
        cwd=tmp,
        check=True,
        capture_output=True,
    )
    return tmp / "history"


def shoot(history: Path) -> None:
    """Serve the run and save the screenshots."""
    from playwright.sync_api import sync_playwright

    from kektrade.control.viewing import RunCatalog
    from kektrade.web.server import WebServer

    server = WebServer(RunCatalog(history_dir=history), port=0)
    server.start()
    IMAGES.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1500, "height": 1250})
            page.goto(server.url)
            page.wait_for_selector("body[data-ready]", state="attached", timeout=120_000)
            page.screenshot(path=str(IMAGES / "web-overview.png"))
            page.evaluate(
                "window.kektrade.charts.price.timeScale().setVisibleLogicalRange("
                "{from: window.kektrade.price.candles.length - 160, to: window.kektrade.price.candles.length})"
            )
            page.locator("#market").screenshot(path=str(IMAGES / "web-chart.png"))
            page.set_viewport_size({"width": 1500, "height": 2200})
            page.locator("#equity").scroll_into_view_if_needed()
            page.screenshot(
                path=str(IMAGES / "web-tables.png"),
                clip={
                    "x": 0,
                    "y": page.locator("#equity").bounding_box()["y"] + page.evaluate("window.scrollY") - 10,
                    "width": 1500,
                    "height": 2000,
                },
                full_page=True,
            )
            browser.close()
    finally:
        server.stop()


def main() -> int:
    """Run, serve, shoot."""
    with tempfile.TemporaryDirectory() as tmp:
        shoot(run_backtest(Path(tmp)))
    for name in ("web-overview.png", "web-chart.png", "web-tables.png"):
        print(IMAGES / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

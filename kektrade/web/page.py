"""The HTML shells: the run list, a run's page and the self-contained report (the script fills them in)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

STATIC_DIR = Path(__file__).with_name("static")
CHART_LIBRARY = "lightweight-charts.standalone.production.js"
SCRIPTS = (CHART_LIBRARY, "app.js")

RUN_BODY = """
<header><a href="{home}" class="home">kektrade</a><h1>run <span id="run-id">{run}</span></h1>
<span id="state" class="badge"></span><span id="progress"></span><span id="message"></span></header>
<main>
<section id="summary"><h2>Account</h2><div id="account-cards" class="cards"></div></section>
<section id="subs"><h2>Subaccounts</h2><div id="sub-table"></div></section>
<section id="market"><h2>Chart <select id="sub-select" aria-label="subaccount"></select>
<span class="legend" id="marker-legend"></span></h2>
<div id="price-chart" class="chart tall"></div><p id="chart-note" class="muted"></p></section>
<section id="equity"><h2>Equity and drawdown <select id="equity-select" aria-label="equity of"></select></h2>
<div id="equity-chart" class="chart"></div></section>
<section id="trades"><h2>Round trips <input id="trade-filter" type="search" placeholder="filter: long, stop, rsi=7 ...">
<select id="trade-scope" aria-label="trades of"></select></h2>
<div id="trade-table"></div><div id="trade-pager" class="pager"></div></section>
<section id="analysis"><h2>Analysis <select id="analysis-scope" aria-label="analysis of"></select>
<select id="period-select" aria-label="period"><option>day</option><option>week</option>
<option selected>month</option></select></h2>
<div class="grid"><div><h3>Periods</h3><div id="period-table"></div></div>
<div><h3>Exit reasons</h3><div id="exit-table"></div><h3>Best trades</h3><div id="best-table"></div>
<h3>Worst trades</h3><div id="worst-table"></div><h3>Ratios</h3><div id="ratio-table"></div></div></div></section>
<section id="orders"><h2>Open orders</h2><div id="order-table"></div></section>
<section id="optimization"><h2>Walk-forward and overfitting</h2><div id="optimization-body"></div></section>
</main>
<footer>charts: TradingView Lightweight Charts (Apache-2.0), shipped with kektrade</footer>
"""

LIST_BODY = """
<header><span class="home">kektrade</span><h1>runs</h1></header>
<main><section><div id="run-list"></div></section></main>
"""


def _document(title: str, body: str, head: str, tail: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{escape(title)}</title>{head}</head>'
        f"<body>{body}{tail}</body></html>"
    )


def _served_assets() -> tuple[str, str]:
    head = '<link rel="stylesheet" href="/static/app.css">'
    tail = "".join(f'<script src="/static/{name}"></script>' for name in SCRIPTS)
    return head, tail


def run_list_page() -> str:
    """The list of runs the server shows."""
    head, tail = _served_assets()
    return _document("kektrade runs", LIST_BODY, head, tail)


def run_page(run_id: str) -> str:
    """One run's page (its data comes through /api/runs/<id>/...)."""
    head, tail = _served_assets()
    body = RUN_BODY.format(home="/", run=escape(run_id))
    return _document(f"kektrade · {run_id}", f'<div id="app" data-run="{escape(run_id)}"></div>{body}', head, tail)


def inline_json(data: Any) -> str:
    """JSON safe inside a ``<script>`` element (no ``</script>`` or ``<!--`` can end it early)."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def report_page(run_id: str, data: Any) -> str:
    """The self-contained report: styles, the chart library, the script and the run's data inline."""
    css = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
    scripts = "".join(
        "<script>" + (STATIC_DIR / name).read_text(encoding="utf-8").replace("</script", "<\\/script") + "</script>"
        for name in SCRIPTS
    )
    payload = f'<script id="kektrade-data" type="application/json">{inline_json(data)}</script>'
    body = RUN_BODY.format(home="#", run=escape(run_id))
    app = f'<div id="app" data-run="{escape(run_id)}" data-report="1"></div>{body}'
    return _document(f"kektrade report · {run_id}", app, f"<style>{css}</style>", payload + scripts)

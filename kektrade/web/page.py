"""The one HTML page: header, subaccounts, orders, equity, per-subaccount price and fills, results."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from kektrade.engine.snapshot import EngineSnapshot
from kektrade.web.charts import curves_svg, equity_svg, price_svg
from kektrade.web.tables import fills_table, num, orders_table, subaccounts_table, utc

TERMINAL_STATES = ("finished", "failed", "stopped")

CSS = """
body{background:#0d1117;color:#c9d1d9;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
margin:0;padding:12px 18px}
h1{font-size:17px;margin:0 0 6px}h2{font-size:15px;margin:18px 0 6px;color:#58a6ff}
h3{font-size:13px;margin:12px 0 4px;color:#d29922}
header{display:flex;flex-wrap:wrap;gap:14px;align-items:center;border-bottom:1px solid #30363d;padding-bottom:8px}
.badge{background:#21262d;border:1px solid #30363d;border-radius:4px;padding:1px 7px}
.state-running{color:#3fb950}.state-failed{color:#f85149}.state-finished{color:#58a6ff}
.bar{display:inline-block;width:180px;height:9px;background:#21262d;border:1px solid #30363d;vertical-align:middle}
.bar>span{display:block;height:100%;background:#3fb950}
table{border-collapse:collapse;margin:4px 0}th,td{padding:2px 9px;border-bottom:1px solid #21262d;
white-space:nowrap;text-align:right}th{color:#8b949e;font-weight:normal;border-bottom:1px solid #30363d}
td:first-child,th:first-child{text-align:left}
table.subaccounts td:nth-child(-n+5),table.subaccounts th:nth-child(-n+5){text-align:left}
.empty{color:#8b949e}.error{color:#f85149}pre{background:#161b22;border:1px solid #30363d;padding:8px;
overflow-x:auto}section.sub{border-top:1px solid #21262d;margin-top:10px}svg{max-width:100%;height:auto}
footer{color:#8b949e;margin-top:16px}a{color:#58a6ff}
"""

SCRIPT = """
(function(){var b=document.body,ms=%d;
function key(s){return s.state+"|"+s.now_ms+"|"+s.progress.done;}
function swap(){return fetch("/",{cache:"no-store"}).then(function(r){return r.text();}).then(function(t){
var d=new DOMParser().parseFromString(t,"text/html");b.innerHTML=d.body.innerHTML;
b.dataset.key=d.body.dataset.key;b.dataset.live=d.body.dataset.live;});}
function tick(){fetch("/api/snapshot",{cache:"no-store"}).then(function(r){return r.json();}).then(function(s){
if(key(s)!==b.dataset.key||s.state==="finished"||s.state==="stopped"||s.state==="failed"){return swap();}
}).catch(function(){}).then(function(){if(b.dataset.live==="1"){setTimeout(tick,ms);}});}
if(b.dataset.live==="1"){setTimeout(tick,ms);}})();
"""


def page_key(snapshot: EngineSnapshot) -> str:
    """What the refresh script compares to decide whether the page changed."""
    return f"{snapshot.state}|{snapshot.now_ms}|{snapshot.progress.done}"


def header_html(snapshot: EngineSnapshot, error: str) -> str:
    """Mode, state, candle time and progress."""
    p = snapshot.progress
    mode = snapshot.mode.upper() + (" TESTNET" if snapshot.testnet else "")
    eta = "-" if p.eta_s is None else f"{p.eta_s:,.0f} s"
    parts = [
        f'<span class="badge">{escape(mode)}</span>',
        f'<span class="badge state-{escape(snapshot.state)}">{escape(snapshot.state)}</span>',
        f"<span>candle {escape(utc(snapshot.now_ms))} UTC</span>",
        f'<span><span class="bar"><span style="width:{100 * min(max(p.fraction, 0.0), 1.0):.1f}%"></span></span> '
        f"{100 * p.fraction:.1f}% {p.done:,}/{p.total:,} · {num(p.candles_per_s, 0)} c/s · ETA {escape(eta)} · "
        f"up {p.elapsed_s:,.0f} s</span>",
    ]
    if snapshot.message:
        parts.append(f"<span>{escape(snapshot.message)}</span>")
    if error:
        parts.append(f'<span class="error">error: {escape(error)}</span>')
    title = f"kektrade · run {snapshot.run_id}" if snapshot.run_id else "kektrade"
    return f"<h1>{escape(title)}</h1><header>{''.join(parts)}</header>"


def subaccount_sections(snapshot: EngineSnapshot) -> str:
    """Per subaccount: the price chart with plot indicators and its recent fills."""
    out = []
    for row in snapshot.subaccounts:
        chart = price_svg(snapshot, row.id) or '<p class="empty">no chart data</p>'
        fills = fills_table(snapshot.recent_fills.get(row.id, ()))
        out.append(
            f'<section class="sub" id="sub-{escape(row.id)}"><h3>{escape(row.id)} · {escape(row.pair)} · '
            f"{escape(row.strategy)}</h3>{chart}<h4>recent fills</h4>{fills}</section>"
        )
    return "".join(out)


def results_html(snapshot: EngineSnapshot, results: Mapping[str, Any] | None, results_text: str) -> str:
    """The results table and the walk-forward curves, once the run has results."""
    if not results:
        return ""
    curves = [svg for row in snapshot.subaccounts if (svg := curves_svg(results, row.id)) is not None]
    walk = "<h2>Walk-forward</h2>" + "".join(curves) if curves else ""
    return f"<h2>Results</h2><pre>{escape(results_text)}</pre>{walk}"


def render_page(
    snapshot: EngineSnapshot,
    results: Mapping[str, Any] | None = None,
    results_text: str = "",
    error: str = "",
    refresh_ms: int = 3000,
) -> str:
    """The whole page; it refreshes itself while the run can still change."""
    live = not ((snapshot.state in TERMINAL_STATES and results) or error)
    body = (
        header_html(snapshot, error)
        + "<h2>Subaccounts</h2>"
        + subaccounts_table(snapshot.subaccounts)
        + "<h2>Open orders</h2>"
        + orders_table(snapshot.orders)
        + "<h2>Equity</h2>"
        + equity_svg(snapshot)
        + results_html(snapshot, results, results_text)
        + "<h2>Subaccounts in detail</h2>"
        + subaccount_sections(snapshot)
        + '<footer>read-only view · JSON: <a href="/api/snapshot">/api/snapshot</a> · '
        '<a href="/api/results">/api/results</a></footer>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>kektrade {escape(snapshot.run_id)} · {escape(snapshot.state)}</title><style>{CSS}</style></head>"
        f'<body data-key="{escape(page_key(snapshot))}" data-live="{1 if live else 0}">{body}'
        f"<script>{SCRIPT % int(refresh_ms)}</script></body></html>"
    )

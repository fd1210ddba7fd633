"""``kektrade report RUNID``: one self-contained HTML file (chart library, script, styles and data inline)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kektrade.control.viewing import RunView, equity_block, fill_row
from kektrade.web.jsonify import to_jsonable
from kektrade.web.page import report_page

MAX_REPORT_CANDLES = 400_000  # about nine months of 1m candles; older ones are left out (said in the page)
EQUITY_POINTS = 5000


def _candles(view: RunView, sub_id: str) -> dict[str, Any]:
    market = view.market(sub_id)
    if market is None or market.error:
        return {"sub": sub_id, "error": market.error if market else "no candles", "time_ms": [], "indicators": {}}
    n = len(market.time_ms)
    lo = max(0, n - MAX_REPORT_CANDLES)
    return {
        "sub": sub_id,
        "timeframe_ms": market.timeframe_ms,
        **market.window(lo, n),
        "overlay": {name: overlay for name, overlay in market.indicators},
    }


def report_data(view: RunView) -> dict[str, Any]:
    """Everything the page reads through the API, in one JSON-ready structure."""
    info = view.info()
    subs: dict[str, Any] = {}
    for sub in info["subaccounts"]:
        sid = sub["id"]
        times, values = view.equity(sid)
        subs[sid] = {
            "candles": _candles(view, sid),
            "fills": [fill_row(f) for f in view.fills(sid)],
            "switches": view.switches(sid),
            "equity": {"sub": sid, **equity_block(times, values, EQUITY_POINTS)},
            "trades": view.trades(sid),
        }
    info = view.info()  # the candles are loaded now: the subaccounts' indicators are known
    times, values = view.equity(None)
    return to_jsonable(
        {
            "info": dict(info, live=False),
            "results": view.results(),
            "orders": {"orders": view.orders()},
            "subs": subs,
            "account_equity": {"sub": None, **equity_block(times, values, EQUITY_POINTS)},
        }
    )


def write_report(view: RunView, path: Path) -> Path:
    """Write the report of ``view`` to ``path`` (atomically); returns the path."""
    html = report_page(view.run_id, report_data(view))
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path

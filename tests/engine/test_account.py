"""The meta-strategy account: linear and inverse subaccounts summed in the quote currency at mark."""

from pathlib import Path

import pytest

from tests.engine.kit import config, run


def test_account_sums_linear_and_inverse_at_mark(tmp_path: Path) -> None:
    subs = [
        {
            "id": "lin",
            "strategy": "ProbeStrategy",
            "pair": "BTC/USDT:USDT",
            "timeframe": "1h",
            "initial_balance": 10_000,
            "parameters": {"script": {"5": 0.1}},
        },
        {
            "id": "inv",
            "strategy": "ProbeStrategy",
            "pair": "BTC/USD:BTC",
            "timeframe": "1h",
            "initial_balance": 0.5,
            "parameters": {"script": {"5": -5000}},
        },
    ]
    controller = run(tmp_path, config(tmp_path, subs))
    lin, inv = controller.session.instances
    assert lin.venue.contracts == 0.1 and inv.venue.contracts == -5000
    mark = inv.venue.market.mark_close[inv.venue.candle_index]
    expected = lin.venue.equity() + inv.venue.equity() * mark
    snap = controller.snapshot()
    assert snap.equity_total[-1] == pytest.approx(expected)
    assert snap.equity_by_subaccount["inv"][-1] == pytest.approx(inv.venue.equity() * mark)
    doc = controller.results
    assert doc["account"]["final"] == pytest.approx(expected)
    start_quote = 10_000 + 0.5 * inv.venue.market.open[inv.first_index]
    assert doc["account"]["initial"] == pytest.approx(start_quote)
    by_id = {s["id"]: s for s in doc["subaccounts"]}
    assert by_id["inv"]["settle_currency"] == "BTC" and by_id["inv"]["is_inverse"] is True
    controller.close()

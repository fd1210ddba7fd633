"""A backtest's order events and fills go to the bulk journal straight from the venue: same rows, same order.

Plain orders' events are appended by the simulated venue to ``BulkJournal.order_events``; conditional
orders' events still pass the journal (the trade analysis notes their types there) and join the same
columns. The run database must read back exactly the records a plain in-memory journal receives.
"""

from __future__ import annotations

from pathlib import Path

from kektrade.domain.journal import FillRecorded, MemoryJournal, OrderRecorded
from kektrade.engine.session import build_session
from kektrade.persistence.database import open_run_database
from tests.engine.kit import config, run

MIXED = '''
from kektrade.strategy.base import Strategy


class MixedOrders(Strategy):
    """Limits, stops, take-profits, amendments, cancels, market orders and refusals, interleaved."""

    def tick(self, dataframe, index, metadata, parameter, variables, account):
        close, qty = dataframe["close"].iat[index], parameter["qty"]
        step = index % 6
        if step == 0:
            account.open_order("limit", qty, price=round(close * 0.999, 1), post_only=True)
            account.open_order("stop_market", qty, trigger_price=round(close * 1.002, 1))
        elif step == 1:
            for order in account.get_open_orders():
                if order.type.value == "limit":
                    account.edit_order(order.id, price=round(close * 0.9995, 1))
        elif step == 2:
            account.open_order("market", qty)
            account.open_order("limit", -qty, price=round(close * 0.99, 1), post_only=True)  # refused
        elif step == 3 and account.contracts:
            account.open_order("take_profit_market", -account.contracts, trigger_price=round(close * 1.01, 1),
                               reduce_only=True)
        elif step == 5:
            account.cancel_all_orders()
            if account.contracts:
                account.close_position()
'''

SUBS = [
    {"id": "one", "strategy": "MixedOrders", "pair": "BTC/USDT:USDT", "timeframe": "15m",
     "parameters": {"qty": 0.01}},
    {"id": "two", "strategy": "MixedOrders", "pair": "BTC/USD:BTC", "timeframe": "1h", "initial_balance": 1.0,
     "parameters": {"qty": 100}},
]


def test_the_run_database_reads_back_every_order_event_a_memory_journal_gets(tmp_path: Path) -> None:
    cfg = config(tmp_path, SUBS)
    (Path(cfg.strategies_dir) / "mixed.py").write_text(MIXED)
    twin = build_session(cfg, "twin", MemoryJournal())
    assert twin.engine.run() == "finished"
    journal = twin.tags.inner if twin.tags is not None else None
    assert isinstance(journal, MemoryJournal)
    expected = journal.of_type(OrderRecorded)
    kinds = {e.order.type.value for e in expected}
    events = {e.event for e in expected}
    assert {"limit", "stop_market", "take_profit_market", "market"} <= kinds  # the mix happened
    assert {"placed", "amended", "triggered", "filled", "cancelled", "rejected"} <= events

    controller = run(tmp_path, cfg)
    venues = [inst.venue for inst in controller.session.instances]
    assert all(v.order_events is not None and v.fill_records is not None for v in venues)  # past the journal
    fills = journal.of_type(FillRecorded)
    assert {f.fill.kind.value for f in fills} >= {"trade", "funding"}
    with open_run_database(tmp_path / "run" / "run.sqlite") as db:
        for sub in ("one", "two"):
            assert db.order_events(sub) == [e for e in expected if e.subaccount == sub]
            assert db.fills(sub) == [f.fill for f in fills if f.subaccount == sub]
    controller.close()

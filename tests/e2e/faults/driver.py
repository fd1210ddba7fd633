"""The process the kill tests SIGKILL: a LiveVenue trading a deterministic strategy against the fake.

``python -m tests.e2e.faults.driver --base URL --control URL --db PATH --candles N`` plays the live
loop's part: reopen the run database, reconcile with the exchange, then for each candle ask the fake to
close it, ``step`` the venue and tick the strategy; a resume point is saved every ``--save-every``
candles (so after a kill some candles are processed again, as in a real run). On reaching the last
candle it runs ``final_sync`` and prints ``DONE``. ``--kill-mid-write N`` SIGKILLs the process inside
the N-th database write transaction (rows inserted, not committed).

The strategy decides from the candle index only (the orders it touches are found by their own client
ids), so an uninterrupted run is the reference every killed-and-restarted run must end equal to.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import urllib.request
from typing import Any

from kektrade.domain.journal import StateSaved
from kektrade.domain.types import OrderType
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.resume import ResumeRecord
from kektrade.exchange.subaccount import OrderNotOpenError
from kektrade.persistence.database import RunDatabase, open_run_database
from kektrade.persistence.journal import SqliteJournal
from tests.e2e.faults.kit import venue

FIRST = 3  # candles 0..2 are history
SUB = "s1"


def strategy(v: LiveVenue, i: int) -> None:
    """Index-driven orders: market buys and sells, take-profit limits amended and cancelled by their ids."""
    close = v.last_price
    mine = {o.client_id: o for o in v.get_open_orders()}
    if i % 4 == 0:
        v.open_order(OrderType.MARKET, 0.01)
    elif i % 4 == 1:
        v.open_order(OrderType.LIMIT, -0.01, price=round(close + 3.0, 1), client_id=f"tp{i}")
    elif i % 4 == 2 and f"tp{i - 1}" in mine:
        with contextlib.suppress(OrderNotOpenError):  # filled in the meantime
            v.edit_order(mine[f"tp{i - 1}"].id, price=round(close + 4.0, 1))
    elif i % 4 == 3:
        v.open_order(OrderType.MARKET, -0.005)
        if f"tp{i - 2}" in mine:
            v.cancel_order(mine[f"tp{i - 2}"].id)
    if i % 6 == 5:
        v.open_order(OrderType.LIMIT, 0.01, price=round(close - 2.0, 1), client_id=f"lb{i}")


def records_of(db: RunDatabase) -> ResumeRecord | None:
    """What the run database holds for the subaccount (None on a first start)."""
    intents = db.order_intents(SUB)
    if not intents and not db.fills(SUB):
        return None
    return ResumeRecord(
        subaccount=SUB, state=db.latest_state(SUB), fills=db.fills(SUB), open_orders=db.open_orders(SUB),
        intents=intents, exec_ids=db.exec_ids(SUB),
    )  # fmt: skip


def ensure_closed(control: str, count: int) -> None:
    """Ask the fake (directly, not through the proxy) to hold ``count`` closed candles."""
    data = json.dumps({"count": count}).encode()
    request = urllib.request.Request(f"{control}/test/ensure-candles", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=30) as reply:
        reply.read()


def kill_inside_write(db: RunDatabase, nth: int) -> None:
    """SIGKILL this process inside the ``nth`` write transaction, after its rows were inserted."""
    original = db._insert_rows
    calls = {"n": 0}

    def insert(table: str, rows: list[Any]) -> None:
        original(table, rows)
        calls["n"] += 1
        if calls["n"] >= nth:
            os.kill(os.getpid(), signal.SIGKILL)

    db._insert_rows = insert  # type: ignore[method-assign]


def run(args: argparse.Namespace) -> int:
    """One life of the bot."""
    db = open_run_database(args.db)
    records = records_of(db)
    if args.kill_mid_write:
        kill_inside_write(db, args.kill_mid_write)
    journal = SqliteJournal(db, batch_interval_s=0.02)
    v = venue(args.base, journal, args.candles, run_id="kill-run", attempts=6)
    saved = (records.state.get("driver") if records is not None else None) or {}
    if saved.get("done"):
        print("DONE", flush=True)
        return 0
    start = int(saved["last"]) + 1 if "last" in saved else FIRST
    v.set_clock(start - 1)
    v.reconcile(records)
    for i in range(start, args.candles):
        ensure_closed(args.control, i + 1)
        v.step(i)
        strategy(v, i)
        if (i - FIRST) % args.save_every == args.save_every - 1:
            journal.record(StateSaved(SUB, v.now_ms, "driver", {"last": i}))
    left = v.final_sync()
    journal.record(StateSaved(SUB, v.now_ms, "driver", {"last": args.candles - 1, "done": True}))
    journal.close()
    print("DIFFERENCES " + json.dumps(left), flush=True)
    print("DONE", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--control", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--candles", type=int, default=100)
    parser.add_argument("--save-every", type=int, default=3)
    parser.add_argument("--kill-mid-write", type=int, default=0)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

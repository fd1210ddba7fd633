"""SqliteJournal: buffered records reach the database in order, in one transaction per batch."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from kektrade.domain.journal import (
    EquitySampled,
    FillRecorded,
    OrderRecorded,
    SelectionRecorded,
    StateSaved,
    StatusChanged,
)
from kektrade.domain.types import (
    Fill,
    FillKind,
    Order,
    OrderStatus,
    OrderType,
    RejectReason,
    TimeInForce,
    TriggerBy,
)
from kektrade.persistence.database import RunDatabase, open_run_database
from kektrade.persistence.journal import JournalError, SqliteJournal


def make_order(order_id: str = "o1", status: OrderStatus = OrderStatus.NEW, created_ms: int = 1_000) -> Order:
    """A stop-limit order with every field set to a non-default value."""
    return Order(
        id=order_id,
        symbol="BTC/USDT:USDT",
        type=OrderType.STOP_LIMIT,
        contracts=-0.25,
        price=41_000.5,
        trigger_price=41_100.0,
        trigger_by=TriggerBy.MARK,
        trigger_direction=2,
        reduce_only=True,
        post_only=False,
        time_in_force=TimeInForce.IOC,
        client_id=f"c-{order_id}",
        status=status,
        filled=-0.1,
        avg_fill_price=41_000.0,
        fee_paid=2.46,
        created_ms=created_ms,
        updated_ms=created_ms + 500,
        reject_reason=None,
        active_from_ms=created_ms + 250,
    )


def make_fill(time_ms: int, contracts: float = 1.0, position_after: float = 1.0) -> Fill:
    """A taker trade fill."""
    return Fill(
        time_ms=time_ms,
        symbol="BTC/USDT:USDT",
        kind=FillKind.TRADE,
        contracts=contracts,
        price=42_000.0,
        fee=25.2,
        realized_pnl=0.0,
        order_id="o1",
        is_maker=False,
        fee_rate=0.0006,
        position_after=position_after,
    )


def _count(path: Path, table: str) -> int:
    """Rows in ``table`` seen by an independent connection (what is committed)."""
    con = sqlite3.connect(path)
    try:
        return int(con.execute(f'select count(*) from "{table}"').fetchone()[0])
    finally:
        con.close()


def test_round_trip_of_every_record_type(db: RunDatabase) -> None:
    order = make_order()
    fill = make_fill(2_000).replace(kind=FillKind.LIQUIDATION, is_maker=True, realized_pnl=-3.5)
    journal = SqliteJournal(db, batch_interval_s=60)
    journal.record(OrderRecorded("a", 1_000, "placed", order))
    journal.record(FillRecorded("a", fill))
    journal.record(EquitySampled("a", 3_000, 1_000.0, 990.0, 991.5, -0.25, 41_990.0, 42_010.0))
    board = [({"fast": 5, "slow": 20}, 1.5), ({"fast": 7, "slow": 30}, 1.2)]
    journal.record(SelectionRecorded("a", 4_000, {"fast": 5, "slow": 20}, 1.5, board))
    journal.record(SelectionRecorded("a", 5_000, None, None))
    journal.record(StatusChanged("a", 6_000, "failed", "ZeroDivisionError in tick"))
    journal.record(StateSaved("a", 7_000, "vars", {"n": 1, "xs": [1.5, 2.5]}))
    journal.close()

    [event] = db.order_events("a")
    assert event == OrderRecorded("a", 1_000, "placed", order)
    assert db.fills("a") == [fill]
    assert db.fill_records() == [FillRecorded("a", fill)]
    assert db.equity_samples("a") == [
        EquitySampled("a", 3_000, 1_000.0, 990.0, 991.5, -0.25, 41_990.0, 42_010.0)
    ]
    assert db.equity("a") == ([3_000], [990.0], [991.5])
    assert db.selections("a") == [
        SelectionRecorded("a", 4_000, {"fast": 5, "slow": 20}, 1.5, board),
        SelectionRecorded("a", 5_000, None, None, []),
    ]
    assert db.status_changes() == [StatusChanged("a", 6_000, "failed", "ZeroDivisionError in tick")]
    assert db.latest_state("a") == {"vars": {"n": 1, "xs": [1.5, 2.5]}}


def test_record_does_not_touch_sqlite_until_the_batch_is_due(db: RunDatabase) -> None:
    journal = SqliteJournal(db, batch_interval_s=60)
    for i in range(100):
        journal.record(FillRecorded("a", make_fill(i)))
    time.sleep(0.05)
    assert _count(db.path, "fill") == 0
    journal.flush()
    assert _count(db.path, "fill") == 100
    journal.close()


def test_writer_commits_on_its_own_every_interval(db: RunDatabase) -> None:
    journal = SqliteJournal(db, batch_interval_s=0.05)
    journal.record(FillRecorded("a", make_fill(1)))
    deadline = time.monotonic() + 5
    while _count(db.path, "fill") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _count(db.path, "fill") == 1
    journal.close()


def test_records_are_written_in_recording_order(db: RunDatabase) -> None:
    journal = SqliteJournal(db, batch_interval_s=0.01)
    for i in range(3_000):
        journal.record(OrderRecorded("a", 10_000 - i, "amended", make_order(f"o{i}")))
        if i % 500 == 0:
            time.sleep(0.02)  # spread over several batches
    journal.close()
    assert [e.order.id for e in db.order_events("a")] == [f"o{i}" for i in range(3_000)]


def test_latest_state_per_key_wins(db: RunDatabase) -> None:
    journal = SqliteJournal(db)
    journal.record(StateSaved("a", 1, "vars", {"n": 1}))
    journal.record(StateSaved("a", 2, "optimizer", [1, 2]))
    journal.record(StateSaved("b", 3, "vars", {"n": 100}))
    journal.flush()
    journal.record(StateSaved("a", 4, "vars", {"n": 2}))
    journal.close()
    assert db.latest_state("a") == {"vars": {"n": 2}, "optimizer": [1, 2]}
    assert db.latest_state("b") == {"vars": {"n": 100}}
    assert db.latest_state("nobody") == {}


def test_open_orders_follow_the_last_event_of_each_order(db: RunDatabase) -> None:
    journal = SqliteJournal(db)
    placed = make_order("o1", OrderStatus.NEW, created_ms=1_000)
    journal.record(OrderRecorded("a", 1_000, "placed", placed))
    journal.record(OrderRecorded("a", 1_100, "placed", make_order("o2", OrderStatus.UNTRIGGERED, 900)))
    journal.record(OrderRecorded("a", 1_200, "placed", make_order("o3", OrderStatus.NEW, 1_200)))
    journal.record(OrderRecorded("a", 1_300, "filled", make_order("o3", OrderStatus.FILLED, 1_200)))
    partly = placed.replace(status=OrderStatus.PARTIALLY_FILLED, filled=-0.2, updated_ms=1_400)
    journal.record(OrderRecorded("a", 1_400, "partially_filled", partly))
    rejected = make_order("o4", OrderStatus.REJECTED, 1_500)
    rejected.reject_reason = str(RejectReason.INSUFFICIENT_BALANCE)
    journal.record(OrderRecorded("a", 1_500, "rejected", rejected))
    journal.record(OrderRecorded("b", 1_600, "placed", make_order("o5", OrderStatus.NEW, 1_600)))
    journal.close()
    assert db.open_orders("a") == [make_order("o2", OrderStatus.UNTRIGGERED, 900), partly]
    assert [o.id for o in db.open_orders("b")] == ["o5"]
    assert db.order_events("a")[-1].order.reject_reason == "insufficient available balance"


def test_status_changes_update_the_instance_row(db: RunDatabase) -> None:
    db.add_instance("a", "backtest_perpetual", "BTC/USDT:USDT", "Sma", status="created")
    journal = SqliteJournal(db)
    journal.record(StatusChanged("a", 1, "running"))
    journal.record(StatusChanged("a", 2, "paused", "by user"))
    journal.close()
    assert db.instances()[0].status == "paused"
    assert [s.status for s in db.status_changes("a")] == ["running", "paused"]


def test_unstorable_record_is_dropped_and_named_on_flush(db: RunDatabase) -> None:
    journal = SqliteJournal(db)
    journal.record(StateSaved("a", 1, "model", object()))
    journal.record(FillRecorded("a", make_fill(5)))
    with pytest.raises(JournalError, match="'model' of 'a'"):
        journal.flush()
    assert len(db.fills("a")) == 1  # the good record still went in
    journal.flush()  # the error is reported once
    journal.close()


def test_record_after_close_raises_and_close_is_idempotent(db: RunDatabase) -> None:
    journal = SqliteJournal(db)
    journal.record(FillRecorded("a", make_fill(1)))
    journal.close()
    journal.close()
    assert len(db.fills()) == 1
    with pytest.raises(JournalError, match="closed"):
        journal.record(FillRecorded("a", make_fill(2)))


def test_batch_interval_must_be_positive(db: RunDatabase) -> None:
    with pytest.raises(ValueError, match="batch_interval_s"):
        SqliteJournal(db, batch_interval_s=0)


def test_a_batch_is_one_transaction(db: RunDatabase) -> None:
    good = [("a", 1, "BTC/USDT:USDT", "trade", 1.0, 1.0, 0.0, 0.0, 0.0, "", False, 1.0)]
    bad = [("a", 1)]  # wrong arity: the second table's insert fails
    with pytest.raises(sqlite3.ProgrammingError):
        db.write_batch({"fill": good, "status": bad})
    assert db.fills() == []


def test_many_threads_recording_at_once(db: RunDatabase) -> None:
    journal = SqliteJournal(db, batch_interval_s=0.01)

    def work(name: str) -> None:
        for i in range(2_000):
            journal.record(EquitySampled(name, i, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0))

    threads = [threading.Thread(target=work, args=(f"s{k}",)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    journal.close()
    for k in range(4):
        assert db.equity(f"s{k}")[0] == list(range(2_000))


def test_two_journals_into_two_databases(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "a.sqlite") as a, open_run_database(tmp_path / "b.sqlite") as b:
        ja, jb = SqliteJournal(a, 0.01), SqliteJournal(b, 0.01)
        for i in range(50):
            ja.record(FillRecorded("x", make_fill(i)))
            jb.record(FillRecorded("y", make_fill(i)))
        ja.close()
        jb.close()
        assert len(a.fills("x")) == 50 and a.fills("y") == []
        assert len(b.fills("y")) == 50 and b.fills("x") == []


def test_failed_write_is_reported_and_retried(db: RunDatabase) -> None:
    journal = SqliteJournal(db, batch_interval_s=60)
    db.database.execute_sql('ALTER TABLE "fill" RENAME TO "fill_away"')
    journal.record(FillRecorded("a", make_fill(1)))
    with pytest.raises(JournalError, match="will retry"):
        journal.flush()
    db.database.execute_sql('ALTER TABLE "fill_away" RENAME TO "fill"')
    journal.record(FillRecorded("a", make_fill(2)))
    journal.flush()
    assert [f.time_ms for f in db.fills("a")] == [1, 2]
    journal.close()


def test_reading_while_the_writer_commits(db: RunDatabase) -> None:
    journal = SqliteJournal(db, batch_interval_s=0.005)
    seen: list[int] = []
    for i in range(2_000):
        journal.record(EquitySampled("a", i, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0))
        if i % 100 == 0:
            seen.append(len(db.equity("a")[0]))
            time.sleep(0.002)
    journal.close()
    assert seen == sorted(seen)  # readers see a growing prefix, never an error
    assert db.equity("a")[0] == list(range(2_000))


@pytest.mark.slow
def test_throughput_is_far_above_the_engine_rate(db: RunDatabase) -> None:
    n = 60_000
    records = [FillRecorded("a", make_fill(i)) for i in range(n)]
    journal = SqliteJournal(db, batch_interval_s=0.25)
    start = time.perf_counter()
    for rec in records:
        journal.record(rec)
    recorded = time.perf_counter()
    journal.flush()
    committed = time.perf_counter()
    journal.close()
    assert (recorded - start) / n < 20e-6  # record() is an append (~0.1 us; generous for a busy machine)
    assert n / (committed - start) > 20_000  # ~200k/s measured; a low bar so a loaded CI stays green
    assert len(db.fills("a")) == n

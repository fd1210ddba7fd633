"""The backtest journal: fills and order events as columnar parts, read back exactly as SQLite rows read."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from kektrade.domain.journal import EquitySampled, FillRecorded, OrderRecorded, StatusChanged
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
from kektrade.persistence import bulk_journal, columnar
from kektrade.persistence.bulk_journal import BulkJournal
from kektrade.persistence.database import RunDatabase, open_run_database
from kektrade.persistence.journal import JournalError, SqliteJournal


def order(n: int, **changes: object) -> Order:
    """An order with every field set to something distinct."""
    base = Order(
        id=str(1000 + n),
        symbol="BTC/USDT:USDT",
        type=OrderType.LIMIT,
        contracts=0.01 * (n + 1),
        price=42_000.5 + n,
        post_only=True,
        created_ms=1_704_067_200_000 + 60_000 * n,
        updated_ms=1_704_067_200_000 + 60_000 * n,
        active_from_ms=1_704_067_200_000 + 60_000 * n,
    )
    return base.replace(**changes)


def records() -> list[OrderRecorded | FillRecorded]:
    """Order transitions and fills of two subaccounts, with nulls, enums, reasons and execution ids."""
    t0 = 1_704_067_200_000
    stop = order(
        3,
        type=OrderType.STOP_MARKET,
        price=None,
        trigger_price=41_000.0,
        trigger_by=TriggerBy.MARK,
        trigger_direction=2,
        reduce_only=True,
        post_only=False,
        time_in_force=TimeInForce.IOC,
        client_id="sl-1",
    )
    rejected = order(4, status=OrderStatus.REJECTED, reject_reason=RejectReason.POST_ONLY_WOULD_TAKE.value)
    filled = order(1, status=OrderStatus.FILLED, filled=0.02, avg_fill_price=42_001.5, fee_paid=0.168)
    return [
        OrderRecorded("a", t0, "placed", order(1)),
        OrderRecorded("b", t0, "placed", stop),
        OrderRecorded("a", t0 + 60_000, "filled", filled),
        FillRecorded("a", Fill(t0 + 60_000, "BTC/USDT:USDT", FillKind.TRADE, 0.02, 42_001.5, 0.168, 0.0, "1001",
                               True, 0.0002, 0.02)),
        FillRecorded("b", Fill(t0, "BTC/USDT:USDT", FillKind.FUNDING, -0.5, 42_000.0, -0.21, 0.0, "", False,
                               0.0001, -0.5), exec_id="e-77"),
        OrderRecorded("a", t0 + 120_000, "rejected", rejected),
        FillRecorded("a", Fill(t0 + 30_000, "BTC/USDT:USDT", FillKind.LIQUIDATION, -0.02, 40_000.0, 0.4, -40.0,
                               "liq", False, 0.00055, 0.0)),
    ]  # fmt: skip


def write_through(journal: BulkJournal | SqliteJournal, items: list[OrderRecorded | FillRecorded]) -> None:
    for item in items:
        journal.record(item)
    journal.close()


@pytest.mark.parametrize("slice_rows", [1, 2, 100_000])
def test_reads_back_what_the_sqlite_journal_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_rows: int
) -> None:
    monkeypatch.setattr(bulk_journal, "SLICE_ROWS", slice_rows)  # a part is converted slice by slice
    bulk_db = open_run_database(tmp_path / "bulk" / "run.sqlite")
    sql_db = open_run_database(tmp_path / "sql" / "run.sqlite")
    write_through(BulkJournal(bulk_db, SqliteJournal(bulk_db, 0.05), part_rows=2), records())
    write_through(SqliteJournal(sql_db, 0.05), records())
    with bulk_db, sql_db:
        assert bulk_db.order_events() == sql_db.order_events() == [r for r in records() if isinstance(r, OrderRecorded)]
        assert bulk_db.fill_records() == sql_db.fill_records()  # by time, then recording order
        assert [r.fill.kind for r in bulk_db.fill_records()] == [FillKind.FUNDING, FillKind.LIQUIDATION, FillKind.TRADE]
        for sub in ("a", "b", "nobody"):
            assert bulk_db.fills(sub) == sql_db.fills(sub)
            assert bulk_db.order_events(sub) == sql_db.order_events(sub)
            assert bulk_db.exec_ids(sub) == sql_db.exec_ids(sub)
            assert bulk_db.open_orders(sub) == sql_db.open_orders(sub)
        assert bulk_db.open_orders("b")[0].trigger_by == TriggerBy.MARK
        # nothing of them in the SQLite tables of the bulk run: they are in parts beside the file
        con = sqlite3.connect(bulk_db.path)
        assert con.execute('SELECT COUNT(*) FROM "fill"').fetchone()[0] == 0
        assert con.execute('SELECT COUNT(*) FROM "order_event"').fetchone()[0] == 0
        con.close()


def test_parts_of_part_rows_records_written_as_the_run_goes(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "run.sqlite") as db:
        journal = BulkJournal(db, SqliteJournal(db, 0.05), part_rows=2)
        for n in range(5):
            journal.record(OrderRecorded("a", n, "placed", order(n)))
        folder = columnar.table_dir(db.path, "order_event")
        assert folder == tmp_path / "run.order_event"
        assert [p.name for p in sorted(folder.iterdir())] == ["part-00000.parquet", "part-00001.parquet"]
        journal.flush()  # the fifth record: a third part
        assert columnar.count_rows(folder) == 5
        assert [e.order.id for e in db.order_events("a")] == ["1000", "1001", "1002", "1003", "1004"]
        journal.record(OrderRecorded("a", 9, "cancelled", order(4, status=OrderStatus.CANCELLED)))
        journal.close()
        assert [e.event for e in db.order_events("a")][-2:] == ["placed", "cancelled"]
        assert db.open_orders("a") == [order(n) for n in range(4)]


def test_fills_appended_by_venues_are_written_with_the_order_event_parts(tmp_path: Path) -> None:
    """Simulated venues append fills to ``fill_records`` directly (no ``record`` call): a part's worth is
    written when the order events fill a part, and the list they hold stays the journal's list."""
    (fill,) = [r for r in records() if isinstance(r, FillRecorded) and r.fill.kind is FillKind.TRADE]
    with open_run_database(tmp_path / "run.sqlite") as db:
        journal = BulkJournal(db, SqliteJournal(db, 0.05), part_rows=2)
        held = journal.fill_records  # what a venue holds (Session.route_records)
        held += [fill, fill, fill]
        journal.record(OrderRecorded("a", 1, "placed", order(1)))
        assert len(held) == 3  # under a part of order events: nothing written yet
        journal.record(OrderRecorded("a", 2, "placed", order(2)))  # a part of order events: fills too
        assert held == [] and journal.fill_records is held
        assert columnar.count_rows(columnar.table_dir(db.path, "fill")) == 3
        held.append(fill)
        journal.close()
        assert db.fills("a") == [fill.fill] * 4


def test_light_records_go_to_sqlite_as_the_run_goes(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "run.sqlite") as db:
        light = SqliteJournal(db, 0.05)
        journal = BulkJournal(db, light)
        journal.record(EquitySampled("a", 5, 100.0, 101.0, 101.0, 0.0, 1.0, 1.0))
        journal.record(StatusChanged("a", 5, "running"))
        light.flush()  # the SQLite journal alone: the light records are there without the bulk flush
        assert db.equity("a") == ([5], [101.0], [101.0])
        assert [s.status for s in db.status_changes("a")] == ["running"]
        journal.close()


def test_truncate_run_deletes_the_parts_too(db: RunDatabase) -> None:
    write_through(BulkJournal(db, SqliteJournal(db, 0.05), part_rows=3), records())
    deleted = db.truncate_run()
    assert deleted["order_event (columnar)"] == 4 and deleted["fill (columnar)"] == 3
    assert db.fills() == [] and db.order_events() == []
    assert not columnar.table_dir(db.path, "fill").exists()
    assert db.truncate_run()["fill (columnar)"] == 0  # again: nothing left, no error


def test_a_failing_part_write_is_a_journal_error_naming_the_folder(tmp_path: Path) -> None:

    with open_run_database(tmp_path / "run.sqlite") as db:
        journal = BulkJournal(db, SqliteJournal(db, 0.05))
        columnar.table_dir(db.path, "fill").write_text("a file where the folder should be")
        journal.record(records()[3])
        with pytest.raises(JournalError, match="writing fill rows beside"):
            journal.flush()
        journal.close()


@pytest.mark.parametrize("slice_rows", [1, 100_000])
def test_a_nan_quantity_is_refused_named_and_reported_once_the_rest_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slice_rows: int
) -> None:
    monkeypatch.setattr(bulk_journal, "SLICE_ROWS", slice_rows)  # the refused row sits in a later slice
    failures: list[JournalError] = []
    with open_run_database(tmp_path / "run.sqlite") as db:
        journal = BulkJournal(db, SqliteJournal(db, 0.05), on_failure=failures.append)
        journal.record(OrderRecorded("s", 1, "placed", order(1)))
        journal.record(OrderRecorded("s", 2, "rejected", order(2, contracts=math.nan, price=None)))
        journal.record(OrderRecorded("s", 3, "placed", order(3)))
        with pytest.raises(JournalError, match=r"refused a order_event row of subaccount 's' \(NOT NULL"):
            journal.flush()
        assert len(failures) == 1 and "contracts=nan" in str(failures[0])
        assert "order_event.contracts" in str(failures[0])
        assert [e.time_ms for e in db.order_events("s")] == [1, 3]  # the rows around it are kept
        journal.record(FillRecorded("s", Fill(4, "X", FillKind.TRADE, 1.0, math.nan, 0.0, 0.0)))
        with pytest.raises(JournalError, match="price=nan"):
            journal.flush()
        assert len(failures) == 1 and journal.failure is failures[0]  # reported once
        journal.close()


def test_texts_pass_the_redactor(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "run.sqlite") as db:
        db.scrub = lambda text: text.replace("SECRET", "***")
        journal = BulkJournal(db, SqliteJournal(db, 0.05))
        journal.record(OrderRecorded("s", 1, "rejected", order(1, client_id="c-SECRET", reject_reason="SECRET!")))
        journal.record(FillRecorded("s", Fill(2, "X", FillKind.TRADE, 1.0, 1.0, 0.0, 0.0, "o-SECRET"), "e-SECRET"))
        journal.close()
        (event,) = db.order_events("s")
        assert (event.order.client_id, event.order.reject_reason) == ("c-***", "***!")
        assert (db.fills("s")[0].order_id, db.exec_ids("s")) == ("o-***", ["e-***"])
    for part in tmp_path.rglob("*.parquet"):
        assert b"SECRET" not in part.read_bytes()

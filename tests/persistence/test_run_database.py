"""The run database: pragmas, schema version, metadata, instances, two databases in one process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kektrade.persistence.database import RunDatabase, SchemaVersionError, open_run_database
from kektrade.persistence.models import SCHEMA_VERSION


def test_creates_file_with_wal_normal_sync_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "run" / "run.sqlite"
    with open_run_database(path) as db:
        assert path.exists()
        assert db.pragma("journal_mode") == "wal"
        assert db.pragma("synchronous") == 1  # NORMAL
        assert db.pragma("foreign_keys") == 1
        assert db.get_meta("schema_version") == SCHEMA_VERSION
        assert db.integrity_check() == "ok"
    con = sqlite3.connect(path)
    tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    con.close()
    assert {"run_meta", "instance", "order_event", "fill", "equity_sample", "selection"} <= tables
    assert {"status_change", "saved_state"} <= tables


def test_indexes_on_subaccount_and_time(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "r.sqlite") as db:
        sql = [r[0] for r in db.database.execute_sql("select sql from sqlite_master where type='index'")]
    for table in ("order_event", "fill", "equity_sample", "selection", "status_change", "saved_state"):
        assert any(f'ON "{table}" ("subaccount", "time_ms")' in s for s in sql if s), table


def test_reopen_keeps_metadata_and_results(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with open_run_database(path) as db:
        db.set_meta("config", {"metastrategy_id": "m1", "subaccounts": [{"id": "a"}]})
        db.set_meta("status", "running")
        db.set_meta("status", "finished")
        assert db.load_results() is None
        db.save_results({"run_id": "r1", "subaccounts": {}})
    with open_run_database(path) as db:
        assert db.get_meta("config") == {"metastrategy_id": "m1", "subaccounts": [{"id": "a"}]}
        assert db.get_meta("status") == "finished"
        assert db.get_meta("missing", "dflt") == "dflt"
        assert db.load_results() == {"run_id": "r1", "subaccounts": {}}
        assert set(db.meta()) == {"schema_version", "config", "status", "results"}


def test_meta_rejects_non_json_value_naming_the_key(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "r.sqlite") as db, pytest.raises(TypeError, match="'started'"):
        db.set_meta("started", object())


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with open_run_database(path) as db:
        db.set_meta("schema_version", SCHEMA_VERSION + 1)
    with pytest.raises(SchemaVersionError, match="schema_version"):
        open_run_database(path)


def test_instances_upsert_and_status(tmp_path: Path) -> None:
    with open_run_database(tmp_path / "r.sqlite") as db:
        db.add_instance("a", "backtest_perpetual", "BTC/USDT:USDT", "Sma")
        db.add_instance("b", "bybit", "BTC/USD:BTC", "Rsi", status="running")
        db.add_instance("a", "backtest_perpetual", "ETH/USDT:USDT", "Sma")
        db.set_instance_status("a", "failed")
        got = [(i.subaccount, i.pair, i.status) for i in db.instances()]
    assert got == [("a", "ETH/USDT:USDT", "failed"), ("b", "BTC/USD:BTC", "running")]


def test_two_databases_open_at_once_stay_separate(tmp_path: Path) -> None:
    a = open_run_database(tmp_path / "a.sqlite")
    b = open_run_database(tmp_path / "b.sqlite")
    try:
        a.add_instance("x", "v", "BTC/USDT:USDT", "S")
        b.set_meta("only_b", 1)
        assert [i.subaccount for i in a.instances()] == ["x"]
        assert b.instances() == []
        assert a.get_meta("only_b") is None and b.get_meta("only_b") == 1
    finally:
        a.close()
        b.close()


def test_close_is_idempotent(tmp_path: Path) -> None:
    db = RunDatabase(tmp_path / "r.sqlite")
    db.setup()
    db.close()
    db.close()


def test_truncate_run_empties_every_table_but_keeps_the_schema_version(tmp_path: Path) -> None:
    from kektrade.domain.journal import FillRecorded, StatusChanged
    from kektrade.persistence.journal import SqliteJournal
    from tests.persistence.test_sqlite_journal import make_fill

    with open_run_database(tmp_path / "run.sqlite") as db:
        db.add_instance("a", "sim", "BTC/USDT:USDT", "S")
        db.set_meta("status", "running")
        journal = SqliteJournal(db)
        journal.record(FillRecorded("a", make_fill(1)))
        journal.record(StatusChanged("a", 1, "failed", "boom"))
        journal.close()
        deleted = db.truncate_run()
        assert deleted["fill"] == 1 and deleted["status_change"] == 1 and deleted["instance"] == 1
        assert deleted["run_meta"] == 1  # status; the schema version stays
        assert db.fills() == [] and db.instances() == [] and db.get_meta("status") is None
        assert db.get_meta("schema_version") is not None

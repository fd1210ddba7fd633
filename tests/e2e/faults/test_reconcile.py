"""LiveVenue against the fake Bybit: replays adopt, reconcile settles what a crash left, final sync agrees.

A "crash" here is dropping a venue without anything after its last call; the next venue reads the run
database (SQLite, through the real journal) and meets the same fake exchange.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kektrade.domain.journal import FillRecorded, IntentRecorded, MemoryJournal, OrderRecorded
from kektrade.domain.types import OrderStatus
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.resume import ResumeRecord
from kektrade.persistence.database import RunDatabase, open_run_database
from kektrade.persistence.journal import SqliteJournal
from kektrade.persistence.models import SCHEMA_VERSION
from tests.e2e.faults.kit import SYMBOL, ensure_candles, exchange_orders, fresh_account, venue
from tests.e2e.faults.proxy import FaultProxy
from tests.fakes.bybit_trading import FakeBybitExchange


@pytest.fixture
def fake(fake_server: FakeBybitExchange) -> FakeBybitExchange:
    """A fresh 10,000 USDT account with 4 closed candles."""
    return fresh_account(fake_server)


def records(db: RunDatabase) -> ResumeRecord:
    """The subaccount's records, as the control layer reads them."""
    return ResumeRecord(
        subaccount="s1", state=db.latest_state("s1"), fills=db.fills("s1"), open_orders=db.open_orders("s1"),
        intents=db.order_intents("s1"), exec_ids=db.exec_ids("s1"),
    )  # fmt: skip


def life(fake: FakeBybitExchange, path: Path) -> tuple[LiveVenue, SqliteJournal, RunDatabase]:
    """A venue journaling into the run database at ``path``, reconciled with what it holds."""
    db = open_run_database(path)
    known = records(db)
    journal = SqliteJournal(db, batch_interval_s=0.05)
    v = venue(fake.base_url, journal, 100)
    v.set_clock(3)
    v.reconcile(known if known.intents or known.fills else None)
    return v, journal, db


def intents(v: LiveVenue) -> None:
    """The strategy's decisions on candle 3."""
    v.open_order("market", 0.1)
    v.open_order("limit", 0.1, price=90.0, client_id="dip")


def test_a_candle_processed_again_adopts_its_orders_instead_of_sending_them(
    fake: FakeBybitExchange, tmp_path: Path
) -> None:
    v, journal, _ = life(fake, tmp_path / "run.sqlite")
    v.step(3)
    first = [v.open_order("market", 0.1).id, v.open_order("limit", 0.1, price=90.0, client_id="dip").id]
    journal.flush()
    again, journal2, db = life(fake, tmp_path / "run.sqlite")  # crash: candle 3 is processed again
    again.step(3)
    replayed = [again.open_order("market", 0.1), again.open_order("limit", 0.1, price=90.0, client_id="dip")]
    assert [o.id for o in replayed] == first and len(exchange_orders(fake)) == 2
    assert replayed[1].client_id == "dip" and replayed[1].status is OrderStatus.NEW
    journal2.flush()
    placed = [r for r in db.order_events("s1") if r.event == "placed"]
    assert sorted(r.order.id for r in placed) == sorted(first)  # journaled once


def test_reconcile_adopts_an_accepted_order_whose_outcome_was_lost(fake: FakeBybitExchange, tmp_path: Path) -> None:
    v, journal, _ = life(fake, tmp_path / "run.sqlite")
    v.step(3)
    link = v.intents.next_id(v.candle_open_ms, None)
    v.intents.record(v.now_ms, link, "sent", request={"type": "limit", "contracts": 0.1, "price": 90.0})
    journal.flush()
    on_exchange = v.account.open_order("limit", 0.1, price=90.0, client_id=link)  # accepted, then kill -9
    again, _journal2, _db = life(fake, tmp_path / "run.sqlite")
    assert [o.id for o in again.cached_orders] == [on_exchange.id]
    assert again.intents.latest[link].state == "accepted"
    again.step(3)
    assert again.open_order("limit", 0.1, price=90.0).id == on_exchange.id  # the replay adopts it
    assert len(exchange_orders(fake)) == 1


def test_reconcile_forgets_an_intent_that_never_left_and_the_replay_sends_it_once(
    fake: FakeBybitExchange, tmp_path: Path
) -> None:
    v, journal, _ = life(fake, tmp_path / "run.sqlite")
    v.step(3)
    link = v.intents.next_id(v.candle_open_ms, None)
    v.intents.record(v.now_ms, link, "sent", request={"type": "market", "contracts": 0.1})
    journal.flush()  # killed before the request left
    again, _, _ = life(fake, tmp_path / "run.sqlite")
    assert link not in again.intents.latest
    again.step(3)
    order = again.open_order("market", 0.1)
    assert order.client_id == link and [o.client_id for o in exchange_orders(fake)] == [link]


@pytest.mark.parametrize("policy", ["adopt", "cancel"])
def test_foreign_open_orders_are_adopted_or_cancelled(fake: FakeBybitExchange, policy: str) -> None:
    foreign = fake.sims[SYMBOL].open_order("limit", 0.1, price=80.0, client_id="manual-1")
    fake.orders[SYMBOL].append(foreign)
    journal = MemoryJournal()
    v = venue(fake.base_url, journal, 100)
    v.found_orders = policy
    v.set_clock(3)
    found = v.reconcile(None)
    assert any("foreign open order" in line for line in found)
    open_ids = [o.id for o in fake.sims[SYMBOL].get_open_orders()]
    assert open_ids == ([foreign.id] if policy == "adopt" else [])
    assert [o.id for o in v.cached_orders] == open_ids


def test_executions_while_away_are_recorded_once_by_execution_id(fake: FakeBybitExchange, tmp_path: Path) -> None:
    v, journal, _ = life(fake, tmp_path / "run.sqlite")
    v.step(3)
    v.open_order("market", 0.1)
    journal.flush()
    ensure_candles(fake, 6)  # the order fills while nobody watches
    fake.sims[SYMBOL].open_order("market", -0.05)  # and someone trades by hand
    ensure_candles(fake, 7)
    _again, journal2, db = life(fake, tmp_path / "run.sqlite")
    journal2.flush()
    assert len(db.fills("s1")) == 2 and len(set(db.exec_ids("s1"))) == 2 and "" not in db.exec_ids("s1")
    again2, journal3, db2 = life(fake, tmp_path / "run.sqlite")
    journal3.flush()
    assert len(db2.fills("s1")) == 2  # a third life records nothing again
    assert again2.cached_position is not None and again2.cached_position.contracts == pytest.approx(0.05)


def test_two_equal_executions_stay_two(fake: FakeBybitExchange) -> None:
    original = fake.routes[("GET", "/v5/execution/list")]

    def doubled(state: Any, request: Any) -> Any:  # the exchange reports two identical executions
        result = original(state, request)
        result["list"] = [dict(row, execId=row["execId"] + suffix) for row in result["list"] for suffix in "ab"]
        return result

    journal = MemoryJournal()
    v = venue(fake.base_url, journal, 100)
    v.set_clock(3)
    v.reconcile(None)
    v.step(3)
    v.open_order("market", 0.1)
    ensure_candles(fake, 5)
    fake.route("GET", "/v5/execution/list", doubled)
    try:
        v.step(4)
    finally:
        fake.route("GET", "/v5/execution/list", original)
    recorded = journal.of_type(FillRecorded)
    assert len(recorded) == 2 and recorded[0].fill.time_ms == recorded[1].fill.time_ms
    assert {r.exec_id for r in recorded} == {"BTCUSDT-0a", "BTCUSDT-0b"}


def test_first_start_leaves_earlier_executions_out_and_final_sync_catches_the_last_fill(
    fake: FakeBybitExchange,
) -> None:
    fake.sims[SYMBOL].open_order("market", 0.2)  # a trade before kektrade started
    ensure_candles(fake, 5)
    journal = MemoryJournal()
    v = venue(fake.base_url, journal, 100)
    v.set_clock(4)
    assert v.reconcile(None) == []
    assert journal.of_type(FillRecorded) == [] and v.baseline == {"position": 0.2, "wallet": pytest.approx(
        fake.sims[SYMBOL].get_wallet().wallet_balance), "executions_before": 1}  # fmt: skip
    v.open_order("market", 0.1)
    ensure_candles(fake, 6)  # filled after the last step: only a final re-read sees it
    assert v.final_sync() == []
    assert [r.fill.contracts for r in journal.of_type(FillRecorded)] == [0.1]
    assert [r.event for r in journal.of_type(OrderRecorded)] == ["placed", "filled"]
    assert [r.state for r in journal.of_type(IntentRecorded)] == ["sent", "accepted"]


def test_schema_1_databases_are_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with open_run_database(path) as db:
        db.set_meta("schema_version", 1)
    con = sqlite3.connect(path)
    con.execute("ALTER TABLE fill DROP COLUMN exec_id")
    con.execute("DROP TABLE order_intent")
    con.execute(
        "INSERT INTO fill (subaccount, time_ms, symbol, kind, contracts, price, fee, fee_rate, realized_pnl, "
        "order_id, is_maker, position_after) VALUES ('s1', 1, 'X', 'trade', 1.0, 2.0, 0.0, 0.0, 0.0, 'o', 0, 1.0)"
    )
    con.commit()
    con.close()
    with open_run_database(path) as db:
        assert db.get_meta("schema_version") == SCHEMA_VERSION == 3
        assert [f.price for f in db.fills("s1")] == [2.0] and db.exec_ids("s1") == [""]
        assert db.order_intents("s1") == []


def test_fills_recorded_without_execution_ids_are_not_recorded_again(fake: FakeBybitExchange, tmp_path: Path) -> None:
    v, journal, _ = life(fake, tmp_path / "run.sqlite")
    v.step(3)
    v.open_order("market", 0.1)
    ensure_candles(fake, 5)
    v.step(4)
    journal.flush()
    con = sqlite3.connect(tmp_path / "run.sqlite")  # as a schema-1 run (migrated) left it: no execution ids
    con.execute("UPDATE fill SET exec_id = NULL")
    con.commit()
    con.close()
    fake.sims[SYMBOL].open_order("market", 0.1)
    ensure_candles(fake, 6)
    _, journal2, db = life(fake, tmp_path / "run.sqlite")
    journal2.flush()
    assert [f.contracts for f in db.fills("s1")] == [0.1, 0.1]  # the old one matched by its fields, once
    assert db.exec_ids("s1") == ["", "BTCUSDT-1"]


def test_the_intent_is_in_the_run_database_before_the_request_leaves(fake: FakeBybitExchange, tmp_path: Path) -> None:
    seen: list[tuple[str, list[str]]] = []
    path = tmp_path / "run.sqlite"

    def observe(method: str, route: str, body: bytes) -> None:
        if route == "/v5/order/create":
            link = json.loads(body)["orderLinkId"]
            con = sqlite3.connect(path)  # another connection: only committed rows are visible
            states = [r[0] for r in con.execute("SELECT state FROM order_intent WHERE client_id = ?", (link,))]
            con.close()
            seen.append((link, states))

    with FaultProxy(fake.base_url) as proxy:
        proxy.observer = observe
        db = open_run_database(path)
        journal = SqliteJournal(db, batch_interval_s=60.0)  # no timed batches: only the write-ahead flush
        v = venue(proxy.base_url, journal, 100)
        v.set_clock(3)
        v.reconcile(None)
        v.step(3)
        v.open_order("market", 0.1)
        v.open_order("limit", 0.1, price=90.0, client_id="dip")
        journal.close()
    assert [states for _, states in seen] == [["sent"], ["sent"]]
    assert [o.client_id for o in exchange_orders(fake)] == [link for link, _ in seen]

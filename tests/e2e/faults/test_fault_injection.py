"""Every fault kind on order create, amend, cancel and each read: 0 duplicates, 0 crashes, trading goes on.

The real ccxt client talks to the local Bybit fake through ``FaultProxy``. Each case arms one fault on
one operation, performs the operation through ``LiveVenue`` (which must not raise), clears the fault,
steps a candle and checks against the fake's own state: no order twice, kektrade's open orders,
executions and position equal the exchange's, a new order is accepted, and the fault was logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

import pytest

from kektrade.domain.journal import IntentRecorded, MemoryJournal, OrderRecorded
from kektrade.domain.types import OrderStatus
from kektrade.engine.live_venue import LiveVenue
from tests.e2e.faults.kit import (
    SYMBOL,
    duplicates,
    ensure_candles,
    exchange_orders,
    mismatches,
    venue,
)
from tests.e2e.faults.proxy import FaultProxy, Rule
from tests.e2e.faults.tally import long_variants
from tests.fakes.bybit_trading import FakeBybitExchange

KINDS = (
    "timeout", "timeout_after", "http_503", "http_502_after", "http_429", "drop", "drop_after", "rate_limit", "busy",
)  # fmt: skip
READS = {
    "read_position": "/v5/position/list",
    "read_orders": "/v5/order/realtime",
    "read_wallet": "/v5/account/wallet-balance",
    "read_executions": "/v5/execution/list",
}
OPERATIONS = ("create", "amend", "cancel", *READS)
OUTAGE_CI = {("create", "drop_after"), ("create", "http_503"), ("create", "busy"), ("cancel", "drop_after"),
             ("read_position", "http_503"), ("amend", "drop_after")}  # fmt: skip


@pytest.fixture(scope="module")
def proxy(fake_server: FakeBybitExchange) -> Iterator[FaultProxy]:
    """The fault proxy in front of the module's fake."""
    with FaultProxy(fake_server.base_url) as running:
        yield running


@pytest.fixture
def live(fake_server: FakeBybitExchange, proxy: FaultProxy) -> tuple[FakeBybitExchange, LiveVenue, MemoryJournal]:
    """A fresh account on the fake, 3 closed candles, and a LiveVenue through the proxy."""
    fake_server.reset_trading()
    proxy.clear()
    proxy.counts.clear()
    fake_server.open_account(SYMBOL, 10_000.0, leverage=10)
    ensure_candles(fake_server, 3)
    journal = MemoryJournal()
    v = venue(proxy.base_url, journal, 200)
    v.reconcile(None)
    v.step(2)
    return fake_server, v, journal


def _act(op: str, kind: str, times: int, v: LiveVenue, proxy: FaultProxy) -> None:
    """Arm the fault and perform the operation (anything raised fails the test)."""
    if op in READS:
        proxy.add(Rule(READS[op], kind, times=times))
        v.step(2)
        return
    if op == "create":
        proxy.add(Rule("/v5/order/create", kind, times=times))
        order = v.open_order("limit", 0.01, price=90.0, client_id="entry")
        assert order.status is not OrderStatus.REJECTED or "not placed" in (order.reject_reason or "")
        return
    order = v.open_order("limit", 0.01, price=90.0)
    assert order.status is OrderStatus.NEW
    if op == "amend":
        proxy.add(Rule("/v5/order/amend", kind, times=times))
        v.edit_order(order.id, price=91.0)
    else:
        proxy.add(Rule("/v5/order/cancel", kind, times=times))
        v.cancel_order(order.id)


def _cases() -> list[tuple[str, str, int]]:
    cases = [(op, kind, 1) for op in OPERATIONS for kind in KINDS]
    outages = {(op, kind) for op in OPERATIONS for kind in KINDS} if long_variants() else OUTAGE_CI
    return cases + [(op, kind, 50) for op, kind in sorted(outages)]


@pytest.mark.parametrize(("op", "kind", "times"), _cases())
def test_fault_on_operation(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal],
    proxy: FaultProxy,
    op: str,
    kind: str,
    times: int,
    caplog: pytest.LogCaptureFixture,
    tally: Counter[str],
) -> None:
    fake, v, journal = live
    caplog.set_level(logging.INFO)
    try:
        _act(op, kind, times, v, proxy)
    except Exception:
        tally["crashes"] += 1
        raise
    injected = sum(proxy.counts.values())
    tally.update({f"faults:{k}": n for k, n in proxy.counts.items()})
    proxy.clear()
    ensure_candles(fake, 4)
    v.step(3)  # the fault cleared: the next candle resolves whatever was in doubt
    v.step(3)
    assert injected >= 1
    tally["duplicates"] += duplicates(fake)
    found = mismatches(fake, v)
    tally["mismatches"] += len(found)
    assert duplicates(fake) == 0, [o.client_id for o in exchange_orders(fake)]
    assert found == []
    assert not v._in_doubt
    if op == "amend" and times == 1:
        assert [o.price for o in v.cached_orders] == [91.0]
    if op == "cancel" and times == 1:
        assert v.cached_orders == []
    after = v.open_order("limit", 0.01, price=89.0)  # trading goes on
    assert after.status is OrderStatus.NEW and after.id in {o.id for o in fake.sims[SYMBOL].get_open_orders()}
    assert "exchange fault on" in caplog.text
    states = [r.state for r in journal.of_type(IntentRecorded)]
    assert states.count("sent") == len({r.client_id for r in journal.of_type(IntentRecorded)})


def test_lost_reply_of_an_accepted_market_order_is_adopted_not_resent(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal], proxy: FaultProxy, tally: Counter[str]
) -> None:
    fake, v, journal = live
    proxy.add(Rule("/v5/order/create", "drop_after", times=1))
    order = v.open_order("market", 0.5)
    tally["faults:drop_after"] += proxy.counts["drop_after"]
    assert order.status is OrderStatus.NEW and order.id == exchange_orders(fake)[0].id
    assert len(exchange_orders(fake)) == 1
    ensure_candles(fake, 4)
    v.step(3)
    assert v.contracts == pytest.approx(0.5) and fake.sims[SYMBOL].contracts == pytest.approx(0.5)
    assert [r.state for r in journal.of_type(IntentRecorded)] == ["sent", "accepted"]


def test_duplicate_client_id_is_refused_by_the_fake_and_adopted_by_kektrade(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal],
) -> None:
    fake, v, _ = live
    first = v.account.open_order("limit", 0.01, price=90.0, client_id="same-id")
    with pytest.raises(Exception, match="110072"):  # Bybit's own answer to a re-used orderLinkId
        v.account._ex.create_order(v.account.symbol, "limit", "buy", 0.01, 90.0, {"clientOrderId": "same-id"})
    again = v.account.open_order("limit", 0.01, price=90.0, client_id="same-id")
    assert again.id == first.id and len(exchange_orders(fake)) == 1


def test_definite_refusal_reaches_the_strategy_as_a_rejected_order(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal],
) -> None:
    fake, v, journal = live
    order = v.open_order("limit", 1_000.0, price=99.0)  # far beyond the balance: Bybit 110007
    assert order.status is OrderStatus.REJECTED and order.reject_reason == "insufficient available balance"
    assert exchange_orders(fake) == []
    assert [r.state for r in journal.of_type(IntentRecorded)] == ["sent", "rejected"]


def test_an_order_in_doubt_is_resolved_by_its_client_id_and_its_provisional_id_keeps_working(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal], proxy: FaultProxy, tally: Counter[str]
) -> None:
    fake, v, journal = live
    proxy.add(Rule("/v5/order/create", "drop_after", times=50), Rule("/v5/order/realtime", "http_503", times=50))
    order = v.open_order("limit", 0.01, price=90.0)
    tally.update({f"faults:{k}": n for k, n in proxy.counts.items()})
    proxy.clear()
    assert order.status is OrderStatus.NEW and order.id == order.client_id  # open, provisional id
    assert [o.id for o in v.get_open_orders() if o.id == order.id] == [order.id]
    assert len(exchange_orders(fake)) == 1  # re-sends carried the same client id: one order
    ensure_candles(fake, 4)
    v.step(3)
    real = exchange_orders(fake)[0]
    assert [o.id for o in v.cached_orders] == [real.id]
    cancelled = v.cancel_order(order.id)  # the provisional id still names it
    assert cancelled is not None and cancelled.id == real.id and fake.sims[SYMBOL].get_open_orders() == []
    assert [r.state for r in journal.of_type(IntentRecorded)] == ["sent", "in_doubt", "accepted"]


def test_an_order_that_never_reached_the_exchange_is_rejected_later_not_sent_late(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal], proxy: FaultProxy, tally: Counter[str]
) -> None:
    fake, v, journal = live
    proxy.add(Rule("/v5/order/create", "http_503", times=50))
    order = v.open_order("market", 0.01)
    tally.update({f"faults:{k}": n for k, n in proxy.counts.items()})
    proxy.clear()
    assert order.status is OrderStatus.NEW and exchange_orders(fake) == []
    ensure_candles(fake, 4)
    v.step(3)
    assert exchange_orders(fake) == [] and v.cached_orders == []
    rejected = [r for r in journal.of_type(OrderRecorded) if r.event == "rejected"]
    assert len(rejected) == 1 and "not placed" in (rejected[0].order.reject_reason or "")


def test_cancel_all_settles_orders_in_doubt_first(
    live: tuple[FakeBybitExchange, LiveVenue, MemoryJournal], proxy: FaultProxy, tally: Counter[str]
) -> None:
    fake, v, _ = live
    proxy.add(Rule("/v5/order/create", "drop_after", times=50), Rule("/v5/order/realtime", "http_503", times=50))
    v.open_order("limit", 0.01, price=90.0)
    tally.update({f"faults:{k}": n for k, n in proxy.counts.items()})
    proxy.clear()
    assert v._in_doubt and len(fake.sims[SYMBOL].get_open_orders()) == 1
    v.cancel_all_orders()  # e.g. cancel_orders_on_exit while the order was still in doubt
    assert fake.sims[SYMBOL].get_open_orders() == [] and not v._in_doubt

"""Parity on Binance USDⓈ-M: the same scripted orders through the simulator and through
CcxtSubaccount -> BinanceDialect -> the real ccxt ``binanceusdm`` -> the fake Binance; and the same reject
reasons for invalid orders. The simulator trades on the spec the adapter loaded from the fake's market
data (filters, leverage brackets with their maintenance amounts, commission rates)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import ccxt
import pytest

from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import MarginMode, Order, OrderStatus, OrderType, RejectReason, TriggerBy
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.ohlcv import make_exchange
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.subaccount import Subaccount
from tests.exchange.sim.simkit import market
from tests.fakes.binance_fapi import BTCUSDT_BRACKETS, FakeBinanceState
from tests.fakes.binance_trading import API_KEY, API_SECRET, FakeBinanceExchange

Memo = dict[str, str]
Action = Callable[[Any, Memo], Any]
PAIR = "BTC/USDT:USDT"
BALANCE, LEVERAGE = 1_000.0, 5

CANDLES = [
    (100.0, 101.0, 99.0, 100.0),
    (100.0, 102.0, 99.5, 101.5),  # market buy fills at the open
    (101.5, 103.5, 101.0, 103.0),
    (103.0, 104.5, 102.5, 104.0),  # amended take-profit sells half at 103.5 (maker)
    (104.0, 104.2, 98.0, 98.5),  # buy limit at 99 fills; nothing triggers the stop yet
    (98.5, 99.0, 96.0, 96.5),  # stop at 97 closes the rest (taker)
    (96.5, 97.0, 95.0, 95.5),  # short opened by market order at the open
    (95.5, 96.0, 94.0, 94.5),
    (94.5, 95.0, 93.5, 94.0),  # close_position at the open
    (94.0, 95.5, 93.8, 95.0),  # a new long opens at the open
    (95.0, 96.0, 94.5, 95.5),
]


def _open(acc: Subaccount, memo: Memo) -> None:
    acc.open_order(OrderType.MARKET, 2.0, client_id="entry")


def _brackets(acc: Subaccount, memo: Memo) -> None:
    memo["tp"] = acc.open_order(OrderType.LIMIT, -1.0, price=105.0, reduce_only=True).id
    memo["sl"] = acc.open_order(OrderType.STOP_MARKET, -3.0, trigger_price=97.0, reduce_only=True).id
    memo["taker"] = acc.open_order(OrderType.LIMIT, 5.0, price=102.0, post_only=True).reject_reason or ""
    acc.open_order(OrderType.LIMIT, 2.0, price=101.0, post_only=True)  # rests, fills as maker
    acc.open_order(OrderType.LIMIT, 1.0, price=90.0, time_in_force="IOC")  # expires unfilled


def _amend(acc: Subaccount, memo: Memo) -> None:
    acc.edit_order(memo["tp"], price=103.5)


def _add(acc: Subaccount, memo: Memo) -> None:
    acc.open_order(OrderType.LIMIT, 1.0, price=99.0)
    acc.open_order(OrderType.TAKE_PROFIT_MARKET, -1.0, trigger_price=110.0, trigger_by=TriggerBy.MARK)


def _short(acc: Subaccount, memo: Memo) -> None:
    acc.cancel_all_orders()
    acc.open_order(OrderType.MARKET, -1.5)
    memo["big"] = acc.open_order(OrderType.MARKET, 100.0).reject_reason or ""  # far beyond the balance


def _flatten(acc: Subaccount, memo: Memo) -> None:
    acc.close_position()


def _reopen(acc: Subaccount, memo: Memo) -> None:
    acc.open_order(OrderType.MARKET, acc.get_contracts_pct_of_balance(0.5))
    acc.open_order(OrderType.STOP_LIMIT, -1.0, price=89.5, trigger_price=90.0, reduce_only=True)
    acc.open_order(OrderType.TAKE_PROFIT_LIMIT, -1.0, price=120.0, trigger_price=119.0, client_id="tp2")


SCRIPT: dict[int, Action] = {0: _open, 1: _brackets, 2: _amend, 3: _add, 5: _short, 7: _flatten, 8: _reopen}


class Recorder:
    """A venue whose placed orders are remembered (the simulator updates its ``Order`` objects in place)."""

    def __init__(self, venue: Subaccount | SimExchange) -> None:
        self.venue, self.placed = venue, []

    def open_order(self, *args: Any, **kwargs: Any) -> Order:
        order = self.venue.open_order(*args, **kwargs)
        self.placed.append(order)
        return order

    def __getattr__(self, name: str) -> Any:
        return getattr(self.venue, name)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBinanceExchange]:
    """A fake whose BTCUSDT minimum notional (5 USDT) lets the script's small orders through."""
    state = FakeBinanceState()
    state.add_symbol("BTCUSDT", "BTC", min_notional="5", brackets=BTCUSDT_BRACKETS)
    with FakeBinanceExchange(state) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeBinanceExchange) -> FakeBinanceExchange:
    server.reset_trading()
    server.open_account("BTCUSDT", BALANCE, leverage=LEVERAGE, margin_mode=MarginMode.CROSS)
    return server


def client(fake: FakeBinanceExchange) -> ccxt.Exchange:
    """The real ccxt binanceusdm client, pointed at the fake the way a run's ``live.api_base`` does it."""
    exchange = make_exchange("binanceusdm", api_base=fake.base_url)
    exchange.apiKey, exchange.secret = API_KEY, API_SECRET
    return exchange


def run_live(fake: FakeBinanceExchange) -> tuple[CcxtSubaccount, Memo, list[Order]]:
    """The script through the adapter, one pushed candle at a time."""
    fake.push_candle("BTCUSDT", *CANDLES[0])
    acc = CcxtSubaccount(client(fake), PAIR)
    recorder, memo = Recorder(acc), {}
    for i, candle in enumerate(CANDLES):
        if i:
            fake.push_candle("BTCUSDT", *candle)
        if i in SCRIPT:
            SCRIPT[i](recorder, memo)
    return acc, memo, recorder.placed


def run_sim(spec: ContractSpec) -> tuple[SimExchange, Memo, list[Order]]:
    """The script straight through the simulator, candle by candle, on the adapter's spec."""
    sim = SimExchange(spec, market(CANDLES), initial_balance=BALANCE, leverage=LEVERAGE, margin_mode=MarginMode.CROSS)
    recorder, memo = Recorder(sim), {}
    for i in range(len(CANDLES)):
        sim.step(i)
        if i in SCRIPT:
            SCRIPT[i](recorder, memo)
    return sim, memo, recorder.placed


def test_the_adapter_loads_binance_numbers_from_market_data(fake: FakeBinanceExchange) -> None:
    spec = CcxtSubaccount(client(fake), PAIR).spec
    assert (spec.tick_size, spec.lot_step, spec.min_qty, spec.max_qty) == (0.1, 0.001, 0.001, 1000.0)
    assert (spec.taker_fee, spec.maker_fee) == (0.0005, 0.0002)
    # the bracket ladder with Binance's maintenance amounts (research note X4) as the deductions
    assert [(t.limit_value, t.mmr, t.max_leverage, t.deduction) for t in spec.risk_tiers[:4]] == [
        (50_000.0, 0.004, 125.0, 0.0), (600_000.0, 0.005, 100.0, 50.0), (3_000_000.0, 0.0065, 75.0, 950.0),
        (12_000_000.0, 0.01, 50.0, 11_450.0),
    ]


def test_sim_and_binance_adapter_give_the_same_fills_position_wallet_and_orders(fake: FakeBinanceExchange) -> None:
    live, live_memo, _ = run_live(fake)
    sim, sim_memo, _ = run_sim(live.spec)
    assert live_memo == sim_memo  # the same order ids and reject reasons
    assert sim_memo["taker"] == RejectReason.POST_ONLY_WOULD_TAKE.value
    assert sim_memo["big"] == RejectReason.INSUFFICIENT_BALANCE.value
    sim_fills, live_fills = sim.fills, live.fetch_fills()
    assert len(sim_fills) == 8 and sim.contracts > 0  # the script really trades and ends long
    assert [(f.kind, f.contracts, f.price, f.is_maker, f.order_id) for f in live_fills] == [
        (f.kind, f.contracts, f.price, f.is_maker, f.order_id) for f in sim_fills
    ]
    assert [f.fee for f in live_fills] == pytest.approx([f.fee for f in sim_fills], abs=1e-9)
    assert [f.realized_pnl for f in live_fills] == pytest.approx([f.realized_pnl for f in sim_fills], abs=1e-9)
    assert [f.time_ms for f in live_fills] == [f.time_ms for f in sim_fills]
    # Binance reports neither a bankruptcy price nor a per-position realized PnL
    position = live.get_position()
    assert (position.bankruptcy_price, position.realized_pnl) == (0.0, 0.0)
    _assert_same(position, sim.get_position(), skip=("bankruptcy_price", "realized_pnl"))
    _assert_same(live.get_wallet(), sim.get_wallet())
    fields = ("id", "type", "contracts", "price", "trigger_price", "trigger_direction", "status", "client_id")
    open_orders = [tuple(getattr(o, k) for k in fields) for o in sim.get_open_orders()]
    assert len(open_orders) == 2
    assert [tuple(getattr(o, k) for k in fields) for o in live.get_open_orders()] == open_orders
    live.refresh()
    assert (live.contracts, live.last_price) == (sim.contracts, sim.last_price)


def test_finished_orders_read_back_with_the_simulators_status_and_reason(fake: FakeBinanceExchange) -> None:
    live, _, _ = run_live(fake)
    _sim, _, placed = run_sim(live.spec)
    fields = ("id", "type", "contracts", "price", "trigger_price", "status", "reject_reason", "filled", "client_id")
    accepted = [o for o in placed if o.status is not OrderStatus.REJECTED]
    assert {o.status for o in accepted} == {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.UNTRIGGERED}
    for order in accepted:
        found = live.get_order(order.id)
        assert found is not None, order
        assert tuple(getattr(found, k) for k in fields) == tuple(getattr(order, k) for k in fields)
    reasons = {o.reject_reason for o in accepted}
    assert RejectReason.IOC_NOT_FILLED.value in reasons  # read back from Binance's EXPIRED + timeInForce IOC


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("post-only would take", {"order_type": "limit", "contracts": 1.0, "price": 102.0, "post_only": True}),
    ("reduce-only without position", {"order_type": "market", "contracts": -1.0, "reduce_only": True}),
    ("insufficient margin", {"order_type": "market", "contracts": 100.0}),
    ("stop on the wrong side", {"order_type": "stop_market", "contracts": 1.0, "trigger_price": 95.0}),
    ("take-profit on the wrong side", {"order_type": "take_profit_market", "contracts": -1.0, "trigger_price": 95.0}),
    ("below the minimum quantity", {"order_type": "market", "contracts": 0.0001}),
    ("off the lot step", {"order_type": "market", "contracts": 1.0005}),
    ("off the tick", {"order_type": "limit", "contracts": 1.0, "price": 99.05}),
    ("no limit price", {"order_type": "limit", "contracts": 1.0}),
    ("zero quantity", {"order_type": "market", "contracts": 0.0}),
]


@pytest.mark.parametrize(("what", "order"), INVALID, ids=[w for w, _ in INVALID])
def test_invalid_orders_are_refused_with_the_simulators_reasons(
    fake: FakeBinanceExchange, what: str, order: dict[str, Any]
) -> None:
    for candle in CANDLES[:2]:
        fake.push_candle("BTCUSDT", *candle)
    live = CcxtSubaccount(client(fake), PAIR)
    sim = SimExchange(live.spec, market(CANDLES[:2]), initial_balance=BALANCE, leverage=LEVERAGE,
                      margin_mode=MarginMode.CROSS)  # fmt: skip
    sim.step(0)
    sim.step(1)
    expected = sim.open_order(**order)
    got = live.open_order(**order)
    assert expected.status is OrderStatus.REJECTED, what
    assert (got.status, got.reject_reason) == (expected.status, expected.reject_reason), what


def test_amending_a_trigger_is_refused_with_binances_reason(fake: FakeBinanceExchange) -> None:
    """Binance modifies only LIMIT orders: the simulator would move the trigger, the adapter says why not."""
    fake.push_candle("BTCUSDT", *CANDLES[0])
    live = CcxtSubaccount(client(fake), PAIR)
    stop = live.open_order(OrderType.STOP_MARKET, 1.0, trigger_price=110.0)
    refused = live.edit_order(stop.id, trigger_price=111.0)
    assert refused.reject_reason is not None and "only the price and quantity of LIMIT" in refused.reject_reason
    assert [o.trigger_price for o in live.get_open_orders()] == [110.0]


def test_orders_below_binances_minimum_notional_are_refused(fake: FakeBinanceExchange) -> None:
    """MIN_NOTIONAL (Binance's filter, from the market data): the adapter and the simulator refuse alike."""
    fake.state.filter_of("BTCUSDT", "MIN_NOTIONAL")["notional"] = "100"
    try:
        fake.push_candle("BTCUSDT", *CANDLES[0])
        live = CcxtSubaccount(client(fake), PAIR)
        assert live.spec.min_notional == 100.0
        sim = SimExchange(live.spec, market(CANDLES[:2]), initial_balance=BALANCE, leverage=LEVERAGE)
        sim.step(0)
        for venue in (live, sim):  # 0.5 x 99 = 49.5 < 100: refused; 1.1 x 99 = 108.9 rests
            small = venue.open_order(OrderType.LIMIT, 0.5, price=99.0)
            assert (small.status, small.reject_reason) == (OrderStatus.REJECTED, RejectReason.BELOW_MIN_NOTIONAL.value)
            assert venue.open_order(OrderType.LIMIT, 1.1, price=99.0).status is OrderStatus.NEW
    finally:
        fake.state.filter_of("BTCUSDT", "MIN_NOTIONAL")["notional"] = "5"


def _assert_same(left: Any, right: Any, skip: tuple[str, ...] = ()) -> None:
    """Field by field; floats to 1e-9."""
    for name in left.__dataclass_fields__:
        if name in skip:
            continue
        a, b = getattr(left, name), getattr(right, name)
        assert a == (pytest.approx(b, abs=1e-9) if isinstance(a, float) else b), name

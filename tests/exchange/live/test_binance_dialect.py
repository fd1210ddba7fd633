"""The Binance dialect behind CcxtSubaccount, against the fake: funding executions, lookups by client id,
algo orders a fresh adapter has not seen, re-sent orders, leverage and margin type, demo trading."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest

from kektrade.config import load_config
from kektrade.domain.types import FillKind, MarginMode, OrderStatus, OrderType
from kektrade.exchange.live.binance_dialect import BinanceDialect
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.dialects import dialect_for
from kektrade.exchange.live.errors import VenueError
from kektrade.exchange.live.ohlcv import make_exchange
from tests.fakes.binance_fapi import BTCUSDT_BRACKETS, FakeBinanceState
from tests.fakes.binance_trading import API_KEY, API_SECRET, MINUTE_MS, T0_MS, FakeBinanceExchange

PAIR = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBinanceExchange]:
    """Hourly funding (to reach a settlement in 60 candles); a 5 USDT minimum notional."""
    state = FakeBinanceState(funding_hours={"BTCUSDT": 1})
    state.add_symbol("BTCUSDT", "BTC", min_notional="5", brackets=BTCUSDT_BRACKETS)
    with FakeBinanceExchange(state) as fake:
        yield fake


@pytest.fixture
def fake(server: FakeBinanceExchange) -> FakeBinanceExchange:
    server.reset_trading()
    server.state.funding.clear()
    server.open_account("BTCUSDT", 1_000.0, leverage=5, funding_rate=0.0001)
    server.push_candle("BTCUSDT", 100.0, 101.0, 99.0, 100.0)
    return server


def account(fake: FakeBinanceExchange) -> CcxtSubaccount:
    client = make_exchange("binanceusdm", api_base=fake.base_url)
    client.apiKey, client.secret = API_KEY, API_SECRET
    return CcxtSubaccount(client, PAIR)


def test_binanceusdm_has_its_own_dialect() -> None:
    assert dialect_for("binanceusdm") is BinanceDialect
    rule = BinanceDialect.client_ids
    assert rule.fits("kt0a1b2c3d-lq2x8g0-1-tp.main:1") and not rule.fits("a b") and not rule.fits("x" * 37)


def test_the_funding_interval_comes_from_funding_info(fake: FakeBinanceExchange) -> None:
    assert account(fake).spec.funding_interval_ms == 3_600_000  # the fixture's BTCUSDT settles hourly
    del fake.state.funding_hours["BTCUSDT"]
    try:
        assert account(fake).spec.funding_interval_ms == 8 * 3_600_000  # not listed: Binance's default
    finally:
        fake.state.funding_hours["BTCUSDT"] = 1


def test_funding_payments_are_executions_with_the_settlements_rate_and_mark(fake: FakeBinanceExchange) -> None:
    acc = account(fake)
    acc.open_order(OrderType.MARKET, 1.5)
    for n in range(1, 62):  # past the 01:00 settlement
        price = 100.0 + n / 10
        fake.push_candle("BTCUSDT", price, price + 0.5, price - 0.5, price)
    executions = acc.fetch_executions()
    (trade_id, trade), (funding_id, funding) = executions
    assert trade_id == "T1" and funding_id.startswith("F")
    (expected,) = [f for f in fake.sims["BTCUSDT"].fills if f.kind is FillKind.FUNDING]
    assert funding.time_ms == expected.time_ms == T0_MS + 60 * MINUTE_MS
    assert (funding.kind, funding.contracts, funding.price, funding.fee_rate) == (FillKind.FUNDING, 1.5, 106.0, 0.0001)
    assert funding.fee == pytest.approx(1.5 * 106.0 * 0.0001, abs=1e-12)  # paid from the wallet, long, rate > 0
    assert acc.fetch_executions() == []  # each execution once
    wallet = acc.get_wallet()
    assert wallet.cumulative_funding == pytest.approx(funding.fee, abs=1e-12)
    assert wallet.cumulative_fees == pytest.approx(trade.fee, abs=1e-12)


def test_a_fresh_adapter_finds_and_cancels_orders_by_client_id(fake: FakeBinanceExchange) -> None:
    first = account(fake)
    limit = first.open_order(OrderType.LIMIT, 1.0, price=95.0, client_id="kt-rest")
    stop = first.open_order(OrderType.STOP_MARKET, 1.0, trigger_price=110.0, client_id="kt-stop")
    fresh = account(fake)  # knows nothing about algo ids yet (a restarted run before its first refresh)
    found = fresh.find_by_client_id("kt-stop")
    assert found is not None and (found.id, found.type, found.status) == (stop.id, OrderType.STOP_MARKET,
                                                                           OrderStatus.UNTRIGGERED)  # fmt: skip
    assert fresh.find_by_client_id("kt-rest").id == limit.id  # type: ignore[union-attr]
    assert fresh.find_by_client_id("kt-none") is None
    cancelled = account(fake).cancel_order(stop.id)  # tried as a regular order first, then as an algo order
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert account(fake).cancel_order(stop.id) is None  # no longer open
    assert [o.id for o in fresh.get_open_orders()] == [limit.id]
    assert fresh.cancel_all_orders() == 1 and fresh.get_open_orders() == []


def test_trades_of_a_triggered_stop_belong_to_the_stop_order(fake: FakeBinanceExchange) -> None:
    """Binance's fired stop trades under a new order id (``actualOrderId``); kektrade books it to the stop."""
    acc = account(fake)
    acc.open_order(OrderType.MARKET, 1.0)
    fake.push_candle("BTCUSDT", 100.0, 100.5, 99.5, 100.0)
    stop = acc.open_order(OrderType.STOP_MARKET, -1.0, trigger_price=98.0, reduce_only=True)
    fake.push_candle("BTCUSDT", 100.0, 100.0, 97.0, 97.5)
    fresh = account(fake)  # a restarted run: it never saw the stop
    entry, fired = fresh.fetch_fills()
    assert (fired.order_id, fired.contracts, fired.price) == (stop.id, -1.0, 98.0)
    assert entry.order_id != stop.id
    fresh.fetch_fills()
    assert len(fake.requests_to("/fapi/v1/allAlgoOrders")) == 1  # each unknown order id is looked up once
    found = fresh.get_order(stop.id)
    assert found is not None and (found.status, found.filled) == (OrderStatus.FILLED, -1.0)


def test_a_fired_stop_limit_resting_in_the_book_is_listed_and_cancelled_by_its_own_id(
    fake: FakeBinanceExchange,
) -> None:
    acc = account(fake)
    stop = acc.open_order(OrderType.STOP_LIMIT, 1.0, price=100.5, trigger_price=101.0, client_id="kt-sl")
    fake.push_candle("BTCUSDT", 100.8, 101.5, 100.8, 101.4)  # fires at 101; the limit at 100.5 is not reached
    fresh = account(fake)
    (listed,) = fresh.get_open_orders()  # from openOrders, under the order it placed
    assert (listed.id, listed.type, listed.status, listed.client_id) == (
        stop.id, OrderType.STOP_LIMIT, OrderStatus.NEW, "kt-sl"
    )
    cancelled = account(fake).cancel_order(stop.id)  # the algo service refuses: cancelled in the book
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert fake.sims["BTCUSDT"].get_open_orders() == []


def test_a_re_sent_order_is_adopted_never_doubled(fake: FakeBinanceExchange) -> None:
    acc = account(fake)
    placed = acc.open_order(OrderType.LIMIT, 1.0, price=95.0, client_id="kt-once")
    again = acc.open_order(OrderType.LIMIT, 1.0, price=95.0, client_id="kt-once")  # -4116 duplicate: adopted
    assert again.id == placed.id and len(fake.orders["BTCUSDT"]) == 1


def test_an_account_in_hedge_mode_is_refused_with_what_to_change(fake: FakeBinanceExchange) -> None:
    fake.hedge_mode = True
    with pytest.raises(VenueError, match=r"hedge mode.*One-way"):
        account(fake)


def test_leverage_and_margin_type(fake: FakeBinanceExchange) -> None:
    acc = account(fake)
    assert (acc.get_position().leverage, acc.get_position().margin_mode) == (5.0, MarginMode.CROSS)
    acc.set_leverage(3)
    acc.set_margin_mode("isolated")
    acc.set_margin_mode("isolated")  # Binance's -4046 "No need to change margin type." is not an error
    assert fake.leverages["BTCUSDT"] == 3 and fake.margin_types["BTCUSDT"] is MarginMode.ISOLATED
    acc.open_order(OrderType.MARKET, 2.0)
    fake.push_candle("BTCUSDT", 100.0, 100.0, 100.0, 100.0)
    position = account(fake).get_position()  # read back by a fresh adapter
    assert (position.contracts, position.leverage, position.margin_mode) == (2.0, 3.0, MarginMode.ISOLATED)
    assert position.initial_margin == pytest.approx(fake.sims["BTCUSDT"].get_position().initial_margin, abs=1e-9)
    acc.add_margin(10.0)
    assert fake.sims["BTCUSDT"].get_position().liquidation_price < position.liquidation_price


def test_the_shipped_demo_config_trades_binance_demo() -> None:
    config = load_config(Path(__file__).resolve().parents[3] / "configs" / "binanceusdm_testnet.json")
    (sub,) = config.subaccounts
    assert (sub.venue_info.exchange, sub.venue_info.kind.value, sub.testnet) == ("binanceusdm", "live", True)


def test_testnet_means_binance_demo_trading() -> None:
    client = make_exchange("binanceusdm", testnet=True)
    client.apiKey, client.secret = "k", "s"
    signed = client.sign("account", ["fapiPrivateV3"], "GET", {})  # ccxt refuses to sign for its old testnet
    assert signed["url"].startswith("https://demo-fapi.binance.com/fapi/v3/account?")
    with pytest.raises(ccxt.NotSupported):
        old = ccxt.binanceusdm({"apiKey": "k", "secret": "s"})
        old.set_sandbox_mode(True)
        old.sign("account", ["fapiPrivateV3"], "GET", {})


def test_a_liquidation_arrives_as_a_liquidation_fill(fake: FakeBinanceExchange) -> None:
    acc = account(fake)
    acc.set_leverage(20)
    acc.open_order(OrderType.MARKET, 110.0)  # 11,000 USDT at 20x on a 1,000 USDT wallet
    fake.push_candle("BTCUSDT", 100.0, 100.5, 99.5, 100.0)
    fake.push_candle("BTCUSDT", 100.0, 100.0, 90.0, 91.0)  # through the liquidation price
    expected = [(f.kind, f.contracts, f.price, f.order_id) for f in fake.sims["BTCUSDT"].fills]
    assert [k for k, *_ in expected] == [FillKind.TRADE, FillKind.LIQUIDATION]
    assert [(f.kind, f.contracts, f.price, f.order_id) for f in account(fake).fetch_fills()] == expected
    assert acc.get_position().contracts == 0.0

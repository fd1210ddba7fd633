"""The fake Binance USDⓈ-M driven by the real ccxt ``binanceusdm`` client: what ccxt sends and reads."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from tests.fakes.binance_fapi import point_ccxt_at
from tests.fakes.binance_orders import ACTUAL_OFFSET
from tests.fakes.binance_trading import API_KEY, API_SECRET, T0_MS, FakeBinanceExchange

PAIR = "BTC/USDT:USDT"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBinanceExchange]:
    """One fake per module."""
    with FakeBinanceExchange() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeBinanceExchange) -> FakeBinanceExchange:
    """A fresh BTCUSDT account (1,000 USDT, 5x, cross) with three candles at 100."""
    server.reset_trading()
    server.open_account("BTCUSDT", 1_000.0, leverage=5)
    for _ in range(3):
        server.push_candle("BTCUSDT", 100.0, 101.0, 99.0, 100.0)
    return server


def client(fake: FakeBinanceExchange, key: str = API_KEY, secret: str = API_SECRET) -> ccxt.Exchange:
    """The real sync ccxt binanceusdm client pointed at the fake."""
    exchange = ccxt.binanceusdm({"enableRateLimit": False, "apiKey": key, "secret": secret})
    point_ccxt_at(exchange, fake.base_url)
    return exchange


@pytest.fixture
def ex(fake: FakeBinanceExchange) -> ccxt.Exchange:
    """A client with markets loaded."""
    exchange = client(fake)
    exchange.load_markets()
    return exchange


def test_markets_carry_binance_filters(ex: ccxt.Exchange) -> None:
    market = ex.market(PAIR)
    assert (market["id"], market["swap"], market["linear"], market["contractSize"]) == ("BTCUSDT", True, True, 1.0)
    assert market["precision"]["price"] == 0.1 and market["precision"]["amount"] == 0.001
    assert market["limits"]["amount"] == {"min": 0.001, "max": 1000.0}
    assert market["limits"]["market"]["max"] == 120.0 and market["limits"]["cost"]["min"] == 100.0
    assert ex.market("ETH/USDT:USDT")["precision"]["price"] == 0.01


def test_brackets_carry_the_maintenance_amounts_of_the_research_snapshot(ex: ccxt.Exchange) -> None:
    tiers = ex.fetch_leverage_tiers([PAIR])[PAIR]
    # freqtrade's BTCUSDT snapshot (research note X4): floors, rates, leverage and cum, re-derived there
    assert [(t["minNotional"], t["maintenanceMarginRate"], t["maxLeverage"], t["info"]["cum"]) for t in tiers] == [
        (0.0, 0.004, 125.0, 0.0), (50_000.0, 0.005, 100.0, 50.0), (600_000.0, 0.0065, 75.0, 950.0),
        (3_000_000.0, 0.01, 50.0, 11_450.0), (12_000_000.0, 0.02, 25.0, 131_450.0),
        (70_000_000.0, 0.025, 20.0, 481_450.0), (100_000_000.0, 0.05, 10.0, 2_981_450.0),
    ]
    assert ex.fetch_trading_fee(PAIR)["taker"] == 0.0005


def test_candles_mark_candles_funding_and_premium_index(fake: FakeBinanceExchange, ex: ccxt.Exchange) -> None:
    fake.state.add_klines("BTCUSDT", [[T0_MS + k * 60_000, 90.0 + k, 91.0 + k, 89.0 + k, 90.5 + k] for k in range(3)],
                          mark=True)
    fake.state.add_funding("BTCUSDT", [(T0_MS - 28_800_000, 0.0001, 37_000.12345678), (T0_MS, -0.0002, 99.5)])
    candles = ex.fetch_ohlcv(PAIR, "1m", since=T0_MS, limit=2)
    assert candles == [[T0_MS, 100.0, 101.0, 99.0, 100.0, 1.0], [T0_MS + 60_000, 100.0, 101.0, 99.0, 100.0, 1.0]]
    marks = ex.fetch_ohlcv(PAIR, "1m", since=T0_MS, limit=5, params={"price": "mark"})
    assert [c[4] for c in marks] == [90.5, 91.5, 92.5]
    history = ex.fetch_funding_rate_history(PAIR, since=T0_MS - 86_400_000)
    assert [(h["timestamp"], h["fundingRate"], h["info"]["markPrice"]) for h in history] == [
        (T0_MS - 28_800_000, 0.0001, "37000.12345678"), (T0_MS, -0.0002, "99.5")
    ]
    rate = ex.fetch_funding_rate(PAIR)
    assert (rate["markPrice"], rate["fundingRate"], rate["fundingTimestamp"]) == (92.5, -0.0002, T0_MS + 28_800_000)
    assert ex.fetch_ticker(PAIR)["last"] == 100.0
    assert ex.fetch_time() == T0_MS + 3 * 60_000
    assert fake.requests_to("/fapi/v1/markPriceKlines")[0].params["startTime"] == str(T0_MS)


def test_bad_credentials_and_stale_timestamps_are_refused(fake: FakeBinanceExchange) -> None:
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        client(fake, secret="wrong").fetch_balance()
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        client(fake, key="wrong").fetch_balance()
    fake.check_clock = True
    stale = client(fake)
    stale.options["timeDifference"] = 60_000  # ccxt believes the server is a minute behind
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        stale.fetch_balance()
    assert client(fake).fetch_balance()["USDT"]["total"] == 1_000.0


def test_orders_of_every_type_fill_through_the_simulator(fake: FakeBinanceExchange, ex: ccxt.Exchange) -> None:
    entry = ex.create_order(PAIR, "market", "buy", 2, None, {"clientOrderId": "kt-entry"})
    assert (entry["status"], entry["clientOrderId"]) == ("open", "kt-entry")
    fake.push_candle("BTCUSDT", 100.0, 100.5, 99.5, 100.0)  # the market order fills at this open
    assert ex.fetch_order(None, PAIR, {"clientOrderId": "kt-entry"})["status"] == "closed"
    take = ex.create_order(PAIR, "limit", "sell", 1, 105, {"reduceOnly": True, "clientOrderId": "kt-tp"})
    stop = ex.create_order(PAIR, "market", "sell", 1, None, {"triggerPrice": 97, "reduceOnly": True})
    ioc = ex.create_order(PAIR, "limit", "buy", 2, 90, {"timeInForce": "IOC"})
    rest = ex.create_order(PAIR, "limit", "buy", 2, 99.5, {"postOnly": True})
    last = fake.requests_to("/fapi/v1/algoOrder")[-1].params
    assert (last["type"], last["triggerPrice"], last["algoType"]) == ("STOP_MARKET", "97", "CONDITIONAL")
    assert fake.requests_to("/fapi/v1/order")[-1].params["timeInForce"] == "GTX"
    assert ex.edit_order(take["id"], PAIR, "limit", "sell", 1, 103.5)["price"] == 103.5
    fake.push_candle("BTCUSDT", 100.0, 104.0, 99.0, 103.0)  # IOC expires; post-only and take-profit fill
    status = {o: ex.fetch_order(o, PAIR)["info"]["status"] for o in (take["id"], ioc["id"], rest["id"])}
    assert status == {take["id"]: "FILLED", ioc["id"]: "EXPIRED", rest["id"]: "FILLED"}
    fake.push_candle("BTCUSDT", 103.0, 103.0, 96.0, 96.5)  # the stop fires and closes a coin
    algo = ex.fetch_order(stop["id"], PAIR, {"trigger": True})
    placed = str(ACTUAL_OFFSET + int(stop["id"]))  # the order the stop placed in the matching engine
    assert (algo["info"]["algoStatus"], algo["info"]["actualOrderId"]) == ("FINISHED", placed)
    assert ex.fetch_order(placed, PAIR)["info"]["origType"] == "STOP_MARKET"
    trades = ex.fetch_my_trades(PAIR)
    assert [(t["id"], t["order"], t["side"], t["price"], t["takerOrMaker"]) for t in trades] == [
        ("1", entry["id"], "buy", 100.0, "taker"), ("2", rest["id"], "buy", 99.5, "maker"),  # low before high
        ("3", take["id"], "sell", 103.5, "maker"), ("4", placed, "sell", 97.0, "taker"),
    ]
    assert trades[0]["fee"]["cost"] == pytest.approx(2 * 100 * 0.0005)  # taker 0.05 % of 200 USDT
    assert trades[2]["fee"]["cost"] == pytest.approx(103.5 * 0.0002)
    position = ex.fetch_positions([PAIR])[0]
    assert position["contracts"] == 2.0 and position["side"] == "long"


def test_refusals_carry_binance_codes(fake: FakeBinanceExchange, ex: ccxt.Exchange) -> None:
    refusals = [
        (lambda: ex.create_order(PAIR, "limit", "buy", 1, 101, {"postOnly": True}), -5022),
        (lambda: ex.create_order(PAIR, "market", "sell", 1, None, {"reduceOnly": True}), -2022),
        (lambda: ex.create_order(PAIR, "market", "buy", 100, None), -2019),
        (lambda: ex.create_order(PAIR, "market", "buy", 0.5, None), -4164),  # 50 USDT < MIN_NOTIONAL 100
        (lambda: ex.create_order(PAIR, "market", "buy", 1, None, {"triggerPrice": 95}), -2021),
        (lambda: ex.create_order(PAIR, "market", "buy", 1, None, {"clientOrderId": "bad id!"}), -4015),
        (lambda: ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET",
                                          "quantity": "1", "stopPrice": "105"}), -4120),
        (lambda: ex.fetch_order("999", PAIR), -2013),
        (lambda: ex.cancel_order("999", PAIR), -2011),
    ]
    for call, code in refusals:
        with pytest.raises(ccxt.BaseError, match=f'"code": {code},'):
            call()
    ex.create_order(PAIR, "limit", "buy", 2, 95, {"clientOrderId": "kt-dup"})
    with pytest.raises(ccxt.BaseError, match='"code": -4116,'):
        ex.create_order(PAIR, "limit", "buy", 2, 94, {"clientOrderId": "kt-dup"})
    stop = ex.create_order(PAIR, "market", "buy", 1, None, {"triggerPrice": 110})
    with pytest.raises(ccxt.BaseError, match='"code": -2013,'):  # not an order of /fapi/v1/order
        ex.edit_order(stop["id"], PAIR, "market", "buy", 1, 111)


def test_account_leverage_margin_type_and_funding_income(fake: FakeBinanceExchange, ex: ccxt.Exchange) -> None:
    assert ex.set_leverage(3, PAIR)["leverage"] == 3
    with pytest.raises(ccxt.BaseError, match='"code": -4028,'):
        ex.fapiPrivatePostLeverage({"symbol": "BTCUSDT", "leverage": 126})  # ccxt itself refuses > 125
    ex.set_margin_mode("isolated", PAIR)
    with pytest.raises(ccxt.MarginModeAlreadySet):
        ex.set_margin_mode("isolated", PAIR)
    assert ex.fapiPrivateGetSymbolConfig({"symbol": "BTCUSDT"})[0]["marginType"] == "ISOLATED"
    ex.create_order(PAIR, "market", "buy", 3, None)
    fake.push_candle("BTCUSDT", 100.0, 100.0, 100.0, 100.0)
    with pytest.raises(ccxt.BaseError, match='"code": -4048,'):
        ex.set_margin_mode("cross", PAIR)
    balance = ex.fetch_balance()["USDT"]
    # 3 BTC at 100 with 3x: 100 USDT of position margin; wallet 1,000 - 0.15 taker fee
    assert balance["total"] == pytest.approx(999.85) and balance["used"] == pytest.approx(100.0, abs=0.5)
    risk = ex.fapiPrivateV3GetPositionRisk({"symbol": "BTCUSDT"})[0]
    assert (risk["positionAmt"], risk["entryPrice"], risk["notional"]) == ("3", "100", "300")
    assert ex.fetch_funding_history(PAIR) == []

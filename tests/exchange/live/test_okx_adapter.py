"""CcxtSubaccount with the OKX dialect: the real ccxt ``okx`` client against the fake OKX v5 (a SimExchange inside).

Sizes are checked against OKX's wire format: a strategy's coins become ``sz`` contracts by ctVal.
"""

from __future__ import annotations

import ccxt
import pytest

from kektrade.domain.types import ContractKind, FillKind, MarginMode, OrderStatus, OrderType, RejectReason, TriggerBy
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.ohlcv import make_exchange
from kektrade.exchange.live.okx_dialect import OkxDialect
from tests.exchange.live.conftest import make_okx_client
from tests.fakes.okx_trading import API_KEY, API_SECRET, PASSPHRASE, FakeOkxExchange
from tests.fakes.okx_v5 import OkxError, OkxRequest

BTC, INST = "BTC/USDT:USDT", "BTC-USDT-SWAP"


def account(okx: FakeOkxExchange, client: ccxt.Exchange, balance: float = 10_000.0) -> CcxtSubaccount:
    okx.open_account(INST, balance, leverage=10)
    okx.push_candle(INST, 40_000, 40_010, 39_990, 40_000)
    return CcxtSubaccount(client, BTC)


def _bodies(okx: FakeOkxExchange, path: str) -> list[dict]:
    """The JSON bodies POSTed to ``path``, one per order."""
    out = []
    for request in okx.requests_to(path):
        if request.method != "POST":
            continue
        out += request.body if isinstance(request.body, list) else [request.body]
    return out


def test_spec_is_in_coins_from_ct_val_lot_and_tiers(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client)
    assert isinstance(acc.dialect, OkxDialect) and acc.dialect.unit == 0.01
    spec = acc.spec
    # lotSz 0.01 contracts of 0.01 BTC = 0.0001 BTC; tick 0.1; fees from trade-fee (negative = paid on OKX)
    assert (spec.kind, spec.lot_step, spec.min_qty, spec.tick_size) == (ContractKind.LINEAR, 0.0001, 0.0001, 0.1)
    assert (spec.taker_fee, spec.maker_fee, spec.contract_size) == (0.0005, 0.0002, 0.01)  # one OKX contract
    # position tiers are sizes (OKX's formulas): 2,000 and 10,000 contracts x 0.01 BTC
    assert spec.formulas == "okx" and spec.tiers_by_size
    assert [t.limit_value for t in spec.risk_tiers] == pytest.approx([20.0, 100.0])
    assert [t.mmr for t in spec.risk_tiers] == [0.004, 0.006]


def test_coin_quantity_is_sent_as_contracts(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client)
    acc.set_leverage(10)
    order = acc.open_order(OrderType.MARKET, 0.37, client_id="kt0abc-x1-1")
    body = _bodies(okx, "/api/v5/trade/batch-orders")[-1]
    assert body["sz"] == "37" and body["ordType"] == "market" and body["tdMode"] == "cross"
    assert body["clOrdId"] == "kt0abcZx1Z1"  # OKX: letters and digits only; Z for kektrade's separators
    assert order.client_id == "kt0abc-x1-1" and order.contracts == 0.37
    okx.push_candle(INST, 40_000, 40_100, 39_900, 40_050)
    position = acc.get_position()
    assert position.contracts == pytest.approx(0.37) and position.entry_price == 40_000.0
    assert okx.sims[INST].contracts == pytest.approx(0.37)  # the exchange holds 0.37 BTC = 37 contracts
    (exec_id, fill), = acc.fetch_executions()
    assert exec_id == "t1" and fill.contracts == pytest.approx(0.37) and fill.price == 40_000.0
    assert fill.fee == pytest.approx(0.37 * 40_000 * 0.0005) and fill.fee_rate == pytest.approx(0.0005)
    assert acc.find_by_client_id("kt0abc-x1-1").id == order.id  # looked up by its wire form


def test_client_ids_survive_a_restart(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    """A new process (a new adapter) shows the open orders with the ids the run gave them."""
    acc = account(okx, okx_client)
    link = "ktq1w2e3r4-lx7k2a0-3-entry"
    acc.open_order(OrderType.LIMIT, 0.01, price=39_000.0, client_id=link)
    restarted = CcxtSubaccount(make_okx_client(okx), BTC)
    assert [o.client_id for o in restarted.get_open_orders()] == [link]
    assert restarted.find_by_client_id(link) is not None


def test_long_client_ids_are_shortened_deterministically() -> None:
    dialect = OkxDialect.__new__(OkxDialect)
    dialect._sent = {}
    long_id = "ktabcdefgh-1a2b3c4d-zz-strategy_given_id"
    wire = dialect.wire_client_id(long_id)
    assert len(wire) == 32 and wire.isalnum() and wire == dialect.wire_client_id(long_id)
    assert wire.startswith("ktabcdefgh1a2b3c4dzz") and wire != dialect.wire_client_id(long_id + "x")
    assert OkxDialect.client_ids.fits(wire) and not OkxDialect.client_ids.fits("kt-1")


def test_every_order_type_round_trips(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client)
    acc.open_order(OrderType.MARKET, 0.5)
    okx.push_candle(INST, 40_000, 40_010, 39_990, 40_000)
    placed = [
        acc.open_order(OrderType.LIMIT, 0.1, price=39_000.0, post_only=True),
        acc.open_order(OrderType.LIMIT, 0.1, price=38_000.0, time_in_force="GTC", client_id="lim"),
        acc.open_order(OrderType.STOP_MARKET, -0.5, trigger_price=39_000.0, reduce_only=True),
        acc.open_order(OrderType.STOP_LIMIT, -0.2, price=38_900.0, trigger_price=39_000.0, reduce_only=True),
        acc.open_order(OrderType.TAKE_PROFIT_MARKET, -0.2, trigger_price=42_000.0, trigger_by=TriggerBy.MARK),
        acc.open_order(OrderType.TAKE_PROFIT_LIMIT, -0.1, price=42_100.0, trigger_price=42_000.0, client_id="tp"),
    ]
    algo = _bodies(okx, "/api/v5/trade/order-algo")
    assert [(b["ordType"], b.get("slTriggerPx"), b.get("tpTriggerPx"), b["sz"]) for b in algo] == [
        ("conditional", "39000", None, "50"),
        ("conditional", "39000", None, "20"),
        ("conditional", None, "42000", "20"),
        ("conditional", None, "42000", "10"),
    ]
    assert algo[2]["tpTriggerPxType"] == "mark" and algo[3]["algoClOrdId"] == "tp" and algo[1]["slOrdPx"] == "38900"
    open_orders = acc.get_open_orders()
    assert [(o.id, o.type, o.contracts, o.price, o.trigger_price, o.client_id) for o in open_orders] == [
        (o.id, o.type, o.contracts, o.price, o.trigger_price, o.client_id) for o in placed
    ]
    assert [o.status for o in open_orders[2:]] == [OrderStatus.UNTRIGGERED] * 4
    assert open_orders[4].trigger_by is TriggerBy.MARK and open_orders[0].post_only
    assert [o.trigger_direction for o in open_orders[2:]] == [2, 2, 1, 1]
    assert acc.cancel_all_orders() == 6 and acc.get_open_orders() == []


def test_amend_cancel_and_triggered_stop(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client)
    acc.open_order(OrderType.MARKET, 0.5)
    okx.push_candle(INST, 40_000, 40_010, 39_990, 40_000)
    limit = acc.open_order(OrderType.LIMIT, 0.1, price=38_000.0)
    amended = acc.edit_order(limit.id, price=38_500.0, contracts=0.2)
    assert (amended.price, amended.contracts) == (38_500.0, pytest.approx(0.2))
    assert _bodies(okx, "/api/v5/trade/amend-order")[-1]["newSz"] == "20"
    stop = acc.open_order(OrderType.STOP_MARKET, -0.5, trigger_price=39_000.0, reduce_only=True, client_id="sl")
    assert acc.edit_order(stop.id, trigger_price=39_500.0).trigger_price == 39_500.0
    assert _bodies(okx, "/api/v5/trade/amend-algos")[-1]["newSlTriggerPx"] == "39500"
    cancelled = acc.cancel_order(limit.id)
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert acc.cancel_order(limit.id) is None  # OKX 51400: not open any more
    okx.push_candle(INST, 40_000, 40_000, 39_000, 39_100)  # falls through 39,500: the stop closes the long
    done = acc.get_order(stop.id)
    assert done.status is OrderStatus.FILLED and done.filled == pytest.approx(-0.5) and done.client_id == "sl"
    fills = [f for _, f in acc.fetch_executions()]
    assert [(f.contracts, f.order_id) for f in fills] == [(0.5, fills[0].order_id), (-0.5, stop.id)]
    assert fills[1].realized_pnl == pytest.approx(okx.sims[INST].fills[-1].realized_pnl)
    assert acc.get_position().contracts == 0.0


def test_refusals_come_back_with_the_simulators_reasons(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client, balance=100.0)
    assert acc.open_order(OrderType.MARKET, 5.0).reject_reason == RejectReason.INSUFFICIENT_BALANCE.value
    refused = acc.open_order(OrderType.MARKET, -0.001, reduce_only=True)
    assert refused.status is OrderStatus.REJECTED
    assert refused.reject_reason == RejectReason.REDUCE_ONLY_NO_POSITION.value
    post = acc.open_order(OrderType.LIMIT, 0.001, price=41_000.0, post_only=True)
    assert (post.status, post.reject_reason) == (OrderStatus.REJECTED, RejectReason.POST_ONLY_WOULD_TAKE.value)
    assert acc.open_order(OrderType.LIMIT, 0.00005, price=39_000.0).status is OrderStatus.REJECTED  # < lot
    assert okx.requests_to("/api/v5/trade/batch-orders")[-1].body[0]["ordType"] == "post_only"
    first = acc.open_order(OrderType.LIMIT, 0.001, price=39_000.0, client_id="dup")
    with pytest.raises(ccxt.InvalidOrder, match="51016"):  # OKX refuses a second order with the same clOrdId
        okx_client.create_order(BTC, "limit", "buy", 0.1, 39_000.0, {"clientOrderId": "dup"})
    again = acc.open_order(OrderType.LIMIT, 0.001, price=39_000.0, client_id="dup")  # a re-send: adopted
    assert again.id == first.id and len(okx.sims[INST].get_open_orders()) == 1


def test_position_balance_leverage_margin_mode_and_margin(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client)
    acc.set_margin_mode(MarginMode.ISOLATED)
    acc.set_leverage(5)
    assert _bodies(okx, "/api/v5/account/set-leverage")[-1] == {
        "instId": INST, "lever": "5", "mgnMode": "isolated",
    }  # fmt: skip
    acc.open_order(OrderType.MARKET, -0.25)
    okx.push_candle(INST, 40_000, 40_200, 39_800, 39_900)
    assert _bodies(okx, "/api/v5/trade/batch-orders")[-1]["tdMode"] == "isolated"
    position, sim_position = acc.get_position(), okx.sims[INST].get_position()
    assert position.contracts == pytest.approx(-0.25) and position.margin_mode is MarginMode.ISOLATED
    assert position.leverage == 5.0 and position.liquidation_price == pytest.approx(sim_position.liquidation_price)
    assert position.initial_margin == pytest.approx(sim_position.initial_margin)
    acc.add_margin(100.0)
    after = okx.sims[INST].get_position()
    assert after.liquidation_price > sim_position.liquidation_price  # more margin: a short liquidates higher
    assert acc.get_position().liquidation_price == pytest.approx(after.liquidation_price)
    wallet, sim_wallet = acc.get_wallet(), okx.sims[INST].get_wallet()
    assert wallet.wallet_balance == pytest.approx(sim_wallet.wallet_balance)
    assert wallet.margin_balance == pytest.approx(sim_wallet.margin_balance)
    assert wallet.available_balance == pytest.approx(sim_wallet.available_balance)
    assert wallet.cumulative_fees == pytest.approx(0.25 * 40_000 * 0.0005)


def test_funding_bills_are_executions(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    sim = okx.open_account(INST, 10_000.0, leverage=10, funding_rate=0.0001)
    okx.push_candle(INST, 40_000, 40_010, 39_990, 40_000)
    acc = CcxtSubaccount(okx_client, BTC)
    acc.open_order(OrderType.MARKET, 1.0)
    for _ in range(480):  # past the 08:00 UTC settlement
        okx.push_candle(INST, 40_000, 40_010, 39_990, 40_000)
    (funding,) = [f for f in sim.fills if f.kind is FillKind.FUNDING]
    assert funding.fee == pytest.approx(1.0 * 40_000 * 0.0001)  # a long pays 4 USDT at a positive rate
    fills = [f for _, f in acc.fetch_executions()]
    assert [f.kind for f in fills] == [FillKind.TRADE, FillKind.FUNDING]
    assert (fills[1].fee, fills[1].contracts, fills[1].time_ms) == (
        pytest.approx(funding.fee), pytest.approx(1.0), funding.time_ms,
    )  # fmt: skip
    assert acc.get_wallet().cumulative_funding == pytest.approx(4.0)


def test_inverse_swap_counts_usd_contracts(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    okx.open_account("BTC-USD-SWAP", 1.0, leverage=10)
    okx.push_candle("BTC-USD-SWAP", 40_000, 40_010, 39_990, 40_000)
    acc = CcxtSubaccount(okx_client, "BTC/USD:BTC")
    assert acc.spec.kind is ContractKind.INVERSE and acc.spec.lot_step == 100.0 and acc.spec.settle == "BTC"
    acc.open_order(OrderType.MARKET, 1_000.0)
    assert _bodies(okx, "/api/v5/trade/batch-orders")[-1]["sz"] == "10"  # 1,000 USD = 10 contracts of 100 USD
    okx.push_candle("BTC-USD-SWAP", 40_000, 40_010, 39_990, 40_000)
    assert acc.get_position().contracts == 1_000.0
    assert acc.get_wallet().cumulative_fees == pytest.approx(1_000 / 40_000 * 0.0005)


def test_a_wrong_passphrase_is_refused(okx: FakeOkxExchange) -> None:
    okx.open_account(INST, 1_000.0)
    client = make_okx_client(okx, passphrase="wrong")
    with pytest.raises(ccxt.AuthenticationError):
        client.fetch_balance()


def test_sizes_are_not_truncated_by_float_division(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    acc = account(okx, okx_client, balance=1e9)
    acc.open_order(OrderType.LIMIT, 26.3451, price=30_000.0)  # 26.3451 / 0.01 = 2634.5099999999998 in floats
    assert _bodies(okx, "/api/v5/trade/batch-orders")[-1]["sz"] == "2634.51"


def test_testnet_means_okx_demo_trading(okx: FakeOkxExchange) -> None:
    okx.open_account(INST, 1_000.0)
    client = make_exchange("okx", testnet=True, api_base=okx.base_url)
    client.apiKey, client.secret, client.password = API_KEY, API_SECRET, PASSPHRASE
    client.fetch_balance()
    (request,) = okx.requests_to("/api/v5/account/balance")
    assert {k.lower(): v for k, v in request.headers.items()}["x-simulated-trading"] == "1"


def test_an_order_whose_reply_is_lost_is_found_by_its_client_id(
    okx: FakeOkxExchange, okx_client: ccxt.Exchange, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OKX answers 50013 (system busy) after placing the order: the adapter finds it, never sends a second."""
    acc = account(okx, okx_client)
    acc.retrier.policy.sleep = lambda _s: None
    place = okx.routes[("POST", "/api/v5/trade/batch-orders")]
    calls: list[int] = []

    def busy_after_placing(fake: FakeOkxExchange, request: OkxRequest) -> list:
        place(fake, request)
        calls.append(1)
        raise OkxError(50013, "Systems are busy. Please try again later.")

    monkeypatch.setitem(okx.routes, ("POST", "/api/v5/trade/batch-orders"), busy_after_placing)
    order = acc.open_order(OrderType.LIMIT, 0.01, price=39_000.0, client_id="kt1-lost-1")
    assert calls == [1] and order.status is OrderStatus.NEW and order.client_id == "kt1-lost-1"
    assert [o.id for o in okx.sims[INST].get_open_orders()] == [order.id]  # exactly one order on the exchange


def test_a_triggered_stop_limit_rests_under_its_algo_id_and_cancels(
    okx: FakeOkxExchange, okx_client: ccxt.Exchange
) -> None:
    acc = account(okx, okx_client)
    acc.open_order(OrderType.MARKET, 0.5)
    okx.push_candle(INST, 40_000, 40_010, 39_990, 40_000)
    stop = acc.open_order(OrderType.STOP_LIMIT, -0.2, price=39_500.0, trigger_price=39_000.0, reduce_only=True)
    okx.push_candle(INST, 40_000, 40_000, 38_800, 38_900)  # triggers at 39,000; the sell limit at 39,500 rests
    sim_order = next(o for o in okx.sims[INST].get_open_orders() if o.id == stop.id)
    assert sim_order.status is OrderStatus.NEW  # triggered, resting on the book
    (shown,) = acc.get_open_orders()
    expected = (stop.id, OrderType.STOP_LIMIT, OrderStatus.NEW, 39_500.0)
    assert (shown.id, shown.type, shown.status, shown.price) == expected
    cancelled = acc.cancel_order(stop.id)
    assert cancelled is not None and cancelled.status is OrderStatus.CANCELLED
    assert okx.sims[INST].get_open_orders() == []
    assert okx.requests_to("/api/v5/trade/cancel-order")[-1].body["ordId"] != stop.id  # through its placed order

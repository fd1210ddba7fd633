"""The shipped strategies on days of synthetic data through StrategyInstance: fills and invariants."""

from __future__ import annotations

from typing import Any

import pytest

from kektrade.data.synthetic import synthetic_market
from kektrade.domain.journal import MemoryJournal, OrderRecorded
from kektrade.domain.timeframes import timeframe_ms
from kektrade.domain.types import FillKind, OrderType
from kektrade.engine.instance import InstanceStatus, StrategyInstance
from tests.strategies.kit import T0, load, synthetic_instance


def instance(
    name: str,
    pair: str,
    tf: str,
    days: float,
    parameter: dict[str, Any],
    balance: float,
    leverage: float,
    margin_mode: str = "isolated",
) -> StrategyInstance:
    data = synthetic_market(pair, tf, T0, days, seed=7)
    return synthetic_instance(name, data, parameter, timeframe_ms(tf), balance, leverage, margin_mode)


def order_events(inst: StrategyInstance) -> list[OrderRecorded]:
    journal = inst.venue.journal
    assert isinstance(journal, MemoryJournal)
    return journal.of_type(OrderRecorded)


def trade_fills(inst: StrategyInstance) -> list[Any]:
    return [f for f in inst.venue.fills if f.kind is FillKind.TRADE]


@pytest.mark.parametrize(
    ("pair", "balance"), [("ETH/USDT:USDT", 10_000.0), ("BTC/USD:BTC", 1.0)], ids=["linear", "inverse"]
)
def test_market_maker_two_days_of_minutes(pair: str, balance: float) -> None:
    param = {"half_spread_bps": 10, "skew": 0.5, "cap_pct": 0.2, "quote_pct": 0.02, "ema": 20}
    inst = instance("MarketMakerStrategy", pair, "1m", 2, param, balance, 2.0, "cross")
    venue, ema = inst.venue, inst.frame["ema20"].tolist()
    cap_before = size_before = pos_before = 0.0
    for i in range(inst.first_index, inst.length):
        inst.advance(i + 1)  # candle i's fills (of the quotes placed at i - 1), then tick i
        pos = abs(venue.contracts)
        assert pos <= max(cap_before, pos_before) + 1e-9  # no quote takes the position past the cap
        assert pos <= cap_before + size_before + 1e-9 or pos <= pos_before
        cap_before = venue.get_contracts_pct_of_balance(param["cap_pct"], ema[i])  # what tick i used
        size_before = venue.get_contracts_pct_of_balance(param["quote_pct"], ema[i])
        pos_before = pos
    assert inst.status is InstanceStatus.RUNNING and inst.error is None
    fills = trade_fills(inst)
    assert len(fills) > 50
    assert all(f.is_maker for f in fills)  # post-only quotes never take liquidity
    events = order_events(inst)
    placed = [e.order for e in events if e.event == "placed"]
    assert all(o.type is OrderType.LIMIT and o.post_only for o in placed)
    assert sum(e.event == "amended" for e in events) > len(placed)  # quotes move by amendment


@pytest.mark.parametrize(
    ("pair", "balance"), [("BTC/USD:BTC", 0.25), ("BTC/USDT:USDT", 10_000.0)], ids=["inverse", "linear"]
)
def test_breakout_twenty_days_of_quarter_hours(pair: str, balance: float) -> None:
    param = {"channel": 20, "atr": 14, "atr_mult_tp": 2, "atr_mult_sl": 1, "stake": 0.5}
    inst = instance("BreakoutStrategy", pair, "15m", 20, param, balance, 1.0)
    venue = inst.venue
    in_position = 0
    for i in range(inst.first_index, inst.length):
        inst.advance(i + 1)
        orders = venue.get_open_orders()
        exits = [o for o in orders if o.reduce_only]
        if venue.contracts == 0.0:
            assert exits == [] and len(orders) <= 2  # flat: only the two entry stops
            assert all(o.type is OrderType.STOP_MARKET for o in orders)
        else:
            in_position += 1
            assert len(exits) == len(orders)  # in a position: no entry left over
            assert all(o.contracts * venue.contracts < 0 for o in exits)
    assert inst.status is InstanceStatus.RUNNING and inst.error is None
    fills = trade_fills(inst)
    assert len(fills) >= 4 and in_position > 0
    placed = [e.order for e in order_events(inst) if e.event == "placed"]
    assert {o.type for o in placed if o.reduce_only} >= {OrderType.TAKE_PROFIT_MARKET, OrderType.STOP_MARKET}
    assert not any(e.event == "rejected" for e in order_events(inst))


def test_sma_rsi_five_days_of_five_minutes() -> None:
    param = {"sma": 50, "rsi": 5, "rsi_max": 70, "stake": 0.5}
    inst = instance("SmaRsiStrategy", "BTC/USDT:USDT", "5m", 5, param, 10_000.0, 3.0)
    positions = []
    for i in range(inst.first_index, inst.length):
        inst.advance(i + 1)
        positions.append(inst.venue.contracts)
    assert inst.status is InstanceStatus.RUNNING and inst.error is None
    assert len(trade_fills(inst)) >= 4
    assert min(positions) >= 0.0 and max(positions) > 0.0  # long only


def test_populate_indicators_computes_every_search_space_variant() -> None:
    data = synthetic_market("BTC/USDT:USDT", "15m", T0, 3, seed=7)
    for name, expected in [
        ("MarketMakerStrategy", {"ema20"}),
        ("BreakoutStrategy", {"dc_high20", "dc_low20", "dc_high55", "dc_low55", "atr14"}),
        ("SmaRsiStrategy", {f"sma{n}" for n in (50, 100, 150, 200, 250, 300, 350)}),
    ]:
        strategy = load(name)
        space = strategy.get_search_space()
        out = strategy.populate_indicators(data.candles.copy(), {}, space)
        assert expected <= set(out.columns), name
        assert len(out) == len(data.candles)
        plotted = {p["name"] for p in strategy.get_plot_indicators(out)}
        assert plotted and plotted <= set(out.columns), name

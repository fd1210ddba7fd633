"""Parity on real data: a market-order strategy through the simulator vs a straightforward calculation.

XRP/USDT perpetual 5m candles with the real 8-hourly funding rates (../shared/data/real/). The
independent calculation knows nothing of the simulator: fills at the next open, taker fee on the
notional, realized PnL on the closed quantity, funding = position x price at settlement x rate.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kektrade.domain.specs import generic_spec
from kektrade.domain.types import FillKind, OrderType
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays

REAL = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "real"
TAKER = 0.00055
QTY = 1000.0  # XRP per trade
FAST, SLOW = 12, 48


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    candles = REAL / "XRP_USDT_USDT-5m-futures.feather"
    funding = REAL / "XRP_USDT_USDT-8h-funding_rate.feather"
    if not candles.exists() or not funding.exists():
        pytest.skip(f"real data not found in {REAL}")
    frame = pd.read_feather(candles)
    rates = pd.read_feather(funding)
    return frame, rates


def targets(close: np.ndarray) -> list[float]:
    """+QTY when the fast SMA is above the slow one, -QTY below, unchanged on a tie or during warm-up."""
    fast = pd.Series(close).rolling(FAST).mean().to_numpy()
    slow = pd.Series(close).rolling(SLOW).mean().to_numpy()
    out, current = [], 0.0
    for f, s in zip(fast, slow, strict=True):
        if not np.isnan(s):
            current = QTY if f > s else (-QTY if f < s else current)
        out.append(current)
    return out


def by_hand(frame: pd.DataFrame, settle_ms: list[int], rates: list[float], want: list[float]) -> list[tuple]:
    """The independent calculation: (kind, time, qty, price, fee, realized) per event, in order."""
    times = (frame["date"].astype("int64") // 1_000_000).tolist()
    opens = frame["open"].tolist()
    events, pos, entry, k = [], 0.0, 0.0, 0
    for i in range(1, len(times)):
        while k < len(settle_ms) and settle_ms[k] <= times[i]:  # funding before the candle's trades
            if pos and settle_ms[k] > times[0]:
                fee = round(pos * opens[i] * rates[k], 8)
                events.append(("funding", settle_ms[k], pos, opens[i], fee, 0.0))
            k += 1
        delta = want[i - 1] - pos
        if delta:
            price = opens[i]
            fee = round(abs(delta) * price * TAKER, 8)
            realized = 0.0
            if pos and (delta > 0) != (pos > 0):
                closed = min(abs(delta), abs(pos))
                realized = round(closed * (price - entry) * (1 if pos > 0 else -1), 8)
            new = pos + delta
            if pos == 0 or (new > 0) != (pos > 0):
                entry = price
            events.append(("trade", times[i], delta, price, fee, realized))
            pos = new
    return events


def test_sma_market_orders_match_an_independent_calculation_trade_by_trade() -> None:
    frame, funding = load()
    settle_ms = [round(int(t) / 60_000) * 60_000 for t in (funding["date"].astype("int64") // 1_000_000)]
    rates = funding["open"].astype(float).tolist()
    want = targets(frame["close"].to_numpy())
    arrays = MarketArrays(
        time_ms=(frame["date"].astype("int64") // 1_000_000).tolist(),
        open=frame["open"].tolist(),
        high=frame["high"].tolist(),
        low=frame["low"].tolist(),
        close=frame["close"].tolist(),
        timeframe_ms=300_000,
        funding_time_ms=settle_ms,
        funding_rate=rates,
    )
    spec = generic_spec("XRP/USDT:USDT", tick_size=0.0001, lot_step=1.0)
    sim = SimExchange(spec, arrays, initial_balance=100_000, leverage=2, taker_fee=TAKER)
    for i in range(len(arrays)):
        sim.step(i)
        delta = want[i] - sim.contracts
        if delta and not sim.get_open_orders():
            sim.open_order(OrderType.MARKET, delta)
    expected = by_hand(frame, settle_ms, rates, want)
    got = [
        (f.kind.value, f.time_ms, f.contracts, f.price, f.fee, f.realized_pnl)
        for f in sim.fills
        if f.kind is not FillKind.LIQUIDATION
    ]
    assert len(got) == len(expected) > 20
    assert any(e[0] == "funding" for e in expected)
    for g, e in zip(got, expected, strict=True):
        assert g[:4] == pytest.approx(e[:4]) and g[0] == e[0]
        assert g[4] == pytest.approx(e[4], abs=1e-8) and g[5] == pytest.approx(e[5], abs=1e-8)
    wallet = 100_000 + sum(e[5] - e[4] for e in expected)
    assert sim.wallet_balance == pytest.approx(wallet, abs=1e-6)

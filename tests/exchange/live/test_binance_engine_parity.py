"""A live run on Binance USDⓈ-M trades like the backtest of the same candles (the engine end to end).

One deterministic series is played (a) as a backtest from a file and (b) as a live run on venue
``binanceusdm`` whose client is the real ccxt ``binanceusdm`` pointed at the Binance fake, served one
candle at a time and stepped by hand (nothing waits on the clock). The fake is set up with the backtest's
contract numbers (its fees and risk tiers as Binance brackets), so the two must agree fill for fill.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kektrade.config import parse_config
from kektrade.domain.journal import MemoryJournal
from kektrade.domain.specs import builtin_spec
from kektrade.domain.timeframes import format_ms
from kektrade.domain.types import FillKind
from kektrade.engine.live_build import build_live_session
from kektrade.engine.session import Session, build_session
from kektrade.exchange.live.ohlcv import make_exchange
from tests.engine.live_kit import Stepped
from tests.fakes.binance_fapi import Bracket, FakeBinanceState
from tests.fakes.binance_trading import API_KEY, API_SECRET, MINUTE_MS, T0_MS, FakeBinanceExchange

HISTORY, TOTAL = 120, 230
STRATEGY = textwrap.dedent(
    '''
    import pandas_ta as ta
    from kektrade.strategy.base import Strategy


    class EmaCross(Strategy):
        """EMA(5/13) cross: market in and out, a resting limit below the market, a protective stop."""

        startup_candle_count = 30

        def populate_indicators(self, dataframe, metadata, parameters):
            dataframe["fast"] = ta.ema(dataframe["close"], length=5)
            dataframe["slow"] = ta.ema(dataframe["close"], length=13)
            return dataframe

        def tick(self, dataframe, index, metadata, parameter, variables, account):
            fast, slow, close = self.c.fast, self.c.slow, self.c.close
            if dataframe["date"].iloc[index].timestamp() * 1000 < parameter["from_ms"]:
                return  # the live run's first candle: both runs trade the same candles
            if index < 1 or fast[index - 1] != fast[index - 1] or slow[index - 1] != slow[index - 1]:
                return
            up = fast[index - 1] <= slow[index - 1] and fast[index] > slow[index]
            down = fast[index - 1] >= slow[index - 1] and fast[index] < slow[index]
            pos = account.contracts
            if up and pos <= 0:
                size = account.get_contracts_pct_of_balance(0.4)
                account.cancel_all_orders()
                account.open_order("market", size - pos)
                account.open_order("limit", round(size / 2, 3), price=round(close[index] * 0.999, 1))
                account.open_order("stop_market", -size, trigger_price=round(close[index] * 0.994, 1),
                                   reduce_only=True)
            elif down and pos > 0:
                account.cancel_all_orders()
                account.open_order("market", -pos, reduce_only=True)
    '''
)


def series() -> pd.DataFrame:
    """TOTAL 1m candles of a deterministic wave around 40,000 (crosses every few dozen candles)."""
    rows = []
    for n in range(TOTAL):
        mid = 40_000 + 400 * math.sin(n / 5) + 150 * math.sin(n / 1.7) + n
        o, c = round(mid - 20 * math.cos(n), 1), round(mid + 20 * math.cos(n / 1.7), 1)
        rows.append((T0_MS + n * MINUTE_MS, o, max(o, c) + 35.0, min(o, c) - 35.0, c, 5.0 + n % 7))
    frame = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    return frame


def config_data(tmp_path: Path, venue: str, base_url: str | None = None) -> dict[str, Any]:
    strategies = tmp_path / "strategies"
    strategies.mkdir(exist_ok=True)
    (strategies / "ema_cross.py").write_text(STRATEGY)
    csv = tmp_path / "btc.csv"
    if not csv.exists():
        series().to_csv(csv, index=False)
    return {
        "metastrategy_id": "binance_parity",
        "strategies_dir": str(strategies),
        "history_dir": str(tmp_path / "history"),
        "data": {"source": "file", "files": {"BTC/USDT:USDT": {"path": str(csv)}}, "funding_rate": 0.0},
        "backtest": {"start": format_ms(T0_MS + 30 * MINUTE_MS)},
        "defaults": {"pair": "BTC/USDT:USDT", "timeframe": "1m", "leverage": 3, "strategy": "EmaCross",
                     "parameters": {"from_ms": T0_MS + HISTORY * MINUTE_MS}},
        "subaccounts": [{"id": "ema", "venue": venue, "initial_balance": 10_000, "margin_mode": "isolated"}],
        "live": {"poll_interval_s": 0.05, **({"api_base": base_url} if base_url else {})},
        "persistence": {"equity_sample": "candle"},
    }


@pytest.fixture
def fake() -> Iterator[FakeBinanceExchange]:
    """The fake with the backtest's numbers: Bybit's built-in BTCUSDT fees and tiers as Binance brackets."""
    spec = builtin_spec("BTCUSDT")
    assert spec is not None
    state = FakeBinanceState(maker_fee=spec.maker_fee, taker_fee=spec.taker_fee)
    floors = [0.0] + [t.limit_value for t in spec.risk_tiers[:-1]]
    brackets = tuple(
        Bracket(floor, t.limit_value, t.mmr, t.max_leverage, t.deduction)
        for floor, t in zip(floors, spec.risk_tiers, strict=True)
    )
    state.add_symbol("BTCUSDT", "BTC", max_qty="1190", market_max_qty="1190", min_notional="0.1", brackets=brackets)
    with FakeBinanceExchange(state) as server:
        server.open_account("BTCUSDT", 10_000.0, leverage=3)
        for row in series().iloc[:HISTORY].itertuples():
            server.push_candle("BTCUSDT", row.open, row.high, row.low, row.close, row.volume)
        yield server


def client_factory(fake: FakeBinanceExchange) -> Callable[[str, bool, str | None], Any]:
    def factory(exchange_id: str, testnet: bool, subaccount: str | None) -> Any:
        client = make_exchange(exchange_id, api_base=fake.base_url)
        client.apiKey, client.secret = API_KEY, API_SECRET
        return client

    return factory


def trades(session: Session) -> list[tuple[int, float, float, float]]:
    return [(f.time_ms, f.contracts, f.price, f.fee) for f in session.instances[0].venue.fills
            if f.kind is not FillKind.FUNDING]  # fmt: skip


@pytest.mark.slow  # 110 live candles, about ten requests each (half a minute on a busy machine)
def test_a_live_run_on_binanceusdm_trades_like_the_backtest(fake: FakeBinanceExchange, tmp_path: Path) -> None:
    reference = build_session(parse_config(json.dumps(config_data(tmp_path, "backtest_perpetual"))), "bt",
                              MemoryJournal())  # fmt: skip
    reference.engine.run()
    expected = [t for t in trades(reference) if t[0] >= T0_MS + HISTORY * MINUTE_MS]
    assert trades(reference) == expected and len(expected) >= 6  # nothing before the live part; it trades
    setup = parse_config(json.dumps(config_data(tmp_path, "binanceusdm", fake.base_url)))
    session = build_live_session(setup, "live", MemoryJournal(), None, client_factory(fake))
    with Stepped(session) as run:
        for row in series().iloc[HISTORY:].itertuples():
            fake.push_candle("BTCUSDT", row.open, row.high, row.low, row.close, row.volume)
            run.poll()
    on_exchange = [(f.time_ms, f.contracts, f.price, f.fee) for f in fake.sims["BTCUSDT"].fills]
    assert on_exchange == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert trades(session) == pytest.approx(expected, rel=1e-9, abs=1e-9)  # as the adapter read them
    assert {o.client_id[:2] for o in fake.orders["BTCUSDT"]} == {"kt"}  # every order with kektrade's client id
    assert fake.sims["BTCUSDT"].equity() == pytest.approx(reference.instances[0].venue.equity(), rel=1e-9)

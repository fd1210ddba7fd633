"""The peers' three jobs (../shared/bench/peers/common.py) as kektrade strategies, for bench/peers.py.

Indicators are computed exactly as the peers' floor computes them (sums in integer 0.1 ticks, so ties are
exact ties); ``tick`` reads them through ``self.c`` like any strategy. B1 and B2 select the candles their tick
can act on (``tick_on``: a change of side, a cross); their ``...EveryCandle`` variants tick on every candle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from kektrade.domain.types import OrderType
from kektrade.exchange.subaccount import Subaccount
from kektrade.strategy.base import OptimizeableStrategy, Strategy

TICK = 10.0  # the candles are on a 0.1 grid


def tick_sma(close: np.ndarray, n: int) -> np.ndarray:
    """SMA(n) summed in integer ticks (the floor's ``sma``), NaN before n values."""
    t = np.round(close * TICK).astype(np.int64)
    c = np.concatenate([[0], np.cumsum(t)])
    out = np.full(len(close), np.nan)
    out[n - 1 :] = (c[n:] - c[:-n]) / (n * TICK)
    return out


def cutler_rsi(close: np.ndarray, n: int) -> np.ndarray:
    """Cutler's RSI (simple means of gains and losses) in integer ticks (the floor's ``rsi_cutler``)."""
    d = np.diff(np.round(close * TICK).astype(np.int64))
    cu = np.concatenate([[0], np.cumsum(np.where(d > 0, d, 0))])
    cd = np.concatenate([[0], np.cumsum(np.where(d < 0, -d, 0))])
    au, ad = cu[n:] - cu[:-n], cd[n:] - cd[:-n]
    out = np.full(len(close), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[n:] = np.where(ad == 0, 100.0, 100.0 * au / (au + ad))
    return out


class PeerB1(Strategy):
    """B1: +1 unit while SMA(50) > SMA(200), -1 while below (unchanged on a tie), market orders."""

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """fast = SMA(50), slow = SMA(200)."""
        close = dataframe["close"].to_numpy()
        dataframe["fast"] = tick_sma(close, 50)
        dataframe["slow"] = tick_sma(close, 200)
        return dataframe

    def tick_on(self, dataframe: pd.DataFrame, parameter: Mapping[str, Any]) -> np.ndarray:
        """Only the candles where the target (the side of the last non-tie) changes."""
        side = np.sign(dataframe["fast"].to_numpy() - dataframe["slow"].to_numpy())
        target = pd.Series(np.where(side == 0.0, np.nan, side)).ffill().to_numpy()
        out = np.zeros(len(target), dtype=bool)
        out[0] = not np.isnan(target[0])
        out[1:] = (target[1:] != target[:-1]) & ~np.isnan(target[1:])
        return out

    def tick(
        self,
        dataframe: pd.DataFrame,
        index: int,
        metadata: Mapping[str, Any],
        parameter: Mapping[str, Any],
        variables: dict[str, Any],
        account: Subaccount,
    ) -> None:
        """Trade to the target position at the next open."""
        f, s = self.c.fast[index], self.c.slow[index]
        if f > s:
            target = 1.0
        elif f < s:
            target = -1.0
        else:
            return
        pos = account.contracts
        if target != pos:
            account.open_order(OrderType.MARKET, target - pos)


class PeerB2(OptimizeableStrategy):
    """B2: long 1 unit when the close crosses above SMA(sma) with RSI(rsi) < 70; out when it crosses below."""

    def get_search_space(self) -> dict[str, list[Any]]:
        """The peers' 42 combinations."""
        return {"rsi": [4, 5, 6, 7, 8, 10], "sma": [50, 100, 150, 200, 250, 300, 350]}

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """One column per SMA length (``sma<n>``) and RSI length (``rsi<n>``)."""
        close = dataframe["close"].to_numpy()
        for n in parameters["sma"]:
            dataframe[f"sma{n}"] = tick_sma(close, int(n))
        for n in parameters["rsi"]:
            dataframe[f"rsi{n}"] = cutler_rsi(close, int(n))
        return dataframe

    def tick_on(self, dataframe: pd.DataFrame, parameter: Mapping[str, Any]) -> np.ndarray:
        """Only the candles where ``tick`` can act: a cross above with RSI < 70, or a cross below."""
        close = dataframe["close"].to_numpy()
        ma = dataframe[f"sma{parameter['sma']}"].to_numpy()
        rsi = dataframe[f"rsi{parameter['rsi']}"].to_numpy()
        out = np.zeros(len(close), dtype=bool)
        up = (close[:-1] <= ma[:-1]) & (close[1:] > ma[1:]) & (rsi[1:] < 70.0)
        down = (close[:-1] >= ma[:-1]) & (close[1:] < ma[1:])
        out[1:] = up | down
        return out

    def tick(
        self,
        dataframe: pd.DataFrame,
        index: int,
        metadata: Mapping[str, Any],
        parameter: Mapping[str, Any],
        variables: dict[str, Any],
        account: Subaccount,
    ) -> None:
        """Enter on the cross above (RSI filter), leave on the cross below."""
        cols = variables.get("cols")
        if cols is None:
            c = self.c
            cols = variables["cols"] = (c.close, c[f"sma{parameter['sma']}"], c[f"rsi{parameter['rsi']}"])
        close, ma, rsi = cols
        i = index
        if i < 1:
            return
        if account.contracts == 0.0:
            if close[i - 1] <= ma[i - 1] and close[i] > ma[i] and rsi[i] < 70.0:
                account.open_order(OrderType.MARKET, 1.0)
        elif close[i - 1] >= ma[i - 1] and close[i] < ma[i]:
            account.open_order(OrderType.MARKET, -1.0)


class PeerB3(Strategy):
    """B3: every candle cancel the quotes, bid 0.1 % below and ask 0.1 % above the close, capped at +-5."""

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """The quotes on the 0.1 tick, ``round(close * 0.999 / 0.1) * 0.1`` and ``... 1.001 ...``.

        Vectorised like B1's and B2's indicators: NumPy rounds half to even like ``round``, so every quote is
        the float the per-candle expression gives (the floor's tick-rounded cross-check computes it so). In
        the tick it was a sixth of the candle's work: ``round`` is a slow builtin and ``/`` has no fast path.
        """
        close = dataframe["close"].to_numpy()
        dataframe["bid"] = np.round(close * 0.999 / 0.1) * 0.1
        dataframe["ask"] = np.round(close * 1.001 / 0.1) * 0.1
        return dataframe

    def tick(
        self,
        dataframe: pd.DataFrame,
        index: int,
        metadata: Mapping[str, Any],
        parameter: Mapping[str, Any],
        variables: dict[str, Any],
        account: Subaccount,
    ) -> None:
        """Cancel and re-quote two post-only limits at this candle's quotes."""
        account.cancel_all_orders()
        pos = account.contracts
        if pos < 5.0:
            account.open_order(OrderType.LIMIT, 1.0, self.c.bid[index], post_only=True)
        if pos > -5.0:
            account.open_order(OrderType.LIMIT, -1.0, self.c.ask[index], post_only=True)


class PeerB1EveryCandle(PeerB1):
    """B1 ticked on every candle (no tick schedule): the per-candle callback design."""

    def tick_on(self, dataframe: pd.DataFrame, parameter: Mapping[str, Any]) -> None:
        """Every candle."""
        return None


class PeerB2EveryCandle(PeerB2):
    """B2 ticked on every candle (no tick schedule): the per-candle callback design."""

    def tick_on(self, dataframe: pd.DataFrame, parameter: Mapping[str, Any]) -> None:
        """Every candle."""
        return None

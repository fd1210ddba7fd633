"""Peer job B3 (../shared/bench/peers/common.py) as a kektrade strategy, for bench/user_path.py.

On every candle's close: cancel the open quotes, then a BUY LIMIT 0.1 % below the close and a SELL LIMIT
0.1 % above it, 1 contract each (prices on the 0.1 tick), no bid at a position of +5 or more and no ask
at -5 or less. The venue fills a quote during the next candle when the low (high) touches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from kektrade.domain.types import OrderType
from kektrade.exchange.subaccount import Subaccount
from kektrade.strategy.base import OptimizeableStrategy

OFFSET, CAP, QTY, TICK = 0.001, 5.0, 1.0, 0.1


class PeerB3Strategy(OptimizeableStrategy):
    """Cancel and re-quote both sides every candle, as the peers' B3 does."""

    startup_candle_count = 0

    def get_search_space(self) -> dict[str, list[Any]]:
        """No parameters."""
        return {}

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """No indicators: the quotes follow the close."""
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
        """Cancel both quotes, quote again around the close."""
        close = variables.get("close")
        if close is None:
            close = variables["close"] = self.c.close
        if account.get_open_orders():
            account.cancel_all_orders()
        c = close[index]
        pos = account.contracts
        if pos < CAP:
            account.open_order(OrderType.LIMIT, QTY, round(c * (1 - OFFSET) / TICK) * TICK, post_only=True)
        if pos > -CAP:
            account.open_order(OrderType.LIMIT, -QTY, round(c * (1 + OFFSET) / TICK) * TICK, post_only=True)

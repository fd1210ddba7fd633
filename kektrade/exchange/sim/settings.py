"""Settings of the simulated venues and the market arrays they read candle by candle."""

from __future__ import annotations

from collections.abc import MutableSequence
from dataclasses import dataclass, field
from typing import Literal

LimitFill = Literal["trade_through", "touch"]


@dataclass(frozen=True, slots=True)
class SimSettings:
    """How the simulated venue matches orders.

    ``limit_fill``: "trade_through" fills a resting limit only when the price goes strictly past it;
    "touch" fills when the price reaches it. ``slippage_bps`` worsens market and stop-market fills.
    ``latency_ms`` delays when a placed order starts to take part in matching. ``rules``: Bybit's margin
    rules of the period (``kektrade.domain.rules``: "current", "before_2025_09" or "classic").
    """

    limit_fill: LimitFill = "trade_through"
    slippage_bps: float = 0.0
    latency_ms: int = 0
    rules: str = "current"


@dataclass(slots=True)
class MarketArrays:
    """Candle columns (lists or ``array.array``: cheap scalar reads); mark columns are the trade columns
    when absent.

    Lists may grow (live and paper runs append closed candles); the simulator only reads index ``i``
    when told to step candle ``i``.
    """

    time_ms: MutableSequence[int]
    open: MutableSequence[float]
    high: MutableSequence[float]
    low: MutableSequence[float]
    close: MutableSequence[float]
    timeframe_ms: int
    mark_open: MutableSequence[float] = field(default_factory=list)
    mark_high: MutableSequence[float] = field(default_factory=list)
    mark_low: MutableSequence[float] = field(default_factory=list)
    mark_close: MutableSequence[float] = field(default_factory=list)
    funding_time_ms: MutableSequence[int] = field(default_factory=list)
    funding_rate: MutableSequence[float] = field(default_factory=list)
    volume: MutableSequence[float] = field(default_factory=list)  # base coin (linear) or USD contracts

    def __post_init__(self) -> None:
        if not self.mark_open:
            self.mark_open, self.mark_high = self.open, self.high
            self.mark_low, self.mark_close = self.low, self.close

    @property
    def has_mark(self) -> bool:
        """True when a separate mark-price series drives liquidation and mark triggers."""
        return self.mark_close is not self.close

    def __len__(self) -> int:
        return len(self.time_ms)

    def append(
        self,
        time_ms: int,
        o: float,
        h: float,
        lo: float,
        c: float,
        mark: tuple[float, float, float, float] | None = None,
        volume: float = 0.0,
    ) -> None:
        """Add one closed candle (live and paper runs); every column present stays aligned."""
        separate = self.has_mark
        if len(self.volume) == len(self.time_ms):  # a volume column is kept (the realistic venue reads it)
            self.volume.append(volume)
        self.time_ms.append(time_ms)
        self.open.append(o)
        self.high.append(h)
        self.low.append(lo)
        self.close.append(c)
        if separate:
            mo, mh, ml, mc = mark if mark is not None else (o, h, lo, c)
            self.mark_open.append(mo)
            self.mark_high.append(mh)
            self.mark_low.append(ml)
            self.mark_close.append(mc)

"""Immutable snapshots of the engine's state for front ends, and the commands they may send."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SubaccountRow:
    """One subaccount as the front ends show it."""

    id: str
    venue: str
    pair: str
    strategy: str
    parameters: dict[str, Any]
    status: str
    contracts: float
    entry_price: float
    mark_price: float
    liquidation_price: float
    unrealized_pnl: float
    equity: float
    equity_quote: float
    settle_currency: str
    error: str | None = None
    fills: int = 0
    entries_allowed: bool = True  # False: the operator stopped new positions ("no new entries")
    notice: str | None = None  # an open episode of exchange faults (live venues), e.g. "exchange faults (3): ..."
    optimizer_note: str | None = None  # why the live optimizer's latest selection chose nothing


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One open order."""

    subaccount: str
    order_id: str
    side: str
    type: str
    price: float | None
    trigger_price: float | None
    contracts: float
    filled: float
    reduce_only: bool
    post_only: bool
    created_ms: int
    status: str


@dataclass(frozen=True, slots=True)
class FillRow:
    """One execution as front ends list it."""

    time_ms: int
    kind: str
    side: str
    qty: float
    price: float
    fee: float
    realized_pnl: float
    position_after: float


@dataclass(frozen=True, slots=True)
class ChartData:
    """The latest candles of one subaccount with the strategy's plot indicators (overlays and panels)."""

    times_ms: tuple[int, ...]
    open: tuple[float, ...]
    high: tuple[float, ...]
    low: tuple[float, ...]
    close: tuple[float, ...]
    indicators: tuple[tuple[str, bool, tuple[float, ...]], ...] = ()  # (name, overlay, values)


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the run is: candles done of total, speed and estimated time left."""

    done: int
    total: int
    candles_per_s: float
    eta_s: float | None
    elapsed_s: float

    @property
    def fraction(self) -> float:
        """Share done, 0..1."""
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    """Everything a front end draws, taken atomically by the engine thread."""

    run_id: str
    mode: str  # backtest | paper | live
    testnet: bool
    state: str  # starting | running | finished | failed | stopped
    now_ms: int
    progress: Progress
    subaccounts: tuple[SubaccountRow, ...] = ()
    orders: tuple[OrderRow, ...] = ()
    equity_times_ms: tuple[int, ...] = ()
    equity_total: tuple[float, ...] = ()
    equity_by_subaccount: dict[str, tuple[float, ...]] = field(default_factory=dict)
    leaderboards: dict[str, list[tuple[dict[str, Any], float]]] = field(default_factory=dict)
    recent_fills: dict[str, tuple[FillRow, ...]] = field(default_factory=dict)
    charts: dict[str, ChartData] = field(default_factory=dict)
    message: str = ""

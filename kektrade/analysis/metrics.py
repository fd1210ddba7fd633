"""Performance metrics of one equity series and its fills (pure numpy; no I/O).

Conventions:
- Returns and drawdowns are fractions (0.05 = 5 %). Money is in the series' own currency.
- A year is 365 days (crypto trades 24/7); the risk-free rate is 0.
- Sharpe and Sortino use the per-sample simple returns of the equity series, annualised with
  sqrt(samples per year) where the sampling interval is the median spacing of ``times_ms``.
- Undefined values are NaN, never errors: fewer than 3 equity points (2 returns), zero variance (Sharpe),
  no losing period (Sortino), no drawdown (Calmar), no closed trades (win rate, profit factor,
  expectancy), zero time span (CAGR, exposure), missing prices (buy and hold).
- Profit factor is +inf when there are winning trades and no losing ones.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kektrade.analysis.memo import MEMO
from kektrade.analysis.trades import round_trips
from kektrade.domain.types import Fill, FillKind

YEAR_MS = 365 * 24 * 3600 * 1000
NAN = float("nan")


@dataclass(frozen=True, slots=True)
class Metrics:
    """Summary statistics of one equity series (see the module docstring for conventions)."""

    total_return: float
    cagr: float
    max_drawdown: float  # fraction of the running peak, in [0, 1]
    max_drawdown_duration_ms: int  # longest time spent below a previous peak
    sharpe: float
    sortino: float
    calmar: float
    win_rate: float
    profit_factor: float
    expectancy: float  # mean PnL per closed trade, net of fees and funding
    exposure: float  # fraction of the equity time span with an open position
    trades: int  # closed round trips
    fees_paid: float  # trading and liquidation fees (< 0: net rebates)
    funding_paid: float  # > 0 paid, < 0 received
    liquidations: int
    buy_and_hold_return: float
    final_equity: float

    def as_dict(self) -> dict[str, Any]:
        """Field name -> value (NaN/inf kept; see kektrade.analysis.report.json_safe)."""
        return asdict(self)


def compute_metrics(
    times_ms: Sequence[int],
    equity: Sequence[float],
    fills: Sequence[Fill],
    initial_equity: float,
    first_price: float | None = None,
    last_price: float | None = None,
    is_inverse: bool = False,
) -> Metrics:
    """Metrics of an equity series and its subaccount's fills.

    ``buy_and_hold_return`` is ``last_price / first_price - 1``, the quote-currency return of holding
    the base coin. For inverse contracts (equity in the coin) buying and holding the coin is 0 % by
    construction in coin terms, so the quote-currency price return is reported there too: compare it
    with the subaccount's quote-valued equity, not its coin equity. ``is_inverse`` records that choice.
    """
    _check_series(times_ms, equity, initial_equity)
    t = np.asarray(times_ms, dtype=np.int64)
    e = np.asarray(equity, dtype=np.float64)
    final = float(e[-1]) if len(e) else float(initial_equity)
    total_return = final / initial_equity - 1.0
    span_ms = int(t[-1] - t[0]) if len(t) else 0
    cagr = _cagr(initial_equity, final, span_ms)
    max_dd, dd_duration = max_drawdown(t, e, initial_equity)
    trades = round_trips(fills)
    win_rate, profit_factor, expectancy = trade_stats([tr.pnl for tr in trades])
    return Metrics(
        total_return=total_return,
        cagr=cagr,
        max_drawdown=max_dd,
        max_drawdown_duration_ms=dd_duration,
        sharpe=sharpe_ratio(t, e),
        sortino=sortino_ratio(t, e),
        calmar=cagr / max_dd if max_dd > 0 and not math.isnan(cagr) else NAN,
        win_rate=win_rate,
        profit_factor=profit_factor,
        expectancy=expectancy,
        exposure=exposure([open_intervals(fills)], t),
        trades=len(trades),
        fees_paid=sum(f.fee for f in fills if f.kind != FillKind.FUNDING),
        funding_paid=sum(f.fee for f in fills if f.kind == FillKind.FUNDING),
        liquidations=len({f.time_ms for f in fills if f.kind == FillKind.LIQUIDATION}),
        buy_and_hold_return=price_return(first_price, last_price),
        final_equity=final,
    )


def _check_series(times_ms: Sequence[int], equity: Sequence[float], initial_equity: float) -> None:
    if len(times_ms) != len(equity):
        raise ValueError(f"times_ms has {len(times_ms)} points but equity has {len(equity)}")
    if not initial_equity > 0:
        raise ValueError(f"initial_equity must be > 0, got {initial_equity!r}")
    if any(b < a for a, b in itertools.pairwise(times_ms)):
        raise ValueError("times_ms must be non-decreasing")


def _cagr(initial: float, final: float, span_ms: int) -> float:
    if span_ms <= 0:
        return NAN
    if final <= 0:
        return -1.0
    return float((final / initial) ** (YEAR_MS / span_ms) - 1.0)


def price_return(first_price: float | None, last_price: float | None) -> float:
    """last / first - 1, NaN when either price is missing or not positive."""
    if not first_price or not last_price or first_price <= 0 or last_price <= 0:
        return NAN
    return last_price / first_price - 1.0


def max_drawdown(times_ms: np.ndarray, equity: np.ndarray, initial_equity: float) -> tuple[float, int]:
    """(deepest fall below the running peak as a fraction in [0, 1], longest time under water in ms).

    The running peak starts at ``initial_equity``; equity at or below zero counts as a 100 % drawdown.
    Time under water runs from the last peak to the sample that regains it (or to the series' end).
    """
    if len(equity) == 0:
        return 0.0, 0
    peaks = np.maximum.accumulate(np.concatenate(([initial_equity], equity)))[1:]
    dd = np.clip(1.0 - equity / peaks, 0.0, 1.0)
    longest, peak_time, under = 0, int(times_ms[0]), False
    for time_ms, value, peak in zip(times_ms.tolist(), equity.tolist(), peaks.tolist(), strict=True):
        if value < peak or under:
            longest = max(longest, time_ms - peak_time)  # under water, or the point that recovers
        under = value < peak
        if not under:
            peak_time = time_ms
    return float(dd.max()), int(longest)


def _returns(equity: np.ndarray) -> np.ndarray:
    """Simple per-sample returns; a sample after equity <= 0 counts as 0 (nothing left to return on)."""
    prev, nxt = equity[:-1], equity[1:]
    safe = np.where(prev > 0, prev, 1.0)
    return np.where(prev > 0, nxt / safe - 1.0, 0.0)


def _periods_per_year(times_ms: np.ndarray) -> float:
    step = float(np.median(np.diff(times_ms)))
    return YEAR_MS / step if step > 0 else NAN


def sharpe_ratio(times_ms: np.ndarray, equity: np.ndarray) -> float:
    """Annualised mean / standard deviation (ddof 1) of per-sample returns; NaN when undefined."""
    if len(equity) < 3:
        return NAN
    r = _returns(equity)
    sd = float(np.std(r, ddof=1))
    if not sd > 1e-15:
        return NAN
    return float(np.mean(r) / sd * math.sqrt(_periods_per_year(times_ms)))


def sortino_ratio(times_ms: np.ndarray, equity: np.ndarray) -> float:
    """Annualised mean / downside deviation (root mean square of negative returns, target 0)."""
    if len(equity) < 3:
        return NAN
    r = _returns(equity)
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    if not downside > 1e-15:
        return NAN
    return float(np.mean(r) / downside * math.sqrt(_periods_per_year(times_ms)))


def trade_stats(pnls: Sequence[float]) -> tuple[float, float, float]:
    """(win rate, profit factor, expectancy) of closed trades' PnLs; NaN when there are none."""
    if not pnls:
        return NAN, NAN, NAN
    wins = sum(p for p in pnls if p > 0)
    losses = -sum(p for p in pnls if p < 0)
    no_losses = math.inf if wins > 0 else NAN
    profit_factor = wins / losses if losses > 0 else no_losses
    return sum(1 for p in pnls if p > 0) / len(pnls), profit_factor, sum(pnls) / len(pnls)


def open_intervals(fills: Sequence[Fill]) -> list[tuple[int, int | None]]:
    """[start, end) times with a non-zero position, from the fills' ``position_after`` (end None: open)."""
    return list(MEMO.get(fills, "open_intervals", lambda: _open_intervals(fills)))


def _open_intervals(fills: Sequence[Fill]) -> tuple[tuple[int, int | None], ...]:
    out: list[tuple[int, int | None]] = []
    start: int | None = None
    for f in fills:
        if f.kind == FillKind.FUNDING:
            continue
        is_open = abs(f.position_after) > 1e-12
        if is_open and start is None:
            start = f.time_ms
        elif not is_open and start is not None:
            out.append((start, f.time_ms))
            start = None
    if start is not None:
        out.append((start, None))
    return tuple(out)


def exposure(interval_sets: Sequence[Sequence[tuple[int, int | None]]], times_ms: np.ndarray) -> float:
    """Fraction of [first, last] of ``times_ms`` covered by the union of the intervals; NaN for no span."""
    if len(times_ms) < 2 or times_ms[-1] <= times_ms[0]:
        return NAN
    lo, hi = int(times_ms[0]), int(times_ms[-1])
    clipped = sorted(
        (max(a, lo), min(hi if b is None else b, hi)) for intervals in interval_sets for a, b in intervals
    )
    covered, reach = 0, lo
    for a, b in clipped:
        begin = max(a, reach)
        if b > begin:
            covered += b - begin
            reach = b
    return covered / (hi - lo)

"""Small kit for candle truth tables: OHLC rows in, a simulated exchange stepped candle by candle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kektrade.domain.specs import ContractSpec, builtin_spec
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MINUTE = 60_000
HOUR = 3_600_000


def spec(symbol: str) -> ContractSpec:
    found = builtin_spec(symbol)
    assert found is not None
    return found


def market(
    rows: Sequence[Sequence[float]],
    marks: Sequence[Sequence[float]] | None = None,
    funding: Sequence[tuple[int, float]] = (),
    tf: int = MINUTE,
) -> MarketArrays:
    """Rows are (open, high, low, close); candle k opens at T0 + k * tf."""
    arr = MarketArrays(
        time_ms=[T0 + k * tf for k in range(len(rows))],
        open=[float(r[0]) for r in rows],
        high=[float(r[1]) for r in rows],
        low=[float(r[2]) for r in rows],
        close=[float(r[3]) for r in rows],
        timeframe_ms=tf,
        funding_time_ms=[t for t, _ in funding],
        funding_rate=[r for _, r in funding],
    )
    if marks is not None:
        arr.mark_open = [float(r[0]) for r in marks]
        arr.mark_high = [float(r[1]) for r in marks]
        arr.mark_low = [float(r[2]) for r in marks]
        arr.mark_close = [float(r[3]) for r in marks]
    return arr


def make_sim(
    rows: Sequence[Sequence[float]],
    symbol: str = "BTCUSDT",
    balance: float = 100_000.0,
    leverage: float = 10.0,
    **kw: Any,
) -> SimExchange:
    marks = kw.pop("marks", None)
    funding = kw.pop("funding", ())
    tf = kw.pop("tf", MINUTE)
    settings = SimSettings(**{k: kw.pop(k) for k in ("limit_fill", "slippage_bps", "latency_ms", "rules") if k in kw})
    return SimExchange(
        spec(symbol),
        market(rows, marks, funding, tf),
        initial_balance=balance,
        leverage=leverage,
        settings=settings,
        **kw,
    )


def run(sim: SimExchange, actions: dict[int, Callable[[SimExchange], Any]]) -> dict[int, Any]:
    """Step every candle; after candle i closes, call ``actions[i]`` (the strategy's tick)."""
    results = {}
    for i in range(len(sim.market)):
        sim.step(i)
        if i in actions:
            results[i] = actions[i](sim)
    return results


def make_realistic(
    rows: Sequence[Sequence[float]],
    volume: float,
    balance: float,
    leverage: float,
    journal: Any = None,
    **options: Any,
) -> Any:
    """A realistic venue on ``rows`` (BTCUSDT), every candle of ``volume``; ``options`` are its settings."""
    from kektrade.exchange.sim.realistic import RealisticSettings, RealisticSimExchange

    return RealisticSimExchange(
        spec("BTCUSDT"),
        market(rows),
        volume=[volume] * len(rows),
        realistic=RealisticSettings(**options),
        initial_balance=balance,
        leverage=leverage,
        settings=SimSettings(),
        journal=journal,
    )

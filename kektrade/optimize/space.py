"""Search-space expansion and the checks that turn a bad optimization setup into a clear config error."""

from __future__ import annotations

from itertools import product
from typing import Any

OBJECTIVES = ("return", "sharpe", "sortino", "calmar", "profit_factor")


class OptimizationConfigError(ValueError):
    """The optimization section cannot work as configured (message names the config path)."""


def expand(space: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product in a stable order: keys sorted, values in the order listed.

    That order is also the tie-break of the selection: among equal scores the earlier combination wins.
    """
    keys = sorted(space)
    return [dict(zip(keys, combo, strict=True)) for combo in product(*(space[k] for k in keys))]


def check_space(
    space: dict[str, list[Any]], where: str, max_combinations: int, candles: int, est_rate: float = 500_000.0
) -> list[dict[str, Any]]:
    """Expand the space or raise: empty lists, nothing left to optimize, or too many combinations."""
    empty = sorted(k for k, v in space.items() if len(v) == 0)
    if empty:
        raise OptimizationConfigError(f"{where}: search space entries without values: {', '.join(empty)}")
    free = sorted(k for k, v in space.items() if len(v) > 1)
    if not free:
        raise OptimizationConfigError(
            f"{where}: nothing to optimize: the search space is empty or every parameter is fixed in "
            "'parameters' (disable 'optimization' or leave a parameter open)"
        )
    count = 1
    for values in space.values():
        count *= len(values)
    if count > max_combinations:
        seconds = count * candles / est_rate
        cost = f", about {seconds:,.0f} s of simulation for {candles:,} candles" if candles > 0 else ""
        raise OptimizationConfigError(
            f"{where}.max_combinations: the search space has {count:,} combinations "
            f"({' x '.join(str(len(space[k])) for k in free)} for {', '.join(free)}){cost}; "
            f"the cap is {max_combinations:,}. Fix some parameters or raise the cap."
        )
    return expand(space)


def check_objective(objective: str, where: str) -> str:
    """The objective name, or a clear error listing the valid ones."""
    if objective not in OBJECTIVES:
        raise OptimizationConfigError(
            f"{where}.objective: unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}"
        )
    return objective


def check_lookback(lookback_ms: int, text: str, warmup: int, timeframe_ms: int, where: str) -> None:
    """The lookback must cover the strategy's warm-up and at least two candles."""
    if lookback_ms < warmup * timeframe_ms:
        raise OptimizationConfigError(
            f"{where}.lookback: {text} is shorter than the strategy's warm-up of {warmup} candles "
            f"({warmup * timeframe_ms // 60_000} minutes)"
        )
    if lookback_ms < 2 * timeframe_ms:
        raise OptimizationConfigError(f"{where}.lookback: {text} holds fewer than two candles")


"""What ``kektrade validate`` refuses beyond the config schema: what a run of the config would refuse.

Checked without loading data, per enabled subaccount: parameter names the strategy does not declare, a
search space left open without optimization, a search space that
is empty, has nothing to optimize or exceeds ``max_combinations``, and a lookback shorter than the
strategy's warm-up. Each message names the dotted config path, as the run's own error would.
"""

from __future__ import annotations

from collections.abc import Mapping

from kektrade.config.model_root import KektradeConfig
from kektrade.config.model_subaccount import SubaccountConfig
from kektrade.domain.timeframes import duration_ms, timeframe_ms
from kektrade.optimize.space import OptimizationConfigError, check_lookback, check_objective, check_space
from kektrade.strategy.base import Strategy


def setup_errors(config: KektradeConfig, classes: Mapping[str, type[Strategy]]) -> list[str]:
    """Every problem a run of ``config`` would refuse at start, one message each."""
    errors: list[str] = []
    for index, sub in enumerate(config.subaccounts):
        if sub.enabled:
            errors.extend(_subaccount_errors(index, sub, classes[sub.strategy]()))
    return errors


def _subaccount_errors(index: int, sub: SubaccountConfig, strategy: Strategy) -> list[str]:
    where = f"subaccounts[{index}]"
    try:
        undeclared = strategy.undeclared_parameters(sub.parameters)
        space = strategy.resolve_space(sub.parameters)
    except NotImplementedError as exc:  # an OptimizeableStrategy without get_search_space
        return [f"{where}.strategy: {exc}"]
    errors = [f"{where}.parameters: {undeclared}"] if undeclared else []
    if not sub.optimization.enabled:
        open_keys = sorted(k for k, v in space.items() if len(v) != 1)
        if open_keys:
            errors.append(
                f"{where}.parameters: {sub.strategy} has a search space for {', '.join(open_keys)}; "
                "fix them in 'parameters' or enable 'optimization'"
            )
        return errors
    opt, opt_where = sub.optimization, f"{where}.optimization"
    try:
        check_objective(opt.objective, opt_where)
        check_space(space, opt_where, opt.max_combinations, candles=0)
        warmup = int(getattr(strategy, "startup_candle_count", 0))
        check_lookback(duration_ms(opt.lookback), opt.lookback, warmup, timeframe_ms(sub.timeframe), opt_where)
    except OptimizationConfigError as exc:
        errors.append(str(exc))
    return errors

"""Search-space expansion with fixed values, bad-input errors, and the scoring objectives."""

import math

import pytest

from kektrade.optimize.scoring import score
from kektrade.optimize.space import OptimizationConfigError, check_objective, check_space, expand
from kektrade.strategy.base import OptimizeableStrategy


class Space(OptimizeableStrategy):
    def get_search_space(self) -> dict[str, list[object]]:
        return {"sma": [50, 100], "rsi": [4, 5, 6], "stake": [0.5]}


def test_fixed_values_replace_their_lists_without_mutating_the_strategy() -> None:
    strategy = Space()
    space = strategy.resolve_space({"rsi": 5})
    assert space == {"sma": [50, 100], "rsi": [5], "stake": [0.5]}
    assert strategy.get_search_space()["rsi"] == [4, 5, 6]
    combos = expand(space)
    assert combos == [{"rsi": 5, "sma": 50, "stake": 0.5}, {"rsi": 5, "sma": 100, "stake": 0.5}]


def test_expansion_order_is_stable_keys_sorted_values_as_listed() -> None:
    combos = expand(Space().resolve_space({}))
    assert len(combos) == 6
    assert [(c["rsi"], c["sma"]) for c in combos] == [(4, 50), (4, 100), (5, 50), (5, 100), (6, 50), (6, 100)]


def test_nothing_to_optimize_is_a_config_error() -> None:
    with pytest.raises(OptimizationConfigError, match="nothing to optimize"):
        check_space({"sma": [50], "rsi": [4]}, "subaccounts[0].optimization", 100, 1000)
    with pytest.raises(OptimizationConfigError, match="without values: rsi"):
        check_space({"sma": [50, 60], "rsi": []}, "subaccounts[0].optimization", 100, 1000)


def test_too_large_a_space_states_count_and_estimated_time() -> None:
    space = {"a": list(range(100)), "b": list(range(100))}
    with pytest.raises(OptimizationConfigError) as err:
        check_space(space, "subaccounts[2].optimization", 1000, 500_000)
    text = str(err.value)
    assert "subaccounts[2].optimization.max_combinations" in text and "10,000 combinations" in text
    assert "10,000 s" in text  # 10,000 x 500,000 candles at ~500k combination-candles/s


def test_unknown_objective_lists_the_valid_ones() -> None:
    with pytest.raises(OptimizationConfigError, match="use one of return, sharpe"):
        check_objective("profit", "subaccounts[0].optimization")


HOUR = 3_600_000


def test_return_and_profit_factor() -> None:
    times = [0, HOUR, 2 * HOUR]
    assert score("return", times, [100, 110, 121], []) == pytest.approx(0.21)
    assert score("profit_factor", times, [100, 101, 102], [10, -5, 5]) == pytest.approx(3.0)
    assert math.isinf(score("profit_factor", times, [100, 101, 102], [10]))
    assert math.isnan(score("profit_factor", times, [100, 101, 102], []))


def test_sharpe_sortino_calmar_by_hand() -> None:
    times = [0, HOUR, 2 * HOUR, 3 * HOUR]
    equity = [100.0, 101.0, 100.0, 102.0]
    rets = [0.01, 100 / 101 - 1, 0.02]
    mean = sum(rets) / 3
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / 2)
    per_year = 365 * 24
    assert score("sharpe", times, equity, []) == pytest.approx(mean / sd * math.sqrt(per_year))
    dd = math.sqrt((100 / 101 - 1) ** 2 / 3)
    assert score("sortino", times, equity, []) == pytest.approx(mean / dd * math.sqrt(per_year))
    years = 3 * HOUR / (365 * 86_400_000)
    annual = 1.02 ** (1 / years) - 1
    assert score("calmar", times, equity, []) == pytest.approx(annual / (1 - 100 / 101))


def test_undefined_scores_are_nan() -> None:
    assert math.isnan(score("sharpe", [0, HOUR, 2 * HOUR], [100, 100, 100], []))
    assert math.isnan(score("sortino", [0, HOUR, 2 * HOUR], [100, 101, 102], []))
    assert math.isnan(score("return", [0], [100], []))

"""Issue 12: the rules of a period (``backtest.rules``) bring that period's default fee rates.

Bybit's base-tier perpetual fees by the research notes (section 1.1, item 3; dated by year only):
0.075 % taker / -0.025 % maker in 2019-2021, 0.06 % / 0.01 % in 2022, 0.055 % / 0.02 % since. A fee rate
the config sets always wins; one it leaves out comes from the schedule at the first traded candle.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kektrade.config.load import parse_config
from kektrade.domain.rules import RULES, fees_at, margin_rules
from kektrade.engine.build import make_provider, prepare_instance


def ms(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize(
    ("day", "taker", "maker"),
    [
        ("2020-03-12", 0.00075, -0.00025),
        ("2021-12-31T23:59:59", 0.00075, -0.00025),
        ("2022-01-01", 0.0006, 0.0001),
        ("2022-12-31", 0.0006, 0.0001),
        ("2023-01-01", 0.00055, 0.0002),
        ("2025-08-31", 0.00055, 0.0002),
    ],
)
def test_the_schedule_before_september_2025(day: str, taker: float, maker: float) -> None:
    period = fees_at(margin_rules("before_2025_09"), ms(day))
    assert (period.taker, period.maker) == (taker, maker)


def test_the_current_rules_have_todays_fees_at_any_date() -> None:
    for day in ("2019-01-01", "2026-01-01"):
        period = fees_at(RULES["current"], ms(day))
        assert (period.taker, period.maker) == (0.00055, 0.0002)


def config(rules: str, start: str, fees: dict[str, float] | None) -> Any:
    sub: dict[str, Any] = {"id": "a", "strategy": "AlphaStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1h"}
    if fees is not None:
        sub["fees"] = fees
    return parse_config(
        json.dumps(
            {
                "metastrategy_id": "fees",
                "data": {"source": "synthetic", "synthetic": {"seed": 1, "start": start, "days": 2}},
                "backtest": {"rules": rules},
                "subaccounts": [sub],
            }
        )
    )


@pytest.mark.parametrize(
    ("rules", "start", "fees", "expected"),
    [
        ("before_2025_09", "2021-06-01", None, (0.00075, -0.00025)),
        ("before_2025_09", "2022-06-01", None, (0.0006, 0.0001)),
        ("before_2025_09", "2024-06-01", None, (0.00055, 0.0002)),
        ("before_2025_09", "2021-06-01", {"taker": 0.0007}, (0.0007, -0.00025)),  # the config's rate wins
        ("before_2025_09", "2021-06-01", {"taker": 0.00055, "maker": 0.0002}, (0.00055, 0.0002)),
        ("current", "2021-06-01", None, (0.00055, 0.0002)),
    ],
)
def test_a_backtest_pays_the_fees_of_its_period(
    strategy_dir: Path, rules: str, start: str, fees: dict[str, float] | None, expected: tuple[float, float]
) -> None:
    cfg = config(rules, start, fees)
    prepared = prepare_instance(cfg, cfg.subaccounts[0], 0, make_provider(cfg), strategy_dir)
    assert (prepared.spec.taker_fee, prepared.spec.maker_fee) == expected

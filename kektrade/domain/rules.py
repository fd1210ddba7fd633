"""Bybit's margin rules of each period (research notes, ../shared/research/bybit-math.md, section 1.1).

A backtest of older data can use the rules of its time (``backtest.rules``); every rule set is checked
against the worked examples published for its period (tests/domain/test_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MarginRules:
    """One period's rules: where maintenance margin (and so the liquidation price) and cross IM are taken.

    ``on_mark``: MM at the mark price (isolated liquidation by the UTA formula, MM evaluated at the
    liquidation price; cross IM and MM on the mark price). Otherwise IM and MM on the entry price and the
    classic liquidation formula: long E - (IM - MM)/q - A/q, short E + (IM - MM)/q + A/q (linear);
    long q / (q/E + IM - MM + A), short q / (q/E - IM + MM - A) (inverse), the risk tier by entry value.
    ``fees``: the base-tier (taker, maker) rates of the period, for reference: set them in ``fees``.
    """

    name: str
    period: str
    on_mark: bool
    fees: tuple[tuple[str, float, float], ...]
    summary: str


RULES: dict[str, MarginRules] = {
    "current": MarginRules(
        name="current",
        period="from 2025-09-02",
        on_mark=True,
        fees=(("current base tier", 0.00055, 0.0002),),
        summary=(
            "Unified account after Bybit's new margin calculation of 2 Sep 2025: cross IM and MM on the mark "
            "price, isolated IM on entry and MM on mark (UTA liquidation formula), tier by mark value"
        ),
    ),
    "before_2025_09": MarginRules(
        name="before_2025_09",
        period="until 2025-09-01 (classic contract accounts and the unified account before the change)",
        on_mark=False,
        fees=(("2019-2021", 0.00075, -0.00025), ("2022", 0.0006, 0.0001), ("after 2022", 0.00055, 0.0002)),
        summary=(
            "IM and MM on the entry price; isolated liquidation price by the classic formula "
            "E -/+ (IM - MM)/q -/+ A/q; cross: wallet + UPNL(P) = MM at entry + fee to close; tier by entry value"
        ),
    ),
}


def margin_rules(name: str) -> MarginRules:
    """The rule set called ``name``; ValueError listing the known ones."""
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"rules: {name!r} is not a known rule set; use {', '.join(RULES)}") from None


def rules_summary(rules: MarginRules) -> dict[str, object]:
    """The rule set as plain JSON values (for results)."""
    return {
        "name": rules.name,
        "period": rules.period,
        "summary": rules.summary,
        "fees_of_the_period": [{"years": y, "taker": t, "maker": m} for y, t, m in rules.fees],
    }

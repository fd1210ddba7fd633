"""Bybit's margin rules of each period (research notes, ../shared/research/bybit-math.md, section 1.1).

A backtest of older data can use the rules of its time (``backtest.rules``); every rule set is checked
against the worked examples published for its period (tests/domain/test_rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class FeePeriod:
    """Bybit's base-tier (non-VIP) perpetual fee rates in force from ``from_ms`` on (negative maker: rebate).

    The research notes (section 1.1, item 3) date the changes by year only: 0.075 % / -0.025 % in
    2019-2021, 0.06 % / 0.01 % in 2022, 0.055 % / 0.02 % since; the periods start on 1 January.
    """

    years: str
    from_ms: int
    taker: float
    maker: float


@dataclass(frozen=True, slots=True)
class MarginRules:
    """One period's rules: where maintenance margin (and so the liquidation price) and cross IM are taken.

    ``on_mark``: MM at the mark price (isolated liquidation by the UTA formula, MM evaluated at the
    liquidation price; cross IM and MM on the mark price). Otherwise IM and MM on the entry price and the
    classic liquidation formula: long E - (IM - MM)/q - A/q, short E + (IM - MM)/q + A/q (linear);
    long q / (q/E + IM - MM + A), short q / (q/E - IM + MM - A) (inverse), the risk tier by entry value.
    ``classic_cross``: cross liquidation by the classic contract account's formula
    (``contract_math.liquidation_price_cross_classic``). ``fees``: the base-tier fee schedule of the
    period, oldest first (``fees_at``): a backtest with these rules pays the rates in force at its first
    traded candle where the config sets no ``fees``.
    """

    name: str
    period: str
    on_mark: bool
    fees: tuple[FeePeriod, ...]
    summary: str
    #: the classic contract account's cross liquidation (E33): the balance net of order margin, the fee to
    #: close taken at the cross bankruptcy price
    classic_cross: bool = False


_FEES_BEFORE_2025_09 = (
    FeePeriod("2019-2021", 0, 0.00075, -0.00025),
    FeePeriod("2022", 18_993 * _DAY_MS, 0.0006, 0.0001),  # 2022-01-01
    FeePeriod("from 2023", 19_358 * _DAY_MS, 0.00055, 0.0002),  # 2023-01-01
)

RULES: dict[str, MarginRules] = {
    "current": MarginRules(
        name="current",
        period="from 2025-09-02",
        on_mark=True,
        fees=(FeePeriod("from 2023", 0, 0.00055, 0.0002),),
        summary=(
            "Unified account after Bybit's new margin calculation of 2 Sep 2025: cross IM and MM on the mark "
            "price, isolated IM on entry and MM on mark (UTA liquidation formula), tier by mark value"
        ),
    ),
    "before_2025_09": MarginRules(
        name="before_2025_09",
        period="until 2025-09-01, unified trading account before the change",
        on_mark=False,
        fees=_FEES_BEFORE_2025_09,
        summary=(
            "IM and MM on the entry price; isolated liquidation price by the classic formula "
            "E -/+ (IM - MM)/q -/+ A/q; cross: wallet + UPNL(P) = MM at entry + fee to close; tier by entry value"
        ),
    ),
    "classic": MarginRules(
        name="classic",
        period="until 2025-09-01, classic contract account (before the unified trading account)",
        on_mark=False,
        fees=_FEES_BEFORE_2025_09,
        summary=(
            "The classic contract account: IM and MM on the entry price, isolated liquidation by the classic "
            "formula; cross: the loss may use the wallet less order margin, MM at entry and the fee to close at "
            "the cross bankruptcy price (E33); tier by entry value"
        ),
        classic_cross=True,
    ),
}


def margin_rules(name: str) -> MarginRules:
    """The rule set called ``name``; ValueError listing the known ones."""
    try:
        return RULES[name]
    except KeyError:
        raise ValueError(f"rules: {name!r} is not a known rule set; use {', '.join(RULES)}") from None


def fees_at(rules: MarginRules, at_ms: int) -> FeePeriod:
    """The rule set's default fee rates in force at ``at_ms`` (its first period before them all)."""
    found = rules.fees[0]
    for period in rules.fees:
        if period.from_ms <= at_ms:
            found = period
    return found


def rules_summary(rules: MarginRules) -> dict[str, object]:
    """The rule set as plain JSON values (for results)."""
    return {
        "name": rules.name,
        "period": rules.period,
        "summary": rules.summary,
        "fees_of_the_period": [{"years": f.years, "taker": f.taker, "maker": f.maker} for f in rules.fees],
    }

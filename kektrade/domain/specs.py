"""Contract specifications: tick size, lot step, risk-limit ladder, fees, funding interval.

Built-in specs mirror Bybit's instruments-info and risk-limit endpoints for the four majors; anything
else comes from ccxt market data (``kektrade.exchange.live``) or from the config's ``contract`` section.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from kektrade.domain.contract_math import tier_for_position, tier_for_value
from kektrade.domain.types import ContractKind, RiskTier

HOUR_MS = 3_600_000

#: Whose margin formulas a contract follows (``ContractSpec.formulas``), with what the results say about them.
FORMULAS: dict[str, str] = {
    "bybit": (
        "Bybit: MM = position value x MMR - deduction of the risk tier (tier by value); IM and MM include the "
        "estimated fee to close; liquidation price by Bybit's formulas"
    ),
    "binance": (
        "Binance USD-M: MM = notional x MMR - maintenance amount (cum) of the bracket (bracket by notional); "
        "no fee-to-close buffer; liquidation price by Binance's formula"
    ),
    "okx": (
        "OKX: MM = position value x MMR of the tier, no deduction (tier by position size in contracts); "
        "liquidation when margin + UPL = position value x (MMR + taker fee)"
    ),
}
#: ccxt exchange ids whose formulas the simulator knows; any other exchange is simulated with Bybit's.
EXCHANGE_FORMULAS = {"bybit": "bybit", "binanceusdm": "binance", "binance": "binance", "okx": "okx"}


def formulas_for(exchange_id: str) -> str:
    """The formula set the simulator uses for a ccxt exchange id (Bybit's for exchanges it does not know)."""
    return EXCHANGE_FORMULAS.get(exchange_id, "bybit")


def deductions_from_ladder(rows: list[tuple[float, float, float, float]]) -> tuple[RiskTier, ...]:
    """Build tiers from (limit value, MMR, IMR, max leverage), deriving Bybit's MM deductions.

    D(1) = 0; D(n) = limit(n-1) x (MMR(n) - MMR(n-1)) + D(n-1): the flat-rate shortcut then equals the
    bracket-by-bracket sum.
    """
    tiers: list[RiskTier] = []
    deduction = 0.0
    for n, (limit, mmr, imr, max_lev) in enumerate(rows):
        if n > 0:
            prev_limit, prev_mmr = rows[n - 1][0], rows[n - 1][1]
            deduction = round(prev_limit * (mmr - prev_mmr) + deduction, 8)
        tiers.append(RiskTier(limit_value=limit, mmr=mmr, imr=imr, max_leverage=max_lev, deduction=deduction))
    return tuple(tiers)


@dataclass(frozen=True, slots=True)
class ContractSpec:
    """Everything the simulator needs to trade one perpetual like the venue does."""

    symbol: str  # ccxt unified symbol, e.g. "BTC/USDT:USDT" or "BTC/USD:BTC"
    kind: ContractKind
    base: str
    quote: str
    settle: str
    tick_size: float
    lot_step: float
    min_qty: float
    max_qty: float
    contract_size: float = 1.0
    max_leverage: float = 100.0
    taker_fee: float = 0.00055
    maker_fee: float = 0.0002
    funding_interval_ms: int = 8 * HOUR_MS
    risk_tiers: tuple[RiskTier, ...] = field(default_factory=tuple)
    #: Where the risk tiers and instrument numbers come from (named in the results).
    source: str = ""
    #: Whose margin formulas apply (a key of ``FORMULAS``): Bybit's, Binance's (the ladder's deduction is the
    #: maintenance amount ``cum``, no fee-to-close buffer) or OKX's (tier limits are position sizes, no
    #: deduction, the taker fee counts towards maintenance).
    formulas: str = "bybit"
    #: Smallest order value an opening order may have (Binance's MIN_NOTIONAL filter; 0: none). Reduce-only
    #: orders are exempt, as on Binance.
    min_notional: float = 0.0

    @property
    def tiers_by_size(self) -> bool:
        """True when the tier limits are position sizes (OKX), not position values."""
        return self.formulas == "okx"

    @property
    def is_inverse(self) -> bool:
        """True for coin-margined contracts."""
        return self.kind is ContractKind.INVERSE

    def tier_for_value(self, value: float) -> RiskTier:
        """The risk tier holding a position value (inclusive upper bounds; the last tier caps)."""
        return tier_for_value(self.risk_tiers, value)

    def tier_for(self, qty: float, price: float) -> RiskTier:
        """The tier of a position of ``qty`` at ``price``: by size (OKX) or by value (Bybit, Binance)."""
        return tier_for_position(self.risk_tiers, qty, price, self.is_inverse, self.tiers_by_size)

    def with_overrides(self, **changes: Any) -> ContractSpec:
        """A copy with some fields replaced (config overrides, fee tiers)."""
        clean = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **clean)


# Bybit BTCUSDT ladder, first ten tiers as captured from /v5/market/risk-limit (2026-08-05);
# deductions re-derived (0, 1200, 3020, 4300, 5820, 8460, ...). Beyond 14M USDT the tenth tier applies.
_BTCUSDT_TIERS = deductions_from_ladder(
    [
        (2_000_000, 0.005, 0.01, 100),
        (2_600_000, 0.0056, 0.0111, 90),
        (3_200_000, 0.0063, 0.0125, 80),
        (3_800_000, 0.0067, 0.0133, 75),
        (4_400_000, 0.0071, 0.0143, 70),
        (5_000_000, 0.0077, 0.0154, 65),
        (5_600_000, 0.0091, 0.0182, 55),
        (8_500_000, 0.01, 0.02, 50),
        (10_000_000, 0.013, 0.0222, 45),
        (14_000_000, 0.015, 0.025, 40),
    ]
)

_ETHUSDT_TIERS = deductions_from_ladder(
    [
        (1_000_000, 0.005, 0.01, 100),
        (1_500_000, 0.0056, 0.0111, 90),
        (2_000_000, 0.0063, 0.0125, 80),
        (2_500_000, 0.0067, 0.0133, 75),
        (3_000_000, 0.0071, 0.0143, 70),
        (3_500_000, 0.0077, 0.0154, 65),
        (4_000_000, 0.0091, 0.0182, 55),
        (6_000_000, 0.01, 0.02, 50),
        (8_000_000, 0.013, 0.0222, 45),
        (10_000_000, 0.015, 0.025, 40),
    ]
)

# Inverse ladders are in coin (position value = contracts / price): Bybit's classic inverse ladders
# (base limit, +0.5 % MMR per step). Live runs replace them with fetch_leverage_tiers().
_BTCUSD_TIERS = deductions_from_ladder(
    [
        (150, 0.005, 0.01, 100),
        (300, 0.01, 0.015, 66.67),
        (450, 0.015, 0.02, 50),
        (600, 0.02, 0.025, 40),
        (750, 0.025, 0.03, 33.33),
        (900, 0.03, 0.035, 28.57),
        (1050, 0.035, 0.04, 25),
        (1200, 0.04, 0.045, 22.22),
        (1350, 0.045, 0.05, 20),
        (1500, 0.05, 0.055, 18.18),
    ]
)

_ETHUSD_TIERS = deductions_from_ladder(
    [
        (3000, 0.005, 0.01, 100),
        (6000, 0.01, 0.015, 66.67),
        (9000, 0.015, 0.02, 50),
        (12000, 0.02, 0.025, 40),
        (15000, 0.025, 0.03, 33.33),
        (18000, 0.03, 0.035, 28.57),
        (21000, 0.035, 0.04, 25),
        (24000, 0.04, 0.045, 22.22),
        (27000, 0.045, 0.05, 20),
        (30000, 0.05, 0.055, 18.18),
    ]
)

# Binance USD-M BTCUSDT brackets (notional cap, MMR, IMR, max leverage) as freqtrade shipped them on
# 2024-10-24 (research note X4); maintenance amounts derived: 0, 50, 950, 11,450, 131,450, 481,450, 2,981,450.
# Binance serves its brackets only to signed requests: this is the ladder a download without keys falls back to.
BINANCE_BTCUSDT_BRACKETS = deductions_from_ladder(
    [
        (50_000, 0.004, 0.008, 125),
        (600_000, 0.005, 0.01, 100),
        (3_000_000, 0.0065, 0.0133, 75),
        (12_000_000, 0.01, 0.02, 50),
        (70_000_000, 0.02, 0.04, 25),
        (100_000_000, 0.025, 0.05, 20),
        (230_000_000, 0.05, 0.1, 10),
    ]
)
BUILTIN_LADDERS: dict[tuple[str, str], tuple[tuple[RiskTier, ...], str]] = {
    ("binance", "BTC/USDT:USDT"): (
        BINANCE_BTCUSDT_BRACKETS, "the built-in Binance BTCUSDT brackets (snapshot of 2024-10-24)"
    ),
}

_BUILTIN_LINEAR = "built-in: Bybit instruments-info and risk-limit snapshot of 2026-08-05 (first 10 tiers)"
_BUILTIN_INVERSE = "built-in: Bybit classic inverse ladder (10 tiers)"
GENERIC_SOURCE = "generic: one tier (MMR 0.5 %, 100x) and default tick/lot; set contract.* or download the market"

BUILTIN_SPECS: dict[str, ContractSpec] = {
    "BTC/USDT:USDT": ContractSpec(
        symbol="BTC/USDT:USDT",
        kind=ContractKind.LINEAR,
        base="BTC",
        quote="USDT",
        settle="USDT",
        tick_size=0.1,
        lot_step=0.001,
        min_qty=0.001,
        max_qty=1190.0,
        max_leverage=100.0,
        risk_tiers=_BTCUSDT_TIERS,
        source=_BUILTIN_LINEAR,
    ),
    "ETH/USDT:USDT": ContractSpec(
        symbol="ETH/USDT:USDT",
        kind=ContractKind.LINEAR,
        base="ETH",
        quote="USDT",
        settle="USDT",
        tick_size=0.01,
        lot_step=0.01,
        min_qty=0.01,
        max_qty=7240.0,
        max_leverage=100.0,
        risk_tiers=_ETHUSDT_TIERS,
        source=_BUILTIN_LINEAR,
    ),
    "BTC/USD:BTC": ContractSpec(
        symbol="BTC/USD:BTC",
        kind=ContractKind.INVERSE,
        base="BTC",
        quote="USD",
        settle="BTC",
        tick_size=0.5,
        lot_step=1.0,
        min_qty=1.0,
        max_qty=100_000_000.0,
        max_leverage=100.0,
        risk_tiers=_BTCUSD_TIERS,
        source=_BUILTIN_INVERSE,
    ),
    "ETH/USD:ETH": ContractSpec(
        symbol="ETH/USD:ETH",
        kind=ContractKind.INVERSE,
        base="ETH",
        quote="USD",
        settle="ETH",
        tick_size=0.05,
        lot_step=1.0,
        min_qty=1.0,
        max_qty=10_000_000.0,
        max_leverage=100.0,
        risk_tiers=_ETHUSD_TIERS,
        source=_BUILTIN_INVERSE,
    ),
}

_ALIASES = {
    "BTCUSDT": "BTC/USDT:USDT",
    "ETHUSDT": "ETH/USDT:USDT",
    "BTCUSD": "BTC/USD:BTC",
    "ETHUSD": "ETH/USD:ETH",
}


def builtin_spec(symbol: str) -> ContractSpec | None:
    """The built-in spec for a unified symbol (or a Bybit id like ``BTCUSDT``), None if unknown."""
    return BUILTIN_SPECS.get(_ALIASES.get(symbol, symbol))


def generic_spec(symbol: str, tick_size: float = 0.01, lot_step: float = 0.001) -> ContractSpec:
    """A spec for a symbol without built-in data: linear unless the symbol settles in its base coin."""
    base, _, rest = symbol.partition("/")
    quote, _, settle = rest.partition(":")
    settle = settle or quote
    inverse = settle == base
    tiers = deductions_from_ladder([(1e18 if not inverse else 1e12, 0.005, 0.01, 100)])
    return ContractSpec(
        symbol=symbol,
        kind=ContractKind.INVERSE if inverse else ContractKind.LINEAR,
        base=base,
        quote=quote or "USDT",
        settle=settle or "USDT",
        tick_size=1.0 if inverse else tick_size,
        lot_step=1.0 if inverse else lot_step,
        min_qty=1.0 if inverse else lot_step,
        max_qty=1e12,
        risk_tiers=tiers,
        source=GENERIC_SOURCE,
    )


def tier_to_dict(tier: RiskTier) -> dict[str, float]:
    """A risk tier as plain JSON numbers."""
    return {"limit_value": tier.limit_value, "mmr": tier.mmr, "imr": tier.imr, "max_leverage": tier.max_leverage,
            "deduction": tier.deduction}


def spec_to_dict(spec: ContractSpec) -> dict[str, Any]:
    """A spec as plain JSON values (cached beside downloaded candles, shown in the results)."""
    out: dict[str, Any] = {f.name: getattr(spec, f.name) for f in fields(spec)}
    out["kind"] = spec.kind.value
    out["risk_tiers"] = [tier_to_dict(t) for t in spec.risk_tiers]
    return out


def spec_from_dict(data: dict[str, Any]) -> ContractSpec:
    """The inverse of ``spec_to_dict``; ValueError naming the field on bad input."""
    try:
        values = {f.name: data[f.name] for f in fields(ContractSpec) if f.name in data}
        values["kind"] = ContractKind(values["kind"])
        if values.get("formulas", "bybit") not in FORMULAS:
            raise ValueError(f"formulas {values['formulas']!r} is not one of {', '.join(FORMULAS)}")
        values["risk_tiers"] = tuple(RiskTier(**{k: float(v) for k, v in t.items()}) for t in data["risk_tiers"])
        spec = ContractSpec(**values)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"contract spec: bad or missing field ({exc})") from None
    if not spec.risk_tiers:
        raise ValueError(f"contract spec {spec.symbol}: no risk tiers")
    return spec


def contract_summary(spec: ContractSpec) -> dict[str, Any]:
    """What a result names about the contract a venue traded: numbers and where the ladder came from."""
    return {
        "symbol": spec.symbol,
        "kind": spec.kind.value,
        "tick_size": spec.tick_size,
        "lot_step": spec.lot_step,
        "min_qty": spec.min_qty,
        "max_qty": spec.max_qty,
        "contract_size": spec.contract_size,
        "max_leverage": spec.max_leverage,
        "funding_interval_ms": spec.funding_interval_ms,
        "taker_fee": spec.taker_fee,
        "maker_fee": spec.maker_fee,
        "formulas": spec.formulas,
        "formulas_summary": FORMULAS.get(spec.formulas, ""),
        "risk_tiers": len(spec.risk_tiers),
        "first_tier": tier_to_dict(spec.risk_tiers[0]) if spec.risk_tiers else None,
        "source": spec.source,
    }

"""ccxt market structures turned into kektrade's ``ContractSpec``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import ccxt

from kektrade.domain.specs import HOUR_MS, ContractSpec, builtin_spec, deductions_from_ladder, generic_spec
from kektrade.domain.types import ContractKind, RiskTier

_DEFAULT_FUNDING_MS = 8 * HOUR_MS
log = logging.getLogger(__name__)


def _number(value: Any, field: str, symbol: str) -> float:
    """A positive float from a ccxt field, or a ValueError naming the field."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"market {symbol}: {field} missing or not a number (got {value!r})") from None
    if not number > 0:
        raise ValueError(f"market {symbol}: {field} must be > 0 (got {value!r})")
    return number


def _dig(market: Mapping[str, Any], path: str) -> Any:
    node: Any = market
    for key in path.split("."):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _optional(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def funding_interval_from(market: Mapping[str, Any]) -> int:
    """Funding interval in ms from ``info.fundingInterval`` (Bybit: minutes); 8 hours when absent."""
    minutes = _optional(_dig(market, "info.fundingInterval"))
    return int(minutes * 60_000) if minutes else _DEFAULT_FUNDING_MS


def tiers_from_rows(rows: list[dict[str, Any]], symbol: str) -> tuple[RiskTier, ...]:
    """Risk tiers from ``fetch_leverage_tiers`` rows (ccxt fields, Bybit's ``info`` when present)."""
    ladder: list[tuple[float, float, float, float]] = []
    deductions: list[float | None] = []
    for n, row in enumerate(rows):
        info = row.get("info") or {}
        where = f"leverage tier {n + 1}"
        limit = _number(row.get("maxNotional") or info.get("riskLimitValue"), f"{where}.maxNotional", symbol)
        mmr = _number(
            row.get("maintenanceMarginRate") or info.get("maintenanceMargin"), f"{where}.mmr", symbol
        )
        max_lev = _number(row.get("maxLeverage") or info.get("maxLeverage"), f"{where}.maxLeverage", symbol)
        imr = _optional(info.get("initialMargin")) or 1.0 / max_lev
        ladder.append((limit, mmr, imr, max_lev))
        deductions.append(_optional(info.get("mmDeduction")))
    ladder.sort(key=lambda r: r[0])
    derived = deductions_from_ladder(ladder)
    if len(deductions) == len(derived) and all(d is not None for d in deductions):
        return tuple(
            RiskTier(t.limit_value, t.mmr, t.imr, t.max_leverage, float(d))  # type: ignore[arg-type]
            for t, d in zip(derived, deductions, strict=True)
        )
    return derived


def _fallback_tiers(symbol: str) -> tuple[RiskTier, ...]:
    known = builtin_spec(symbol)
    return known.risk_tiers if known is not None else generic_spec(symbol).risk_tiers


def spec_from_market(
    market: dict[str, Any], tiers: list[dict[str, Any]] | None = None, fees: dict[str, Any] | None = None
) -> ContractSpec:
    """A ``ContractSpec`` from a ccxt market, its leverage tiers and the account's trading fee.

    Inverse contracts are one USD each: ccxt's bybit ``contractSize`` (= minOrderQty) is ignored there.
    Without tiers the built-in ladder of the symbol (or a one-tier generic ladder) is used; without fees
    the ContractSpec defaults (Bybit's base tier, 0.055 % / 0.02 %).
    """
    symbol = str(market.get("symbol") or "")
    if not symbol:
        raise ValueError("market: symbol missing")
    if not market.get("contract", market.get("swap", False)):
        raise ValueError(f"market {symbol}: not a contract market (type {market.get('type')!r})")
    inverse = bool(market.get("inverse"))
    lot = _number(_dig(market, "precision.amount"), "precision.amount", symbol)
    min_qty = _optional(_dig(market, "limits.amount.min")) or lot
    max_qty = _optional(_dig(market, "limits.amount.max")) or 1e12
    contract_size = 1.0 if inverse else (_optional(market.get("contractSize")) or 1.0)
    risk_tiers = tiers_from_rows(tiers, symbol) if tiers else _fallback_tiers(symbol)
    ladder = "its leverage tiers" if tiers else "no leverage tiers: the built-in or generic ladder"
    changes: dict[str, Any] = {}
    if fees:
        changes = {"taker_fee": _optional(fees.get("taker")), "maker_fee": _optional(fees.get("maker"))}
    spec = ContractSpec(
        symbol=symbol,
        kind=ContractKind.INVERSE if inverse else ContractKind.LINEAR,
        base=str(market.get("base") or ""),
        quote=str(market.get("quote") or ""),
        settle=str(market.get("settle") or market.get("quote") or ""),
        tick_size=_number(_dig(market, "precision.price"), "precision.price", symbol),
        lot_step=lot,
        min_qty=min_qty,
        max_qty=max_qty,
        contract_size=contract_size,
        max_leverage=_optional(_dig(market, "limits.leverage.max")) or risk_tiers[0].max_leverage,
        funding_interval_ms=funding_interval_from(market),
        risk_tiers=risk_tiers,
        source=f"ccxt market data of {symbol}, {ladder}",
    )
    return spec.with_overrides(**changes)


def fetch_contract_spec(exchange: Any, symbol: str) -> ContractSpec:
    """The spec of ``symbol`` from a ccxt client with markets loaded: its market and leverage tiers (public
    data; without tiers the built-in ladder, with a warning). Used when candles are downloaded.

    Sizes are kektrade's (coins, or USD for inverse): the exchange's dialect converts its amounts (OKX:
    contracts of ctVal) and tier bounds.
    """
    from kektrade.exchange.live.dialects import known_dialect
    from kektrade.exchange.live.unified_dialect import UnifiedDialect, scaled_spec

    dialect = known_dialect(exchange.id) or UnifiedDialect
    market = exchange.market(symbol)
    tiers: list[dict[str, Any]] | None = None
    try:
        if exchange.has.get("fetchLeverageTiers") and not dialect.tiers_in_contracts:
            tiers = exchange.fetch_leverage_tiers([symbol]).get(symbol)
        else:
            rows = exchange.fetch_market_leverage_tiers(symbol)
            last = exchange.fetch_ticker(symbol).get("last") if dialect.tiers_in_contracts else None
            tiers = dialect.tiers_by_value(rows, market, float(last) if last else None)
    except ccxt.BaseError as exc:
        log.warning("leverage tiers of %s unavailable (%s); using the built-in ladder", symbol, exc)
    return scaled_spec(spec_from_market(market, tiers), dialect.amount_unit(market))

"""ccxt market structures turned into kektrade's ``ContractSpec``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import ccxt

from kektrade.domain.specs import (
    BUILTIN_LADDERS,
    HOUR_MS,
    ContractSpec,
    builtin_spec,
    deductions_from_ladder,
    formulas_for,
    generic_spec,
)
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


def tiers_from_rows(
    rows: list[dict[str, Any]], symbol: str, formulas: str = "bybit", contract_size: float = 1.0
) -> tuple[RiskTier, ...]:
    """Risk tiers from ``fetch_leverage_tiers`` rows (ccxt fields; the exchange's ``info`` when present).

    Bybit: the deduction is ``info.mmDeduction``; Binance: the maintenance amount ``info.cum`` (both derived
    from the ladder when absent). OKX: the limits are position sizes in contracts (``maxSz``), kept in
    kektrade's quantity units (contracts x ``contract_size``), with no deduction.
    """
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
        imr = _optional(info.get("initialMargin")) or _optional(info.get("imr")) or 1.0 / max_lev
        ladder.append((limit * contract_size if formulas == "okx" else limit, mmr, imr, max_lev))
        deductions.append(0.0 if formulas == "okx" else _optional(info.get("mmDeduction", info.get("cum"))))
    order = sorted(range(len(ladder)), key=lambda k: ladder[k][0])
    ladder, deductions = [ladder[k] for k in order], [deductions[k] for k in order]
    derived = deductions_from_ladder(ladder)
    if len(deductions) == len(derived) and all(d is not None for d in deductions):
        return tuple(
            RiskTier(t.limit_value, t.mmr, t.imr, t.max_leverage, float(d))  # type: ignore[arg-type]
            for t, d in zip(derived, deductions, strict=True)
        )
    return derived


def _fallback_tiers(symbol: str, formulas: str) -> tuple[tuple[RiskTier, ...], str]:
    """The built-in ladder of the exchange's market when there is one, else the generic one-tier ladder."""
    if (formulas, symbol) in BUILTIN_LADDERS:
        return BUILTIN_LADDERS[(formulas, symbol)]
    known = builtin_spec(symbol) if formulas == "bybit" else None
    if known is not None:
        return known.risk_tiers, "the built-in Bybit ladder"
    return generic_spec(symbol).risk_tiers, "the generic one-tier ladder"


def spec_from_market(
    market: dict[str, Any],
    tiers: list[dict[str, Any]] | None = None,
    fees: dict[str, Any] | None = None,
    exchange_id: str = "bybit",
    funding_interval_ms: int | None = None,
) -> ContractSpec:
    """A ``ContractSpec`` from a ccxt market of ``exchange_id``, its leverage tiers and trading fees.

    Quantities are in kektrade's units: base coin (linear) or USD (inverse). Bybit's inverse contracts are
    one USD each (ccxt's ``contractSize``, = minOrderQty, is ignored there); OKX counts contracts of
    ``ctVal`` (ccxt ``contractSize``), so its lot, minimum and maximum are converted. Without tiers the
    built-in ladder of the symbol (or a one-tier generic ladder) is used; fees are ``fees`` (the account's),
    else the market's ``taker``/``maker`` (exchanges other than Bybit), else Bybit's base tier.
    """
    symbol = str(market.get("symbol") or "")
    if not symbol:
        raise ValueError("market: symbol missing")
    if not market.get("contract", market.get("swap", False)):
        raise ValueError(f"market {symbol}: not a contract market (type {market.get('type')!r})")
    inverse = bool(market.get("inverse"))
    formulas = formulas_for(exchange_id)
    unit = (_optional(market.get("contractSize")) or 1.0) if formulas == "okx" else 1.0  # OKX: per contract
    contract_size = 1.0 if inverse else (_optional(market.get("contractSize")) or 1.0)  # shown, not traded
    lot = _number(_dig(market, "precision.amount"), "precision.amount", symbol) * unit
    min_qty = (_optional(_dig(market, "limits.amount.min")) or lot / unit) * unit
    max_qty = (_optional(_dig(market, "limits.amount.max")) or 1e12) * unit
    if tiers:
        risk_tiers, ladder = tiers_from_rows(tiers, symbol, formulas, unit), "its leverage tiers"
    else:
        risk_tiers, fallback = _fallback_tiers(symbol, formulas)
        ladder = f"no leverage tiers: {fallback}"
    source_fees = fees or ({} if formulas == "bybit" else market)
    changes: dict[str, Any] = {
        "taker_fee": _optional(source_fees.get("taker")), "maker_fee": _optional(source_fees.get("maker")),
        "formulas": formulas,
        # Binance's MIN_NOTIONAL (ccxt limits.cost.min); the other exchanges' minimums are order sizes
        "min_notional": (_optional(_dig(market, "limits.cost.min")) or 0.0) if formulas == "binance" else 0.0,
    }
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
        funding_interval_ms=funding_interval_ms or funding_interval_from(market),
        risk_tiers=risk_tiers,
        source=f"{exchange_id} market data of {symbol} (ccxt), {ladder}",
    )
    return spec.with_overrides(**changes)


def fetch_contract_spec(exchange: Any, symbol: str) -> ContractSpec:
    """The spec of ``symbol`` from a ccxt client with markets loaded: its market, leverage tiers and funding
    interval (without tiers the built-in ladder, with a warning). Used for downloads and paper runs."""
    tiers: list[dict[str, Any]] | None = None
    try:
        if exchange.has.get("fetchLeverageTiers") is True:
            tiers = exchange.fetch_leverage_tiers([symbol]).get(symbol)
        else:  # OKX: one market at a time
            tiers = exchange.fetch_market_leverage_tiers(symbol)
    except ccxt.BaseError as exc:
        log.warning("leverage tiers of %s unavailable (%s); using the built-in ladder", symbol, exc)
    market = exchange.market(symbol)
    interval = None if _dig(market, "info.fundingInterval") else fetch_funding_interval_ms(exchange, symbol)
    return spec_from_market(market, tiers, exchange_id=str(exchange.id), funding_interval_ms=interval)


def fetch_funding_interval_ms(exchange: Any, symbol: str) -> int | None:
    """The funding interval the exchange reports for ``symbol`` (ccxt ``fetch_funding_interval``), or None
    (then 8 hours) when it has none or the call fails."""
    if not exchange.has.get("fetchFundingInterval"):
        return None
    try:
        interval = exchange.fetch_funding_interval(symbol).get("interval")
        return int(exchange.parse_timeframe(interval) * 1000) if interval else None
    except (ccxt.BaseError, TypeError, ValueError) as exc:
        log.warning("funding interval of %s unavailable (%s); assuming 8 hours", symbol, exc)
        return None

"""The contract spec a subaccount trades: the exchange's (downloaded with the candles), a built-in one or a
generic one, with the config's ``contract`` overrides on top. The result names where its numbers and
risk ladder came from (``ContractSpec.source``), and the run's results show it."""

from __future__ import annotations

from kektrade.config.model_subaccount import ContractOverrides, FeesConfig, RiskTierConfig
from kektrade.domain.specs import ContractSpec, builtin_spec, deductions_from_ladder, generic_spec
from kektrade.domain.timeframes import duration_ms
from kektrade.domain.types import RiskTier

_OVERRIDABLE = ("tick_size", "lot_step", "min_qty", "max_qty", "max_leverage", "contract_size")


def ladder_from_config(rows: list[RiskTierConfig]) -> tuple[RiskTier, ...]:
    """Risk tiers from the config: missing IMRs are 1 / max leverage, missing deductions derived."""
    derived = deductions_from_ladder([(r.limit_value, r.mmr, r.imr or 1.0 / r.max_leverage, r.max_leverage)
                                      for r in rows])
    return tuple(
        RiskTier(t.limit_value, t.mmr, t.imr, t.max_leverage, t.deduction if r.deduction is None else r.deduction)
        for t, r in zip(derived, rows, strict=True)
    )


def resolve_contract(
    pair: str, overrides: ContractOverrides, fees: FeesConfig, downloaded: ContractSpec | None = None
) -> ContractSpec:
    """The spec for ``pair``: downloaded, else built-in, else generic; then the config's overrides and fees."""
    base = downloaded or builtin_spec(pair) or generic_spec(pair)
    changes: dict[str, object] = {name: getattr(overrides, name) for name in _OVERRIDABLE}
    if overrides.funding_interval is not None:
        changes["funding_interval_ms"] = duration_ms(overrides.funding_interval)
    source = base.source
    if overrides.risk_tiers:
        changes["risk_tiers"] = ladder_from_config(overrides.risk_tiers)
        source = f"config: contract.risk_tiers ({len(overrides.risk_tiers)} tiers); instrument from {base.source}"
    named = [k for k, v in changes.items() if v is not None and k != "risk_tiers"]
    if named:
        source = f"{source}; config overrides: {', '.join(named)}"
    return base.with_overrides(**changes, source=source, taker_fee=fees.taker, maker_fee=fees.maker)

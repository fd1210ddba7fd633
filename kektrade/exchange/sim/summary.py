"""What a run's results name about each venue: the contract numbers, where its risk ladder came from, and
(simulated venues) Bybit's rules of the period it applied."""

from __future__ import annotations

from typing import Any

from kektrade.domain.rules import MarginRules, rules_summary
from kektrade.domain.specs import ContractSpec, contract_summary


def venue_summary(venue: Any) -> dict[str, Any]:
    """``{"contract": ..., "rules": ...}`` for any venue with a ``spec`` (rules: simulated venues only)."""
    spec = getattr(venue, "spec", None)
    rules = getattr(venue, "rules", None)
    return {
        "venue": type(venue).__name__,
        "contract": contract_summary(spec) if isinstance(spec, ContractSpec) else None,
        "rules": rules_summary(rules) if isinstance(rules, MarginRules) else None,
    }

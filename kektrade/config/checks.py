"""Checks across subaccounts: unique ids, no mixing of backtest and live venues, inverse balances."""

from __future__ import annotations

from dataclasses import dataclass

from kektrade.config.model_subaccount import split_pair
from kektrade.domain.venues import DEFAULT_VENUE, VENUES, VenueKind


@dataclass(frozen=True, slots=True)
class SubaccountView:
    """The few facts the cross-field checks need about one (possibly not yet valid) subaccount."""

    index: int
    id: str | None
    venue: str | None
    pair: str | None
    balance_given: bool


def _is_inverse(pair: str | None) -> bool:
    if pair is None:
        return False
    try:
        base, _quote, settle = split_pair(pair)
    except ValueError:
        return False
    return base == settle


def cross_field_errors(views: list[SubaccountView]) -> list[str]:
    """Every cross-subaccount error, each naming the dotted path of the offending field."""
    errors: list[str] = []
    first_by_id: dict[str, int] = {}
    for view in views:
        if view.id is None:
            continue
        if view.id in first_by_id:
            errors.append(
                f"subaccounts[{view.index}].id: duplicate id {view.id!r} "
                f"(also used by subaccounts[{first_by_id[view.id]}])"
            )
        else:
            first_by_id[view.id] = view.index
    errors.extend(_mixed_venue_errors(views))
    for view in views:
        info = VENUES.get(view.venue or DEFAULT_VENUE)
        if info is None:
            continue  # the field's own check names the unknown venue
        contract = "inverse" if _is_inverse(view.pair) else "linear"
        if view.pair and not info.supports(contract):
            errors.append(
                f"subaccounts[{view.index}].venue: {info.name} does not trade {contract} perpetuals "
                f"(pair {view.pair!r}); use one of "
                f"{', '.join(v.name for v in VENUES.values() if v.kind is info.kind and v.supports(contract))}"
            )
        if info.simulated and _is_inverse(view.pair) and not view.balance_given:
            settle = (view.pair or "").rsplit(":", 1)[-1]
            errors.append(
                f"subaccounts[{view.index}].initial_balance: required for the inverse pair {view.pair!r} "
                f"on a simulated venue: the wallet is in {settle}, so the default 10000 would mean "
                f"10000 {settle}; set it in the subaccount or in defaults (e.g. 0.5)"
            )
    return errors


def _mixed_venue_errors(views: list[SubaccountView]) -> list[str]:
    venues = [(v.index, v.venue or DEFAULT_VENUE) for v in views]
    backtest = {n for n, v in VENUES.items() if v.kind is VenueKind.BACKTEST}
    first_backtest = next(((i, v) for i, v in venues if v in backtest), None)
    if first_backtest is None:
        return []
    return [
        f"subaccounts[{index}].venue: backtest and live venues cannot be mixed in one config "
        f"({venue!r} is live, subaccounts[{first_backtest[0]}] uses {first_backtest[1]!r})"
        for index, venue in venues
        if venue not in backtest and venue in VENUES
    ]

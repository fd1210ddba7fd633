"""Venue factories: the builder of each registered venue (domain/venues.py) as a function.

``simulated_venue`` builds the simulator a subaccount (or one of its virtual exchanges) trades on:
backtest venues, and paper — the backtest venue's rules on live candles. ``live_venue`` connects a live
account through ccxt. Callers pass the registry's builder key; nothing here compares venue names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kektrade.domain.journal import Journal
from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import MarginMode
from kektrade.domain.venues import VenueInfo
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.factory import SIM_BUILDERS, make_sim_exchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings

if TYPE_CHECKING:  # ccxt (~50 MB, 0.35 s to import) is loaded only when a live venue is built
    from kektrade.engine.live_venue import LiveVenue

log = logging.getLogger("kektrade.engine")


def virtual_builder(info: VenueInfo) -> str:
    """The simulator of a venue's virtual exchanges: its own, or for a live venue the exchange's rules."""
    return info.builder if info.builder in SIM_BUILDERS else "sim"


def simulated_venue(
    builder: str,
    spec: ContractSpec,
    arrays: MarketArrays,
    *,
    initial_balance: float,
    leverage: float,
    margin_mode: MarginMode | str,
    settings: SimSettings,
    journal: Journal | None,
    subaccount_id: str,
    funding_rate: float | None,
    realistic: Mapping[str, Any] | None = None,
) -> SimExchange:
    """The simulator of a backtest or paper venue (the real subaccount's or a virtual exchange's)."""
    return make_sim_exchange(  # ValueError naming the simulating builders for any other builder
        builder,
        spec,
        arrays,
        volume=arrays.volume or None,
        realistic=realistic,
        initial_balance=initial_balance,
        leverage=leverage,
        margin_mode=margin_mode,
        settings=settings,
        journal=journal,
        subaccount_id=subaccount_id,
        funding_rate=funding_rate,
    )


def check_live_exchange(info: VenueInfo, subaccount_id: str) -> None:
    """Refuse a live venue whose exchange ccxt cannot trade (BuildError listing what is missing); warn when
    the exchange has no dialect of its own (not covered by tests)."""
    if info.builder != "ccxt" or info.exchange is None:
        return
    from kektrade.engine.build import BuildError  # build imports this module
    from kektrade.exchange.live.dialects import UnsupportedExchange, untested_warning

    try:
        warning = untested_warning(info.exchange)
    except UnsupportedExchange as exc:
        raise BuildError(f"subaccount {subaccount_id}: venue {info.name!r}: {exc}") from None
    if warning is not None:
        log.warning("subaccount %s: %s", subaccount_id, warning)


def live_venue(
    info: VenueInfo,
    client: Any,
    pair: str,
    arrays: MarketArrays,
    journal: Journal | None,
    subaccount_id: str,
    *,
    leverage: float,
    margin_mode: str,
    run_id: str,
    found_orders: str = "adopt",
    retry_attempts: int = 5,
    retry_max_wait_s: float = 30.0,
) -> LiveVenue:
    """A live account through ccxt, behind the engine's venue view; leverage and margin mode set on it."""
    if info.builder != "ccxt":
        raise ValueError(f"venue {info.name!r} is not a live ccxt venue")
    from kektrade.engine.live_venue import LiveVenue
    from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount  # ccxt (~50 MB) only when trading live
    from kektrade.exchange.live.retry import retry_policy

    account = CcxtSubaccount(client, pair, retry=retry_policy(retry_attempts, retry_max_wait_s))
    try:
        account.set_margin_mode(margin_mode)
        account.set_leverage(leverage)
    except Exception as exc:  # e.g. a position open in the other mode: trade with the account's settings
        log.warning("subaccount %s: setting margin mode/leverage on the exchange failed: %s", subaccount_id, exc)
    return LiveVenue(account, arrays, journal, subaccount_id, run_id=run_id, found_orders=found_orders)


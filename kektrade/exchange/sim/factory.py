"""Build the simulated venue a subaccount's ``venue`` names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kektrade.domain.specs import ContractSpec
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.realistic import RealisticSettings, RealisticSimExchange
from kektrade.exchange.sim.settings import MarketArrays

SIM_VENUES = ("backtest_perpetual", "backtest_perpetual_realistic")


def make_sim_exchange(
    venue: str,
    spec: ContractSpec,
    market: MarketArrays,
    *,
    volume: Sequence[float] | None = None,
    realistic: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> SimExchange:
    """The base venue for "backtest_perpetual", the realistic one for "backtest_perpetual_realistic".

    ``kwargs`` are ``SimExchange``'s keyword arguments (initial_balance, leverage, settings...).
    ``volume`` (one value per candle) and ``realistic`` (the options of ``backtest.realistic``) are used
    by the realistic venue only; its latency comes from ``realistic``, not from ``settings``.
    """
    if venue == "backtest_perpetual":
        return SimExchange(spec, market, **kwargs)
    if venue == "backtest_perpetual_realistic":
        settings = RealisticSettings.from_dict(realistic)
        return RealisticSimExchange(spec, market, volume=volume, realistic=settings, **kwargs)
    raise ValueError(f"venue: {venue!r} is not a simulated venue; use one of {', '.join(SIM_VENUES)}")

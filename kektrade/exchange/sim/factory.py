"""Build the simulator of a venue, keyed by the venue registry's builder (``domain/venues.py`` VENUES).

The registry is the one place that maps venue names to builders; this module maps each simulating builder
to its simulator class, and nothing here compares venue names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kektrade.domain.specs import ContractSpec
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.realistic import RealisticSettings, RealisticSimExchange
from kektrade.exchange.sim.settings import MarketArrays

#: The registry's builders that simulate: backtest venues, and paper (the backtest venue's rules on
#: live candles).
SIM_BUILDERS = ("sim", "sim_realistic", "paper")


def make_sim_exchange(
    builder: str,
    spec: ContractSpec,
    market: MarketArrays,
    *,
    volume: Sequence[float] | None = None,
    realistic: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> SimExchange:
    """The simulator of a venue whose registry builder is ``builder``: the realistic venue for
    "sim_realistic", the basic venue for "sim" and "paper".

    ``kwargs`` are ``SimExchange``'s keyword arguments (initial_balance, leverage, settings...).
    ``volume`` (one value per candle) and ``realistic`` (the options of ``backtest.realistic``) are used
    by the realistic venue only; its latency comes from ``realistic``, not from ``settings``.
    """
    if builder == "sim_realistic":
        settings = RealisticSettings.from_dict(realistic)
        return RealisticSimExchange(spec, market, volume=volume, realistic=settings, **kwargs)
    if builder in SIM_BUILDERS:
        return SimExchange(spec, market, **kwargs)
    raise ValueError(f"venue builder {builder!r} does not simulate; simulating builders: {', '.join(SIM_BUILDERS)}")

"""The venue registry: every venue a subaccount can name, with what it can do.

One table answers every question about a venue name — is it simulated, does it run on live candles,
which exchange does it trade on, which contract kinds does it support, and which builder makes it (the
engine maps builders to factories in engine/venues.py). No other module compares venue strings: config
validation, the session builder and the front ends all ask this registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VenueKind(StrEnum):
    """How a venue trades: on historical candles, on live candles with simulated fills, or for real."""

    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """One registered venue and its capabilities."""

    name: str
    kind: VenueKind
    builder: str  # the factory key in engine/venues.py
    contracts: frozenset[str]  # "linear" and/or "inverse"
    exchange: str | None  # ccxt id of the exchange it trades on (live), None when simulated
    description: str

    @property
    def simulated(self) -> bool:
        """kektrade fills the orders (backtest and paper venues): no API keys needed."""
        return self.kind is not VenueKind.LIVE

    @property
    def realtime(self) -> bool:
        """Runs on live candles (paper and live venues)."""
        return self.kind is not VenueKind.BACKTEST

    def supports(self, contract: str) -> bool:
        """True when the venue trades ``contract`` ("linear" or "inverse") perpetuals."""
        return contract in self.contracts


_BOTH = frozenset({"linear", "inverse"})

VENUES: dict[str, VenueInfo] = {
    v.name: v
    for v in (
        VenueInfo(
            "backtest_perpetual",
            VenueKind.BACKTEST,
            "sim",
            _BOTH,
            None,
            "Bybit's margin, fee, funding and liquidation rules on historical candles.",
        ),
        VenueInfo(
            "backtest_perpetual_realistic",
            VenueKind.BACKTEST,
            "sim_realistic",
            _BOTH,
            None,
            "The backtest venue plus latency, partial fills by volume and an intra-candle path.",
        ),
        VenueInfo(
            "paper",
            VenueKind.PAPER,
            "paper",
            _BOTH,
            None,
            "The backtest venue's rules on the live candles of `live.paper_exchange`.",
        ),
        VenueInfo(
            "bybit_linear",
            VenueKind.LIVE,
            "ccxt",
            frozenset({"linear"}),
            "bybit",
            "Bybit USDT perpetuals, live through ccxt.",
        ),
        VenueInfo(
            "bybit_inverse",
            VenueKind.LIVE,
            "ccxt",
            frozenset({"inverse"}),
            "bybit",
            "Bybit coin-margined perpetuals, live through ccxt.",
        ),
        VenueInfo("bybit", VenueKind.LIVE, "ccxt", _BOTH, "bybit", "Bybit, linear or inverse by the pair."),
        VenueInfo(
            "binanceusdm",
            VenueKind.LIVE,
            "ccxt",
            frozenset({"linear"}),
            "binanceusdm",
            "Binance USDⓈ-M (USDT-margined) perpetuals, live through ccxt.",
        ),
    )
}

DEFAULT_VENUE = "backtest_perpetual"


class UnknownVenueError(ValueError):
    """A venue name that is not registered."""


def venue_info(name: str) -> VenueInfo:
    """The registered venue ``name``; UnknownVenueError listing the registered ones otherwise."""
    try:
        return VENUES[name]
    except KeyError:
        raise UnknownVenueError(f"must be one of {', '.join(VENUES)} (got {name!r})") from None


def venue_names(kind: VenueKind | None = None) -> list[str]:
    """Registered venue names, optionally of one kind, in registration order."""
    return [n for n, v in VENUES.items() if kind is None or v.kind is kind]

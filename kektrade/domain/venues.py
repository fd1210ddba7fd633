"""The venue registry: every venue a subaccount can name, with what it can do.

One table answers every question about a venue name — is it simulated, does it run on live candles,
which exchange does it trade on, which contract kinds does it support, and which builder makes it (the
engine maps builders to factories in engine/venues.py). No other module compares venue strings: config
validation, the session builder and the front ends all ask this registry.
"""

from __future__ import annotations

import re
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
    #: the environment variables (after the subaccount's prefix) a live venue needs
    credentials: tuple[str, ...] = ("API_KEY", "API_SECRET")
    tested: bool = True  # False: any ccxt exchange, run with a warning that no test covers it

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
            "okx",
            VenueKind.LIVE,
            "ccxt",
            _BOTH,
            "okx",
            "OKX perpetual swaps (USDT- or coin-margined by the pair), live through ccxt; needs the API passphrase.",
            ("API_KEY", "API_SECRET", "API_PASSPHRASE"),
        ),
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

#: ``ccxt:<exchange id>``: any other ccxt exchange with swap markets (checked against ccxt when the run starts)
GENERIC_PREFIX = "ccxt:"
_EXCHANGE_ID = re.compile(r"^[a-z][a-z0-9_]*$")

DEFAULT_VENUE = "backtest_perpetual"


class UnknownVenueError(ValueError):
    """A venue name that is not registered."""


def venue_info(name: str) -> VenueInfo:
    """The registered venue ``name`` (or ``ccxt:<id>``); UnknownVenueError listing the registered ones otherwise."""
    found = VENUES.get(name)
    if found is not None:
        return found
    exchange = name.removeprefix(GENERIC_PREFIX)
    if name.startswith(GENERIC_PREFIX) and _EXCHANGE_ID.match(exchange):
        return VenueInfo(
            name, VenueKind.LIVE, "ccxt", _BOTH, exchange,
            f"{exchange} through ccxt's unified API: not covered by kektrade's tests.", tested=False,
        )  # fmt: skip
    raise UnknownVenueError(
        f"must be one of {', '.join(VENUES)} or {GENERIC_PREFIX}<ccxt exchange id> (got {name!r})"
    ) from None


def venue_names(kind: VenueKind | None = None) -> list[str]:
    """Registered venue names, optionally of one kind, in registration order."""
    return [n for n, v in VENUES.items() if kind is None or v.kind is kind]

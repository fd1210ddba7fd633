"""The per-exchange dialect of the live adapter: what differs between Bybit, OKX, Binance and other ccxt venues.

``CcxtSubaccount`` owns the exchange-neutral flow (the simulator's input checks, retries, the client-id
lookup of orders whose outcome is unknown, cumulative sums over executions). Everything that depends on
one exchange's API — request parameters, raw payloads, units, error codes, client-id rules — sits in a
``Dialect`` subclass bound to one symbol. Dialects are registered by ccxt exchange id (``dialects.py``);
the core never compares exchange names.

Quantities crossing this interface are kektrade's (signed; linear: base coin, inverse: USD). A dialect whose
exchange counts something else (OKX: contracts of ``ctVal`` coins) converts with ``unit``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import Fill, MarginMode, Order, OrderType, RejectReason, TimeInForce, TriggerBy
from kektrade.exchange.live.errors import VenueError

#: ``call(method, *args, **kwargs)``: one idempotent ccxt call with the subaccount's retries
Call = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class ClientIdRule:
    """An exchange's client order id rules (kektrade's own ids are made to fit Bybit's: 36 of [A-Za-z0-9_-])."""

    param: str  # the exchange's field name (documentation and error messages)
    max_len: int
    pattern: str  # full-match regular expression of the allowed characters

    def fits(self, value: str) -> bool:
        """True when ``value`` is acceptable to the exchange as it is."""
        return 0 < len(value) <= self.max_len and re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True, slots=True)
class ErrorCodes:
    """The exchange's error codes kektrade acts on (ints as the exchange sends them)."""

    duplicate_client_id: frozenset[int] = frozenset()
    order_not_found: frozenset[int] = frozenset()
    leverage_not_modified: frozenset[int] = frozenset()
    margin_mode_not_modified: frozenset[int] = frozenset()
    rate_limit: frozenset[int] = frozenset()  # transient: retried with backoff
    busy: frozenset[int] = frozenset()  # transient, the request may have been executed
    insufficient: frozenset[int] = frozenset()
    reduce_only: frozenset[int] = frozenset()
    trigger: frozenset[int] = frozenset()
    risk_limit: frozenset[int] = frozenset()
    min_notional: frozenset[int] = frozenset()
    order_refused: frozenset[int] = frozenset()  # other refusals of the order itself (reason = the message)


def reason_from_codes(codes: ErrorCodes, error: VenueError, position_contracts: float) -> str | None:
    """kektrade's reject reason for a refused order from the exchange's error code (None: not an order refusal)."""
    code = error.code
    if code is None:
        return None
    if code in codes.insufficient:
        return RejectReason.INSUFFICIENT_BALANCE.value
    if code in codes.reduce_only:
        if position_contracts == 0.0:
            return RejectReason.REDUCE_ONLY_NO_POSITION.value
        return RejectReason.REDUCE_ONLY_WOULD_INCREASE.value
    if code in codes.trigger:
        return RejectReason.INVALID_TRIGGER.value
    if code in codes.risk_limit:
        return RejectReason.LEVERAGE_ABOVE_TIER.value
    if code in codes.min_notional:
        return RejectReason.BELOW_MIN_NOTIONAL.value
    if code in codes.order_refused:
        return error.message or f"refused with code {code}"
    return None


@dataclass(frozen=True, slots=True)
class PositionRead:
    """The position as the exchange reports it, in kektrade units (leverage/mode None when not reported)."""

    contracts: float = 0.0
    entry_price: float = 0.0
    mark_price: float = 0.0
    liquidation_price: float = 0.0
    bankruptcy_price: float = 0.0
    unrealized_pnl: float = 0.0
    realized_pnl: float = 0.0
    initial_margin: float = 0.0
    maintenance_margin: float = 0.0
    leverage: float | None = None
    margin_mode: MarginMode | None = None


@dataclass(frozen=True, slots=True)
class WalletRead:
    """The settle coin's balances as the exchange reports them (available None: kektrade derives it)."""

    wallet_balance: float
    margin_balance: float
    position_margin: float
    order_margin: float
    available: float | None = None


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """An order as the strategy asked for it, after the input checks (kektrade units, signed)."""

    kind: OrderType
    contracts: float
    price: float | None
    trigger_price: float | None
    reduce_only: bool
    post_only: bool
    time_in_force: TimeInForce
    trigger_by: TriggerBy


@dataclass
class ExecutionPage:
    """One page of executions, newest first, each with the exchange's execution id; ``cursor`` '' at the end."""

    rows: list[tuple[str, Fill]] = field(default_factory=list)
    cursor: str = ""


class Dialect:
    """One exchange's way of doing the live adapter's operations, bound to one symbol's market.

    Methods named ``fetch_*``/``find``/``set_*`` make their ccxt calls through ``self.call`` (retried);
    ``create`` and ``cancel`` make exactly one call each and let ccxt's exception escape: the subaccount
    runs them through ``Retrier.once`` and resolves unknown outcomes by client id.
    """

    exchange_id: ClassVar[str] = ""  # the ccxt id it is registered under ("" for the generic dialect)
    tested: ClassVar[bool] = True  # False: a start-up warning says the exchange is not covered by tests
    needs: ClassVar[tuple[str, ...]] = ()  # ccxt ``has`` keys the dialect relies on
    client_ids: ClassVar[ClientIdRule] = ClientIdRule("clientOrderId", 36, r"[A-Za-z0-9_-]+")
    codes: ClassVar[ErrorCodes] = ErrorCodes()
    ohlcv_page_limit: ClassVar[int] = 500  # candles per request (a shorter page than asked means "no more")
    funding_page_limit: ClassVar[int] = 100  # funding-rate history rows per request

    def __init__(self, exchange: Any, market: dict[str, Any], call: Call) -> None:
        self.ex, self.market, self.call = exchange, market, call
        self.symbol = str(market["symbol"])
        self.market_id = str(market["id"])

    # -- client and units (class level: used before a market is chosen) --------------------------------

    @classmethod
    def client_options(cls) -> dict[str, Any]:
        """``options`` for the ccxt constructor (e.g. which market types to load)."""
        return {}

    @classmethod
    def use_testnet(cls, exchange: Any) -> None:
        """Switch ``exchange`` to the exchange's test environment (ccxt's sandbox mode by default)."""
        exchange.set_sandbox_mode(True)

    @classmethod
    def point_at(cls, exchange: Any, base: str) -> None:
        """Send every request of ``exchange`` to ``base`` (a local fake or a proxy)."""
        api = exchange.urls.get("api")
        exchange.urls["api"] = {key: base for key in api} if isinstance(api, dict) else base

    @property
    def unit(self) -> float:
        """kektrade quantity per exchange amount (1.0 when the exchange counts coins, or USD for inverse)."""
        return self.amount_unit(self.market)

    @classmethod
    def amount_unit(cls, market: dict[str, Any]) -> float:
        """``unit`` of a ccxt market (also for downloads, before any account is bound)."""
        return 1.0

    def wire_client_id(self, client_id: str) -> str:
        """The client id as sent to the exchange (deterministic; kektrade's id when it already fits)."""
        return client_id

    def shown_client_id(self, wire_id: str) -> str:
        """kektrade's client id of an id read back from the exchange (the inverse of ``wire_client_id``)."""
        return wire_id

    # -- market data -----------------------------------------------------------------------------------

    def load_spec(self) -> ContractSpec:
        """The contract spec in kektrade units: market, risk tiers and the account's fees."""
        raise NotImplementedError

    # -- orders ----------------------------------------------------------------------------------------

    def create(self, draft: OrderDraft, client_id: str) -> str:
        """Send one create request carrying ``wire_client_id(client_id)``; the exchange's order id."""
        raise NotImplementedError

    def find(self, order_id: str | None = None, client_id: str | None = None) -> Order | None:
        """One order, open or finished, by exchange id or kektrade client id; None when unknown."""
        raise NotImplementedError

    def fetch_open_orders(self) -> list[Order]:
        """Open regular and conditional orders of the symbol (any order)."""
        raise NotImplementedError

    def amend(self, order: Order, price: float | None, contracts: float | None, trigger_price: float | None) -> None:
        """Amend an open order (None: unchanged); raises ``VenueError`` when refused."""
        raise NotImplementedError

    def cancel(self, order_id: str) -> None:
        """Send one cancel request for an open order (regular or conditional)."""
        raise NotImplementedError

    def cancel_all(self) -> int:
        """Cancel every open order of the symbol, regular and conditional; how many were cancelled."""
        raise NotImplementedError

    # -- account ---------------------------------------------------------------------------------------

    def fetch_position(self) -> PositionRead:
        """The symbol's one-way position."""
        raise NotImplementedError

    def fetch_wallet(self, settle: str) -> WalletRead:
        """Balances of the settle coin; ``VenueError`` when the wallet has none."""
        raise NotImplementedError

    def executions_page(self, cursor: str) -> ExecutionPage:
        """One page of the symbol's executions (trades, funding, liquidations), newest first."""
        raise NotImplementedError

    def set_leverage(self, leverage: float, margin_mode: MarginMode) -> None:
        """Set the symbol's leverage (both sides); "not modified" answers are not errors."""
        raise NotImplementedError

    def set_margin_mode(self, mode: MarginMode, leverage: float) -> None:
        """Switch isolated/cross; "not modified" answers are not errors."""
        raise NotImplementedError

    def add_margin(self, amount: float) -> None:
        """Move ``amount`` of the settle coin into the isolated position."""
        raise NotImplementedError

    def reject_reason(self, error: VenueError, position_contracts: float) -> str | None:
        """The reject reason of a refused order, or None when the refusal is not about the order itself."""
        return reason_from_codes(self.codes, error, position_contracts)

    def fetch_last_price(self) -> float | None:
        """Last traded price of the symbol (None when the ticker has none)."""
        last = self.call(self.ex.fetch_ticker, self.symbol).get("last")
        return float(last) if last is not None else None

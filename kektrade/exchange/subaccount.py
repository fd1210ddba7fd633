"""The one interface every venue implements (the seed's ISubaccount): simulated, paper and live.

A strategy's ``tick`` receives it as ``account``. Quantities are signed contracts (> 0 buy, < 0 sell).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol, runtime_checkable

from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import (
    MarginMode,
    Order,
    OrderType,
    PositionView,
    TimeInForce,
    TriggerBy,
    WalletView,
)


class OrderNotOpenError(KeyError):
    """``edit_order`` on an order that is not open (filled, cancelled, rejected or unknown)."""


@runtime_checkable
class Subaccount(Protocol):
    """Order management, position and wallet of one subaccount trading one symbol.

    A protocol: live venues subclass it (and must then implement every method), while the compiled
    simulator satisfies it structurally (a mypyc class cannot subclass an interpreted one).
    """

    spec: ContractSpec

    @abstractmethod
    def open_order(
        self,
        order_type: OrderType | str,
        contracts: float,
        price: float | None = None,
        trigger_price: float | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        time_in_force: TimeInForce | str = TimeInForce.GTC,
        client_id: str | None = None,
        trigger_by: TriggerBy | str = TriggerBy.LAST,
    ) -> Order:
        """Place an order; a refused order comes back with status ``rejected`` and a reason."""

    @abstractmethod
    def edit_order(
        self,
        order_id: str,
        price: float | None = None,
        contracts: float | None = None,
        trigger_price: float | None = None,
    ) -> Order:
        """Amend price, quantity or trigger of an open order; ``OrderNotOpenError`` if it is not open.

        A refused amendment (e.g. a post-only price that would take) leaves the order unchanged with
        ``reject_reason`` set, like a refused new order.
        """

    @abstractmethod
    def cancel_order(self, order_id: str) -> Order | None:
        """Cancel one open order; None when it is not open (already filled, cancelled or unknown)."""

    @abstractmethod
    def cancel_all_orders(self) -> int:
        """Cancel every open order; returns how many were cancelled."""

    @abstractmethod
    def close_position(self) -> Order | None:
        """Flatten: a reduce-only market order for the whole position (None when flat)."""

    @abstractmethod
    def get_open_orders(self) -> list[Order]:
        """Open orders (new, partially filled, untriggered), oldest first."""

    @abstractmethod
    def get_position(self) -> PositionView:
        """The position with prices, PnL and margins."""

    @abstractmethod
    def get_wallet(self) -> WalletView:
        """The wallet in the settle currency."""

    @abstractmethod
    def get_contracts_pct_of_balance(self, pct: float, price: float | None = None) -> float:
        """Contracts worth ``pct`` (0.01 = 1 %) of the wallet at the leverage, down to the lot step."""

    @abstractmethod
    def set_leverage(self, leverage: float) -> None:
        """Change leverage (refused above the risk tier's maximum)."""

    @abstractmethod
    def set_margin_mode(self, mode: MarginMode | str) -> None:
        """Switch isolated/cross (only while flat with no open orders, as on Bybit)."""

    @abstractmethod
    def add_margin(self, amount: float) -> None:
        """Move extra margin into an isolated position."""

    @property
    @abstractmethod
    def contracts(self) -> float:
        """Signed position size; the cheap read for ``tick``."""

    @property
    @abstractmethod
    def last_price(self) -> float:
        """The latest traded price the venue knows (the last candle's close in a backtest)."""

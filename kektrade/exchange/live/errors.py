"""Venue errors: ccxt exceptions turned into kektrade's ``VenueError`` and order reject reasons."""

from __future__ import annotations

import json
import re

import ccxt

from kektrade.domain.types import RejectReason, TimeInForce
from kektrade.exchange.subaccount import OrderNotOpenError

INSUFFICIENT_CODES = frozenset({110004, 110006, 110007, 110012, 110014, 110044, 110045})
LEVERAGE_NOT_MODIFIED = 110043
MARGIN_MODE_NOT_MODIFIED = 110026
ORDER_NOT_FOUND_CODES = frozenset({110001, 170213})
REDUCE_ONLY_CODE = 110017
TRIGGER_CODES = frozenset({110092, 110093})
RISK_LIMIT_CODES = frozenset({110016, 110013})

_BODY = re.compile(r"\{.*\}", re.DOTALL)


class OrderNotOpenVenueError(OrderNotOpenError):
    """The live venue's form of ``OrderNotOpenError`` (Bybit retCode 110001)."""


class VenueError(Exception):
    """A request the live venue refused or could not answer; carries the exchange's error code when known."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message if code is None else f"{message} (retCode {code})")
        self.code = code
        self.message = message


def venue_error(exc: Exception) -> VenueError:
    """Turn a ccxt exception into a ``VenueError`` with the exchange's own retCode and message."""
    code, message = _code_and_message(exc)
    return VenueError(message, code)


def _code_and_message(exc: Exception) -> tuple[int | None, str]:
    """ccxt puts the raw response body after the exchange id: ``bybit {"retCode":...}``."""
    text = str(exc)
    found = _BODY.search(text)
    if found is not None:
        try:
            body = json.loads(found.group(0))
        except ValueError:
            body = None
        if isinstance(body, dict):
            found_code = _body_code(body)
            if found_code is not None:
                return found_code
    return None, f"{type(exc).__name__}: {text}"


def _body_code(body: dict[str, object]) -> tuple[int, str] | None:
    """(code, message) of an error body: Bybit retCode/retMsg, OKX sCode/sMsg (else code/msg), Binance code/msg."""
    pairs = [("retCode", "retMsg")]
    items = body.get("data")
    if isinstance(items, list) and items and isinstance(items[0], dict) and items[0].get("sCode") not in (None, "0"):
        body = items[0]
        pairs = [("sCode", "sMsg")]
    pairs.append(("code", "msg"))
    for code_key, message_key in pairs:
        if code_key in body:
            try:
                return int(str(body[code_key])), str(body.get(message_key, ""))
            except (TypeError, ValueError):
                continue
    return None


def is_network_error(exc: Exception) -> bool:
    """True for transport failures (timeouts, refused connections), as opposed to refusals."""
    return isinstance(exc, ccxt.NetworkError) and not isinstance(exc, ccxt.ExchangeError)


def order_reject_reason(error: VenueError, position_contracts: float) -> str | None:
    """The reject reason for a refused order, or None when the refusal is not about the order itself."""
    code = error.code
    if code in INSUFFICIENT_CODES:
        return RejectReason.INSUFFICIENT_BALANCE.value
    if code == REDUCE_ONLY_CODE:
        if position_contracts == 0.0:
            return RejectReason.REDUCE_ONLY_NO_POSITION.value
        return RejectReason.REDUCE_ONLY_WOULD_INCREASE.value
    if code in TRIGGER_CODES:
        return RejectReason.INVALID_TRIGGER.value
    if code in RISK_LIMIT_CODES:
        return RejectReason.LEVERAGE_ABOVE_TIER.value
    if code is not None and (code == 10001 or 110000 <= code < 120000):
        return error.message or f"refused with retCode {code}"
    return None


# Bybit's ``rejectReason`` of orders the venue cancelled on its own, in kektrade's words.
_CANCEL_REASONS = {
    "EC_PostOnlyWillTakeLiquidity": RejectReason.POST_ONLY_WOULD_TAKE.value,
    "EC_ReduceOnlySetButNotReduce": RejectReason.REDUCE_ONLY_WOULD_INCREASE.value,
    "EC_ReduceOnlyNoPosition": RejectReason.REDUCE_ONLY_NO_POSITION.value,
    "EC_CancelByLiquidation": RejectReason.LIQUIDATED.value,
    "EC_InsufficientBalance": RejectReason.INSUFFICIENT_BALANCE.value,
    "EC_RiskLimitExceeded": RejectReason.LEVERAGE_ABOVE_TIER.value,
}
_USER_CANCEL = frozenset({"", "EC_NoError", "EC_PerCancelRequest", "EC_CancelByUser"})


def cancel_reason(bybit_reason: str | None, time_in_force: TimeInForce) -> str | None:
    """kektrade's reason for an order Bybit cancelled (None for an ordinary user cancel)."""
    raw = bybit_reason or ""
    if raw in _USER_CANCEL:
        return None
    if raw == "EC_CancelForNoFullFill":
        if time_in_force is TimeInForce.FOK:
            return RejectReason.FOK_NOT_FILLABLE.value
        return RejectReason.IOC_NOT_FILLED.value
    return _CANCEL_REASONS.get(raw, raw)


class CredentialsRefused(RuntimeError):
    """The exchange refused the API key or its signature: nothing can be traded with it."""


def check_credentials(exchange: ccxt.Exchange, subaccount: str) -> None:
    """One private read at start; CredentialsRefused (with the exchange's own text) when the key is refused.

    Transient faults are left to the run's retries (the run starts and reads again); only a definite
    authentication refusal stops it before the first candle.
    """
    try:
        exchange.fetch_balance()
    except ccxt.AuthenticationError as exc:
        raise CredentialsRefused(f"subaccount {subaccount}: the exchange refused the API key: {exc}") from None
    except ccxt.BaseError:
        return

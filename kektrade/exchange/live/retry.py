"""Transient exchange faults: which errors are worth a retry, how long to wait, and what a fault looks like.

``classify`` sorts a ccxt exception into a ``FaultKind`` (or None for a definite answer such as a refused
order). ``Retrier`` runs one call with bounded exponential backoff (Retry-After honoured), reporting each
fault to a callback; when the attempts or the time budget run out it raises ``TransientVenueError``.
Whether a failed call may have taken effect on the exchange (``maybe_processed``) matters for orders:
such a call is resolved by looking the order up by its client id, never by sending it again blind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import ccxt

from kektrade.exchange.live.errors import VenueError, venue_error

log = logging.getLogger(__name__)

# Bybit retCodes that mean "try again": rate limits, system busy, backend timeouts.
RATE_LIMIT_CODES = frozenset({10006, 10018, 10429})
BUSY_CODES = frozenset({10000, 10016, 10019, 170007, 170146, 170147, 110079})
CLOCK_CODES = frozenset({10002})
DUPLICATE_CLIENT_ID = 110072


class TransientCodes(Protocol):
    """An exchange's error codes that mean "try again" (a dialect's ``ErrorCodes``)."""

    @property
    def rate_limit(self) -> frozenset[int]:
        """Rate-limit codes."""
        ...

    @property
    def busy(self) -> frozenset[int]:
        """System busy / try again codes."""
        ...


class FaultKind(StrEnum):
    """The kinds of transient fault kektrade retries."""

    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"  # HTTP 5xx
    RATE_LIMITED = "rate_limited"  # HTTP 429 or a rate-limit retCode
    BUSY = "busy"  # the exchange's own "system busy / try again" retCodes
    CONNECTION = "connection"  # dropped or refused connection, truncated reply
    CLOCK = "clock"  # request timestamp outside the exchange's receive window


# Faults after which the request may have been executed (the reply, not the request, was lost).
_MAYBE_PROCESSED = frozenset({FaultKind.TIMEOUT, FaultKind.SERVER_ERROR, FaultKind.CONNECTION, FaultKind.BUSY})


@dataclass(frozen=True, slots=True)
class Fault:
    """One transient failure of one call."""

    kind: FaultKind
    operation: str
    message: str
    retry_after_s: float | None = None

    @property
    def maybe_processed(self) -> bool:
        """True when the exchange may have executed the request although no answer came back."""
        return self.kind in _MAYBE_PROCESSED


class TransientVenueError(VenueError):
    """A call that kept failing with transient faults until the retry budget ran out."""

    def __init__(self, fault: Fault, attempts: int) -> None:
        super().__init__(f"{fault.operation}: {fault.kind.value} after {attempts} attempts ({fault.message})")
        self.fault = fault
        self.attempts = attempts


class OrderInDoubt(TransientVenueError):
    """An order whose fate the exchange could not tell us (still unreachable after every retry)."""

    def __init__(self, error: TransientVenueError, client_id: str) -> None:
        super().__init__(error.fault, error.attempts)
        self.client_id = client_id


def lost_order(link: str) -> Fault:
    """The fault of an order the exchange called a duplicate but could not show."""
    return Fault(FaultKind.CONNECTION, "create_order", f"order {link} reported as duplicate but not found")


def _retry_after(exchange: Any) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    raw = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(raw)) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


def classify(
    exc: BaseException, operation: str, exchange: Any = None, codes: TransientCodes | None = None
) -> Fault | None:
    """The transient fault ``exc`` stands for, or None when it is a definite answer (or not ccxt's).

    ``codes`` are the exchange's rate-limit and busy codes (its dialect's); Bybit's when not given.
    """
    text = str(exc)[:300]
    # ccxt's OperationFailed (not a NetworkError) is an exchange-side failure that may pass: Binance's -1001
    # "internal error" and -1008 "server busy" on fapi.binance.com
    failed = isinstance(exc, ccxt.OperationFailed) and not isinstance(exc, ccxt.NetworkError)
    if isinstance(exc, (ccxt.ExchangeError, ccxt.OperationFailed)) and not isinstance(exc, ccxt.NetworkError):
        code = venue_error(exc).code
        rate_limit, busy = (codes.rate_limit, codes.busy) if codes is not None else (RATE_LIMIT_CODES, BUSY_CODES)
        if code in rate_limit:
            return Fault(FaultKind.RATE_LIMITED, operation, text, _retry_after(exchange))
        if code in busy or failed:
            return Fault(FaultKind.BUSY, operation, text)
        return None
    if isinstance(exc, ccxt.InvalidNonce):
        return Fault(FaultKind.CLOCK, operation, text)
    if isinstance(exc, (ccxt.RateLimitExceeded, ccxt.DDoSProtection)):
        return Fault(FaultKind.RATE_LIMITED, operation, text, _retry_after(exchange))
    if isinstance(exc, ccxt.RequestTimeout):
        return Fault(FaultKind.TIMEOUT, operation, text)
    if isinstance(exc, ccxt.ExchangeNotAvailable):
        return Fault(FaultKind.SERVER_ERROR, operation, text, _retry_after(exchange))
    if isinstance(exc, (ccxt.NetworkError, ccxt.BadResponse, ConnectionError, TimeoutError)):
        return Fault(FaultKind.CONNECTION, operation, text)
    return None


@dataclass
class RetryPolicy:
    """Bounded exponential backoff: ``attempts`` tries, delays doubling from ``base_delay_s``."""

    attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 10.0
    max_total_s: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, fault: Fault) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based); Retry-After wins when larger."""
        backoff = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        if fault.retry_after_s is not None:
            return min(max(backoff, fault.retry_after_s), self.max_total_s)
        return backoff


FaultSink = Callable[[Fault], None]


class Retrier:
    """Runs calls with the policy's retries; every transient failure goes to ``on_fault``."""

    def __init__(
        self, policy: RetryPolicy, exchange: Any, on_fault: FaultSink | None = None, codes: TransientCodes | None = None
    ) -> None:
        self.policy = policy
        self.exchange = exchange
        self.codes = codes
        self.on_fault = on_fault
        self.before_retry: Callable[[Fault], None] | None = None  # e.g. re-sync the clock
        self.on_success: Callable[[str], None] | None = None  # closes a fault episode of the operation

    def call(self, operation: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``method(*args, **kwargs)`` retried on transient faults; definite errors become ``VenueError``."""
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            try:
                result = method(*args, **kwargs)
            except ccxt.BaseError as exc:
                fault = classify(exc, operation, self.exchange, self.codes)
                if fault is None:
                    raise venue_error(exc) from None
            else:
                self._succeeded(operation)
                return result
            self.report(fault)
            pause = self.policy.delay(attempt, fault)
            if attempt >= self.policy.attempts or waited + pause > self.policy.max_total_s:
                raise TransientVenueError(fault, attempt)
            if self.before_retry is not None:
                self.before_retry(fault)
            self.policy.sleep(pause)
            waited += pause

    def once(self, operation: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One try: a transient fault raises ``TransientVenueError`` at once (the caller resolves it)."""
        try:
            result = method(*args, **kwargs)
        except ccxt.BaseError as exc:
            fault = classify(exc, operation, self.exchange, self.codes)
            if fault is None:
                raise venue_error(exc) from None
            self.report(fault)
            raise TransientVenueError(fault, 1) from None
        self._succeeded(operation)
        return result

    def _succeeded(self, operation: str) -> None:
        if self.on_success is not None:
            self.on_success(operation)

    def report(self, fault: Fault) -> None:
        """Hand a fault to the sink (or the log when there is none)."""
        if self.on_fault is not None:
            self.on_fault(fault)
        else:
            log.warning("exchange fault on %s: %s (%s)", fault.operation, fault.kind.value, fault.message)


def retry_policy(attempts: int, max_wait_s: float) -> RetryPolicy:
    """The policy of the ``live`` config section (``retry_attempts``, ``retry_max_wait_s``)."""
    return RetryPolicy(attempts=attempts, max_total_s=max_wait_s, max_delay_s=min(10.0, max_wait_s))

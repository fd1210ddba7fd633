"""Client order ids, fault classification and backoff, candle page checks and the clock offset."""

from __future__ import annotations

import logging
import random

import ccxt
import pytest

from kektrade.exchange.live.candle_checks import ONCE, LogOnce, check_rows, measure_clock_offset
from kektrade.exchange.live.client_ids import (
    MAX_LEN,
    auto_client_id,
    client_order_id,
    client_prefix,
    is_valid_client_id,
    shown_client_id,
)
from kektrade.exchange.live.ohlcv import exchange_clock_offset_ms, fetch_ohlcv_range
from kektrade.exchange.live.retry import Fault, FaultKind, Retrier, RetryPolicy, TransientVenueError, classify
from tests.fakes.bybit_trading import MINUTE_MS, T0_MS, FakeBybitExchange

# -- client order ids ------------------------------------------------------------------------------


def test_client_ids_are_deterministic_distinct_and_within_bybit_limits() -> None:
    a = client_order_id("run-1", "sub", T0_MS, 0)
    assert a == client_order_id("run-1", "sub", T0_MS, 0)  # the same intent: the same id, in any process
    others = {
        client_order_id("run-1", "sub", T0_MS, 1), client_order_id("run-1", "sub", T0_MS + MINUTE_MS, 0),
        client_order_id("run-2", "sub", T0_MS, 0), client_order_id("run-1", "other", T0_MS, 0),
    }  # fmt: skip
    assert a not in others and len(others) == 4
    assert a.startswith(client_prefix("run-1", "sub")) and not a.startswith(client_prefix("run-2", "sub"))
    worst = client_order_id("r" * 200, "s" * 200, 32_503_680_000_000, 10**6, "x" * 100)  # year 3000
    for value in (a, worst, client_order_id("r", "s", T0_MS, 3, "entry-1"), auto_client_id()):
        assert is_valid_client_id(value) and len(value) <= MAX_LEN, value


def test_strategy_ids_are_namespaced_readably_or_hashed() -> None:
    short = client_order_id("r", "s", T0_MS, 2, "tp17")
    assert short.endswith("-tp17")
    odd = client_order_id("r", "s", T0_MS, 2, "take profit #1 / ünïcode")
    assert is_valid_client_id(odd) and odd != client_order_id("r", "s", T0_MS, 2, "take profit #2 / ünïcode")
    assert shown_client_id(auto_client_id()) is None and shown_client_id(short) == short


# -- faults and retries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "maybe"),
    [
        (ccxt.RequestTimeout("bybit GET x"), FaultKind.TIMEOUT, True),
        (ccxt.ExchangeNotAvailable("bybit GET x 503"), FaultKind.SERVER_ERROR, True),
        (ccxt.RateLimitExceeded('bybit {"retCode":10006,"retMsg":"Too many visits!"}'), FaultKind.RATE_LIMITED, False),
        (ccxt.NetworkError("bybit POST x"), FaultKind.CONNECTION, True),
        (ccxt.ExchangeError('bybit {"retCode":10016,"retMsg":"System error"}'), FaultKind.BUSY, True),
        (ccxt.InvalidNonce('bybit {"retCode":10002,"retMsg":"timestamp"}'), FaultKind.CLOCK, False),
    ],
)
def test_transient_faults_are_classified(error: Exception, kind: FaultKind, maybe: bool) -> None:
    fault = classify(error, "op")
    assert fault is not None and fault.kind is kind and fault.maybe_processed is maybe


def test_definite_answers_are_not_retried() -> None:
    assert classify(ccxt.InsufficientFunds('bybit {"retCode":110007,"retMsg":"ab not enough"}'), "op") is None
    assert classify(ccxt.InvalidOrder('bybit {"retCode":110072,"retMsg":"duplicate"}'), "op") is None


def test_backoff_doubles_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4.0, max_total_s=20.0)
    plain = Fault(FaultKind.TIMEOUT, "op", "")
    assert [policy.delay(n, plain) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert policy.delay(1, Fault(FaultKind.RATE_LIMITED, "op", "", retry_after_s=7.0)) == 7.0
    assert policy.delay(1, Fault(FaultKind.RATE_LIMITED, "op", "", retry_after_s=99.0)) == 20.0


def test_retrier_retries_then_gives_up_with_the_last_fault() -> None:
    waits: list[float] = []
    faults: list[Fault] = []
    retrier = Retrier(RetryPolicy(attempts=3, base_delay_s=1.0, sleep=waits.append), None, faults.append)
    calls = iter([ccxt.RequestTimeout("t"), ccxt.NetworkError("n"), "ok"])

    def flaky() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert retrier.call("read", flaky) == "ok" and waits == [1.0, 2.0] and len(faults) == 2

    def down() -> None:
        raise ccxt.ExchangeNotAvailable("503")

    with pytest.raises(TransientVenueError, match="server_error after 3 attempts"):
        retrier.call("read", down)


# -- candle pages and the clock -------------------------------------------------------------------


def _rows(n: int) -> list[list[float]]:
    return [[T0_MS + k * MINUTE_MS, 100.0 + k, 101.0 + k, 99.0 + k, 100.5 + k, 1.0] for k in range(n)]


def test_reversed_shuffled_duplicated_truncated_and_unclosed_pages_are_fixed_and_named() -> None:
    rows = _rows(10)
    shuffled = [*list(reversed(rows)), rows[3], [rows[4][0], 1.0, 2.0, 0.5, 1.5, 1.0]]
    random.Random(3).shuffle(shuffled)
    del shuffled[shuffled.index(rows[6])]
    checked = check_rows(shuffled, MINUTE_MS, closed_until_ms=rows[9][0] + MINUTE_MS - 1)
    assert [r[0] for r in checked.rows] == [r[0] for r in rows if r is not rows[6] and r is not rows[9]]
    text = " | ".join(checked.problems)
    for word in ("out of order", "duplicated candle", "two different candles", "not closed yet"):
        assert word in text
    assert checked.gaps == [(rows[6][0], rows[6][0])]
    assert check_rows([[T0_MS, 100, 99, 101, 100, 1]], MINUTE_MS).problems[0].endswith("(dropped)")  # high < low


def test_log_once_logs_each_problem_once(caplog: pytest.LogCaptureFixture) -> None:
    once = LogOnce(logging.getLogger("test.once"))
    with caplog.at_level(logging.WARNING):
        assert once.warning("k", "gap %d", 1) and not once.warning("k", "gap %d", 1)
        once.clear("k")
        assert once.warning("k", "gap %d", 2)
    assert caplog.text.count("gap") == 2


def test_truncated_and_shuffled_exchange_pages_are_refetched_and_logged(
    fake: FakeBybitExchange, client: ccxt.Exchange, caplog: pytest.LogCaptureFixture
) -> None:
    fake.state.add_klines("BTCUSDT", _rows(30))
    original = fake.routes[("GET", "/v5/market/kline")]
    served = {"n": 0}

    def damaged(state, request):  # type: ignore[no-untyped-def]
        result = original(state, request)
        served["n"] += 1
        if served["n"] == 1:  # the first page: shuffled, one row twice, one row missing
            rows = result["list"]
            rows = rows[:5] + rows[6:] + [rows[2]]
            random.Random(1).shuffle(rows)
            result["list"] = rows
        return result

    fake.route("GET", "/v5/market/kline", damaged)
    try:
        with caplog.at_level(logging.WARNING):
            got = fetch_ohlcv_range(client, "BTC/USDT:USDT", "1m", T0_MS, T0_MS + 30 * MINUTE_MS)
    finally:
        fake.route("GET", "/v5/market/kline", original)
    assert [r[0] for r in got] == [r[0] for r in _rows(30)]  # the missing candle was fetched again
    assert "duplicated candle" in caplog.text


def test_clock_offset_is_measured_logged_once_and_used_for_signing(
    fake: FakeBybitExchange, client: ccxt.Exchange, caplog: pytest.LogCaptureFixture
) -> None:
    assert measure_clock_offset(lambda: 5_000, lambda: 1_000) == 4_000
    import time

    fake.state.now_ms = int(time.time() * 1000) + 600_000  # the exchange is 10 minutes ahead
    ONCE.clear(f"clock:{client.id}")  # other tests in this process may have logged the fake's clock already
    with caplog.at_level(logging.WARNING):
        offset = exchange_clock_offset_ms(client)
        exchange_clock_offset_ms(client)
    assert 590_000 < offset < 610_000
    assert caplog.text.count("exchange clock is") == 1
    assert abs(client.nonce() - fake.state.now_ms) < 10_000


def test_a_truncated_last_page_is_fetched_again_and_unclosed_candles_are_left_out(
    fake: FakeBybitExchange, client: ccxt.Exchange
) -> None:
    fake.state.add_klines("BTCUSDT", _rows(30))
    original = fake.routes[("GET", "/v5/market/kline")]
    served = {"n": 0}

    def truncated(state, request):  # type: ignore[no-untyped-def]
        result = original(state, request)
        served["n"] += 1
        if served["n"] == 1:
            result["list"] = result["list"][4:]  # newest first: the 4 newest candles are cut off
        return result

    fake.route("GET", "/v5/market/kline", truncated)
    try:
        closed_by = T0_MS + 29 * MINUTE_MS + 30_000  # candle 29 is still open
        got = fetch_ohlcv_range(client, "BTC/USDT:USDT", "1m", T0_MS, T0_MS + 30 * MINUTE_MS, closed_by_ms=closed_by)
    finally:
        fake.route("GET", "/v5/market/kline", original)
    assert [r[0] for r in got] == [r[0] for r in _rows(29)] and served["n"] == 2

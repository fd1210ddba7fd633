"""The dialect registry: tested exchanges have their own dialect; any other ccxt swap exchange runs through the
generic one with a warning when ccxt reports the methods it needs, and is refused with the list otherwise.

The decisions use real ccxt exchange classes (their ``has`` tables); no network.
"""

from __future__ import annotations

import logging

import ccxt
import pytest

from kektrade.domain.types import FillKind, OrderStatus, OrderType
from kektrade.domain.venues import UnknownVenueError, VenueKind, venue_info
from kektrade.engine.build import BuildError
from kektrade.engine.venues import check_live_exchange
from kektrade.exchange.live.bybit_dialect import BybitDialect
from kektrade.exchange.live.ccxt_subaccount import CcxtSubaccount
from kektrade.exchange.live.dialect import Dialect
from kektrade.exchange.live.dialects import (
    UnsupportedExchange,
    dialect_for,
    missing_methods,
    register_dialect,
    untested_warning,
)
from kektrade.exchange.live.errors import venue_error
from kektrade.exchange.live.okx_dialect import OkxDialect
from kektrade.exchange.live.unified_dialect import UnifiedDialect
from tests.fakes.okx_trading import FakeOkxExchange


def test_tested_exchanges_have_their_own_dialect() -> None:
    assert dialect_for("bybit") is BybitDialect and dialect_for("okx") is OkxDialect
    assert untested_warning("bybit") is None and untested_warning("okx") is None


def test_an_exchange_with_the_needed_methods_runs_with_a_warning() -> None:
    assert missing_methods(ccxt.gate, UnifiedDialect) == []  # gate's ``has`` reports every method needed
    dialect = dialect_for("gate")
    assert issubclass(dialect, UnifiedDialect) and dialect.exchange_id == "gate" and not dialect.tested
    warning = untested_warning("gate")
    assert warning is not None and "not covered by kektrade's tests" in warning and "okx" in warning


def test_an_exchange_without_them_is_refused_with_the_list() -> None:
    assert not ccxt.upbit().has.get("fetchPositions")  # a spot exchange: the premise of the test
    with pytest.raises(UnsupportedExchange) as refused:
        dialect_for("upbit")
    assert "swap, fetchMyTrades, fetchPositions, setLeverage" in str(refused.value)
    assert missing_methods(ccxt.kraken, UnifiedDialect) == ["swap", "setLeverage"]
    with pytest.raises(UnsupportedExchange, match="ccxt has no exchange 'nosuchexchange'"):
        dialect_for("nosuchexchange")


def test_the_run_is_refused_or_warned_through_the_venue_registry(caplog: pytest.LogCaptureFixture) -> None:
    info = venue_info("ccxt:upbit")
    assert (info.kind, info.exchange, info.builder, info.tested) == (VenueKind.LIVE, "upbit", "ccxt", False)
    with pytest.raises(BuildError, match=r"subaccount s1: venue 'ccxt:upbit': .*fetchPositions"):
        check_live_exchange(info, "s1")
    with caplog.at_level(logging.WARNING):
        check_live_exchange(venue_info("ccxt:gate"), "s2")
        check_live_exchange(venue_info("okx"), "s3")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("subaccount s2: exchange 'gate'")
    with pytest.raises(UnknownVenueError, match=r"ccxt:<ccxt exchange id>"):
        venue_info("ccxt:Not An Id")


def test_registered_dialects_win(monkeypatch: pytest.MonkeyPatch) -> None:
    from kektrade.exchange.live import dialects

    monkeypatch.setattr(dialects, "_REGISTERED", {})

    class GateDialect(UnifiedDialect):
        exchange_id = "gate"
        tested = True

    assert register_dialect(GateDialect) is GateDialect and dialect_for("gate") is GateDialect
    with pytest.raises(ValueError, match="exchange_id is empty"):
        register_dialect(Dialect)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ('bybit {"retCode":110007,"retMsg":"ab not enough"}', 110007, "ab not enough"),
        ('okx {"code":"1","msg":"All operations failed","data":[{"sCode":"51008","sMsg":"Insufficient"}]}',
         51008, "Insufficient"),
        ('okx {"code":"50011","msg":"Too Many Requests","data":[]}', 50011, "Too Many Requests"),
        ('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}', -2019, "Margin is insufficient."),
    ],
)  # fmt: skip
def test_error_codes_are_read_from_every_exchanges_body(text: str, code: int, message: str) -> None:
    error = venue_error(ccxt.ExchangeError(text))
    assert (error.code, error.message) == (code, message)


def test_the_generic_dialect_trades_through_unified_methods(okx: FakeOkxExchange, okx_client: ccxt.Exchange) -> None:
    """The generic dialect on a real exchange (OKX's fake): orders, fills, position, wallet via unified calls."""
    sim = okx.open_account("BTC-USDT-SWAP", 10_000.0, leverage=10)
    okx.push_candle("BTC-USDT-SWAP", 40_000, 40_010, 39_990, 40_000)
    acc = CcxtSubaccount(okx_client, "BTC/USDT:USDT", dialect=UnifiedDialect)
    assert acc.spec.lot_step == 0.0001  # contractSize applies here too
    order = acc.open_order(OrderType.MARKET, 0.5, client_id="kt1234-ab-1")
    okx.push_candle("BTC-USDT-SWAP", 40_000, 40_010, 39_990, 40_000)
    assert acc.get_order(order.id).status is OrderStatus.FILLED
    assert acc.find_by_client_id("kt1234-ab-1").id == order.id
    limit = acc.open_order(OrderType.LIMIT, 0.1, price=39_000.0)
    assert acc.edit_order(limit.id, price=38_000.0).price == 38_000.0
    assert acc.cancel_order(limit.id).status is OrderStatus.CANCELLED
    assert acc.get_position().contracts == pytest.approx(sim.contracts) == 0.5
    ((exec_id, fill),) = acc.fetch_executions()
    assert exec_id == "1" and fill.kind is FillKind.TRADE and fill.contracts == 0.5 and fill.fee == pytest.approx(10.0)
    assert acc.get_wallet().wallet_balance == pytest.approx(sim.get_wallet().wallet_balance)



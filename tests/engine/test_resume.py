"""Resume points: SimExchange state export/restore, saved strategy variables, rebuilding an instance."""

from __future__ import annotations

import json
import logging
from array import array

import pytest

from kektrade.domain.journal import MemoryJournal
from kektrade.domain.specs import builtin_spec
from kektrade.domain.types import Fill, FillKind
from kektrade.engine.instance import InstanceStatus, StrategyInstance
from kektrade.engine.resume import (
    STATE_KEY,
    ResumeError,
    ResumeRecord,
    apply_resume,
    capture_state,
    json_variables,
)
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays
from kektrade.exchange.sim.state import StateError, export_state, restore_state
from kektrade.strategy.base import Strategy

T0 = 1_704_067_200_000  # 2024-01-01: candle times at 0 would sit on the funding clock's 'unset' value
CANDLES = [(100.0, 101.0, 99.0, 100.5), (100.5, 102.0, 100.0, 101.5), (101.5, 101.8, 97.0, 98.0),
           (98.0, 99.0, 96.0, 96.5), (96.5, 100.0, 96.0, 99.5)]  # fmt: skip


def market() -> MarketArrays:
    m = MarketArrays([], [], [], [], [], timeframe_ms=60_000)
    for k, (o, h, lo, c) in enumerate(CANDLES):
        m.append(T0 + k * 60_000, o, h, lo, c)
    return m


def busy_sim(margin_mode: str = "isolated") -> SimExchange:
    """Position with added margin, a resting limit, an untriggered stop, funding at a constant rate."""
    sim = SimExchange(builtin_spec("BTCUSDT"), market(), initial_balance=1_000.0, leverage=5.0,
                      margin_mode=margin_mode, funding_rate=0.0001)  # fmt: skip
    sim.step(0)
    sim.open_order("market", 2.0)
    sim.step(1)
    if margin_mode == "isolated":
        sim.add_margin(12.5)
    sim.open_order("limit", 1.0, price=97.5, client_id="dip")
    sim.open_order("stop_market", -2.0, trigger_price=95.0, reduce_only=True)
    return sim


def fresh_sim(margin_mode: str = "isolated") -> SimExchange:
    return SimExchange(builtin_spec("BTCUSDT"), market(), initial_balance=1_000.0, leverage=5.0,
                       margin_mode=margin_mode, funding_rate=0.0001)  # fmt: skip


@pytest.mark.parametrize("mode", ["isolated", "cross"])
def test_export_restore_round_trip_and_same_future(mode: str) -> None:
    sim = busy_sim(mode)
    state = export_state(sim)
    assert json.loads(json.dumps(state, allow_nan=False)) == state  # strict JSON
    assert state["contracts"] == 2.0 and len(state["orders"]) == 2 and state["next_order_id"] == 3
    twin = fresh_sim(mode)
    restore_state(twin, state)
    twin.set_clock(sim._i)  # the caller positions the candle clock
    assert export_state(twin) == state
    for i in (2, 3, 4):  # the restored venue lives the same future: fills, fees, liquidation, funding
        sim.step(i)
        twin.step(i)
    assert export_state(twin) == export_state(sim)
    assert any(f.order_id == "2" for f in twin.fills)  # the restored resting limit filled
    assert [(f.kind, f.contracts, f.price, f.fee) for f in twin.fills] == [
        (f.kind, f.contracts, f.price, f.fee) for f in sim.fills[-len(twin.fills) :]
    ]
    assert twin.open_order("limit", 1.0, price=90.0).id == sim.open_order("limit", 1.0, price=90.0).id


def test_restore_rejects_bad_state_naming_the_key() -> None:
    state = export_state(busy_sim())
    with pytest.raises(StateError, match="version"):
        restore_state(fresh_sim(), {**state, "version": 99})
    with pytest.raises(StateError, match="'wallet'"):
        restore_state(fresh_sim(), {k: v for k, v in state.items() if k != "wallet"})
    bad_order = {**state["orders"][0], "type": "teleport"}
    with pytest.raises(StateError, match="order '2'"):
        restore_state(fresh_sim(), {**state, "orders": [bad_order]})


def test_json_variables_keep_json_drop_others_once_and_skip_column_caches(
    caplog: pytest.LogCaptureFixture,
) -> None:
    column = array("d", [1.0, 2.0])
    variables = {"n": 3, "ids": ["a", None], "nested": {"x": 1.5}, "cols": (column, [1]), "same": column,
                 "lock": object(), 7: "int key"}  # fmt: skip
    warned: set[str] = set()
    with caplog.at_level(logging.WARNING, "kektrade.engine"):
        kept = json_variables("s", variables, {id(column)}, warned)
        assert kept == {"n": 3, "ids": ["a", None], "nested": {"x": 1.5}}
        json_variables("s", variables, {id(column)}, warned)
    assert [r.getMessage().count("variables['lock']") for r in caplog.records] == [1]


class Quiet(Strategy):
    """Never trades."""


def instance(journal: MemoryJournal | None = None) -> StrategyInstance:
    sim = busy_sim()
    inst = StrategyInstance("s", Quiet(), None, sim, {"a": 1}, {"venue": "paper"}, 0, journal)  # type: ignore[arg-type]
    inst.next_index = sim._i + 1
    return inst


def test_capture_then_apply_restores_the_instance() -> None:
    old = instance()
    old.variables.update({"count": 4, "handle": object()})
    old.parameter = {"a": 2}
    old.status = InstanceStatus.PAUSED
    old.next_sample_ms = 123
    state = capture_state(old)
    fills = [Fill(T0 + 60_000, "BTCUSDT", FillKind.TRADE, 2.0, 100.5, 0.1, 0.0, "1", False, 0.00055, 2.0)]
    record = ResumeRecord("s", {STATE_KEY: state}, fills, (), [T0 + 120_000], [1000.0], [1000.0], "paused", None)
    assert record.last_candle_ms == T0 + 60_000
    new = StrategyInstance("s", Quiet(), None, fresh_sim(), {"a": 1}, {}, 0)  # type: ignore[arg-type]
    assert apply_resume(new, record) == T0 + 60_000
    new.venue.set_clock(old.venue._i)
    assert export_state(new.venue) == export_state(old.venue)
    assert new.variables == {"count": 4} and new.parameter == {"a": 2}
    assert new.status is InstanceStatus.PAUSED and new.next_sample_ms == 123
    assert new.venue.fills == fills and new.times_ms == [T0 + 120_000]


def test_apply_without_saved_state_uses_the_last_selection_and_rejects_foreign_state() -> None:
    new = StrategyInstance("s", Quiet(), None, fresh_sim(), {"a": 1}, {}, 0)  # type: ignore[arg-type]
    assert apply_resume(new, ResumeRecord("s", last_selection={"a": 9})) is None
    assert new.parameter == {"a": 9}
    live_state = {**capture_state(instance()), "venue": None}
    with pytest.raises(ResumeError, match="no simulator state"):
        apply_resume(new, ResumeRecord("s", {STATE_KEY: live_state}))

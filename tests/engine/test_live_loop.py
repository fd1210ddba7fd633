"""The live loop on the fake Bybit (real ccxt client): paper and live runs, gaps, duplicates, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kektrade.domain.journal import FillRecorded, MemoryJournal, OrderRecorded, StateSaved
from kektrade.engine import live_build
from kektrade.engine.commands import FlattenPosition, PauseInstance, ResumeInstance
from kektrade.engine.engine import Engine
from kektrade.engine.live import LiveSource, candles_frame, closed_until_ms, tail_rows
from kektrade.engine.live_build import build_live_session
from kektrade.engine.live_venue import LiveVenue
from kektrade.engine.session import Session, build_session
from kektrade.exchange.sim.exchange import SimExchange
from tests.engine.live_kit import SYMBOL, Stepped, client_factory, live_config, push
from tests.fakes.bybit_trading import MINUTE_MS, FakeBybitExchange
from tests.fakes.bybit_v5 import BybitError


def paper(fake: FakeBybitExchange, tmp_path: Path, journal: MemoryJournal, **sub: Any) -> Session:
    config = live_config(tmp_path, [{"id": "p", "venue": "paper", **sub}])
    return build_live_session(config, "run", journal, None, client_factory(fake))


def test_helpers() -> None:
    assert tail_rows(0) == 1000 and tail_rows(350) == 1750
    assert closed_until_ms(10 * MINUTE_MS + 5, MINUTE_MS) == 10 * MINUTE_MS
    frame = candles_frame([[60_000, 1, 2, 0.5, 1.5, 10]])
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dtype) == "datetime64[ms, UTC]"


def test_build_session_routes_paper_configs_to_the_live_loop(
    fake: FakeBybitExchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # not the real Bybit
    monkeypatch.setattr(live_build, "public_exchange_factory", lambda config: client_factory(fake))
    session = build_session(live_config(tmp_path, [{"id": "p", "venue": "paper"}]), "run")
    engine = session.engine
    assert isinstance(engine, Engine) and isinstance(engine.source, LiveSource)
    assert session.instances[0].metadata["mode"] == "paper"
    assert session.engine.snapshot().mode == "paper"


def test_paper_run_ticks_each_new_candle_once_and_fills_on_the_next(fake: FakeBybitExchange, tmp_path: Path) -> None:
    journal = MemoryJournal()
    session = paper(fake, tmp_path, journal)
    inst = session.instances[0]
    assert inst.next_index == inst.length == 10  # the history is never ticked
    with Stepped(session) as run:
        times = []
        for k in range(4):
            times += push(fake, 1)
            run.poll()
            assert len(run.variables()["seen"]) == k + 1
        provider = run.source.feeds[0].provider
        assert provider.publish("BTC/USDT:USDT", "1m", candles_frame([[times[1], 1, 2, 0.5, 1.5, 1]])).empty
        run.poll()
        snap = run.session.engine.snapshot()
    assert run.variables()["seen"] == times  # each candle once, in order; the repeated one ignored
    venue = inst.venue
    assert isinstance(venue, SimExchange)
    (fill,) = [f for f in venue.fills if f.kind == "trade"]
    assert (fill.time_ms, fill.price, fill.contracts) == (times[2], 112.0, 0.01)  # ordered at tick 2
    assert venue.contracts == 0.01 and [o.price for o in venue.get_open_orders()] == [50.0]
    assert run.variables()["mean3"] == pytest.approx(sum(100.0 + n + 0.5 for n in (11, 12, 13)) / 3)
    assert (snap.mode, snap.testnet, snap.subaccounts[0].contracts, len(snap.orders)) == ("paper", False, 0.01, 1)
    assert snap.progress.done == 4
    saved = journal.of_type(StateSaved)
    assert saved and saved[-1].value["last_candle_ms"] == times[-1]
    assert "handle" not in saved[-1].value["variables"] and "cols" not in saved[-1].value["variables"]


def test_missed_candles_are_fetched_after_a_disconnect_and_processed_in_order(
    fake: FakeBybitExchange, tmp_path: Path
) -> None:
    session = paper(fake, tmp_path, MemoryJournal())
    with Stepped(session) as run:
        feed = run.source.feeds[0]
        original = fake.routes[("GET", "/v5/market/kline")]

        def down(state: Any, request: Any) -> Any:
            raise BybitError(10006, "Too many visits")

        fake.route("GET", "/v5/market/kline", down)
        times = push(fake, 4)
        run.poll()
        run.poll()
        assert feed.errors == 2 and "seen" not in run.variables()
        fake.route("GET", "/v5/market/kline", original)
        run.poll()
    assert run.variables()["seen"] == times


def test_commands_pause_resume_flatten(fake: FakeBybitExchange, tmp_path: Path) -> None:
    session = paper(fake, tmp_path, MemoryJournal())
    with Stepped(session) as run:
        push(fake, 3)
        run.poll()
        assert len(run.variables()["seen"]) == 3
        run.engine.send(PauseInstance("p"))
        push(fake, 2)
        run.poll()
        assert run.session.instances[0].next_index == 15
        assert len(run.variables()["seen"]) == 3 and run.session.instances[0].status == "paused"
        run.engine.send(FlattenPosition())
        run.engine.send(ResumeInstance())
        push(fake, 1)
        run.poll()
        assert len(run.variables()["seen"]) == 4
    venue = run.session.instances[0].venue
    assert venue.contracts == 0.0 and venue.get_open_orders() == []


def test_one_failing_instance_never_stops_the_others(fake: FakeBybitExchange, tmp_path: Path) -> None:
    config = live_config(
        tmp_path,
        [
            {"id": "boom", "venue": "paper", "strategy": "LateBoom", "parameters": {"history": 10}},
            {"id": "ok", "venue": "paper"},
        ],
    )
    session = build_live_session(config, "run", MemoryJournal(), None, client_factory(fake))
    with Stepped(session) as run:
        times = push(fake, 3)
        run.poll()
        snap = run.engine.snapshot()
    assert run.variables(1)["seen"] == times and "seen" not in run.variables(0)
    assert "indicator exploded" in (snap.subaccounts[0].error or "")


def test_live_run_places_orders_through_ccxt_and_cancels_them_on_exit(fake: FakeBybitExchange, tmp_path: Path) -> None:
    journal = MemoryJournal()
    config = live_config(tmp_path, [{"id": "x", "venue": "bybit_linear"}], cancel_orders_on_exit=True)
    session = build_live_session(config, "run", journal, None, client_factory(fake))
    venue = session.instances[0].venue
    assert isinstance(venue, LiveVenue)
    with Stepped(session) as run:
        times = push(fake, 2)
        run.poll()
        assert len(fake.sims[SYMBOL].get_open_orders()) == 2  # placed on the fake at the second tick
        times += push(fake, 1)
        run.poll()
        assert len(run.variables()["seen"]) == 3
        snap = run.engine.snapshot()
        assert fake.sims[SYMBOL].contracts == 0.01  # the market order filled on the fake at the next candle
    assert run.variables()["seen"] == times
    assert (snap.mode, snap.subaccounts[0].contracts, [o.price for o in snap.orders]) == ("live", 0.01, [50.0])
    assert fake.sims[SYMBOL].get_open_orders() == []  # cancel_orders_on_exit
    events = [(r.event, r.order.type) for r in journal.of_type(OrderRecorded)]
    assert ("placed", "market") in events and ("placed", "limit") in events and ("cancelled", "limit") in events
    (fill,) = journal.of_type(FillRecorded)
    assert (fill.fill.contracts, fill.fill.price, fill.fill.time_ms) == (0.01, 112.0, times[2])


def test_snapshots_never_call_the_exchange_and_a_failing_listener_never_stops_the_run(
    fake: FakeBybitExchange, tmp_path: Path
) -> None:
    calls: list[int] = []

    def broken_front_end(snapshot: Any) -> None:
        calls.append(snapshot.progress.done)
        raise RuntimeError("a front end's bug")

    config = live_config(tmp_path, [{"id": "x", "venue": "bybit_linear"}])
    session = build_live_session(config, "run", MemoryJournal(), broken_front_end, client_factory(fake))
    session.engine.publish_every_s = 0.0  # publish after every chunk
    with Stepped(session) as run:
        times = push(fake, 2)
        run.poll()  # tick 2 places a market buy and a resting limit on the fake
        times += push(fake, 1)
        run.poll()  # the market buy filled at this candle's open; the account is re-read once
        fake.clear_requests()
        snap = run.engine.snapshot()
        assert fake.requests == []  # built from the views cached at the last candle
        assert snap.subaccounts[0].contracts == 0.01 and len(snap.orders) == 1
        times += push(fake, 1)
        run.poll()
    assert run.variables()["seen"] == times and calls  # the listener raised on every publish; trading went on


def test_the_collectors_middle_passes_keep_their_spacing_in_paper_sessions_only(
    fake: FakeBybitExchange, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kektrade.engine import engine as engine_module
    from tests.engine.kit import config

    seen: list[bool] = []
    real = engine_module.collector_for_run

    def spy(holds_records: bool = True) -> Any:
        seen.append(holds_records)
        return real(holds_records)

    monkeypatch.setattr(engine_module, "collector_for_run", spy)
    session = paper(fake, tmp_path, MemoryJournal())
    session.engine.stop_event.set()  # open, then end at the first step
    session.engine.run()
    probe = {"id": "probe", "strategy": "ProbeStrategy", "pair": "BTC/USDT:USDT", "timeframe": "1h"}
    backtest = build_session(config(tmp_path / "bt", [probe]), "bt", MemoryJournal())
    assert backtest.engine.run() == "finished"
    assert seen == [False, True]  # paper: the usual spacing; a backtest holds its records: spaced out

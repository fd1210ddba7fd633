"""Unit tests of the notifications: what changed between snapshots, and the per-chat rate limit."""

from __future__ import annotations

import dataclasses

import pytest

from kektrade.telegram.notifier import Event, EventTracker, Outbox, compose

from .test_formatting import fill, row, snapshot


def test_first_snapshot_is_the_baseline() -> None:
    tracker = EventTracker(["fills", "status"])
    assert tracker.update(snapshot(row(fills=5), recent_fills={"sma_btc": (fill(1),) * 5})) == []


def test_new_fills_and_liquidations() -> None:
    tracker = EventTracker(["fills", "liquidations"])
    fills = (fill(1), fill(2, "funding"), fill(3, "liquidation", "sell"))
    tracker.update(snapshot(row(fills=1), recent_fills={"sma_btc": fills[:1]}))
    events = tracker.update(snapshot(row(fills=3), recent_fills={"sma_btc": fills}))
    assert [e.text.split(" UTC ")[1].split(" @")[0] for e in events] == ["sma_btc LIQUIDATION sell 0.5"]
    assert not events[0].routine  # funding settlements are not fills to notify
    events = tracker.update(snapshot(row(fills=6), recent_fills={"sma_btc": (*fills, fill(4), fill(5), fill(6))}))
    assert [e.routine for e in events] == [True, True, True]


def test_fills_beyond_the_recent_window_are_counted() -> None:
    tracker = EventTracker(["fills"])
    tracker.update(snapshot(row(fills=0)))
    events = tracker.update(snapshot(row(fills=150), recent_fills={"sma_btc": tuple(fill(m) for m in range(100))}))
    assert events[0] == Event("sma_btc: 50 earlier fill(s) not shown", routine=True)
    assert len(events) == 101


def test_only_the_kinds_asked_for() -> None:
    tracker = EventTracker(["status"])
    tracker.update(snapshot(row()))
    events = tracker.update(snapshot(row(fills=1, parameters={"rsi": 9}), recent_fills={"sma_btc": (fill(1),)}))
    assert events == []
    with pytest.raises(ValueError, match=r"telegram.notify: unknown kind\(s\) \['fill'\]"):
        EventTracker(["fill"])


def test_selection_error_and_status_changes() -> None:
    tracker = EventTracker(["selections", "errors", "status"])
    tracker.update(snapshot(row()))
    board = {"sma_btc": [({"rsi": 14, "sma": 20}, 1.2345), ({"rsi": 7, "sma": 50}, 0.5)]}
    events = tracker.update(snapshot(row(parameters={"rsi": 14, "sma": 20}), leaderboards=board))
    assert [e.text for e in events] == ["sma_btc selected rsi=14 sma=20 (score 1.2345)"]
    events = tracker.update(snapshot(row(parameters={"rsi": 14, "sma": 20}, status="failed", error="ZeroDivision")))
    assert [e.text for e in events] == ["ERROR sma_btc: ZeroDivision", "sma_btc: running -> failed"]
    final = dataclasses.replace(snapshot(row(parameters={"rsi": 14, "sma": 20}, status="failed")), state="finished")
    assert [e.text for e in tracker.update(final)] == ["run run1: running -> finished"]


def test_compose_keeps_important_lines_and_the_newest_fills() -> None:
    events = [Event("run r: starting -> running")] + [Event(f"fill {i:03d} " + "x" * 50, True) for i in range(200)]
    events.append(Event("run r: running -> finished"))
    text = compose(events, limit=1000)
    lines = text.splitlines()
    assert len(text) <= 1000
    assert lines[1] == "run r: starting -> running" and lines[-1] == "run r: running -> finished"
    kept = [line for line in lines if line.startswith("fill ")]
    assert kept[-1].startswith("fill 199") and lines[0] == f"… {200 - len(kept)} earlier fill(s) not shown"
    assert compose([Event("a"), Event("b", True)]) == "a\nb"


def test_outbox_sends_at_most_one_message_per_interval_per_chat() -> None:
    now = [100.0]
    outbox = Outbox([1, 2], min_interval_s=2.0, clock=lambda: now[0])
    assert outbox.next_due_in() is None and outbox.due() == []
    outbox.add([Event("a"), Event("b", True)])
    assert outbox.due() == [(1, "a\nb"), (2, "a\nb")]
    outbox.add([Event("c")])
    outbox.add([Event("d")])
    now[0] += 1.5
    assert outbox.due() == [] and outbox.next_due_in() == pytest.approx(0.5)
    now[0] += 0.5
    assert outbox.due() == [(1, "c\nd"), (2, "c\nd")]
    outbox.defer(1, "c\nd", 5.0)  # e.g. RetryAfter from Telegram
    outbox.add([Event("e")])
    now[0] += 2.0
    assert outbox.due() == [(2, "e")]
    outbox.release()
    assert outbox.due() == [(1, "c\nd\ne")]


def test_exchange_fault_episodes_are_notified_when_they_open_and_end() -> None:
    tracker = EventTracker(["errors"])
    tracker.update(snapshot(row()))
    notice = "exchange faults (2): http_503 on fetch_positions; retrying"
    assert tracker.update(snapshot(row(notice=notice))) == [Event(f"EXCHANGE sma_btc: {notice}")]
    assert tracker.update(snapshot(row(notice=notice))) == []  # once per episode, not per snapshot
    assert tracker.update(snapshot(row())) == [Event("EXCHANGE sma_btc: answering again")]

"""Reconciliation of a live venue with the exchange: before the first tick, and on a clean stop.

``reconcile(venue, records)`` runs once after the venue is built (``records``: the subaccount's
``ResumeRecord`` when resuming, None on a first start) and reports every difference it finds and fixes:

- executions since the last known one (by execution id) are journaled; on a first start the account's
  earlier executions are only marked as seen (they are not this run's);
- intents whose outcome was not recorded (killed after sending) are looked up by client id: found ones
  are adopted, absent ones forgotten (a replay of their candle sends them afresh, with the same id);
- open orders: this run's own orders the database lacks are adopted; foreign ones adopted or cancelled
  (``live.orders_found_on_start``); orders the database thinks open but the exchange does not get their
  final state journaled;
- position and wallet are read; the position is compared with the one the journal implies.

``final_sync(venue)`` re-reads everything on a clean stop and returns the remaining differences.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kektrade.domain.journal import StateSaved
from kektrade.domain.types import FillKind
from kektrade.engine.live_orders import _lookup

if TYPE_CHECKING:
    from kektrade.engine.live_venue import LiveVenue

log = logging.getLogger("kektrade.engine")

BASELINE_KEY = "venue_baseline"


def reconcile(venue: LiveVenue, records: Any = None) -> list[str]:
    """Bring the venue's view (and the run database) in line with the exchange; the differences found."""
    found: list[str] = []
    fresh = records is None or not (records.intents or records.fills)
    if records is not None:
        _load(venue, records)
    _executions(venue, fresh, found)
    _intents(venue, found)
    _orders(venue, found)
    venue._read_position()
    venue._read_wallet()
    if fresh:
        _save_baseline(venue)
    found += position_differences(venue)
    for line in found:
        log.warning("subaccount %s: reconcile: %s", venue.subaccount_id, line)
    log.info("subaccount %s: reconciled with the exchange (%d difference(s))", venue.subaccount_id, len(found))
    return found


def _load(venue: LiveVenue, records: Any) -> None:
    venue.intents.load(records.intents)
    venue.remember_fills(records.fills, records.exec_ids)
    venue._orders = list(records.open_orders)
    saved = records.saved or {}
    venue.initial_balance = float(saved.get("initial_balance") or venue.initial_balance or 0.0)
    baseline = records.state.get(BASELINE_KEY)
    venue.baseline = baseline if isinstance(baseline, dict) else None


def _executions(venue: LiveVenue, fresh: bool, found: list[str]) -> None:
    fetch = getattr(venue.account, "fetch_executions", None)
    if fetch is None:
        return
    rows = venue._guard("executions", fetch)
    if rows is None:
        found.append("executions could not be read (the exchange did not answer); read at the next refresh")
        return
    if fresh:
        venue._exec_ids.update(exec_id for exec_id, _ in rows)
        if rows:
            log.info("subaccount %s: %d earlier execution(s) on the account are not this run's", venue.subaccount_id,
                     len(rows))  # fmt: skip
        return
    added = sum(1 for exec_id, fill in rows if venue._add_fill(exec_id, fill))
    if added:
        found.append(f"{added} execution(s) happened while kektrade was not watching: recorded now")


def _intents(venue: LiveVenue, found: list[str]) -> None:
    for rec in venue.intents.unresolved():
        order = _lookup(venue, rec.client_id)
        if order is None:
            venue.intents.forget(rec.client_id)
            found.append(f"intent {rec.client_id} never reached the exchange; its candle may send it again")
            continue
        venue.intents.record(venue.now_ms, rec.client_id, "accepted", order.id)
        venue._aliases[rec.client_id] = order.id
        found.append(f"intent {rec.client_id} was accepted as order {order.id} (the outcome was not recorded)")


def _orders(venue: LiveVenue, found: list[str]) -> None:
    current = venue._guard("open orders", venue.account.get_open_orders)
    if current is None:
        found.append("open orders could not be read (the exchange did not answer)")
        return
    known = {o.id for o in venue._orders}
    for order in current:
        if order.id in known:
            continue
        link = order.client_id
        if venue.intents.is_own(link) or venue.found_orders == "adopt":
            whose = "this run's" if venue.intents.is_own(link) else "a foreign"
            found.append(f"{whose} open order {order.id} ({link}) was not in the database: adopted")
        else:
            cancelled = venue._guard("cancel", lambda o=order: venue.account.cancel_order(o.id))
            found.append(f"foreign open order {order.id} ({link}) cancelled" if cancelled is not None
                         else f"foreign open order {order.id} ({link}) could not be cancelled")  # fmt: skip
            current = [o for o in current if o.id != order.id] if cancelled is not None else current
    still = {o.id for o in current}
    for order in venue._orders:
        if order.id not in still:
            found.append(f"order {order.id} left the book while kektrade was not watching")
    venue._sync_orders(list(current))


def _save_baseline(venue: LiveVenue) -> None:
    position = venue.cached_position
    if position is None:  # the exchange did not answer: no baseline, no position comparison
        return
    venue.baseline = {
        "position": position.contracts,
        "wallet": venue.wallet_balance,
        "executions_before": len(venue._exec_ids),
    }
    if venue.journal is not None:
        venue.journal.record(StateSaved(venue.subaccount_id, venue.now_ms, BASELINE_KEY, venue.baseline))


def journal_position(venue: LiveVenue) -> float:
    """The position the journal implies: the baseline plus every recorded trade and liquidation."""
    start = float((venue.baseline or {}).get("position") or 0.0)
    return start + sum(f.contracts for f in venue.fills if f.kind is not FillKind.FUNDING)


def position_differences(venue: LiveVenue) -> list[str]:
    """The difference between the journal's position and the exchange's, if any."""
    position = venue.cached_position
    if position is None or venue.baseline is None:
        return []
    expected = journal_position(venue)
    if abs(expected - position.contracts) <= venue.spec.lot_step / 2:
        return []
    return [f"position: the journal implies {expected:g}, the exchange holds {position.contracts:g}"]


def final_sync(venue: LiveVenue) -> list[str]:
    """Re-read the account on a clean stop, journal what changed, flush; the differences left."""
    venue.refresh()
    left = position_differences(venue)
    if venue._in_doubt:
        left.append(f"{len(venue._in_doubt)} order(s) still in doubt: {', '.join(sorted(venue._in_doubt))}")
    if venue.faults.active:
        left.append(f"the exchange did not answer {', '.join(venue.faults.active)}")
    if venue.journal is not None:
        try:
            venue.journal.flush()
        except Exception as exc:  # reported, the stop goes on
            left.append(f"journal flush failed: {exc}")
    for line in left:
        log.warning("subaccount %s: final sync: %s", venue.subaccount_id, line)
    return left

"""Peewee models of the run database (one SQLite file per run).

The classes here are unbound templates; ``bind_models`` makes subclasses bound to one database, so
several run databases can be open in one process (and on several threads) without rebinding globals.
Every per-subaccount table has an index on ``(subaccount, time_ms)``; rows keep the order they were
recorded in through their autoincrement ``id``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import peewee as pw

SCHEMA_VERSION = 3  # see kektrade.persistence.migrations


class _Base(pw.Model):
    """Common base of every table."""


class RunMeta(_Base):
    """Run metadata: key -> JSON value (config copy, status, start/finish times, results)."""

    key = pw.TextField(primary_key=True)
    value = pw.TextField()

    class Meta:
        table_name = "run_meta"


class InstanceRow(_Base):
    """One strategy instance (subaccount) of the run."""

    id = pw.AutoField()
    subaccount = pw.TextField(unique=True)
    venue = pw.TextField()
    pair = pw.TextField()
    strategy = pw.TextField()
    status = pw.TextField()

    class Meta:
        table_name = "instance"


class OrderEventRow(_Base):
    """One order transition, with a copy of every field of the order at that moment."""

    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    event = pw.TextField()
    order_id = pw.TextField()
    client_id = pw.TextField(null=True)
    symbol = pw.TextField()
    type = pw.TextField()
    contracts = pw.DoubleField()
    price = pw.DoubleField(null=True)
    trigger_price = pw.DoubleField(null=True)
    trigger_by = pw.TextField()
    trigger_direction = pw.IntegerField()
    reduce_only = pw.BooleanField()
    post_only = pw.BooleanField()
    time_in_force = pw.TextField()
    status = pw.TextField()
    filled = pw.DoubleField()
    avg_fill_price = pw.DoubleField()
    fee_paid = pw.DoubleField()
    created_ms = pw.BigIntegerField()
    updated_ms = pw.BigIntegerField()
    reject_reason = pw.TextField(null=True)
    active_from_ms = pw.BigIntegerField()

    class Meta:
        table_name = "order_event"
        indexes = ((("subaccount", "time_ms"), False), (("subaccount", "order_id"), False))


class FillRow(_Base):
    """One execution (trade, funding settlement or liquidation)."""

    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    symbol = pw.TextField()
    kind = pw.TextField()
    contracts = pw.DoubleField()
    price = pw.DoubleField()
    fee = pw.DoubleField()
    fee_rate = pw.DoubleField()
    realized_pnl = pw.DoubleField()
    order_id = pw.TextField()
    is_maker = pw.BooleanField()
    position_after = pw.DoubleField()
    exec_id = pw.TextField(null=True)  # the exchange's execution id (live venues; schema 2)

    class Meta:
        table_name = "fill"
        indexes = ((("subaccount", "time_ms"), False),)


class EquityRow(_Base):
    """One point of a subaccount's marked-to-market series."""

    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    wallet = pw.DoubleField()
    equity = pw.DoubleField()
    equity_quote = pw.DoubleField()
    position = pw.DoubleField()
    mark = pw.DoubleField()
    close = pw.DoubleField()

    class Meta:
        table_name = "equity_sample"
        indexes = ((("subaccount", "time_ms"), False),)


class SelectionRow(_Base):
    """An optimizer selection: parameters JSON (null: stand aside), score, leaderboard JSON."""

    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    parameters = pw.TextField(null=True)
    score = pw.DoubleField(null=True)
    leaderboard = pw.TextField()

    class Meta:
        table_name = "selection"
        indexes = ((("subaccount", "time_ms"), False),)


class StatusRow(_Base):
    """An instance status change or error message."""

    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    status = pw.TextField()
    message = pw.TextField()

    class Meta:
        table_name = "status_change"
        indexes = ((("subaccount", "time_ms"), False),)


class StateRow(_Base):
    """Saved resumable state: one row per save; the latest row per (subaccount, key) wins."""

    id = pw.AutoField()
    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    key = pw.TextField()
    value = pw.TextField()

    class Meta:
        table_name = "saved_state"
        indexes = ((("subaccount", "time_ms"), False), (("subaccount", "key"), False))


class OrderIntentRow(_Base):
    """One step of a live order intent (write-ahead: ``sent`` before the request); schema 2."""

    id = pw.AutoField()
    subaccount = pw.TextField()
    time_ms = pw.BigIntegerField()
    client_id = pw.TextField()
    state = pw.TextField()
    order_id = pw.TextField()
    reason = pw.TextField()
    request = pw.TextField()

    class Meta:
        table_name = "order_intent"
        indexes = ((("subaccount", "client_id"), False),)


@dataclass(frozen=True, slots=True)
class BoundModels:
    """The models bound to one database."""

    meta: type[RunMeta]
    instance: type[InstanceRow]
    order_event: type[OrderEventRow]
    fill: type[FillRow]
    equity: type[EquityRow]
    selection: type[SelectionRow]
    status: type[StatusRow]
    state: type[StateRow]
    intent: type[OrderIntentRow]

    def all(self) -> list[type[pw.Model]]:
        """Every bound model, in declaration order."""
        return [getattr(self, f.name) for f in fields(self)]


def _bound[M: pw.Model](template: type[M], database: pw.Database) -> type[M]:
    """A subclass of ``template`` bound to ``database`` with the same table, fields and indexes."""
    meta = type("Meta", (), {"database": database, "table_name": template._meta.table_name})
    return type(template.__name__, (template,), {"Meta": meta, "__module__": template.__module__})


def bind_models(database: pw.Database) -> BoundModels:
    """Fresh model classes bound to ``database`` (other databases are not affected)."""
    return BoundModels(
        meta=_bound(RunMeta, database),
        instance=_bound(InstanceRow, database),
        order_event=_bound(OrderEventRow, database),
        fill=_bound(FillRow, database),
        equity=_bound(EquityRow, database),
        selection=_bound(SelectionRow, database),
        status=_bound(StatusRow, database),
        state=_bound(StateRow, database),
        intent=_bound(OrderIntentRow, database),
    )

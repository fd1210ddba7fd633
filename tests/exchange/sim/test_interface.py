"""The simulated venues implement the whole ``Subaccount`` protocol (structurally: they are compiled)."""

from __future__ import annotations

import inspect

from kektrade.exchange.sim.realistic import RealisticSimExchange
from kektrade.exchange.subaccount import Subaccount
from tests.exchange.sim.simkit import make_sim

ROWS = [(100.0, 101.0, 99.0, 100.5)] * 3


def _members() -> list[str]:
    return [name for name in vars(Subaccount) if not name.startswith("_") and name != "spec"] + ["spec"]


def test_sim_exchange_is_a_subaccount_with_every_member() -> None:
    sim = make_sim(ROWS)
    account: Subaccount = sim  # mypy checks the structure statically
    assert isinstance(account, Subaccount)
    missing = [name for name in _members() if not hasattr(sim, name)]
    assert missing == []


def test_sim_methods_take_the_protocol_parameters() -> None:
    sim = make_sim(ROWS)
    for name, member in vars(Subaccount).items():
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        wanted = list(inspect.signature(member).parameters)[1:]
        got = list(inspect.signature(getattr(sim, name)).parameters)
        assert got[: len(wanted)] == wanted, name


def test_the_realistic_venue_is_a_subaccount_too() -> None:
    base = make_sim(ROWS)
    venue = RealisticSimExchange(base.spec, base.market, volume=[10.0] * len(ROWS), initial_balance=1_000.0)
    account: Subaccount = venue
    assert isinstance(account, Subaccount)
    assert [name for name in _members() if not hasattr(venue, name)] == []

"""The simulated venues implement the whole ``Subaccount`` protocol (structurally: they are compiled)."""

from __future__ import annotations

from kektrade.exchange.sim.realistic import RealisticSimExchange
from kektrade.exchange.subaccount import Subaccount
from tests.exchange.sim.simkit import make_sim

ROWS = [(100.0, 101.0, 99.0, 100.5)] * 3


def _members() -> list[str]:
    return [name for name in vars(Subaccount) if not name.startswith("_")] + ["spec"]  # spec: annotation only


def test_sim_exchange_is_a_subaccount_with_every_member() -> None:
    sim = make_sim(ROWS)
    account: Subaccount = sim  # mypy checks the structure statically
    assert isinstance(account, Subaccount)
    missing = [name for name in _members() if not hasattr(sim, name)]
    assert missing == []


def test_sim_methods_take_the_protocol_keywords() -> None:
    """Keyword calls with the protocol's parameter names (compiled methods carry no inspectable signature)."""
    sim = make_sim(ROWS)
    sim.step(0)
    order = sim.open_order(
        order_type="limit",
        contracts=1.0,
        price=99.0,
        trigger_price=None,
        reduce_only=False,
        post_only=True,
        time_in_force="GTC",
        client_id="q1",
        trigger_by="last",
    )
    assert order.is_open and order.client_id == "q1"
    amended = sim.edit_order(order_id="q1", price=98.5, contracts=2.0, trigger_price=None)
    assert (amended.price, amended.contracts) == (98.5, 2.0)
    assert sim.cancel_order(order_id=order.id) is order and not order.is_open
    assert sim.get_contracts_pct_of_balance(pct=0.5, price=100.0) == 5_000.0  # 100k x 0.5 x 10x / 100
    sim.set_leverage(leverage=5.0)
    assert sim.get_contracts_pct_of_balance(pct=0.5, price=100.0) == 2_500.0


def test_the_realistic_venue_is_a_subaccount_too() -> None:
    base = make_sim(ROWS)
    venue = RealisticSimExchange(base.spec, base.market, volume=[10.0] * len(ROWS), initial_balance=1_000.0)
    account: Subaccount = venue
    assert isinstance(account, Subaccount)
    assert [name for name in _members() if not hasattr(venue, name)] == []

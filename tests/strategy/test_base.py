"""The strategy base class: attribute dicts stay plain through binding, copies and pickling.

CPython 3.12 reads attributes from a *split* attribute dict (keys shared with the class, which is what an
object's inline attributes become once ``__dict__`` is asked for) through a cache that misses on every read:
``self.c`` in a tick cost ~20x a plain read. Whether a dict is split is not visible from Python, so these
tests read CPython's ``PyDictObject.ma_values`` (non-NULL exactly for a split dict) through ctypes.
"""

from __future__ import annotations

import copy
import ctypes
import pickle
import sys

import pytest

from kektrade.strategy.base import Strategy, own_attribute_dict
from kektrade.strategy.columns import Columns

pytestmark = pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 12), reason="CPython 3.12's dict layout"
)


def is_split(d: dict[str, object]) -> bool:
    """``ma_values`` of a CPython 3.12 dict: after refcount, type, ma_used and ma_version_tag, and ma_keys."""
    return ctypes.c_void_p.from_address(id(d) + 5 * 8).value is not None


class Quoting(Strategy):
    def __init__(self) -> None:
        super().__init__()
        self.spread = 0.001
        self.levels = [1, 2]

    def tick(self, *args: object) -> None:
        return None


def split_strategy() -> Quoting:
    """A strategy whose attributes the engine has looked at as a dict (here: the look-ahead check's copy)."""
    s = Quoting()
    copy.copy(s)
    return s


def test_a_looked_at_instance_has_a_split_dict_and_binding_makes_it_plain() -> None:
    s = split_strategy()
    assert is_split(s.__dict__)  # the probe sees the condition this module is about
    columns = Columns({"close": [1.0, 2.0]})
    s.bind_columns(columns)
    assert not is_split(s.__dict__)
    assert s.c is columns and s.spread == 0.001 and s.levels == [1, 2]  # nothing lost on the way
    copy.copy(s)
    assert not is_split(s.__dict__)  # a plain dict stays plain


def test_copies_and_unpickled_strategies_get_plain_dicts_with_the_same_attributes() -> None:
    s = split_strategy()
    s.bind_columns(Columns({"close": [1.0, 2.0]}))
    shallow, deep, loaded = copy.copy(s), copy.deepcopy(s), pickle.loads(pickle.dumps(s))
    for other in (shallow, deep, loaded):
        assert not is_split(other.__dict__)
        assert sorted(vars(other)) == ["c", "levels", "spread"]
        assert other.spread == 0.001 and other.levels == [1, 2]
        assert list(other.c.close) == [1.0, 2.0]
    assert shallow.levels is s.levels and deep.levels is not s.levels  # copy semantics kept


class Slotted(Quoting):
    __slots__ = ("depth",)


def test_slots_survive_a_copy() -> None:
    s = Slotted()
    s.depth = 3
    twin = copy.copy(s)
    assert twin.depth == 3 and twin.spread == 0.001 and not is_split(twin.__dict__)


def test_own_attribute_dict_keeps_identity_of_values() -> None:
    s = split_strategy()
    levels = s.levels
    own_attribute_dict(s)
    assert s.levels is levels and not is_split(s.__dict__)

"""Column access of strategies (``self.c``): values, attribute caching and its limits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kektrade.strategy.columns import Columns


def frame() -> pd.DataFrame:
    return pd.DataFrame({"close": [1.0, 2.5, np.nan], "names": [7.0, 8.0, 9.0], "n": [1, 2, 3], "tag": ["a", "b", "c"]})


def test_attribute_and_item_reads_give_the_same_plain_values() -> None:
    c = Columns(frame())
    assert c.close[1] == 2.5 and isinstance(c.close[1], float)
    assert math.isnan(c.close[2])
    assert c["n"][2] == 3 and isinstance(c.n[2], int)
    assert c.tag[0] == "a"
    assert c.close is c["close"]  # converted once, one object


def test_an_attribute_read_is_kept_as_an_instance_attribute() -> None:
    c = Columns(frame())
    assert "close" not in vars(c)
    values = c.close
    assert vars(c)["close"] is values
    # nothing of the class stands in front of it any more: later reads are plain instance-attribute reads
    assert not hasattr(type(c), "close") and not hasattr(type(c), "__getattr__")
    assert hasattr(type(c), "n")  # a column not read yet is still converted on its first read
    assert Columns(frame()).close is not values  # each Columns has a class of its own


def test_columns_pickle_as_the_public_class() -> None:
    import pickle

    c = Columns(frame())
    _ = c.close
    back = pickle.loads(pickle.dumps(c))
    assert type(back).__name__ == "Columns" and back.close[1] == 2.5 and back.n[2] == 3


def test_a_column_named_like_a_method_does_not_replace_it() -> None:
    c = Columns(frame())
    assert c["names"][0] == 7.0
    assert callable(c.names) and "close" in c.names()


def test_unknown_columns_and_private_names() -> None:
    c = Columns(frame())
    with pytest.raises(AttributeError, match="has no attribute 'sma'"):
        _ = c.sma
    with pytest.raises(AttributeError):
        _ = c._hidden

"""The strategy author API: ``Strategy`` and ``OptimizeableStrategy`` (the seed's interface)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from kektrade.strategy.columns import Columns

if TYPE_CHECKING:
    import pandas as pd

    from kektrade.exchange.subaccount import Subaccount


class Strategy:
    """Base class of every strategy: compute indicators once, then manage orders candle by candle.

    One object serves one strategy instance (strategy x pair x subaccount) and, in live optimization,
    every virtual exchange of that instance: keep per-run state in ``variables``, not on ``self``.
    """

    #: Candles needed before indicators are valid; they are computed on but never traded or scored.
    startup_candle_count: ClassVar[int] = 0

    def __init__(self) -> None:
        self.c: Columns = Columns({})

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: Mapping[str, Any], parameters: Mapping[str, list[Any]]
    ) -> pd.DataFrame:
        """Add indicator columns. ``parameters`` is the search space (lists): compute every variant once."""
        return dataframe

    def tick(
        self,
        dataframe: pd.DataFrame,
        index: int,
        metadata: Mapping[str, Any],
        parameter: Mapping[str, Any],
        variables: dict[str, Any],
        account: Subaccount,
    ) -> None:
        """Trading logic for candle ``index`` (closed); orders placed here match from the next candle on.

        Read values through ``self.c`` (plain lists, no pandas per access): ``self.c.close[index]``.
        """

    def tick_on(self, dataframe: pd.DataFrame, parameter: Mapping[str, Any]) -> Any:
        """The candles ``tick`` must see: one boolean per row of ``dataframe`` (a column or array); None: all.

        ``tick`` then runs on the selected candles and, whatever the selection, on every candle on which the
        venue changed the account's orders or position (a fill or partial fill, a trigger, a cancel or
        refusal by the venue, a liquidation). On the others the engine steps the venue without calling
        Python (a signal strategy's sweep runs several times faster). Equity is sampled as usual.

        Select every candle on which ``tick`` could do anything with its orders; a candle left out is a
        decision never taken. Like indicators, a selection at candle i may use candles up to i only
        (``kektrade check`` compares it on a frame whose future is replaced). Computed once per frame and
        parameter set: per virtual exchange in a sweep, per new candle in a live run.
        """
        return None

    def get_plot_indicators(self, dataframe: pd.DataFrame) -> list[dict[str, Any]]:
        """Which columns to plot: dicts with name, overlay (on the price chart), scatter and color."""
        return []

    def get_search_space(self) -> dict[str, list[Any]]:
        """The search space: parameter name -> list of candidate values. Empty for a fixed strategy."""
        return {}

    # -- used by the engine -------------------------------------------------------------------------

    def bind_columns(self, columns: Columns) -> None:
        """Give the strategy fast access to the indicator frame's columns (called by the engine)."""
        self.c = columns
        own_attribute_dict(self)

    def __setstate__(self, state: Any) -> None:
        """Copies and unpickled strategies (look-ahead checks, optimizer workers) get a plain attribute dict
        (see ``own_attribute_dict``); the state is the default one of ``object.__getstate__``."""
        attributes, slots = state if isinstance(state, tuple) else (state, None)
        if attributes:
            self.__dict__ = dict(attributes)
        for name, value in (slots or {}).items():
            object.__setattr__(self, name, value)

    def resolve_space(self, fixed: Mapping[str, Any]) -> dict[str, list[Any]]:
        """The search space with config-fixed values replacing their lists; never mutates either input.

        Fixed keys that are not in a declared search space are refused by ``undeclared_parameters`` first;
        for a strategy without a search space they are kept as one-value lists so ``tick`` sees them.
        """
        space = {name: list(values) for name, values in self.get_search_space().items()}
        for name, value in fixed.items():
            space[name] = [value]
        return space

    def undeclared_parameters(self, fixed: Mapping[str, Any]) -> str | None:
        """Why config ``parameters`` name something outside a declared search space; None when all are declared.

        A strategy with a search space declares its parameters there, so another name is a typo that would
        otherwise be ignored. A strategy without a search space reads free-form parameters.
        """
        declared = self.get_search_space()
        unknown = sorted(k for k in fixed if k not in declared) if declared else []
        if not unknown:
            return None
        names = ", ".join(repr(k) for k in unknown)
        return f"{type(self).__name__} has no parameter {names} (its parameters: {', '.join(sorted(declared))})"


class OptimizeableStrategy(Strategy):
    """A strategy with a search space for at least one parameter; live optimization picks the values."""

    def get_search_space(self) -> dict[str, list[Any]]:
        """Subclasses must return a non-empty search space."""
        raise NotImplementedError(f"{type(self).__name__} must define get_search_space()")


def own_attribute_dict(obj: object) -> None:
    """Give ``obj`` a plain copy of its attribute dict, so that reading its attributes stays fast.

    CPython 3.12 keeps the attributes of an object whose ``__dict__`` was once asked for (``copy.copy``,
    pickling, ``vars``: the engine copies every strategy for its look-ahead check) in a *split* dict, keys
    shared with the class, and its attribute cache misses on every read from one: ``self.c`` in a tick cost
    ~600 machine instructions instead of ~30, a market maker's tick reads it twice. A plain dict does not
    go back to being split.
    """
    obj.__dict__ = dict(obj.__dict__)

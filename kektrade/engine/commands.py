"""Typed engine commands: the only way anything outside the engine thread changes trading state.

Front ends (through the control facade) and the live optimizer send these values; the engine thread
applies them between candles, in the order they were sent. Every command names its subaccount
(``None`` = every subaccount, where that makes sense) and is immutable and picklable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PauseInstance:
    """Stop calling the strategy's tick; the venue keeps matching, funding and liquidating."""

    subaccount: str | None = None


@dataclass(frozen=True, slots=True)
class ResumeInstance:
    """Call tick again (also after a strategy failure)."""

    subaccount: str | None = None


@dataclass(frozen=True, slots=True)
class FlattenPosition:
    """Cancel every open order and close the position with a reduce-only market order."""

    subaccount: str | None = None


@dataclass(frozen=True, slots=True)
class CancelOrders:
    """Cancel every open order (the position stays)."""

    subaccount: str | None = None


@dataclass(frozen=True, slots=True)
class AllowEntries:
    """Allow (``allowed=True``) or refuse (``False``) orders that open or increase a position.

    With entries refused the strategy keeps running: reduce-only and position-reducing orders go through,
    orders that would add exposure come back rejected ("entries stopped by the operator").
    """

    subaccount: str | None = None
    allowed: bool = True


@dataclass(frozen=True, slots=True)
class StopRun:
    """End the run after the current candle (results are still written)."""


@dataclass(frozen=True, slots=True)
class ApplyParameters:
    """The live optimizer's pick: trade ``parameters`` from the next candle on.

    ``flatten_first`` closes what the previous parameter set left (orders and position) before switching;
    otherwise only the previous set's open orders are cancelled.
    """

    subaccount: str
    parameters: Mapping[str, Any] = field(default_factory=dict)
    flatten_first: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class StandAside:
    """The live optimizer found no qualifying combination: stop trading this subaccount for now.

    ``flatten`` closes the position too; otherwise only open orders are cancelled and protective
    (reduce-only) orders are kept while a position remains.
    """

    subaccount: str
    flatten: bool = False
    reason: str = ""


EngineCommand = (
    PauseInstance
    | ResumeInstance
    | FlattenPosition
    | CancelOrders
    | AllowEntries
    | StopRun
    | ApplyParameters
    | StandAside
)


def describe(command: EngineCommand) -> str:
    """A short description for logs and notices: the command's name and target ("PauseInstance sma_btc")."""
    name = type(command).__name__
    if isinstance(command, StopRun):
        return name
    return f"{name} {command.subaccount or 'all'}"

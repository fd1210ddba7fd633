"""The whole config file: ``KektradeConfig``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from kektrade.config.base import StrictModel
from kektrade.config.checks import SubaccountView, cross_field_errors
from kektrade.config.model_sections import (
    BacktestConfig,
    DataConfig,
    LiveConfig,
    PersistenceConfig,
    TelegramConfig,
    TuiConfig,
    WebConfig,
)
from kektrade.config.model_subaccount import Id, SubaccountConfig, SubaccountDefaults


class KektradeConfig(StrictModel):
    """A meta-strategy: subaccounts (strategy x pair x venue) plus data, backtest and front-end options."""

    schema_ref: str | None = Field(
        default=None, alias="$schema", description="Path or URL of this file's JSON Schema (for editors)."
    )
    metastrategy_id: Id = Field(description="Names the meta-strategy; part of the RunID.")
    description: str = Field(default="", description="Free text.")
    strategies_dir: str = Field(default="strategies", description="Folder searched for strategy classes.")
    history_dir: str = Field(default="history", description="Where run folders and the data cache live.")
    defaults: SubaccountDefaults = Field(
        default_factory=SubaccountDefaults,
        description="Any subaccount field except id; each subaccount starts from these.",
    )
    subaccounts: list[SubaccountConfig] = Field(
        min_length=1, description="The subaccounts (after merging defaults), at least one, unique ids."
    )
    backtest: BacktestConfig = Field(default_factory=BacktestConfig, description="Backtest period and fills.")
    data: DataConfig = Field(default_factory=DataConfig, description="Candle, mark-price and funding data.")
    persistence: PersistenceConfig = Field(
        default_factory=PersistenceConfig, description="Run database options."
    )
    tui: TuiConfig = Field(default_factory=TuiConfig, description="Terminal user interface.")
    web: WebConfig = Field(default_factory=WebConfig, description="Web page.")
    telegram: TelegramConfig = Field(default_factory=TelegramConfig, description="Telegram bot.")
    live: LiveConfig = Field(default_factory=LiveConfig, description="Live venue options.")

    @model_validator(mode="after")
    def _cross_field(self) -> KektradeConfig:
        given = "initial_balance" in self.defaults.model_fields_set
        views = [
            SubaccountView(i, s.id, s.venue, s.pair, given or "initial_balance" in s.model_fields_set)
            for i, s in enumerate(self.subaccounts)
        ]
        errors = cross_field_errors(views) + self._missing_files()
        if errors:
            raise ValueError("\n".join(errors))
        return self

    def _missing_files(self) -> list[str]:
        """With data.source "file", every backtested pair needs an entry in data.files."""
        if self.data.source != "file" or self.is_live:
            return []
        first_index: dict[str, int] = {}
        for index, sub in enumerate(self.subaccounts):
            first_index.setdefault(sub.pair, index)
        return [
            f"data.files: no file for {pair!r} (subaccounts[{index}].pair) while data.source is 'file'"
            for pair, index in first_index.items()
            if pair not in self.data.files
        ]

    @property
    def is_live(self) -> bool:
        """True when any subaccount trades on a live venue."""
        return any(not s.is_backtest for s in self.subaccounts)

    @property
    def strategies_path(self) -> Path:
        """``strategies_dir`` as a path (relative to the working directory)."""
        return Path(self.strategies_dir)

    @property
    def history_path(self) -> Path:
        """``history_dir`` as a path (relative to the working directory)."""
        return Path(self.history_dir)

    def subaccount(self, subaccount_id: str) -> SubaccountConfig:
        """The subaccount with this id; KeyError if there is none."""
        for sub in self.subaccounts:
            if sub.id == subaccount_id:
                return sub
        raise KeyError(subaccount_id)

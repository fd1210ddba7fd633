"""``LiveRunController``: the control facade for paper and live runs, with resume from the run database.

It behaves like ``RunController`` for front ends (snapshots, commands, start/stop), and adds what a run
on live candles needs: API credentials from the environment for live venues, and, when reopening a run
(``kektrade CONFIG --run-id ID``), the records of the run database handed to the engine as plain data
(``ResumeRecord``: latest saved state, fills, open orders, equity series, status, optimizer selection).
The engine saves its resume points itself, through the journal (``StateSaved`` every
``live.save_state_every`` candles and at shutdown).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from kektrade.config.model_root import KektradeConfig
from kektrade.config.secrets import Secrets, needed_credentials
from kektrade.control.facade import RunController
from kektrade.engine.build import BuildError
from kektrade.engine.live import ExchangeFactory
from kektrade.engine.live_build import build_live_session
from kektrade.engine.resume import ResumeRecord
from kektrade.engine.session import Session
from kektrade.exchange.live.ohlcv import make_exchange
from kektrade.optimize.wiring import optimizer_factory
from kektrade.persistence.database import open_run_database

log = logging.getLogger("kektrade.control")


def is_realtime_config(config: KektradeConfig) -> bool:
    """True when the config's enabled subaccounts run on live candles (paper or live venues)."""
    return any(s.is_realtime for s in config.subaccounts if s.enabled)


def credentialed_factory(config: KektradeConfig, secrets: Secrets) -> ExchangeFactory:
    """ccxt clients for the config: public ones for candles, ones with the subaccount's API key for trading."""
    subs = {s.id: s for s in config.subaccounts}

    def factory(exchange_id: str, testnet: bool, subaccount: str | None) -> Any:
        client = make_exchange(exchange_id, testnet=testnet, api_base=config.live.api_base)
        if subaccount is not None:
            sub = subs[subaccount]
            creds = secrets.credentials_for(sub)
            if creds is None:
                raise BuildError(f"subaccount {subaccount}: {needed_credentials(sub)}")
            client.apiKey, client.secret = creds.api_key, creds.api_secret
            if creds.api_passphrase:
                client.password = creds.api_passphrase  # ccxt's name for OKX's API passphrase
        return client

    return factory


def read_resume_records(db_path: Path, subaccounts: Iterable[str]) -> dict[str, ResumeRecord]:
    """Everything the engine needs to continue each subaccount, read from the run database."""
    records: dict[str, ResumeRecord] = {}
    with open_run_database(db_path) as db:
        for sid in subaccounts:
            times, equity, quote = db.equity(sid)
            statuses = db.status_changes(sid)
            selections = db.selections(sid)
            records[sid] = ResumeRecord(
                subaccount=sid,
                state=db.latest_state(sid),
                fills=db.fills(sid),
                open_orders=db.open_orders(sid),
                equity_times_ms=times,
                equity=equity,
                equity_quote=quote,
                last_status=statuses[-1].status if statuses else None,
                last_selection=selections[-1].parameters if selections else None,
                intents=db.order_intents(sid),  # live order path (issue 17)
                exec_ids=db.exec_ids(sid),
            )
    return records


class LiveRunController(RunController):
    """Builds, runs and steers a paper or live run; resumes from ``resume_db`` when given."""

    bulk_journal = False  # every record durable about one batch interval after it happens (resume, crashes)

    def __init__(
        self,
        config: KektradeConfig,
        run_id: str = "",
        resume_db: Path | None = None,
        exchange_factory: ExchangeFactory | None = None,
        secrets: Secrets | None = None,
    ) -> None:
        super().__init__(config, run_id)
        self.resume_db = resume_db
        if exchange_factory is None:
            secrets = secrets or Secrets.from_environment(os.environ, Path(".env"))
            exchange_factory = credentialed_factory(config, secrets)
        self.exchange_factory = exchange_factory
        live = any(not s.is_paper for s in config.subaccounts if s.enabled)
        testnet = any(s.testnet for s in config.subaccounts if s.enabled)
        self._snapshot = replace(self._snapshot, mode="live" if live else "paper", testnet=testnet)

    def build(self) -> Session:
        """Load recent candles, prepare instances and, when resuming, restore them from the database."""
        records = None
        if self.resume_db is not None:
            ids = [s.id for s in self.config.subaccounts if s.enabled]
            records = read_resume_records(self.resume_db, ids)
            saved = sum(1 for r in records.values() if r.saved is not None)
            log.info("resuming %d of %d subaccounts from %s", saved, len(ids), self.resume_db)
        self.session = build_live_session(
            self.config, self.run_id, self.journal, self._publish, self.exchange_factory, records, optimizer_factory
        )
        self._publish(self.session.engine.snapshot())
        return self.session

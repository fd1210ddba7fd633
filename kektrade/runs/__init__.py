"""Run folders (history/<RunID>/) and run logging."""

from kektrade.runs.folders import (
    Run,
    RunNotFoundError,
    create_run,
    list_runs,
    make_run_id,
    resume_run,
    run_metastrategy_id,
)
from kektrade.runs.logs import setup_logging, teardown_logging

__all__ = [
    "Run",
    "RunNotFoundError",
    "create_run",
    "list_runs",
    "make_run_id",
    "resume_run",
    "run_metastrategy_id",
    "setup_logging",
    "teardown_logging",
]

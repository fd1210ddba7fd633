"""Run folders: history/<UTC yyyy-mm-dd_HH-MM-SS>_<metastrategy_id>/ with config, strategies, log, db."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kektrade.config.model_root import KektradeConfig

CONFIG_FILE = "config.json"
DB_FILE = "run.sqlite"
LOG_FILE = "kektrade.log"
STRATEGIES_DIR = "strategies"


@dataclass(frozen=True, slots=True)
class Run:
    """One run's identity and the paths inside its folder."""

    run_id: str
    folder: Path
    config_path: Path
    db_path: Path
    log_path: Path
    resumed: bool

    @classmethod
    def at(cls, folder: Path, resumed: bool) -> Run:
        """The Run living in ``folder`` (its name is the RunID)."""
        return cls(folder.name, folder, folder / CONFIG_FILE, folder / DB_FILE, folder / LOG_FILE, resumed)


class RunNotFoundError(Exception):
    """No usable run folder has this id; the message lists the most recent run ids."""

    def __init__(self, run_id: str, history_dir: Path, recent: list[str]) -> None:
        self.run_id, self.history_dir, self.recent = run_id, history_dir, recent
        listed = ", ".join(recent) if recent else "none"
        super().__init__(f"no run {run_id!r} in {history_dir}/; recent runs: {listed}")


def make_run_id(metastrategy_id: str, now: datetime) -> str:
    """``<UTC yyyy-mm-dd_HH-MM-SS>_<metastrategy_id>`` for an aware ``now``."""
    if now.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware (UTC) datetime")
    return f"{now.astimezone(UTC):%Y-%m-%d_%H-%M-%S}_{metastrategy_id}"


def _new_folder(history_dir: Path, run_id: str) -> Path:
    """Create and return a fresh folder for ``run_id``, suffixing ``-2``, ``-3``, ... when it is taken."""
    history_dir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        folder = history_dir / (run_id if attempt == 1 else f"{run_id}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise RuntimeError(f"too many runs named {run_id} in {history_dir}")


def create_run(
    config: KektradeConfig,
    config_text: str,
    history_dir: Path,
    strategy_files: Iterable[Path],
    now: datetime,
) -> Run:
    """Make ``history/<RunID>/`` with the config text, copies of the strategy files and an empty log."""
    folder = _new_folder(history_dir, make_run_id(config.metastrategy_id, now))
    run = Run.at(folder, resumed=False)
    run.config_path.write_text(config_text, encoding="utf-8")
    copies = folder / STRATEGIES_DIR
    copies.mkdir()
    for path in sorted(set(strategy_files)):
        shutil.copy2(path, copies / path.name)
    run.log_path.touch()
    return run


def list_runs(history_dir: Path) -> list[str]:
    """Ids of the run folders in ``history_dir`` (those holding config.json), most recent first."""
    if not history_dir.is_dir():
        return []
    folders = [p for p in history_dir.iterdir() if (p / CONFIG_FILE).is_file()]
    return [p.name for p in sorted(folders, key=lambda p: (p.name[:19], p.stat().st_mtime), reverse=True)]


def resume_run(run_id: str, history_dir: Path) -> Run:
    """The existing run ``run_id``; RunNotFoundError (listing the 10 most recent ids) if it is not there."""
    folder = history_dir / run_id
    if "/" in run_id or "\\" in run_id or run_id in ("", ".", "..") or not (folder / CONFIG_FILE).is_file():
        raise RunNotFoundError(run_id, history_dir, list_runs(history_dir)[:10])
    run = Run.at(folder, resumed=True)
    run.log_path.touch()
    return run


def run_metastrategy_id(run: Run) -> str | None:
    """The metastrategy_id recorded in a run's config.json, or None if unreadable."""
    try:
        data = json.loads(run.config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("metastrategy_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None

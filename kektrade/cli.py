"""The ``kektrade`` command: argument parsing and the composition root that wires a run together."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kektrade import __version__
from kektrade.analysis.report import format_results_table
from kektrade.config import ConfigError, KektradeConfig, SecretRedactor, Secrets, parse_config, schema_text
from kektrade.control.catalog import runs_table, summarize_run
from kektrade.control.download import DownloadFailed, download_config_data, network_cause
from kektrade.control.facade import RunController, RunPaths
from kektrade.control.headless import HeadlessRunner, failed_subaccounts
from kektrade.control.notices import data_notices
from kektrade.control.stored import StoredRunController, StoredRunError
from kektrade.data.market import DataError
from kektrade.engine.build import BuildError
from kektrade.exchange.sim.exchange import SimError
from kektrade.optimize.space import OptimizationConfigError
from kektrade.optimize.validation import setup_errors
from kektrade.persistence.database import open_run_database
from kektrade.runs import (
    Run,
    RunNotFoundError,
    create_run,
    list_runs,
    resume_run,
    run_metastrategy_id,
    setup_logging,
    teardown_logging,
)
from kektrade.runs.logs import redacting
from kektrade.strategy.loader import StrategyLoadError, load_config_strategies, strategy_files

log = logging.getLogger("kektrade.cli")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SUBCOMMANDS = ("validate", "schema", "runs", "check", "show", "download")
WEB_COMMANDS = ("serve", "report")  # kektrade.web.commands


class UsageError(Exception):
    """Bad input from the user (config, strategy, run id): printed, exit code 2."""


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kektrade",
        description="Run a kektrade meta-strategy described by one JSON config file.",
        epilog="other commands: kektrade validate CONFIG.json | kektrade check CONFIG.json | kektrade schema | "
        "kektrade runs | kektrade show RUNID | kektrade download CONFIG.json | kektrade serve [RUNID ...] | "
        "kektrade report RUNID",
    )
    parser.add_argument("config", type=Path, metavar="CONFIG.json", help="the meta-strategy config file")
    parser.add_argument("--no-tui", action="store_true", help="run without the terminal UI (logs to stderr)")
    parser.add_argument("--run-id", metavar="ID", help="continue an existing run (same folder and database)")
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when a subaccount's strategy raised (shown as FAILED)"
    )
    parser.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="log level (default INFO)"
    )
    parser.add_argument("--version", action="version", version=f"kektrade {__version__}")
    return parser


def _sub_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"kektrade {command}")
    if command == "validate":
        parser.description = (
            "Check a config, that each strategy it names exists, and what a run would refuse at start "
            "(undeclared parameter names, open search spaces, optimizations the venue cannot run)."
        )
        parser.add_argument("config", type=Path, metavar="CONFIG.json", help="the config file to check")
    elif command == "check":
        parser.description = (
            "Check each strategy of a config on its data for look-ahead (indicator values, column reads and "
            "order decisions at a candle that depend on later candles) and for a too short warm-up "
            "(startup_candle_count). Exit 0 when every check passes, 1 when one fails, 2 on a bad config."
        )
        parser.add_argument("config", type=Path, metavar="CONFIG.json", help="the config file to check")
    elif command == "schema":
        parser.description = "Print the JSON Schema of kektrade configs."
    elif command == "download":
        parser.description = "Download the candles, mark prices and funding a download-source config needs."
        parser.add_argument("config", type=Path, metavar="CONFIG.json", help="a config with data.source 'download'")
        parser.add_argument("--api-base", metavar="URL", help="replace the exchange's API hosts (default: config)")
    elif command == "show":
        parser.description = "Open the TUI on a stored run (panes, detail, results); read-only."
        parser.add_argument("run_id", metavar="RUNID", help="the run folder's name (see kektrade runs)")
        parser.add_argument("--history-dir", type=Path, default=Path("history"), help="default: history")
    else:
        parser.description = "List recent runs, most recent first: status, period, venue, subaccounts, return."
        parser.add_argument("--history-dir", type=Path, default=Path("history"), help="default: history")
        parser.add_argument("--limit", type=int, default=20, help="how many runs to list (default 20)")
    return parser


def _read_config(path: Path) -> tuple[KektradeConfig, str]:
    """The validated config and its text; UsageError with every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the config file: {exc}") from None
    try:
        return parse_config(text, source=str(path)), text
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def _check_strategies(config: KektradeConfig) -> list[Path]:
    """Import every strategy the config names; the files defining them. UsageError otherwise."""
    try:
        load_config_strategies(config)
        return sorted(set(strategy_files(config).values()))
    except (ConfigError, StrategyLoadError) as exc:
        raise UsageError(str(exc)) from None


def _open_run(config: KektradeConfig, text: str, files: list[Path], run_id: str | None) -> Run:
    """Resume ``run_id`` or create a new run folder."""
    if run_id is None:
        try:
            return create_run(config, text, config.history_path, files, datetime.now(tz=UTC))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise UsageError(
                f"history_dir: cannot create a run folder in {str(config.history_path)!r}: {reason}"
            ) from None
    try:
        run = resume_run(run_id, config.history_path)
    except RunNotFoundError as exc:
        raise UsageError(str(exc)) from None
    recorded = run_metastrategy_id(run)
    if recorded is not None and recorded != config.metastrategy_id:
        raise UsageError(
            f"--run-id: run {run_id!r} belongs to meta-strategy {recorded!r}, not {config.metastrategy_id!r}"
        )
    return run


def is_realtime_config(config: KektradeConfig) -> bool:
    """True when the config's enabled subaccounts run on live candles (paper or live venues)."""
    return any(s.is_realtime for s in config.subaccounts if s.enabled)


def _controller(config: KektradeConfig, run: Run | None) -> RunController:
    """The backtest controller, or the live one (paper/live venues; resumed from ``run``'s database)."""
    if not is_realtime_config(config):
        return RunController(config)
    from kektrade.control.live import LiveRunController  # loads ccxt (~0.5 s): not for a backtest
    resume_db = run.db_path if run is not None and run.resumed and run.db_path.is_file() else None
    return LiveRunController(config, resume_db=resume_db)


def _build(config: KektradeConfig, run: Run | None = None, redactor: SecretRedactor | None = None) -> RunController:
    """Load data and strategies and prepare every instance; a config the engine cannot run is exit 2."""
    controller = _controller(config, run)
    if redactor is not None:
        controller.use_redactor(redactor)
    try:
        controller.build()
    except (BuildError, OptimizationConfigError, DataError, StrategyLoadError) as exc:
        raise UsageError(str(exc)) from None
    except SimError as exc:  # the venue refused a setting (leverage above the risk tier's limit, ...)
        raise UsageError(_name_subaccounts(config, str(exc))) from None
    except Exception as exc:
        if type(exc).__module__.startswith("ccxt"):  # a download or live venue unreachable: say why
            where = config.data.download.api_base or config.data.download.exchange
            raise RuntimeError(f"cannot reach {where}: {network_cause(exc)} ({type(exc).__name__})") from exc
        raise
    return controller


def _name_subaccounts(config: KektradeConfig, message: str) -> str:
    """``subaccounts[i] (id).leverage: <message>`` for the subaccounts whose leverage the message names."""
    found = re.match(r"leverage ([0-9.]+) ", message)
    if found is None:
        return f"subaccounts: {message}"
    value = float(found.group(1))
    places = [f"subaccounts[{i}] ({s.id}).leverage" for i, s in enumerate(config.subaccounts) if s.leverage == value]
    return f"{', '.join(places) or 'subaccounts'}: {message}"


def _finished_results(run: Run) -> dict[str, object] | None:
    """The stored results of a finished run (reopening it shows them instead of running again)."""
    with open_run_database(run.db_path) as db:
        if db.get_meta("status") == "finished":
            return db.load_results()
    return None


def _show_finished(run: Run, results: dict[str, object], text: str, args: argparse.Namespace) -> int:
    """Reopening a finished backtest shows its stored results instead of running it again."""
    setup_logging(run, args.log_level, console=args.no_tui, redactor=None)
    try:
        log.info("resuming run %s: it finished earlier, showing its results", run.run_id)
        if run.config_path.read_text(encoding="utf-8") != text:
            log.warning("%s differs from the run's config.json; the stored results are unchanged", args.config)
        print(f"run {run.run_id} finished earlier; its results:\n")
        print(format_results_table(results))
        print(finished_run_pointer(run))
        return EXIT_OK
    finally:
        teardown_logging()


def finished_run_pointer(run: Run) -> str:
    """Where to study a finished run: its files and the three viewers."""
    return (
        f"\nfiles: {run.folder / 'results.json'}, {run.folder / 'trades.json'}, {run.db_path}\n"
        f"browse it:  kektrade show {run.run_id}     (terminal UI)\n"
        f"            kektrade serve {run.run_id}    (web page on http://127.0.0.1:8765/)\n"
        f"            kektrade report {run.run_id}   (one self-contained HTML file)"
    )


def _start_faces(controller: RunController, secrets: Secrets | None, config_path: Path | None = None) -> list[Any]:
    """The web page and the Telegram bot, when the config enables them (each has start/stop)."""
    config = controller.config
    faces: list[Any] = []
    if config.web.enabled:
        from kektrade.web.commands import live_server

        server = live_server(controller, config.web.host, config.web.port)
        try:
            server.start()
        except OSError as exc:
            raise RuntimeError(f"web.port: cannot serve on {config.web.host}:{config.web.port} ({exc})") from None
        if server.guard.needs_token:  # printed once: remote viewing needs it
            print(f"web page {server.url} token: {server.guard.token} one-time link: {server.login_url()}")
        faces.append(server)
    if config.telegram.enabled and secrets is not None and secrets.telegram_token:
        from kektrade.telegram.bot import TelegramBot

        bot = TelegramBot(
            controller,
            secrets.telegram_token,
            list(config.telegram.chat_ids),
            list(config.telegram.notify),
            config_path=config_path,
            secrets=secrets.values(),
        )
        bot.start()
        faces.append(bot)
    return faces


def start_main_job(
    controller: RunController, run: Run, no_tui: bool, secrets: Secrets | None = None, config_path: Path | None = None
) -> int:
    """Attach the run folder and database, start the enabled faces, run headless or in the TUI.

    A reopened backtest that did not finish starts over into its emptied database (see docs/runs.md);
    paper and live runs continue from their saved state.
    """
    restart = run.resumed and not is_realtime_config(controller.config)
    controller.attach(RunPaths(run.run_id, run.folder, run.db_path, restart=restart))
    faces: list[Any] = []
    try:
        faces = _start_faces(controller, secrets, config_path)
        if no_tui:
            return HeadlessRunner(controller, out=sys.stderr).run()  # sys.stderr now: the redacting stream
        from kektrade.tui.app import run_tui

        return run_tui(controller)
    finally:
        for face in reversed(faces):
            face.stop()
        controller.close()


def _secrets() -> Secrets:
    """The secrets of the environment and ./.env; UsageError naming the line of a malformed .env."""
    try:
        return Secrets.from_environment(os.environ, Path(".env"))
    except (ConfigError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(str(exc)) from None


def _early_redactor() -> SecretRedactor:
    """A redactor of every secret known before anything else runs (a malformed .env: the environment's)."""
    try:
        return SecretRedactor(_secrets().values())
    except UsageError:
        return SecretRedactor(Secrets(os.environ).values())


def _run(args: argparse.Namespace) -> int:
    config, text = _read_config(args.config)
    secrets = _secrets()
    redactor = SecretRedactor(secrets.values())
    try:
        secrets.require_for(config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    files = _check_strategies(config)
    resumed: Run | None = None
    if args.run_id is not None:
        resumed = _open_run(config, text, files, args.run_id)
        stored = _finished_results(resumed)
        if stored is not None:
            return _show_finished(resumed, stored, text, args)
    controller = _build(config, resumed, redactor)
    run = resumed if resumed is not None else _open_run(config, text, files, None)
    setup_logging(run, args.log_level, console=args.no_tui, redactor=redactor)
    try:
        verb = "resuming" if run.resumed else "starting"
        log.info("%s run %s (kektrade %s)", verb, run.run_id, __version__)
        if run.resumed and run.config_path.read_text(encoding="utf-8") != text:
            log.warning("%s differs from the run's config.json; running with %s", args.config, args.config)
        for notice in data_notices(config):
            log.warning("%s", notice)
        code = start_main_job(controller, run, args.no_tui, secrets, args.config)
        failed = failed_subaccounts(controller.results)
        if code == EXIT_OK and failed and args.strict:
            print(f"error: --strict: the strategy of {', '.join(failed)} raised (FAILED)", file=sys.stderr)
            return EXIT_FAILURE
        return code
    except Exception as exc:
        log.exception("run %s failed", run.run_id)
        print(f"error: {exc} (traceback in {run.log_path})", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        teardown_logging()


def _validate(args: argparse.Namespace) -> int:
    config, _text = _read_config(args.config)
    _check_strategies(config)
    errors = setup_errors(config, load_config_strategies(config))  # what the run would refuse at start
    if errors:
        raise UsageError(f"{args.config}: {len(errors)} problem(s):\n" + "\n".join(f"  {e}" for e in errors))
    print(f"ok: {len(config.subaccounts)} subaccounts")
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    """``kektrade check``: the strategy check of every enabled subaccount (see kektrade.strategy.check)."""
    from kektrade.engine.preflight import check_config

    config, _text = _read_config(args.config)
    _check_strategies(config)
    failed = False
    for result in check_config(config):
        print(f"== {result.subaccount}" + (f" ({result.report.strategy})" if result.report else ""))
        if result.report is None:
            print(f"  cannot check: {result.error}")
            failed = True
            continue
        print("\n".join(f"  {line}" for line in result.report.lines()))
        failed = failed or result.report.lookahead_failed or bool(result.report.warmup)
    return EXIT_FAILURE if failed else EXIT_OK


def _runs(args: argparse.Namespace) -> int:
    ids = list_runs(args.history_dir)
    if not ids:
        print(f"no runs in {args.history_dir}/")
        return EXIT_OK
    print(runs_table([summarize_run(args.history_dir / run_id) for run_id in ids[: args.limit]]))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    folder = args.history_dir / args.run_id
    try:
        if "/" in args.run_id or not (folder / "config.json").is_file():
            raise RunNotFoundError(args.run_id, args.history_dir, list_runs(args.history_dir)[:10])
        controller = StoredRunController(folder)
    except (RunNotFoundError, StoredRunError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    from kektrade.tui.app import run_tui

    return run_tui(controller, start_run=False)


def _download(args: argparse.Namespace) -> int:
    config, _text = _read_config(args.config)
    if args.api_base:
        download = config.data.download.model_copy(update={"api_base": args.api_base})
        config = config.model_copy(update={"data": config.data.model_copy(update={"download": download})})
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
                   TimeRemainingColumn(), transient=False)  # fmt: skip

    def progress(label: str) -> Any:
        task = bar.add_task(label, total=1)
        return lambda done, total: bar.update(task, completed=done, total=max(total, done, 1))

    try:
        with bar:
            found = download_config_data(config, progress)
    except DownloadFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except DataError as exc:
        raise UsageError(str(exc)) from None
    for data in found:
        extras = (", mark prices" if data.has_mark else "") + (", funding" if data.funding is not None else "")
        print(f"{data.pair} {data.timeframe}: {len(data.candles):,} candles{extras}")
    return EXIT_OK


def _web_command(argv: list[str]) -> int:
    """``kektrade serve [RUNID ...]`` and ``kektrade report RUNID`` (kektrade.web.commands)."""
    from kektrade.runs import RunNotFoundError
    from kektrade.web import commands

    parser = argparse.ArgumentParser(prog=f"kektrade {argv[0]}")
    (commands.add_serve_arguments if argv[0] == "serve" else commands.add_report_arguments)(parser)
    args = parser.parse_args(argv[1:])
    try:
        return commands.serve(args) if argv[0] == "serve" else commands.report(args)
    except RunNotFoundError as exc:
        raise UsageError(str(exc)) from None


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in WEB_COMMANDS:
        return _web_command(argv)
    if argv and argv[0] in SUBCOMMANDS:
        args = _sub_parser(argv[0]).parse_args(argv[1:])
        if argv[0] == "schema":
            sys.stdout.write(schema_text())
            return EXIT_OK
        if argv[0] == "check":
            return _check(args)
        if argv[0] == "show":
            return _show(args)
        if argv[0] == "download":
            return _download(args)
        return _validate(args) if argv[0] == "validate" else _runs(args)
    return _run(_run_parser().parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kektrade`` console script; returns the exit code (0 ok, 1 failure, 2 usage).

    Secrets are redacted from the first line of output on: before the config is read, stdout, stderr and
    every log record pass through the redactor of the environment's and .env's secrets.
    """
    with redacting(_early_redactor()):
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        return _dispatch(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exc:  # argparse: --help/--version (0) or bad usage (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a failure before the run's log exists (e.g. history/ not writable)
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())

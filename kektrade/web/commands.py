"""The ``kektrade serve`` and ``kektrade report`` commands (parsed and dispatched by kektrade.cli)."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from kektrade.control.facade import RunController
from kektrade.control.viewing import LiveView, RunCatalog, open_stored
from kektrade.web.report import write_report
from kektrade.web.server import WebServer


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kektrade serve``."""
    parser.description = "Serve the web page of finished (or running) runs from their run folders."
    parser.add_argument("run_ids", nargs="*", metavar="RUNID", help="runs to show (default: every run)")
    parser.add_argument("--history-dir", type=Path, default=Path("history"), help="default: history")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name to answer besides loopback and the bound address (repeatable)",
    )


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``kektrade report``."""
    parser.description = "Write one self-contained HTML report of a run (charts and tables inline, opens offline)."
    parser.add_argument("run_id", metavar="RUNID")
    parser.add_argument("--history-dir", type=Path, default=Path("history"), help="default: history")
    parser.add_argument("-o", "--output", type=Path, help="default: history/<RUNID>/report.html")


def serve(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until interrupted (or ``stop`` is set); prints the address, and the token once when remote."""
    for run_id in args.run_ids:
        open_stored(run_id, args.history_dir)  # RunNotFoundError names the recent runs
    catalog = RunCatalog(history_dir=args.history_dir, only=args.run_ids)
    server = WebServer(catalog, args.host, args.port, allowed_hosts=tuple(args.allow_host))
    server.start()
    try:
        print(f"serving {len(catalog.ids())} run(s) on {server.url}", flush=True)
        if server.guard.needs_token:
            print(f"token (header 'Authorization: Bearer <token>'): {server.guard.token}", flush=True)
            print(f"one-time browser link: {server.login_url()}", flush=True)
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def report(args: argparse.Namespace) -> int:
    """Write the report file and print its path."""
    view = open_stored(args.run_id, args.history_dir)
    path = write_report(view, args.output or view.run.folder / "report.html")
    print(f"report written to {path}")
    return 0


def live_server(controller: RunController, host: str, port: int) -> WebServer:
    """The web page of the run going on in this process (its run folder's siblings are not shown)."""
    return WebServer(RunCatalog([LiveView(controller)]), host, port)

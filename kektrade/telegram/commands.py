"""The bot's commands: text arguments in, an HTML reply out; every action goes through the RunController.

Replies are ``Reply`` values: HTML text, optional inline buttons (confirmations) and an optional photo.
Commands that read the whole history (profit, trades, performance) run on a worker thread of the bot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kektrade.control.facade import RunController
from kektrade.control.history import TradeRow, closed_trades, subaccount_fills
from kektrade.telegram.chart import COLORS, DRAWDOWN, equity_png, returns_pct
from kektrade.telegram.formatting import escape, fills_text, orders_text, status_text
from kektrade.telegram.logtail import LogTail
from kektrade.telegram.reload import ConfigReloader
from kektrade.telegram.reports import (
    PERIODS,
    balance_html,
    live_html,
    performance_html,
    periodic_html,
    profit_html,
    trades_html,
)

CONFIRM_WORD = "confirm"
NO_ACTION = "cancel"  # callback data of the "No" button

COMMANDS: tuple[tuple[str, str], ...] = (
    ("status", "Mode, state, progress, equity and one line per subaccount"),
    ("balance", "Equity of each subaccount and of the account"),
    ("profit", "PnL, return, drawdown, closed trades and win rate"),
    ("daily", "Account PnL per day: /daily [days]"),
    ("weekly", "Account PnL per week: /weekly [weeks]"),
    ("monthly", "Account PnL per month: /monthly [months]"),
    ("performance", "Closed-trade PnL per subaccount and pair"),
    ("trades", "Latest closed trades: /trades id [count]"),
    ("orders", "Open orders: /orders [id]"),
    ("fills", "Latest fills: /fills [id]"),
    ("live", "Live optimizer: parameters in use and leaderboard: /live [id]"),
    ("chart", "The equity chart as a picture (returns in %)"),
    ("logs", "The latest log lines: /logs [count]"),
    ("pause", "Pause trading: /pause [id|all]"),
    ("resume", "Resume trading: /resume [id|all]"),
    ("stopentry", "No new positions (exits still work): /stopentry [id|all]"),
    ("startentry", "Allow new positions again: /startentry [id|all]"),
    ("cancel", "Cancel open orders: /cancel id|all"),
    ("flatten", "Cancel orders and close the position: /flatten id|all (asks to confirm)"),
    ("stop", "Stop the run; results are written (asks to confirm)"),
    ("reload", "Re-read the config file and apply what is safe while running"),
    ("results", "The results table once the run has finished"),
    ("help", "This list"),
)


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer: HTML text, inline buttons (label, callback data) and an optional PNG photo."""

    html: str
    buttons: tuple[tuple[str, str], ...] = ()
    photo: bytes | None = None


class UsageError(ValueError):
    """A command with a bad or missing argument; its message is the reply."""


def help_text() -> str:
    """The /help answer (HTML)."""
    lines = [f"/{name} - {escape(description)}" for name, description in COMMANDS]
    return "<b>kektrade commands</b>\n" + "\n".join(lines)


def _count(args: Sequence[str], index: int, default: int, limit: int = 100) -> int:
    if len(args) <= index:
        return default
    try:
        value = int(args[index])
    except ValueError:
        raise UsageError(f"expected a number, got {escape(args[index])!r}") from None
    if not 1 <= value <= limit:
        raise UsageError(f"the count must be between 1 and {limit}")
    return value


class ChatCommands:
    """Answers the bot's commands against one RunController (thread-safe: it only reads and queues)."""

    def __init__(
        self, controller: RunController, log_tail: LogTail | None = None, config_path: Path | None = None
    ) -> None:
        self.controller = controller
        self.log_tail = log_tail or LogTail()
        self.reloader = ConfigReloader(controller, config_path)
        ctl = controller
        text: dict[str, Callable[[Sequence[str]], str]] = {
            "status": lambda a: escape(status_text(ctl.snapshot(), ctl.run_id)),
            "balance": lambda a: balance_html(ctl.snapshot()),
            "profit": lambda a: profit_html(ctl.snapshot(), self._trades()),
            "performance": lambda a: performance_html(ctl.snapshot(), self._trades()),
            "trades": self._trades_cmd,
            "orders": lambda a: "<pre>" + escape(orders_text(ctl.snapshot(), self._target(a, True))) + "</pre>",
            "fills": lambda a: "<pre>" + escape(fills_text(ctl.snapshot(), self._target(a, True))) + "</pre>",
            "live": lambda a: live_html(ctl.snapshot(), self._target(a, True)),
            "logs": lambda a: self.log_tail.html(_count(a, 0, 20)),
            "pause": lambda a: self._steer("pause", a),
            "resume": lambda a: self._steer("resume", a),
            "stopentry": lambda a: self._steer("stopentry", a),
            "startentry": lambda a: self._steer("startentry", a),
            "cancel": lambda a: self._steer("cancel", a, optional=False),
            "reload": lambda a: self.reloader.reload(),
            "results": lambda a: self._results(),
            "help": lambda a: help_text(),
        }
        for period in PERIODS:
            text[period] = self._periodic(period)
        self._text = text

    def _periodic(self, period: str) -> Callable[[Sequence[str]], str]:
        def answer(args: Sequence[str]) -> str:
            return periodic_html(self.controller.snapshot(), period, _count(args, 0, PERIODS[period], 366))

        return answer

    def answer(self, command: str, args: Sequence[str]) -> Reply:
        """The reply to ``/command args`` (usage errors are replies too)."""
        try:
            if command == "flatten":
                return self._flatten(args)
            if command == "stop":
                return self._ask_stop()
            if command == "chart":
                return self._chart()
            handler = self._text.get(command)
            if handler is None:
                return Reply(f"unknown command /{escape(command)}; see /help")
            return Reply(handler(args))
        except UsageError as exc:
            return Reply(str(exc))

    def press(self, data: str) -> str:
        """The outcome of an inline button (``flatten:<id|all>``, ``stop``, ``cancel``), as HTML."""
        if data == NO_ACTION:
            return "cancelled; nothing was sent"
        if self.controller.finished:
            return "the run has ended; nothing was sent"
        if data == "stop":
            self.controller.stop()
            return "stop: sent (the run ends after the current candle; results are written)"
        action, _, name = data.partition(":")
        if action != "flatten":
            return f"unknown button {escape(data)!r}"
        target = None if name == "all" else self._target([name], optional=False)
        self.controller.flatten(target)
        return f"flatten {escape(name)}: sent"

    # -- helpers ---------------------------------------------------------------------------------

    def _ids(self) -> list[str]:
        return [row.id for row in self.controller.snapshot().subaccounts]

    def _target(self, args: Sequence[str], optional: bool) -> str | None:
        """The subaccount named by the first argument; None for ``all`` (or nothing, when optional)."""
        known = ", ".join(self._ids()) or "-"
        if not args:
            if optional:
                return None
            raise UsageError(f"name a subaccount or 'all'; subaccounts: {escape(known)}")
        name = args[0]
        if name.lower() == "all":
            return None
        if name not in self._ids():
            raise UsageError(f"unknown subaccount {escape(name)!r}; subaccounts: {escape(known)}")
        return name

    def _steer(self, action: str, args: Sequence[str], optional: bool = True) -> str:
        target = self._target(args, optional)
        if self.controller.finished:
            return f"the run has ended; nothing to {action}"
        ctl = self.controller
        send: dict[str, Callable[[str | None], None]] = {
            "pause": ctl.pause,
            "resume": ctl.resume,
            "cancel": ctl.cancel_orders,
            "stopentry": lambda t: ctl.allow_entries(t, False),
            "startentry": lambda t: ctl.allow_entries(t, True),
        }
        send[action](target)
        return f"{action} {escape(target or 'all')}: sent"

    def _trades(self) -> dict[str, list[TradeRow]]:
        ctl = self.controller
        snap = ctl.snapshot()
        db = ctl.paths.db_path if ctl.paths is not None and ctl.results is None else None
        return {r.id: closed_trades(subaccount_fills(r.id, ctl.results, db, snap)) for r in snap.subaccounts}

    def _trades_cmd(self, args: Sequence[str]) -> str:
        target = self._target(args, optional=False)
        if target is None:
            raise UsageError("name one subaccount: /trades id [count]")
        return trades_html(target, self._trades()[target], _count(args, 1, 10))

    def _flatten(self, args: Sequence[str]) -> Reply:
        target = self._target(args, optional=False)
        name = target or "all"
        if len(args) >= 2 and args[1].lower() == CONFIRM_WORD:  # typed confirmation (scripts, old clients)
            return Reply(self.press(f"flatten:{name}"))
        what = "every subaccount" if target is None else escape(name)
        return Reply(
            f"<b>Flatten {what}?</b> The open orders are cancelled and the position is closed at market.",
            ((f"Flatten {name}", f"flatten:{name}"), ("No", NO_ACTION)),
        )

    def _ask_stop(self) -> Reply:
        if self.controller.finished:
            return Reply("the run has ended; nothing to stop")
        return Reply(
            "<b>Stop the run?</b> It ends after the current candle and its results are written.",
            (("Stop the run", "stop"), ("No", NO_ACTION)),
        )

    def _chart(self) -> Reply:
        snap = self.controller.snapshot()
        if len(snap.equity_times_ms) < 2:
            return Reply("no equity yet")
        series = [("account", returns_pct(snap.equity_total), COLORS[0])]
        for n, (sid, values) in enumerate(sorted(snap.equity_by_subaccount.items()), 1):
            series.append((sid, returns_pct(values), COLORS[n % len(COLORS)]))
        peak, dd = float("-inf"), []
        for v in snap.equity_total:
            peak = max(peak, v)
            dd.append(100.0 * (v / peak - 1.0) if peak > 0 else 0.0)
        series.append(("drawdown", dd, DRAWDOWN))
        names = {COLORS[0]: "blue", COLORS[1]: "orange", COLORS[2]: "green", COLORS[3]: "purple",
                 COLORS[4]: "cyan", COLORS[5]: "olive", COLORS[6]: "pink", DRAWDOWN: "red"}  # fmt: skip
        legend = ", ".join(f"{escape(name)} ({names[color]})" for name, _, color in series)
        caption = f"<b>Equity</b>, returns in % from the start: {legend}"
        return Reply(caption, photo=equity_png(snap.equity_times_ms, series))

    def _results(self) -> str:
        if not self.controller.finished:
            return "still running; /results answers once the run has finished"
        if self.controller.error is not None:
            return f"the run failed: {escape(type(self.controller.error).__name__)}"
        text = self.controller.results_text()
        return "<pre>" + escape(text) + "</pre>" if text else "no results"

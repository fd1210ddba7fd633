"""The ``?`` help screen: every key of the main screen and what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP_TEXT = """\
# kektrade — keys

| key | action |
|-----|--------|
| `↑` `↓` / mouse | select a subaccount (the other panes follow) |
| `enter` / click a selected row | detail screen of the subaccount |
| `p` | pause / resume the selected subaccount |
| `P` | pause all subaccounts (resume all when none runs) |
| `f` | flatten the selected subaccount (asks first) |
| `F` | flatten all subaccounts (asks first) |
| `c` | cancel the selected subaccount's open orders |
| `e` / `E` | no new positions on the selected subaccount (exits and reduce-only orders still work) / allow them again |
| `a` | open orders: all subaccounts / the selected one |
| `t` | next theme |
| `/` | search the log (`enter` keeps the filter, `esc` clears it) |
| `l` | log level filter: DEBUG → INFO → WARNING → ERROR |
| `r` | results (once the run has ended) |
| `tab` | next pane (the equity series list toggles with `space` or a click) |
| `?` | this help |
| `q` | quit (asks first while the run is going; stops the run, results are still written) |

On the detail screen: `1` chart (candles, plot indicators, ▲ buy / ▼ sell at the fill prices),
`2` fills and `3` closed trades (newest first; more rows load as you scroll), `4` equity;
`+` / `-` zoom the chart, `[` / `]` move it earlier / later, `esc` goes back.

The subaccounts table shows the return (PnL%) and the drawdown from the peak (DD%) of each
subaccount's quote equity; the equity pane plots every series as a return in %, its legend in
the pane's lower border.

Commands act between engine chunks; a finished run no longer takes commands.
"""


class HelpScreen(ModalScreen[None]):
    """Key reference; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "close")]

    def compose(self) -> ComposeResult:
        """The help text."""
        with VerticalScroll(id="help-box"):
            yield Markdown(HELP_TEXT)

    def action_dismiss_help(self) -> None:
        """Close the help screen."""
        self.dismiss(None)

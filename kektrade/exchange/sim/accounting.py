"""Position and wallet accounting of the simulated venue, to Bybit's formulas.

The wallet balance is the subaccount's cash in the settle currency; position margin and order margin are
reservations inside it. Realized PnL and fees move the wallet at each fill, funding at each settlement;
unrealized PnL is computed at mark only when asked (never per candle).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from librt.vecs import vec
from mypy_extensions import i64, mypyc_attr

from kektrade.domain import contract_math as cm
from kektrade.domain.journal import FillRecorded, Journal
from kektrade.domain.specs import ContractSpec
from kektrade.domain.types import Fill, FillKind, MarginMode, PositionView, RiskTier, WalletView

WINDOW: Final = 256  # candles per column window at most (SimAccounting._load_window)
WINDOW_MIN: Final = 16  # ... and after a jump (quiet candles skipped, a clock set)


def _finite_or_zero(price: float) -> float:
    """Views report a price that can never be reached (e.g. a 1x inverse short's) as 0.0: none."""
    return price if math.isfinite(price) else 0.0


@mypyc_attr(allow_interpreted_subclasses=True)
class SimAccounting:
    """The position and the wallet; liquidation and bankruptcy prices are kept current.

    The base of the simulator's single-inheritance chain (``SimAccounting`` <- ``SimOrders`` <-
    ``SimMatching`` <- ``SimExchange``): one chain rather than mixins because the chain compiles to one
    native class with mypyc. It also owns the market clock every layer reads.
    """

    spec: ContractSpec
    subaccount_id: str
    journal: Journal | None
    #: a backtest's held fill records (set beside ``journal`` by the owner of the run database): fills are
    #: appended there instead of passing the journal
    fill_records: list[FillRecorded] | None
    fills: list[Fill]
    #: Signed position size: a plain attribute (not a property) because every tick reads it.
    contracts: float = 0.0
    _i: int  # index of the latest simulated candle (-1 before the first)
    _tf: int
    _t: Sequence[int]
    _o: Sequence[float]
    _h: Sequence[float]
    _lo: Sequence[float]
    _c: Sequence[float]
    _mo: Sequence[float]
    _mh: Sequence[float]
    _ml: Sequence[float]
    _mc: Sequence[float]
    _has_mark: bool
    _quiet_until: int = 0  # see SimMatching.step
    #: Bybit's rules of the period: MM (and cross IM) on the mark price (True, since Sep 2025) or on entry.
    _on_mark: bool = True
    #: the classic contract account's cross liquidation (rules "classic", E33)
    _classic_cross: bool = False
    # The clock's values at candle _ci, kept rather than read again: the hot path asks for them several
    # times per candle. A quiet candle (SimMatching.step) moves only _i; they are read when next asked.
    _ci: int = -1
    _now_v: int = 0  # close time of candle _ci
    _last_v: float = 0.0  # its close
    _mark_v: float = 0.0  # its mark close
    # A window of the columns as native vectors, candles _w0 to _w1 - 1 (_w1 = 0: nothing loaded); see
    # _load_window.
    _w0: int = 0
    _w1: int = 0
    _wsize: int = WINDOW_MIN
    _wt: vec[i64]
    _wo: vec[float]
    _wh: vec[float]
    _wl: vec[float]
    _wc: vec[float]
    _wmo: vec[float]
    _wmh: vec[float]
    _wml: vec[float]
    _wmc: vec[float]

    def set_clock(self, i: int) -> None:
        """Make candle ``i`` the latest closed candle without simulating it (resuming a run, or re-indexing
        after the live loop trimmed old candles: the column window is reloaded)."""
        self._w0 = self._w1 = 0
        self._quiet_until = 0  # candle indexes may have moved (a trimmed live market)
        if i < 0:
            self._i = self._ci = i
            self._now_v, self._last_v, self._mark_v = 0, 0.0, 0.0
        else:
            self._close_candle(i, self._window_index(i))

    def _close_candle(self, i: int, k: int) -> None:
        """Candle ``i``, at place ``k`` of the window, is now the latest closed candle."""
        self._i = self._ci = i
        self._now_v = self._wt[k] + self._tf
        self._last_v = self._wc[k]
        self._mark_v = self._wmc[k]

    def _load_clock(self) -> None:
        """The clock's values of candle ``_i`` after quiet candles moved it (three reads of the columns)."""
        i = self._ci = self._i
        self._now_v = self._t[i] + self._tf
        self._last_v = self._c[i]
        self._mark_v = self._mc[i]

    @property
    def _now(self) -> int:
        """Close time of the latest simulated candle."""
        if self._ci != self._i:
            self._load_clock()
        return self._now_v

    @property
    def _last(self) -> float:
        """Its close."""
        if self._ci != self._i:
            self._load_clock()
        return self._last_v

    @property
    def _mark(self) -> float:
        """Its mark close."""
        if self._ci != self._i:
            self._load_clock()
        return self._mark_v

    def _window_index(self, i: int) -> int:
        """Candle ``i``'s place in the column window, loading the window from ``i`` on when it is outside."""
        k = i - self._w0
        return k if 0 <= k < self._w1 - self._w0 else self._load_window(i)

    def _load_window(self, i: int) -> int:
        """Copy the columns from candle ``i`` on into native vectors; returns ``i``'s place in them (0).

        Compiled code reads an ``array.array`` element through the generic protocol, boxing the index and
        the value (~300 instructions); a ``vec`` element is a native load, and an ``array.array`` slice
        becomes one in a single copy of its bytes (a list window boxed every value: ~5 % of a market
        maker's run). The columns stay arrays (forked optimizer workers share them), and each venue keeps
        just this window.
        """
        # a window that follows the last one grows (a run of busy candles), one after a jump starts small:
        # a busy candle between quiet stretches copies WINDOW_MIN values a column, not WINDOW
        self._wsize = min(self._wsize * 2, WINDOW) if i == self._w1 and self._w1 else WINDOW_MIN
        j = i + self._wsize
        self._wt = vec[i64](self._t[i:j])
        self._wo, self._wh = vec[float](self._o[i:j]), vec[float](self._h[i:j])
        self._wl, self._wc = vec[float](self._lo[i:j]), vec[float](self._c[i:j])
        if self._has_mark:
            self._wmo, self._wmh = vec[float](self._mo[i:j]), vec[float](self._mh[i:j])
            self._wml, self._wmc = vec[float](self._ml[i:j]), vec[float](self._mc[i:j])
        else:
            self._wmo, self._wmh, self._wml, self._wmc = self._wo, self._wh, self._wl, self._wc
        self._w0, self._w1 = i, i + len(self._wt)
        return 0

    def _current_prices(self) -> tuple[float, float]:
        """(last, mark) at the latest simulated close; zeros before the first candle."""
        return (self._last, self._mark)

    @property
    def _now_ms(self) -> int:
        return self._now

    def _init_accounting(
        self,
        initial_balance: float,
        leverage: float,
        margin_mode: MarginMode,
        taker_fee: float,
        maker_fee: float,
    ) -> None:
        spec = self.spec
        self._inverse = spec.is_inverse
        # the spec's numbers as native fields: the compiled hot path reads them on every order
        self._symbol = spec.symbol
        self._lot = spec.lot_step
        self._lot_inv = cm.exact_inverse(spec.lot_step)
        self._tick = spec.tick_size
        self._min_qty = spec.min_qty
        self._min_notional = spec.min_notional
        self._max_qty = spec.max_qty
        self._tiers = spec.risk_tiers
        # whose formulas (issue 11, ContractSpec.formulas): Bybit's fee-to-close buffer in IM/MM and the
        # liquidation price, OKX's tiers by position size with the taker fee in MM, Binance's plain MM - cum
        self._fee_buffer = spec.formulas == "bybit"
        self._by_size = spec.tiers_by_size
        self._okx = spec.formulas == "okx"
        self._wallet = float(initial_balance)
        self._leverage = float(leverage)
        self._margin_mode = MarginMode(margin_mode)
        self._taker = taker_fee
        self._maker = maker_fee
        self.contracts = 0.0  # signed position
        self._entry = 0.0
        self._extra = 0.0  # margin added to an isolated position (minus funding taken from it)
        self._liq = 0.0  # long: liquidated at or below; short: at or above (inf: never)
        self._bust = 0.0
        self._cur_realized = 0.0  # current holding: gross PnL - fees - funding
        self._cum_fees = 0.0
        self._cum_funding = 0.0
        self._cum_realized = 0.0
        self._order_margin = 0.0
        self._iso_margin = 0.0  # position margin of an isolated position, kept current

    # -- derived values --------------------------------------------------------------------------

    def _position_im(self, mark: float) -> float:
        """Initial margin: on entry price (isolated; and cross before Sep 2025) or on mark price (cross)."""
        if self.contracts == 0.0:
            return 0.0
        base = mark if self._margin_mode is MarginMode.CROSS and self._on_mark else self._entry
        return cm.initial_margin(self.contracts, base, self._leverage, self._inverse)

    def _close_fee_reserve(self) -> float:
        """Estimated fee to close, taken on the entry price (the part of IM/MM Bybit shows as fee; none on
        Binance and OKX)."""
        if self.contracts == 0.0 or not self._fee_buffer:
            return 0.0
        return cm.fee_to_close(
            abs(self.contracts), self._entry, self._leverage, self.contracts > 0, self._taker, self._inverse
        )

    def _position_margin(self, mark: float) -> float:
        """Margin held by the position: IM + fee to close (+ added margin when isolated)."""
        if self.contracts == 0.0:
            return 0.0
        pm = self._position_im(mark) + self._close_fee_reserve()
        return pm + self._extra if self._margin_mode is MarginMode.ISOLATED else pm

    def _upnl(self, mark: float) -> float:
        return cm.unrealized_pnl(self.contracts, self._entry, mark, self._inverse) if self.contracts else 0.0

    def _available(self, mark: float) -> float:
        """Available balance: isolated ignores UPNL; cross counts it (margin balance minus IM)."""
        if self._margin_mode is MarginMode.CROSS:
            return self._wallet + self._upnl(mark) - self._position_margin(mark) - self._order_margin
        return self._wallet - self._iso_margin - self._order_margin

    def _tier_at(self, price: float, extra_qty: float = 0.0) -> RiskTier:
        return cm.tier_for_position(self._tiers, abs(self.contracts) + extra_qty, price, self._inverse, self._by_size)

    # -- liquidation and bankruptcy prices ----------------------------------------------------------

    def _refresh_risk_prices(self) -> None:
        """Recompute liquidation/bankruptcy prices and the isolated margin after any change."""
        if self.contracts == 0.0:
            self._liq = 0.0
            self._bust = 0.0
            self._iso_margin = 0.0
            return
        q, e = abs(self.contracts), self._entry
        isolated = self._margin_mode is MarginMode.ISOLATED
        self._iso_margin = self._position_margin(e) if isolated else 0.0
        fee = 0.0 if isolated else self._close_fee_reserve()
        if self._by_size:  # OKX: the tier is the position size's, whatever the price
            self._liq = self._liq_in_tier(self._tier_at(e), fee)
        elif self._on_mark:
            first = self._liq_in_tier(self._tiers[0], fee)
            if 0.0 < first < math.inf and cm.position_value(q, first, self._inverse) <= self._tiers[0].limit_value:
                self._liq = first  # the common case: the position stays in the lowest tier
            else:
                self._liq = self._liq_on_mark(fee, first)
        else:  # rules before Sep 2025: MM on the entry price, the tier of the entry value
            self._liq = self._liq_on_entry(fee)
        if isolated:
            margin = cm.initial_margin(q, e, self._leverage, self._inverse) + self._extra
        elif self._classic_cross:
            free = self._wallet - self._order_margin
            self._bust = cm.bankruptcy_price_cross_classic(q, e, self.contracts > 0, free, self._taker, self._inverse)
            return
        else:
            margin = self._wallet - fee
        self._bust = self._price_where_loss_is(margin)

    def _liq_on_entry(self, close_fee: float) -> float:
        """The liquidation price under the rules before Sep 2025 (classic formula, MM on entry)."""
        q, e, long_ = abs(self.contracts), self._entry, self.contracts > 0
        tier = self._tier_at(e)
        if self._margin_mode is MarginMode.ISOLATED:
            return cm.liquidation_price_isolated_classic(
                q, e, self._leverage, long_, tier, self._extra, self._inverse
            )
        if self._classic_cross:
            return cm.liquidation_price_cross_classic(
                q, e, long_, tier, self._wallet, self._order_margin, self._taker, self._inverse
            )
        return cm.liquidation_price_cross_entry(q, e, long_, tier, self._wallet, close_fee, self._inverse)

    def _liq_on_mark(self, fee: float, first: float) -> float:
        """The liquidation price with MM evaluated at the price itself, in the tier that contains it
        (``first``: the price computed in the lowest tier, which does not contain it)."""
        q, inverse, tiers = abs(self.contracts), self._inverse, self._tiers
        if self.contracts > 0 and first <= 0.0:
            return 0.0  # a long that no price can liquidate (e.g. isolated at 1x)
        return cm.tier_consistent_price([(t, self._liq_in_tier(t, fee)) for t in tiers], q, inverse)

    def _liq_in_tier(self, tier: RiskTier, close_fee: float) -> float:
        """The liquidation price if the position's MM were computed in ``tier``."""
        q, e, long_ = abs(self.contracts), self._entry, self.contracts > 0
        if self._okx:
            tier = cm.okx_liquidation_tier(tier, self._taker)
        if self._margin_mode is MarginMode.ISOLATED:
            taker = self._taker if self._fee_buffer else 0.0  # Bybit: A/(1 -/+ c); elsewhere A counts fully
            return cm.liquidation_price_isolated(
                q, e, self._leverage, long_, tier, self._extra, taker, self._inverse
            )
        return cm.liquidation_price_cross(q, e, long_, tier, self._wallet, close_fee, self._inverse)

    def _price_where_loss_is(self, margin: float) -> float:
        """The price at which the position's loss equals ``margin`` (its bankruptcy price)."""
        q, e = abs(self.contracts), self._entry
        if self._inverse:
            if self.contracts > 0:  # loss q(1/P - 1/E) = margin
                return q / (q / e + margin) if q / e + margin > 0 else math.inf
            inv = q / e - margin  # short: loss q(1/E - 1/P) = margin
            return q / inv if inv > 0 else math.inf
        price = e - margin / q if self.contracts > 0 else e + margin / q
        return max(price, 0.0)

    # -- applying executions ---------------------------------------------------------------------

    def _apply_trade(
        self,
        contracts: float,
        price: float,
        fee_rate: float,
        time_ms: int,
        order_id: str,
        is_maker: bool,
        kind: FillKind = FillKind.TRADE,
    ) -> Fill:
        """Book one execution: fee, realized PnL of the closed part, new entry of the opened part."""
        inverse = self._inverse
        qty_abs = abs(contracts)
        fee = cm.trade_fee(qty_abs, price, fee_rate, inverse)
        pos = self.contracts
        gross = 0.0
        if pos == 0.0 or (pos > 0) == (contracts > 0):
            self._entry = cm.average_entry(abs(pos), self._entry, qty_abs, price, inverse)
            new_pos = cm.snap(pos + contracts, self._lot, self._lot_inv)  # no float dust
        else:
            closed = min(qty_abs, abs(pos))
            gross = cm.round_money(cm.unrealized_pnl(math.copysign(closed, pos), self._entry, price, inverse))
            new_pos = cm.snap(pos + contracts, self._lot, self._lot_inv)
            if abs(new_pos) < 1e-12:
                new_pos = 0.0
            if new_pos == 0.0 or (new_pos > 0) != (pos > 0):
                self._extra = 0.0
                if new_pos != 0.0:
                    self._entry = price
            elif self._extra:
                self._extra *= abs(new_pos) / abs(pos)
        self.contracts = new_pos
        self._wallet += gross - fee
        self._cum_fees += fee
        self._cum_realized += gross
        if new_pos == 0.0:
            self._cur_realized = 0.0
            self._entry = 0.0
        elif pos == 0.0 or (new_pos > 0) != (pos > 0):
            self._cur_realized = -fee
        else:
            self._cur_realized += gross - fee
        self._refresh_risk_prices()
        fill = Fill(
            time_ms,
            self._symbol,
            kind,
            contracts,
            price,
            fee,
            gross,
            order_id,
            is_maker,
            fee_rate,
            new_pos,
        )
        self._record_fill(fill)
        return fill

    def _record_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        records = self.fill_records
        if records is not None:  # a backtest's bulk journal: held for its next part, no journal call
            records.append(FillRecorded(self.subaccount_id, fill))
        elif self.journal is not None:
            self.journal.record(FillRecorded(self.subaccount_id, fill))

    def _settle_funding(self, time_ms: int, mark: float, rate: float) -> Fill | None:
        """Funding at a settlement: paid from available balance first, then from isolated margin."""
        if self.contracts == 0.0 or rate == 0.0:
            return None
        fee = cm.funding_fee(self.contracts, mark, rate, self._inverse)
        if fee > 0.0 and self._margin_mode is MarginMode.ISOLATED:
            shortfall = fee - max(self._available(mark), 0.0)
            if shortfall > 0.0:
                self._extra -= shortfall
        self._wallet -= fee
        self._cum_funding += fee
        self._cur_realized -= fee
        self._refresh_risk_prices()
        fill = Fill(
            time_ms, self._symbol, FillKind.FUNDING, self.contracts, mark, fee, 0.0, "", False, rate, self.contracts
        )
        self._record_fill(fill)
        return fill

    def _liquidate(self, time_ms: int) -> Fill:
        """Close the whole position at its bankruptcy price; the position's margin is lost."""
        pos = self.contracts
        price = self._bust
        if not (0.0 < price < math.inf):
            price = self._liq
        mark = price
        margin = self._position_margin(mark) if self._margin_mode is MarginMode.ISOLATED else self._wallet
        gross = cm.round_money(cm.unrealized_pnl(pos, self._entry, price, self._inverse))
        fee = cm.round_money(max(margin + gross, 0.0))  # whatever margin the loss left: the closing fee
        self._wallet += gross - fee
        self._cum_fees += fee
        self._cum_realized += gross
        self.contracts = 0.0
        self._entry = 0.0
        self._extra = 0.0
        self._cur_realized = 0.0
        self._refresh_risk_prices()
        fill = Fill(
            time_ms,
            self._symbol,
            FillKind.LIQUIDATION,
            -pos,
            price,
            fee,
            gross,
            "",
            False,
            self._taker,
            0.0,
        )
        self._record_fill(fill)
        return fill

    # -- views -------------------------------------------------------------------------------------

    def _position_view(self, mark: float) -> PositionView:
        q = abs(self.contracts)
        base = mark if self._on_mark else self._entry  # MM on mark (current rules) or on entry (before Sep 2025)
        tier = self._tier_at(base) if q else self.spec.risk_tiers[0]
        fee = self._close_fee_reserve()
        mm = cm.maintenance_margin(q, base, tier, self._inverse) + fee if q else 0.0
        return PositionView(
            symbol=self._symbol,
            contracts=self.contracts,
            entry_price=self._entry,
            mark_price=mark,
            liquidation_price=_finite_or_zero(self._liq),
            bankruptcy_price=_finite_or_zero(self._bust),
            unrealized_pnl=self._upnl(mark),
            realized_pnl=self._cur_realized,
            initial_margin=self._position_im(mark) + fee if q else 0.0,
            maintenance_margin=mm,
            leverage=self._leverage,
            margin_mode=self._margin_mode,
            position_value=cm.position_value(q, mark, self._inverse) if q else 0.0,
            settle_currency=self.spec.settle,
        )

    def _wallet_view(self, mark: float) -> WalletView:
        return WalletView(
            currency=self.spec.settle,
            wallet_balance=self._wallet,
            margin_balance=self._wallet + self._upnl(mark),
            available_balance=self._available(mark),
            position_margin=self._position_margin(mark),
            order_margin=self._order_margin,
            cumulative_fees=self._cum_fees,
            cumulative_funding=self._cum_funding,
            cumulative_realized_pnl=self._cum_realized,
        )

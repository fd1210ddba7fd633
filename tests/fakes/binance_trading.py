"""The trading half of the fake Binance USDⓈ-M: signed requests, one simulated subaccount per symbol.

``FakeBinanceExchange`` extends ``FakeBinance`` (market data) with the signed endpoints of
``binance_orders.py`` (orders and algo orders) and ``binance_account.py`` (positions, account, trades,
income, leverage, margin type, brackets, commission). Each symbol trades on its own ``SimExchange`` whose
spec is built from the fake's exchangeInfo filters and leverage brackets (maintenance amount ``cum`` as
the deduction), so fills, positions and margins are the simulator's. Requests are authenticated like
Binance does: ``X-MBX-APIKEY`` plus a hex HMAC-SHA256 of the exact query string or form body
(-2015 / -1022 when wrong). Tests move the market with ``push_candle``.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

from kektrade.domain.specs import HOUR_MS, ContractSpec
from kektrade.domain.types import ContractKind, FillKind, MarginMode, Order, OrderStatus, RiskTier
from kektrade.exchange.sim.exchange import SimExchange
from kektrade.exchange.sim.settings import MarketArrays, SimSettings
from tests.fakes.binance_fapi import BinanceError, FakeBinance, FakeBinanceState, RecordedRequest

T0_MS = 1_704_067_200_000  # 2024-01-01 00:00 UTC: the first pushed candle opens here
MINUTE_MS = 60_000
API_KEY = "fake-binance-key"
API_SECRET = "fake-binance-secret"


class FakeBinanceExchange(FakeBinance):
    """The fake Binance with trading: ``fake.open_account("BTCUSDT", 10_000)``, then ``push_candle``."""

    def __init__(
        self, state: FakeBinanceState | None = None, api_key: str = API_KEY, api_secret: str = API_SECRET
    ) -> None:
        super().__init__(state)
        from tests.fakes.binance_account import ACCOUNT_ROUTES
        from tests.fakes.binance_orders import ORDER_ROUTES

        self.api_key, self.api_secret = api_key, api_secret
        self.check_clock = False  # True: refuse timestamps off the wall clock by more than recvWindow
        self.hedge_mode = False  # what positionSide/dual reports (orders are one-way regardless)
        self.sims: dict[str, SimExchange] = {}
        self.orders: dict[str, list[Order]] = {}  # every accepted order per symbol (history)
        self.algo_ids: set[str] = set()  # orders placed through /fapi/v1/algoOrder
        self.triggered: set[str] = set()  # algo orders that placed their order in the matching engine
        self.margin_types: dict[str, MarginMode] = {}
        self.leverages: dict[str, int] = {}
        self._trade_lock = threading.RLock()
        for (method, path), handler in {**ORDER_ROUTES, **ACCOUNT_ROUTES}.items():
            self.route(method, path, self._signed(handler))
        for path in ("/sapi/v1/capital/config/getall", "/sapi/v1/margin/allPairs"):  # ccxt's load_markets
            self.route("GET", path, self._signed(lambda fake, request: []))

    # -- test controls -----------------------------------------------------------------------------

    def spec_of(self, symbol: str) -> ContractSpec:
        """The contract spec of ``symbol`` as its exchangeInfo and brackets describe it."""
        info = self.state.symbols[symbol]
        price, lot = self.state.filter_of(symbol, "PRICE_FILTER"), self.state.filter_of(symbol, "LOT_SIZE")
        tiers = tuple(
            RiskTier(b.cap, b.mmr, 1.0 / b.max_leverage, b.max_leverage, b.cum) for b in self.state.brackets[symbol]
        )
        return ContractSpec(
            symbol=f"{info['baseAsset']}/{info['quoteAsset']}:{info['marginAsset']}", kind=ContractKind.LINEAR,
            base=info["baseAsset"], quote=info["quoteAsset"], settle=info["marginAsset"],
            tick_size=float(price["tickSize"]), lot_step=float(lot["stepSize"]), min_qty=float(lot["minQty"]),
            max_qty=float(lot["maxQty"]), max_leverage=tiers[0].max_leverage, taker_fee=self.state.taker_fee,
            maker_fee=self.state.maker_fee, funding_interval_ms=self.state.funding_hours.get(symbol, 8) * HOUR_MS,
            risk_tiers=tiers, source=f"fake Binance exchangeInfo and leverage brackets of {symbol}", formulas="binance",
        )

    def open_account(
        self, symbol: str, balance: float, leverage: int = 20, margin_mode: MarginMode = MarginMode.CROSS,
        settings: SimSettings | None = None, funding_rate: float | None = None,
    ) -> SimExchange:
        """Give ``symbol`` a fresh simulated subaccount with ``balance`` USDT (Binance's default: cross, 20x);
        with ``funding_rate`` positions pay that rate at every funding time (``state.funding_hours``), and
        each settlement is published in the funding-rate history with its mark price."""
        if symbol not in self.state.symbols:
            raise ValueError(f"open_account: {symbol!r} is not in the fake's exchangeInfo")
        arrays = MarketArrays([], [], [], [], [], timeframe_ms=MINUTE_MS)
        sim = SimExchange(
            self.spec_of(symbol), arrays, initial_balance=balance, leverage=leverage, margin_mode=margin_mode,
            settings=settings, funding_rate=funding_rate,
        )
        with self._trade_lock:
            self.sims[symbol] = sim
            self.orders[symbol] = []
            self.margin_types[symbol] = margin_mode
            self.leverages[symbol] = int(leverage)
        return sim

    def push_candle(self, symbol: str, o: float, h: float, lo: float, c: float, volume: float = 1.0) -> None:
        """Append one closed 1m candle for ``symbol`` and step its simulator (orders may fill now)."""
        with self._trade_lock:
            sim = self._sim(symbol)
            n = len(sim.market)
            t = T0_MS + n * MINUTE_MS
            sim.market.append(t, o, h, lo, c)
            waiting = [
                x for x in sim.get_open_orders() if x.id in self.algo_ids and x.status is OrderStatus.UNTRIGGERED
            ]
            fills = len(sim.fills)
            sim.step(n)
            settled = [x for x in sim.fills[fills:] if x.kind is FillKind.FUNDING]
            self.state.add_funding(symbol, [(x.time_ms, x.fee_rate, x.price) for x in settled])
            for order in waiting:  # fired this candle (not merely cancelled by a liquidation)
                if order.status is not OrderStatus.UNTRIGGERED and (order.filled or order.is_open):
                    self.triggered.add(order.id)
            self.state.now_ms = t + MINUTE_MS
            self.state.add_klines(symbol, [[t, o, h, lo, c, volume]])

    def reset_trading(self) -> None:
        """Forget every account, order and recorded request (between tests)."""
        with self._trade_lock:
            self.sims.clear()
            self.orders.clear()
            self.algo_ids.clear()
            self.triggered.clear()
            self.margin_types.clear()
            self.leverages.clear()
            self.state.klines.clear()
            self.state.now_ms = None
            self.check_clock = False
            self.hedge_mode = False
        self.clear_requests()

    # -- helpers -----------------------------------------------------------------------------------

    def _sim(self, symbol: str) -> SimExchange:
        sim = self.sims.get(symbol)
        if sim is None:
            raise BinanceError(-1121, "Invalid symbol.")
        return sim

    def sim_for(self, request: RecordedRequest) -> tuple[str, SimExchange]:
        """The symbol of a request and its simulator (-1102 / -1121)."""
        symbol = request.params.get("symbol")
        if not symbol:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        return symbol, self._sim(symbol)

    def _signed(self, handler: Route) -> Callable[[FakeBinanceState, RecordedRequest], Any]:
        def checked(state: FakeBinanceState, request: RecordedRequest) -> Any:
            self._verify(request)
            with self._trade_lock:
                return handler(self, request)

        return checked

    def _verify(self, request: RecordedRequest) -> None:
        """Binance's HMAC check over the raw payload before ``&signature=``; timestamp within recvWindow."""
        headers = {k.lower(): v for k, v in request.headers.items()}
        if headers.get("x-mbx-apikey") != self.api_key:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        payload, _, signature = request.raw.rpartition("&signature=")
        expected = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not signature or not hmac.compare_digest(expected, signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        stamp = request.params.get("timestamp")
        if not stamp:
            raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        window = int(request.params.get("recvWindow") or 5000)
        if self.check_clock and abs(int(time.time() * 1000) - int(stamp)) > window:
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


Route = Callable[[FakeBinanceExchange, RecordedRequest], Any]

/* kektrade web page and report. Data comes from /api/runs/<id>/... or, in a report, from the inline JSON. */
(function () {
  "use strict";
  var LC = window.LightweightCharts;
  var COLORS = ["#58a6ff", "#d29922", "#bc8cff", "#39c5cf", "#ff7b72", "#e3b341", "#3fb950"];
  var state = { sub: null, refreshes: 0, trades: { sort: "entry_time_ms", desc: false, offset: 0, q: "", scope: "" }, charts: {} };
  window.kektrade = state;

  // ---- formatting ---------------------------------------------------------------------------------
  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function finite(v) { return typeof v === "number" && isFinite(v); }
  function num(v, d) {
    if (v === "inf") return "∞";
    if (!finite(v)) return "-";
    return v.toLocaleString("en-US", { minimumFractionDigits: d === undefined ? 2 : d, maximumFractionDigits: d === undefined ? 2 : d });
  }
  function money(v) { return finite(v) && Math.abs(v) < 1 && v !== 0 ? num(v, 6) : num(v, 2); }
  function price(v) { return !finite(v) ? "-" : num(v, Math.abs(v) >= 100 ? 2 : Math.abs(v) >= 1 ? 4 : 6); }
  function pct(v) { return finite(v) ? num(v * 100, 2) + " %" : "-"; }
  function utc(ms) { return finite(ms) && ms ? new Date(ms).toISOString().slice(0, 16).replace("T", " ") : "-"; }
  function dur(ms) {
    if (!finite(ms)) return "-";
    var m = Math.round(ms / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    return d ? d + "d " + h + "h" : h ? h + "h " + (m % 60) + "m" : m + "m";
  }
  function cls(v) { return finite(v) ? (v > 0 ? "pos" : v < 0 ? "neg" : "") : ""; }
  function params(p) {
    if (p === null || p === undefined) return "-";
    return Object.keys(p).sort().map(function (k) { return k + "=" + p[k]; }).join(" ");
  }
  function $(id) { return document.getElementById(id); }

  // ---- data: the API, or the report's inline copy ---------------------------------------------------
  var REPORT = null;
  function lower(times, t) { var lo = 0, hi = times.length; while (lo < hi) { var m = (lo + hi) >> 1; if (times[m] < t) lo = m + 1; else hi = m; } return lo; }
  function sliceColumns(c, p) {
    var t = c.time_ms || [], lo = p.start ? lower(t, +p.start) : 0, hi = p.end ? lower(t, +p.end) : t.length;
    lo = Math.max(lo, hi - (+p.limit || 2000));
    var out = { sub: c.sub, timeframe_ms: c.timeframe_ms, more: lo > 0, total: t.length, overlay: c.overlay, indicators: {}, error: c.error };
    ["time_ms", "open", "high", "low", "close", "volume"].forEach(function (k) { out[k] = (c[k] || []).slice(lo, hi); });
    Object.keys(c.indicators || {}).forEach(function (k) { out.indicators[k] = c.indicators[k].slice(lo, hi); });
    return out;
  }
  function localTrades(p) {
    var subs = p.sub ? [p.sub] : Object.keys(REPORT.subs), rows = [];
    subs.forEach(function (s) { REPORT.subs[s].trades.forEach(function (r) { rows.push(Object.assign({ subaccount: s }, r)); }); });
    var q = (p.q || "").toLowerCase().trim();
    if (q) rows = rows.filter(function (r) { return [r.side, r.exit_reason, r.subaccount, params(r.parameters)].join(" ").toLowerCase().indexOf(q) >= 0; });
    var key = p.sort || "entry_time_ms", sign = p.desc === "1" ? -1 : 1;
    rows.sort(function (a, b) {
      var x = a[key], y = b[key];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : x > y ? 1 : 0) * sign;
    });
    var off = +p.offset || 0, lim = +p.limit || 100;
    return { total: rows.length, offset: off, rows: rows.slice(off, off + lim) };
  }
  function localApi(name, p) {
    var sub = p.sub && REPORT.subs[p.sub];
    if (name === "info") return REPORT.info;
    if (name === "results") return REPORT.results;
    if (name === "orders") return REPORT.orders;
    if (name === "candles") return sliceColumns(sub.candles, p);
    if (name === "fills") {
      var f = sub.fills.filter(function (x) { return (!p.start || x.time_ms >= +p.start) && (!p.end || x.time_ms < +p.end); });
      return { sub: p.sub, fills: f };
    }
    if (name === "equity") return p.sub ? sub.equity : REPORT.account_equity;
    if (name === "trades") return localTrades(p);
    if (name === "switches") return { sub: p.sub, switches: sub.switches };
    throw new Error("no endpoint " + name);
  }
  function api(name, p) {
    p = p || {};
    if (REPORT) return Promise.resolve(localApi(name, p));
    var q = Object.keys(p).filter(function (k) { return p[k] !== "" && p[k] !== null && p[k] !== undefined; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(p[k]); }).join("&");
    var url = "/api/runs/" + encodeURIComponent(state.run) + "/" + name + (q ? "?" + q : "");
    return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (r) {
      if (!r.ok) return r.json().then(function (e) { throw new Error(name + ": " + (e.error || r.status)); });
      return r.json();
    });
  }

  // ---- tables -------------------------------------------------------------------------------------
  // columns: [label, key or function(row), css ("l" left), sort key]
  function table(el, columns, rows, empty, sorting) {
    if (!rows || !rows.length) { el.innerHTML = '<p class="empty">' + esc(empty) + "</p>"; return; }
    var head = columns.map(function (c) {
      var sortable = sorting && c[3], on = sortable && sorting.sort === c[3];
      var mark = on ? (sorting.desc ? " ▼" : " ▲") : "";
      return '<th class="' + (c[2] || "") + (sortable ? " sortable" : "") + (on ? " sorted" : "") + '"' +
        (sortable ? ' data-sort="' + c[3] + '"' : "") + ">" + esc(c[0]) + mark + "</th>";
    }).join("");
    var body = rows.map(function (r) {
      return "<tr>" + columns.map(function (c) {
        var v = typeof c[1] === "function" ? c[1](r) : r[c[1]], css = c[2] || "";
        if (v && typeof v === "object" && "v" in v) { css += " " + (v.c || ""); v = v.v; }
        return '<td class="' + css + '">' + esc(v === undefined || v === null ? "-" : v) + "</td>";
      }).join("") + "</tr>";
    }).join("");
    el.innerHTML = '<div class="scroll"><table><thead><tr>' + head + "</tr></thead><tbody>" + body + "</tbody></table></div>";
    if (sorting) {
      el.querySelectorAll("th.sortable").forEach(function (th) {
        th.addEventListener("click", function () { sorting.onSort(th.dataset.sort); });
      });
    }
  }
  function signed(v, f) { return { v: (f || money)(v), c: cls(v) }; }

  // ---- header, account, subaccounts -------------------------------------------------------------------
  function renderHeader(info) {
    var s = $("state");
    s.textContent = info.state; s.className = "badge state-" + info.state;
    var p = info.progress;
    $("progress").textContent = p && p.total ? num(100 * p.fraction, 1) + " % · " + num(p.done, 0) + "/" + num(p.total, 0) + " candles" : "";
    $("message").textContent = info.error ? "error: " + info.error : info.message || "";
    $("message").className = info.error ? "error" : "";
  }
  function card(label, value, css) { return '<div class="card"><b class="' + (css || "") + '">' + esc(value) + "</b><span>" + esc(label) + "</span></div>"; }
  function renderAccount(results) {
    var el = $("account-cards");
    if (!results) { el.innerHTML = '<p class="empty">results appear when the run ends</p>'; return; }
    var m = results.account.metrics, a = results.account.analysis || {}, d = a.daily || {};
    el.innerHTML = [
      card("return (quote)", pct(m.total_return), cls(m.total_return)), card("buy and hold (quote)", pct(m.buy_and_hold_return)),
      card("max drawdown", pct(m.max_drawdown)), card("Sharpe (daily)", num(d.sharpe)), card("Sortino (daily)", num(d.sortino)),
      card("CAGR", pct(m.cagr)), card("trades", num(m.trades, 0)), card("win rate", pct(m.win_rate)),
      card("profit factor", num(m.profit_factor)), card("fees (quote)", money(m.fees_paid)),
      card("funding (quote)", money(m.funding_paid)), card("exposure", pct(m.exposure)),
      card("final equity (quote)", money(results.account.final)),
    ].join("") + '<p class="muted">Sharpe/Sortino basis: ' + esc(d.basis || "-") + "</p>";
  }
  function renderSubTable(results, info) {
    var rows = results ? results.subaccounts : info.subaccounts;
    if (!results) {  // a run going: what each subaccount does now, from the engine's latest snapshot
      table($("sub-table"), [
        ["id", "id", "l"], ["pair", "pair", "l"], ["strategy", "strategy", "l"],
        ["status", function (s) { return (s.status || "-") + (s.entries_allowed === false ? " (no new positions)" : ""); }, "l"],
        ["position", function (s) { return s.contracts === undefined ? "-" : num(s.contracts, 4); }],
        ["equity", function (s) { return s.equity === undefined ? "-" : money(s.equity) + " " + s.currency; }],
        ["live parameters", function (s) { return s.parameters && Object.keys(s.parameters).length ? params(s.parameters) : "none"; }, "l"],
        ["exchange", function (s) { return s.notice || ""; }, "l"],
      ], rows, "no subaccounts");
      return;
    }
    table($("sub-table"), [
      ["id", "id", "l"], ["pair", "pair", "l"], ["strategy", "strategy", "l"], ["status", "status", "l"],
      ["currency", "settle_currency", "l"],
      ["return", function (s) { return signed(s.metrics.total_return, pct); }],
      ["return (quote)", function (s) { var r = (s.analysis.returns || {}).quote; return r ? signed(r.strategy, pct) : "-"; }],
      ["B&H (quote)", function (s) { var r = (s.analysis.returns || {}).quote; return r ? pct(r.buy_and_hold) : "-"; }],
      ["max DD", function (s) { return pct(s.metrics.max_drawdown); }],
      ["Sharpe (daily)", function (s) { return num(s.analysis.daily.sharpe); }],
      ["trades", function (s) { return num(s.metrics.trades, 0); }], ["win", function (s) { return pct(s.metrics.win_rate); }],
      ["PF", function (s) { return num(s.metrics.profit_factor); }],
      ["fees", function (s) { return money(s.metrics.fees_paid) + " " + s.settle_currency; }],
      ["funding", function (s) { return money(s.metrics.funding_paid) + " " + s.settle_currency; }],
      ["liqs", function (s) { return s.metrics.liquidations; }],
      ["exposure", function (s) { return pct(s.analysis.exposure.share); }],
      ["final equity", function (s) { return money(s.metrics.final_equity) + " " + s.settle_currency; }],
      ["parameters", function (s) { return params(s.parameters); }, "l"],
    ], rows, "no subaccounts");
  }

  // ---- charts -------------------------------------------------------------------------------------
  function makeChart(el) {
    return LC.createChart(el, {
      autoSize: true,
      layout: { background: { type: "solid", color: "#0d1117" }, textColor: "#c9d1d9", panes: { separatorColor: "#30363d" } },
      grid: { vertLines: { color: "#161b22" }, horzLines: { color: "#161b22" } },
      crosshair: { mode: LC.CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#30363d" },
      timeScale: { borderColor: "#30363d", timeVisible: true, secondsVisible: false },
    });
  }
  var MARKS = {
    buy: { position: "belowBar", shape: "arrowUp", color: "#3fb950", text: "B" },
    sell: { position: "aboveBar", shape: "arrowDown", color: "#f85149", text: "S" },
    liquidation: { position: "aboveBar", shape: "circle", color: "#ff7b00", text: "LIQ" },
    funding: { position: "belowBar", shape: "square", color: "#6e7681", text: "", size: 0.4 },
    "switch": { position: "aboveBar", shape: "square", color: "#bc8cff", text: "opt" },
  };
  function markerLegend() {
    $("marker-legend").innerHTML = ["buy", "sell", "liquidation", "funding", "switch"].map(function (k) {
      return '<i style="color:' + MARKS[k].color + '">■ ' + (k === "switch" ? "optimizer switch" : k) + "</i>";
    }).join("");
  }
  function barTime(ms, tf) { return Math.floor(ms / tf) * tf / 1000; }
  function buildMarkers(fills, switches, tf) {
    var groups = {};
    fills.forEach(function (f) {
      var kind = f.kind === "trade" ? f.side : f.kind, t = barTime(f.time_ms, tf), key = t + "|" + kind;
      groups[key] = groups[key] || { t: t, kind: kind, n: 0, qty: 0 };
      groups[key].n += 1; groups[key].qty += f.qty;
    });
    switches.forEach(function (s) {
      var t = barTime(s.time_ms, tf);
      groups[t + "|switch"] = { t: t, kind: "switch", n: 1, text: s.parameters ? "opt" : "aside" };
    });
    return Object.keys(groups).map(function (k) {
      var g = groups[k], m = MARKS[g.kind];
      var text = g.text || (m.text && g.n > 1 ? m.text + g.n : m.text);
      return { time: g.t, position: m.position, shape: m.shape, color: m.color, text: text, size: m.size || 1 };
    }).sort(function (a, b) { return a.time - b.time; });
  }
  function priceState(sub) {
    return { sub: sub, candles: [], volume: [], lines: {}, fills: [], switches: [], more: false, loading: false, tf: 60000 };
  }
  function applyWindow(ps, c, prepend) {
    var candles = [], vol = [], ind = {};
    for (var i = 0; i < c.time_ms.length; i++) {
      var t = c.time_ms[i] / 1000;
      candles.push({ time: t, open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i] });
      if (c.volume.length) vol.push({ time: t, value: c.volume[i], color: c.close[i] >= c.open[i] ? "#3fb95055" : "#f8514955" });
    }
    Object.keys(c.indicators).forEach(function (name) {
      ind[name] = c.indicators[name].map(function (v, i) { var t = c.time_ms[i] / 1000; return v === null ? { time: t } : { time: t, value: v }; });
    });
    ps.candles = prepend ? candles.concat(ps.candles) : candles;
    ps.volume = prepend ? vol.concat(ps.volume) : vol;
    Object.keys(ind).forEach(function (n) { ps.lines[n] = prepend ? ind[n].concat(ps.lines[n] || []) : ind[n]; });
    ps.more = c.more;
  }
  function rangeOf(ps) {
    var first = ps.candles.length ? ps.candles[0].time * 1000 : 0;
    var last = ps.candles.length ? ps.candles[ps.candles.length - 1].time * 1000 + ps.tf : 0;
    return { start: first, end: last };
  }
  function loadMarkers(ps) {
    var r = rangeOf(ps);
    return Promise.all([api("fills", { sub: ps.sub, start: r.start, end: r.end }), api("switches", { sub: ps.sub })]).then(function (res) {
      ps.fills = res[0].fills; ps.switches = res[1].switches.filter(function (s) { return s.time_ms >= r.start && s.time_ms < r.end; });
      ps.markers.setMarkers(buildMarkers(ps.fills, ps.switches, ps.tf));
    });
  }
  function setSeries(ps) {
    ps.candleSeries.setData(ps.candles);
    if (ps.volumeSeries) ps.volumeSeries.setData(ps.volume);
    Object.keys(ps.lineSeries).forEach(function (n) { ps.lineSeries[n].setData(ps.lines[n] || []); });
  }
  function loadOlder(ps) {
    if (ps.loading || !ps.more || !ps.candles.length) return;
    ps.loading = true;
    var before = ps.candles[0].time * 1000;
    api("candles", { sub: ps.sub, end: before, limit: 2000 }).then(function (c) {
      applyWindow(ps, c, true); setSeries(ps); return loadMarkers(ps);
    }).catch(showError).then(function () { ps.loading = false; ps.loads += 1; });
  }
  function appendNew(ps) {
    if (ps.loading) return Promise.resolve();
    var last = ps.candles[ps.candles.length - 1].time * 1000;
    return api("candles", { sub: ps.sub, start: last + 1, limit: 5000 }).then(function (c) {
      if (!c.time_ms || !c.time_ms.length || ps !== state.price) return null;
      var fresh = { candles: [], volume: [], lines: {} };
      applyWindow(fresh, c, false);
      fresh.candles.forEach(function (bar) { ps.candleSeries.update(bar); ps.candles.push(bar); });
      if (ps.volumeSeries) fresh.volume.forEach(function (v) { ps.volumeSeries.update(v); ps.volume.push(v); });
      Object.keys(fresh.lines).forEach(function (n) {
        if (!ps.lineSeries[n]) return;
        fresh.lines[n].forEach(function (p) { ps.lineSeries[n].update(p); ps.lines[n].push(p); });
      });
      return loadMarkers(ps);
    });
  }
  function drawPrice(sub) {
    if (state.charts.price) { state.charts.price.remove(); state.charts.price = null; }
    var el = $("price-chart"), ps = priceState(sub);
    state.price = ps; ps.loads = 0;
    return api("candles", { sub: sub, limit: 2000 }).then(function (c) {
      if (c.error) { $("chart-note").textContent = c.error; return; }
      ps.tf = c.timeframe_ms || 60000;
      var chart = state.charts.price = makeChart(el);
      ps.candleSeries = chart.addSeries(LC.CandlestickSeries, { upColor: "#3fb950", downColor: "#f85149", borderVisible: false, wickUpColor: "#3fb950", wickDownColor: "#f85149" });
      if (c.volume.length) {
        ps.volumeSeries = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, priceScaleId: "vol", lastValueVisible: false, priceLineVisible: false });
        ps.volumeSeries.priceScale().applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
      }
      ps.lineSeries = {};
      var pane = 0;
      Object.keys(c.indicators).forEach(function (name, k) {
        var overlay = c.overlay[name], target = overlay ? 0 : ++pane;
        ps.lineSeries[name] = chart.addSeries(LC.LineSeries, { color: COLORS[k % COLORS.length], lineWidth: 1.5, title: name, priceLineVisible: false }, target);
      });
      chart.panes().forEach(function (p, i) { if (i > 0) p.setStretchFactor(0.35); });
      ps.markers = LC.createSeriesMarkers(ps.candleSeries, []);
      applyWindow(ps, c, false); setSeries(ps);
      chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, ps.candles.length - 300), to: ps.candles.length + 5 });
      chart.timeScale().subscribeVisibleLogicalRangeChange(function (r) { if (r && r.from < 30) loadOlder(ps); });
      $("chart-note").textContent = num(c.total, 0) + " candles in the run; " + (c.more ? "older ones load as you scroll left" : "all loaded") +
        ". Wheel: zoom, drag: pan. Times UTC.";
      return loadMarkers(ps);
    });
  }
  function drawEquity(scope) {
    if (state.charts.equity) { state.charts.equity.remove(); state.charts.equity = null; }
    return api("equity", scope ? { sub: scope } : {}).then(function (e) {
      var chart = state.charts.equity = makeChart($("equity-chart"));
      var line = chart.addSeries(LC.LineSeries, { color: "#58a6ff", lineWidth: 2, title: "equity " + equityCurrency(scope) });
      var dd = chart.addSeries(LC.AreaSeries, { lineColor: "#f85149", topColor: "#f8514900", bottomColor: "#f8514966", lineWidth: 1, title: "drawdown %",
        priceFormat: { type: "custom", formatter: function (v) { return v.toFixed(2) + " %"; } } }, 1);
      chart.panes()[1].setStretchFactor(0.4);
      line.setData(e.times_ms.map(function (t, i) { return { time: t / 1000, value: e.equity[i] }; }));
      dd.setData(e.times_ms.map(function (t, i) { return { time: t / 1000, value: -100 * e.drawdown[i] }; }));
      chart.timeScale().fitContent();
      state.equitySeries = { points: e.times_ms.length };
    });
  }
  function equityCurrency(scope) {
    if (!scope) return "(account, quote)";
    var s = (state.info.subaccounts || []).filter(function (x) { return x.id === scope; })[0];
    return "(" + scope + ", " + (s ? s.currency : "") + ")";
  }

  // ---- trades, analysis, orders, optimization -----------------------------------------------------------
  var TRADE_COLUMNS = [
    ["#", "n", "", "n"], ["subaccount", "subaccount", "l", "subaccount"], ["side", "side", "l", "side"],
    ["entry", function (r) { return utc(r.entry_time_ms); }, "", "entry_time_ms"],
    ["exit", function (r) { return utc(r.exit_time_ms); }, "", "exit_time_ms"],
    ["entry price", function (r) { return price(r.entry_price); }, "", "entry_price"],
    ["exit price", function (r) { return price(r.exit_price); }, "", "exit_price"],
    ["qty", function (r) { return num(r.qty, 4); }, "", "qty"],
    ["PnL", function (r) { return signed(r.pnl); }, "", "pnl"],
    ["PnL quote", function (r) { return signed(r.pnl_quote); }, "", "pnl_quote"],
    ["PnL %", function (r) { return signed(r.pnl_pct, pct); }, "", "pnl_pct"],
    ["fees", function (r) { return money(r.fees); }, "", "fees"], ["funding", function (r) { return money(r.funding); }, "", "funding"],
    ["duration", function (r) { return dur(r.duration_ms); }, "", "duration_ms"],
    ["exit reason", "exit_reason", "l", "exit_reason"], ["parameters", function (r) { return params(r.parameters); }, "l"],
  ];
  function loadTrades() {
    var t = state.trades;
    return api("trades", { sub: t.scope, sort: t.sort, desc: t.desc ? "1" : "", q: t.q, offset: t.offset, limit: 100 }).then(function (page) {
      t.total = page.total;
      table($("trade-table"), TRADE_COLUMNS, page.rows, t.q ? "no round trip matches the filter" : "no round trips", {
        sort: t.sort, desc: t.desc,
        onSort: function (key) { t.desc = t.sort === key ? !t.desc : false; t.sort = key; t.offset = 0; loadTrades().catch(showError); },
      });
      var pager = $("trade-pager"), last = Math.min(t.offset + 100, page.total);
      pager.innerHTML = '<button id="prev">◀</button><span>' + (page.total ? t.offset + 1 : 0) + "–" + last + " of " + page.total +
        '</span><button id="next">▶</button>';
      $("prev").disabled = t.offset === 0; $("next").disabled = last >= page.total;
      $("prev").onclick = function () { t.offset = Math.max(0, t.offset - 100); loadTrades().catch(showError); };
      $("next").onclick = function () { t.offset += 100; loadTrades().catch(showError); };
    });
  }
  function analysisOf(scope) {
    var r = state.results;
    if (!r) return null;
    if (!scope) return r.account.analysis;
    var s = r.subaccounts.filter(function (x) { return x.id === scope; })[0];
    return s ? s.analysis : null;
  }
  var SMALL_TRADES = [["#", "n"], ["sub", function (r) { return r.subaccount || "-"; }, "l"], ["side", "side", "l"],
    ["exit", function (r) { return utc(r.exit_time_ms); }], ["PnL quote", function (r) { return signed(r.pnl_quote); }],
    ["reason", "exit_reason", "l"]];
  function renderAnalysis() {
    var scope = $("analysis-scope").value, period = $("period-select").value, a = analysisOf(scope);
    var none = "results appear when the run ends";
    if (!a) { ["period-table", "exit-table", "best-table", "worst-table", "ratio-table"].forEach(function (id) { $(id).innerHTML = '<p class="empty">' + none + "</p>"; }); return; }
    var cur = a.currency;
    table($("period-table"), [["period", "period", "l"], ["start equity", function (r) { return money(r.start_equity); }],
      ["end equity", function (r) { return money(r.end_equity); }], ["PnL " + cur, function (r) { return signed(r.pnl); }],
      ["return", function (r) { return signed(r["return"], pct); }], ["trades", "trades"], ["wins", "wins"],
      ["trade PnL", function (r) { return signed(r.trade_pnl); }]], (a.periods || {})[period], "no equity samples");
    var exitColumns = [["reason", "reason", "l"], ["trades", "trades"], ["wins", "wins"], ["PnL " + cur, function (r) { return signed(r.pnl); }]];
    if (cur !== "quote") exitColumns.push(["PnL quote", function (r) { return signed(r.pnl_quote); }]);
    exitColumns.push(["mean duration", function (r) { return dur(r.avg_duration_ms); }]);
    table($("exit-table"), exitColumns, a.exit_reasons, "no trades");
    table($("best-table"), SMALL_TRADES, a.best, "no closed trades");
    table($("worst-table"), SMALL_TRADES, a.worst, "no closed trades");
    var rows = [["Sharpe", num(a.daily.sharpe)], ["Sortino", num(a.daily.sortino)], ["days", a.daily.days], ["basis", a.daily.basis],
      ["exposure", pct(a.exposure.share)], ["time in market", dur(a.exposure.time_in_market_ms)],
      ["closed trades", a.summary.closed], ["mean duration", dur(a.summary.avg_duration_ms)]];
    Object.keys(a.returns || {}).forEach(function (c) {
      rows.push(["return in " + c, pct(a.returns[c].strategy)]); rows.push(["buy and hold in " + c, pct(a.returns[c].buy_and_hold)]);
    });
    table($("ratio-table"), [["figure", 0, "l"], ["value", 1, "l"]], rows, "");
  }
  function renderOrders() {
    return api("orders").then(function (o) {
      table($("order-table"), [["subaccount", "subaccount", "l"], ["id", "id", "l"], ["side", "side", "l"], ["type", "type", "l"],
        ["price", function (r) { return price(r.price); }], ["trigger", function (r) { return price(r.trigger_price); }],
        ["qty", function (r) { return num(r.qty, 4); }], ["filled", function (r) { return num(r.filled, 4); }],
        ["flags", function (r) { return [r.reduce_only ? "reduce-only" : "", r.post_only ? "post-only" : ""].join(" ").trim(); }, "l"],
        ["created", function (r) { return utc(r.created_ms); }], ["status", "status", "l"]], o.orders, "no open orders");
    });
  }
  function flat(obj, prefix, out) {
    Object.keys(obj || {}).forEach(function (k) {
      var v = obj[k], key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) flat(v, key, out);
      else out.push([key, Array.isArray(v) ? (v.length > 8 ? v.length + " values" : JSON.stringify(v)) : finite(v) ? num(v, 4) : String(v)]);
    });
    return out;
  }
  function renderOptimization() {
    var el = $("optimization-body"), opt = state.results && state.results.extra && state.results.extra.optimization;
    if (!state.results && renderLeaderboards(el)) return;
    if (!opt || !Object.keys(opt).length) { el.innerHTML = '<p class="empty">no live-optimized subaccount in this run</p>'; return; }
    el.innerHTML = "";
    Object.keys(opt).forEach(function (sub) {
      var rep = opt[sub], wf = rep.walk_forward || {}, box = document.createElement("div");
      box.innerHTML = "<h3>" + esc(sub) + ": " + esc(rep.combinations) + " combinations, objective " + esc(rep.objective) + ", " +
        (rep.selections || []).length + " re-optimizations</h3>";
      var rows = [["live-optimized", pct(wf.live_optimized_return), "-"]];
      ["best", "median", "worst"].forEach(function (k) { if (wf.fixed && wf.fixed[k]) rows.push(["fixed " + k, pct(wf.fixed[k]["return"]), params(wf.fixed[k].parameters)]); });
      rows.push(["buy and hold", pct(wf.buy_and_hold_return), "-"]);
      rows.push(["fixed sets that beat live", String(wf.fixed_better_than_live) + " of " + rep.combinations, "-"]);
      var t = document.createElement("div"); box.appendChild(t);
      table(t, [["walk-forward", 0, "l"], ["return", 1], ["parameters", 2, "l"]], rows, "");
      if (rep.overfitting) {
        var o = document.createElement("div"); box.appendChild(o);
        table(o, [["overfitting figure", 0, "l"], ["value", 1, "l"]], flat(rep.overfitting, "", []), "no figures");
      }
      if (rep.curves && rep.curves.times_ms && rep.curves.times_ms.length) {
        var c = document.createElement("div"); c.className = "chart"; box.appendChild(c);
        var chart = makeChart(c);
        ["live", "best", "median", "worst"].forEach(function (k, i) {
          if (!rep.curves[k]) return;
          var s = chart.addSeries(LC.LineSeries, { color: COLORS[i], lineWidth: k === "live" ? 2 : 1, title: k === "live" ? "live-opt" : "fixed " + k });
          s.setData(rep.curves.times_ms.map(function (t, j) { return { time: t / 1000, value: rep.curves[k][j] }; }));
        });
        chart.timeScale().fitContent();
        state.charts["curves-" + sub] = chart;
      }
      el.appendChild(box);
    });
  }

  function renderLeaderboards(el) {  // a run going: the live optimizer's latest ranking and the set in force
    var subs = ((state.info || {}).subaccounts || []).filter(function (s) { return s.leaderboard && s.leaderboard.length; });
    if (!subs.length) return false;
    el.innerHTML = "";
    subs.forEach(function (s) {
      var box = document.createElement("div");
      box.innerHTML = "<h3>" + esc(s.id) + ": live " + esc(s.parameters && Object.keys(s.parameters).length ? params(s.parameters) : "none") + "</h3>";
      var t = document.createElement("div"); t.className = "leaderboard"; box.appendChild(t);
      table(t, [["rank", 0], ["score", 1], ["parameters", 2, "l"]],
        s.leaderboard.map(function (e, i) { return [String(i + 1), num(e.score, 4), params(e.parameters)]; }), "");
      el.appendChild(box);
    });
    return true;
  }

  // ---- wiring -------------------------------------------------------------------------------------
  function showError(err) { var m = $("message"); if (!m) { console.warn(err); return; } m.textContent = String(err && err.message || err); m.className = "error"; }
  function options(select, items, selected) {
    select.innerHTML = items.map(function (it) { return '<option value="' + esc(it[0]) + '"' + (it[0] === selected ? " selected" : "") + ">" + esc(it[1]) + "</option>"; }).join("");
  }
  function setup(info) {
    var subs = info.subaccounts.map(function (s) { return [s.id, s.id + " · " + s.pair + " (" + s.currency + ")"]; });
    var scopes = [["", "account (quote)"]].concat(subs);
    options($("sub-select"), subs, state.sub);
    options($("equity-select"), scopes, "");
    options($("trade-scope"), [["", "all subaccounts"]].concat(subs), "");
    options($("analysis-scope"), scopes, "");
    $("sub-select").onchange = function () { state.sub = this.value; drawPrice(state.sub).catch(showError); };
    $("equity-select").onchange = function () { drawEquity(this.value).catch(showError); };
    $("trade-scope").onchange = function () { state.trades.scope = this.value; state.trades.offset = 0; loadTrades().catch(showError); };
    $("analysis-scope").onchange = renderAnalysis;
    $("period-select").onchange = renderAnalysis;
    var timer = null;
    $("trade-filter").oninput = function () {
      var box = this; clearTimeout(timer);
      timer = setTimeout(function () { state.trades.q = box.value; state.trades.offset = 0; loadTrades().catch(showError); }, 250);
    };
  }
  function refresh() {
    api("info").then(function (info) {
      renderHeader(info);
      if (!info.live) { window.location.reload(); return; }
      renderOrders().catch(showError);
      drawEquity($("equity-select").value).catch(showError);
      if (state.trades.offset === 0) loadTrades().catch(showError);
      var ps = state.price;
      if (ps && ps.candleSeries && ps.candles.length) appendNew(ps).catch(showError);
      else if (state.sub) drawPrice(state.sub).catch(showError);
    }).catch(showError).then(function () { state.refreshes += 1; if (state.info.live) setTimeout(refresh, 3000); });
  }
  function runPage(app) {
    state.run = app.dataset.run;
    if (app.dataset.report === "1") REPORT = JSON.parse($("kektrade-data").textContent);
    markerLegend();
    return api("info").then(function (info) {
      state.info = info; state.sub = info.subaccounts.length ? info.subaccounts[0].id : null;
      renderHeader(info); setup(info);
      return api("results").then(function (results) {
        state.results = results;
        renderAccount(results); renderSubTable(results, info); renderAnalysis(); renderOptimization();
        return Promise.all([state.sub ? drawPrice(state.sub) : null, drawEquity(""), loadTrades(), renderOrders()]);
      });
    }).then(function () {
      document.body.dataset.ready = "1";
      if (state.info.live && !REPORT) setTimeout(refresh, 3000);
    }).catch(function (e) { showError(e); document.body.dataset.ready = "error"; });
  }
  function listPage() {
    return fetch("/api/runs", { cache: "no-store", credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      table($("run-list"), [["run", function (r) { return r.run_id; }, "l"], ["state", "state", "l"],
        ["subaccounts", function (r) { return r.subaccounts.join(", "); }, "l"], ["start", "start", "l"], ["end", "end", "l"],
        ["return", function (r) { return r.metrics ? signed(r.metrics.total_return, pct) : "-"; }],
        ["max DD", function (r) { return r.metrics ? pct(r.metrics.max_drawdown) : "-"; }],
        ["trades", function (r) { return r.metrics ? r.metrics.trades : "-"; }]], d.runs, "no runs yet");
      var rows = document.querySelectorAll("#run-list tbody tr");
      d.runs.forEach(function (r, i) {
        var cell = rows[i].firstChild; cell.innerHTML = '<a href="/runs/' + encodeURIComponent(r.run_id) + '/">' + esc(r.run_id) + "</a>";
      });
      document.body.dataset.ready = "1";
    });
  }
  var app = $("app");
  if (app) runPage(app); else listPage().catch(showError);
})();

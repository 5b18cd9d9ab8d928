/* The trade page's candlestick chart (TradingView's lightweight-charts, from npm).
 *
 *   var chart = TradeChart.create(panel, { symbol, candlesUrl, pricePlaces, quantityPlaces, tick, stream });
 *
 * History comes from /api/market/candles (ascending, the open candle last); then each `candle`
 * message of `candles:SYMBOL:INTERVAL` replaces the open candle or starts the next one. A
 * (re)subscription loads the history again, so a reconnect leaves no hole. The interval buttons
 * switch the subscription; the choice is remembered. Without the library the panel says so.
 */
(function () {
  "use strict";

  var HISTORY = 300;
  var STORED = "exchange.chart.interval";
  var amounts = window.Exchange.amounts;

  function css(name, fallback) {
    var value = window.getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return value || fallback;
  }

  function seconds(iso) { return Math.floor(Date.parse(iso) / 1000); }

  function create(panel, options) {
    var node = panel.querySelector("[data-chart]");
    var legend = panel.querySelector("[data-chart-legend]");
    var note = panel.querySelector("[data-chart-note]");
    var buttons = Array.prototype.slice.call(panel.querySelectorAll("[data-interval]"));
    var lib = window.LightweightCharts;
    if (!node) return null;
    if (!lib) {
      note.hidden = false;
      note.textContent = "The chart library is not installed (make install, with Node.js).";
      return null;
    }

    var buy = css("--buy", "#1fb57a"), sell = css("--sell", "#f0505a");
    var grid = "rgba(38, 48, 71, 0.55)";
    var chart = lib.createChart(node, {
      autoSize: true,
      layout: {
        background: { type: "solid", color: "transparent" },
        textColor: css("--muted", "#95a0b8"),
        fontFamily: window.getComputedStyle(document.body).fontFamily,
        fontSize: 11,
      },
      grid: { vertLines: { color: grid }, horzLines: { color: grid } },
      rightPriceScale: { borderColor: css("--border", "#263047"), scaleMargins: { top: 0.08, bottom: 0.26 } },
      timeScale: { borderColor: css("--border", "#263047"), timeVisible: true, secondsVisible: false, rightOffset: 4 },
      crosshair: { mode: lib.CrosshairMode.Normal },
      localization: { priceFormatter: function (p) { return p.toFixed(options.pricePlaces); } },
    });
    var candles = chart.addSeries(lib.CandlestickSeries, {
      upColor: buy, downColor: sell, wickUpColor: buy, wickDownColor: sell, borderVisible: false,
      priceFormat: { type: "price", precision: options.pricePlaces, minMove: Number(options.tick) },
    });
    var volume = chart.addSeries(lib.HistogramSeries, {
      priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false,
    });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });

    var interval = window.localStorage.getItem(STORED) || panel.dataset.interval || "1m";
    if (!buttons.some(function (b) { return b.dataset.interval === interval; })) interval = "1m";
    var rows = []; // the candles shown, as the API sent them
    var loading = 0; // a token: only the latest history request is applied
    var queued = null; // candles that arrived while the history was on its way

    function bar(row) {
      return { time: seconds(row.start), open: Number(row.open), high: Number(row.high), low: Number(row.low), close: Number(row.close) };
    }
    function volumeBar(row) {
      var up = amounts.compare(row.close, row.open) >= 0;
      return { time: seconds(row.start), value: Number(row.volume), color: up ? "rgba(31, 181, 122, 0.45)" : "rgba(240, 80, 90, 0.45)" };
    }

    function showLegend(row) {
      if (!row) { legend.textContent = ""; return; }
      var p = function (v) { return amounts.trim(v, options.pricePlaces); };
      var up = amounts.compare(row.close, row.open) >= 0;
      legend.replaceChildren();
      [["O", p(row.open)], ["H", p(row.high)], ["L", p(row.low)], ["C", p(row.close)],
        ["V", amounts.trim(row.volume, options.quantityPlaces)]].forEach(function (pair) {
        var item = document.createElement("span");
        var value = document.createElement("b");
        value.className = pair[0] === "V" ? "" : up ? "side-buy" : "side-sell";
        value.textContent = pair[1];
        item.append(pair[0] + " ", value);
        legend.append(item);
      });
    }

    function mark() {
      var last = rows[rows.length - 1];
      node.dataset.candles = String(rows.length);
      node.dataset.interval = interval;
      node.dataset.lastClose = last ? amounts.trim(last.close, options.pricePlaces) : "";
      note.hidden = rows.length > 0;
      if (!rows.length) note.textContent = "No trades yet: the first one draws the first candle.";
      showLegend(last);
    }

    function apply(row) {
      var last = rows[rows.length - 1];
      var time = seconds(row.start);
      if (last && time < seconds(last.start)) return; // older than what is shown: the chart cannot take it
      if (last && time === seconds(last.start)) rows[rows.length - 1] = row;
      else rows.push(row);
      candles.update(bar(row));
      volume.update(volumeBar(row));
      mark();
    }

    function load() {
      var token = ++loading;
      queued = queued || [];
      var url = options.candlesUrl + "?" + new URLSearchParams({ interval: interval, limit: HISTORY }).toString();
      return fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(url + ": " + response.status);
          return response.json();
        })
        .then(function (list) {
          if (token !== loading) return;
          rows = list.slice();
          candles.setData(rows.map(bar));
          volume.setData(rows.map(volumeBar));
          var waiting = queued;
          queued = null;
          waiting.forEach(apply);
          mark();
        })
        .catch(function () { if (token === loading) queued = null; });
    }

    function onMessage(message) {
      if (message.type === "subscribed") load();
      else if (message.type === "candle") {
        if (queued) queued.push(message);
        else apply(message);
      }
    }

    function channel() { return "candles:" + options.symbol + ":" + interval; }

    function choose(next) {
      if (options.stream) options.stream.unsubscribe(channel(), onMessage);
      interval = next;
      window.localStorage.setItem(STORED, interval);
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.interval === interval)); });
      rows = [];
      candles.setData([]);
      volume.setData([]);
      // A live stream answers the subscription with `subscribed`, which loads the history.
      if (!options.stream || !options.stream.live()) load();
      if (options.stream) options.stream.subscribe(channel(), onMessage);
    }

    buttons.forEach(function (b) {
      b.addEventListener("click", function () { if (b.dataset.interval !== interval) choose(b.dataset.interval); });
    });
    chart.subscribeCrosshairMove(function (param) {
      if (!param || param.time === undefined) { showLegend(rows[rows.length - 1]); return; }
      var hovered = rows.find(function (row) { return seconds(row.start) === param.time; });
      showLegend(hovered || rows[rows.length - 1]);
    });

    choose(interval);

    /* Without the stream: the last few candles again (the polling fallback calls this). */
    function refresh() {
      if (queued || !rows.length) return load();
      var url = options.candlesUrl + "?" + new URLSearchParams({ interval: interval, limit: 3 }).toString();
      return fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : []; })
        .then(function (list) { list.forEach(apply); }, function () {});
    }

    return {
      refresh: refresh,
      interval: function () { return interval; },
    };
  }

  window.TradeChart = { create: create };
})();

/* The markets page, live: one `ticker:SYMBOL` subscription per row; a changed figure flashes.
 * While the socket is down, /api/market/ticker/SYMBOL is polled for each row instead. */
(function () {
  "use strict";

  var root = document.getElementById("markets");
  if (!root) return;
  var amounts = window.Exchange.amounts;
  var POLL_MS = 5000;
  var rows = Array.prototype.slice.call(root.querySelectorAll("tr[data-symbol]"));

  function render(row, ticker) {
    var pricePlaces = Number(row.dataset.pricePlaces), quantityPlaces = Number(row.dataset.quantityPlaces);
    var price = function (v) { return v === null || v === undefined ? "—" : amounts.trim(v, pricePlaces); };
    var set = function (field, text, unit) {
      var cell = row.querySelector('[data-field="' + field + '"]');
      if (!cell) return null;
      var before = cell.firstChild ? cell.firstChild.textContent : "";
      var shown = unit ? text + " " : text;
      if (before === shown) return cell;
      cell.replaceChildren(shown);
      if (unit) {
        var span = document.createElement("span");
        span.className = "muted";
        span.textContent = unit;
        cell.append(span);
      }
      cell.classList.remove("flash");
      void cell.offsetWidth; // restart the animation
      cell.classList.add("flash");
      return cell;
    };
    var change = ticker.change_percent;
    set("last", price(ticker.last));
    var cell = set("change", change === null ? "—" : (amounts.compare(change, "0") > 0 ? "+" : "") + change + "%");
    if (cell) {
      cell.classList.toggle("side-buy", change !== null && amounts.compare(change, "0") > 0);
      cell.classList.toggle("side-sell", change !== null && amounts.compare(change, "0") < 0);
    }
    set("high", price(ticker.high));
    set("low", price(ticker.low));
    var symbol = row.dataset.symbol.split("-");
    set("volume", amounts.trim(ticker.volume, quantityPlaces), symbol[0]);
    set("quote_volume", amounts.trim(ticker.quote_volume, pricePlaces), symbol[1]);
    row.dataset.quoteVolume = ticker.quote_volume;
    row.dataset.trades = String(ticker.trades);
    totals();
  }

  // The exchange's 24 hours, as /api/market/stats counts them: turnover valued at the quote's reference price.
  function totals() {
    var volume = "0", trades = 0;
    rows.forEach(function (row) {
      volume = amounts.add(volume, amounts.multiply(row.dataset.quoteVolume || "0", row.dataset.quoteUsdt || "0", 18));
      trades += Number(row.dataset.trades || 0);
    });
    var volumeNode = root.querySelector('[data-stat="volume"]'), tradesNode = root.querySelector('[data-stat="trades"]');
    if (volumeNode) volumeNode.textContent = amounts.group(amounts.round(amounts.units(volume, 18), 18, 2));
    if (tradesNode) tradesNode.textContent = String(trades);
  }

  function lastPrice(row, value) {
    var cell = row.querySelector('[data-field="last"]');
    var text = amounts.trim(value, Number(row.dataset.pricePlaces));
    if (!cell || cell.textContent === text) return;
    cell.textContent = text;
    cell.classList.remove("flash");
    void cell.offsetWidth;
    cell.classList.add("flash");
  }

  function poll() {
    return Promise.all(rows.map(function (row) {
      return fetch("/api/market/ticker/" + row.dataset.symbol, { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (ticker) { if (ticker) render(row, ticker); });
    })).catch(function () {});
  }

  var stream = window.WebSocket ? window.Exchange.stream() : null;
  if (stream) {
    stream.indicator(root.querySelector("[data-live]"));
    rows.forEach(function (row) {
      stream.subscribe("ticker:" + row.dataset.symbol, function (message) {
        if (message.type === "ticker") render(row, message);
      });
      // The ticker comes at most once a second; the last price follows every batch of trades.
      stream.subscribe("trades:" + row.dataset.symbol, function (message) {
        if (message.type !== "trades" || !message.trades.length) return;
        var newest = message.trades.reduce(function (a, b) { return b.id > a.id ? b : a; });
        lastPrice(row, newest.price);
      });
    });
  }
  (function schedule() {
    window.setTimeout(function () {
      var down = !stream || (stream.state !== "live" && stream.state !== "connecting");
      (down && !document.hidden ? poll() : Promise.resolve()).then(schedule);
    }, POLL_MS);
  })();
  if (!stream) poll();
})();

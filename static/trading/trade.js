/* The trade page, live: re-render the book, recent trades and the trader's orders from the REST API.
 *
 * The page is complete without this file. The render functions take the API's JSON shapes and know
 * nothing about how the data arrived, so a WebSocket feed can call them in place of the polling:
 * window.TradePage.render.book(payload), .trades(list), .openOrders(list), ...
 * Only GET requests are made here; placing and cancelling stay ordinary form posts.
 */
(function () {
  "use strict";

  var root = document.getElementById("trade");
  if (!root) return;

  var cfg = {
    symbol: root.dataset.symbol,
    base: root.dataset.base,
    quote: root.dataset.quote,
    pricePlaces: Number(root.dataset.pricePlaces),
    quantityPlaces: Number(root.dataset.quantityPlaces),
    baseDecimals: Number(root.dataset.baseDecimals),
    quoteDecimals: Number(root.dataset.quoteDecimals),
    pollMs: Number(root.dataset.pollMs) || 2000,
    signedIn: root.dataset.signedIn === "1",
    canCancel: root.dataset.canCancel === "1",
    cancelUrl: root.dataset.cancelUrl,
  };
  var labelsNode = document.getElementById("trade-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : { statuses: {}, reasons: {} };

  /* ---- Amounts: decimal strings, never floats ---------------------------------------------------- */

  // "60000.000000" kept to 2 decimals at least -> "60000.00"; "0.50000000" to 4 -> "0.5000".
  function trim(value, keep) {
    if (value === null || value === undefined || value === "") return "";
    var text = String(value);
    var dot = text.indexOf(".");
    if (dot < 0) return keep > 0 ? text + "." + "0".repeat(keep) : text;
    var whole = text.slice(0, dot);
    var fraction = text.slice(dot + 1).replace(/0+$/, "");
    while (fraction.length < keep) fraction += "0";
    return fraction ? whole + "." + fraction : whole;
  }
  var price = function (v) { return trim(v, cfg.pricePlaces); };
  var quantity = function (v) { return trim(v, cfg.quantityPlaces); };
  var ofAsset = function (v, code) { return code === cfg.base ? quantity(v) : price(v); };

  // A decimal string as a BigInt of units at `scale` decimals (extra digits are cut off).
  function units(text, scale) {
    var match = /^\s*(\d*)(?:\.(\d*))?\s*$/.exec(String(text || ""));
    if (!match || (match[1] === "" && !match[2])) return null;
    var fraction = (match[2] || "").slice(0, scale);
    while (fraction.length < scale) fraction += "0";
    return BigInt((match[1] || "0") + fraction);
  }
  function fromUnits(value, scale) {
    var text = value.toString().padStart(scale + 1, "0");
    return scale ? text.slice(0, -scale) + "." + text.slice(-scale) : text;
  }

  // "2026-11-26T08:07:12.345Z" -> "08:07:12": the time the server wrote, as the server renders it.
  function clock(iso) {
    var match = /T(\d\d:\d\d:\d\d)/.exec(iso || "");
    return match ? match[1] : "";
  }
  function stamp(iso) {
    var match = /^\d{4}-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)/.exec(iso || "");
    return match ? match[1] + "-" + match[2] + " " + match[3] : "";
  }
  function capitalize(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) : ""; }

  /* ---- DOM helpers ------------------------------------------------------------------------------- */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "style") node.setAttribute("style", value);
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined) node.append(child);
    });
    return node;
  }
  function td(text, className) { return el("td", { "class": className, text: text }); }
  function time(iso, text) { return el("time", { datetime: iso, text: text }); }
  function empty(colspan, text) {
    return el("tr", { "class": "empty" }, [el("td", { colspan: colspan, "class": "muted", text: text })]);
  }
  function panel(name) { return root.querySelector('[data-panel="' + name + '"]'); }
  function fill(body, rows) { if (body) body.replaceChildren.apply(body, rows); }
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* ---- Render: each takes the API's JSON and redraws one panel ----------------------------------- */

  function levels(list, side) {
    var scale = cfg.baseDecimals;
    var total = list.reduce(function (sum, level) { return sum + (units(level[1], scale) || 0n); }, 0n);
    var running = 0n;
    return list.map(function (level) {
      running += units(level[1], scale) || 0n;
      var depth = total > 0n ? Number((running * 100n) / total) : 0;
      return el("tr", { "class": "level", style: "--depth: " + depth + "%" }, [
        el("td", { "class": "mono side-" + side, "data-price": price(level[0]), text: price(level[0]) }),
        td(quantity(level[1]), "mono num"),
        td(quantity(fromUnits(running, scale)), "mono num muted"),
      ]);
    });
  }

  function renderBook(book) {
    var asks = levels(book.asks, "sell").reverse();
    var bids = levels(book.bids, "buy");
    fill(panel("asks"), asks.length ? asks : [empty(3, "No one is selling")]);
    fill(panel("bids"), bids.length ? bids : [empty(3, "No one is buying")]);
    var spread = root.querySelector("[data-spread]");
    if (spread) {
      var scale = cfg.quoteDecimals;
      var gap = book.asks.length && book.bids.length ? units(book.asks[0][0], scale) - units(book.bids[0][0], scale) : -1n;
      spread.textContent = gap >= 0n ? "spread " + price(fromUnits(gap, scale)) : "";
    }
  }

  function renderTrades(trades) {
    fill(panel("trades"), trades.length ? trades.map(function (trade) {
      return el("tr", {}, [
        td(price(trade.price), "mono side-" + trade.taker_side),
        td(quantity(trade.quantity), "mono num"),
        el("td", { "class": "mono num muted" }, [time(trade.time, clock(trade.time))]),
      ]);
    }) : [empty(3, "No trades yet")]);
    if (trades.length) renderLastPrice(trades[0].price, trades[0].taker_side);
  }

  function renderLastPrice(value, side) {
    root.querySelectorAll("[data-last-price]").forEach(function (node) {
      node.textContent = price(value);
      node.classList.remove("side-buy", "side-sell");
      node.classList.add("side-" + side);
    });
    document.title = document.title.replace(/^(?:[\d.]+ · )?/, price(value) + " · ");
  }

  function orderPrice(order) { return order.type === "market" ? "Market" : price(order.price); }
  function orderQuantity(order) {
    return order.quantity === null ? price(order.quote_quantity) + " " + cfg.quote : quantity(order.quantity);
  }
  function orderCells(order) {
    return [
      el("td", { "class": "mono muted" }, [time(order.created_at, stamp(order.created_at))]),
      td(capitalize(order.side), "side-" + order.side),
      td(capitalize(order.type)),
      td(orderPrice(order), "mono num"),
      td(orderQuantity(order), "mono num"),
      td(quantity(order.filled_quantity), "mono num"),
    ];
  }

  function cancelForm(order) {
    var form = el("form", { method: "post", action: cfg.cancelUrl.replace(/\/0\/cancel$/, "/" + order.id + "/cancel") }, [
      el("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrfToken() }),
      el("button", { "class": "button small danger", type: "submit", disabled: !cfg.canCancel }, [
        "Cancel", el("span", { "class": "visually-hidden", text: " order #" + order.id }),
      ]),
    ]);
    return form;
  }

  function renderOpenOrders(orders) {
    fill(panel("open-orders"), orders.length ? orders.map(function (order) {
      var status = order.cancel_requested ? "cancelling…" : labels.statuses[order.status] || order.status;
      return el("tr", { "data-order": order.id }, orderCells(order).concat([
        td(status, "status status-" + order.status),
        el("td", { "class": "num" }, [order.cancel_requested ? null : cancelForm(order)]),
      ]));
    }) : [empty(8, "No open orders in " + cfg.base + "/" + cfg.quote + ".")]);
    var count = root.querySelector("[data-open-count]");
    if (count) count.textContent = String(orders.length);
    var cancelAll = root.querySelector("[data-cancel-all]");
    if (cancelAll) cancelAll.hidden = orders.length === 0;
  }

  function renderHistory(orders) {
    fill(panel("history"), orders.length ? orders.map(function (order) {
      var reason = order.reason ? labels.reasons[order.reason] || order.reason.replace(/_/g, " ") : "";
      return el("tr", {}, orderCells(order).concat([
        td(order.average_price === null ? "—" : price(order.average_price), "mono num"),
        el("td", {}, [
          el("span", { "class": "status status-" + order.status, text: labels.statuses[order.status] || order.status }),
          reason ? el("div", { "class": "reason muted", text: reason }) : null,
        ]),
      ]));
    }) : [empty(8, "No finished orders yet.")]);
  }

  function renderFills(fills) {
    fill(panel("fills"), fills.length ? fills.map(function (f) {
      return el("tr", {}, [
        el("td", { "class": "mono muted" }, [time(f.time, stamp(f.time))]),
        td(capitalize(f.side), "side-" + f.side),
        td(capitalize(f.role)),
        td(price(f.price), "mono num"),
        td(quantity(f.quantity), "mono num"),
        el("td", { "class": "mono num" }, [ofAsset(f.fee, f.fee_asset) + " ", el("span", { "class": "muted", text: f.fee_asset })]),
      ]);
    }) : [empty(6, "No fills yet.")]);
  }

  function renderBalances(balances) {
    balances.forEach(function (balance) {
      var node = root.querySelector('[data-balance="' + balance.asset + '"]');
      if (node) node.textContent = ofAsset(balance.available, balance.asset) + " " + balance.asset;
    });
    estimate();
  }

  function renderLive(ok) {
    var node = root.querySelector("[data-live]");
    if (!node) return;
    node.hidden = false;
    node.textContent = ok ? "Live" : "Reconnecting…";
    node.classList.toggle("stale", !ok);
  }

  /* ---- The order form: show the fields the chosen order type uses -------------------------------- */

  var form = root.querySelector(".order-form");

  function chosen(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function setShown(selector, shown) {
    form.querySelectorAll(selector).forEach(function (block) {
      block.hidden = !shown;
      // Hidden inputs are disabled too, so the form never sends a value the order type does not use.
      block.querySelectorAll("input, select").forEach(function (input) { input.disabled = !shown; });
    });
  }

  function estimate() {
    if (!form) return;
    var out = form.querySelector("[data-estimate]");
    var qd = cfg.baseDecimals, pd = cfg.quoteDecimals;
    var p = chosen("type") === "limit" ? units(form.elements.price.value, pd) : null;
    var q = units(form.elements.quantity.value, qd);
    var total = p !== null && q !== null ? fromUnits((p * q) / 10n ** BigInt(qd), pd) : "";
    out.hidden = !(total && p > 0n && q > 0n);
    out.textContent = out.hidden ? "" : "Total ≈ " + price(total) + " " + cfg.quote;
  }

  function updateForm() {
    var side = chosen("side") || "buy", type = chosen("type") || "limit";
    setShown('[data-for="limit"]', type === "limit");
    setShown('[data-for="market-buy"]', type === "market" && side === "buy");
    // A market order never rests: good-till-cancelled does not apply to it (the server makes it IOC).
    var tif = form.elements.time_in_force, gtc = tif && tif.querySelector('option[value="GTC"]');
    if (gtc) {
      gtc.disabled = type === "market";
      if (gtc.disabled && tif.value === "GTC") tif.value = "IOC";
    }
    var submit = form.querySelector("[data-submit]");
    submit.textContent = (side === "buy" ? "Buy " : "Sell ") + cfg.base;
    submit.classList.remove("buy", "sell");
    submit.classList.add(side);
    estimate();
  }

  if (form) {
    form.addEventListener("change", updateForm);
    form.addEventListener("input", estimate);
    var submit = form.querySelector("[data-submit]"), closed = submit.disabled;
    form.addEventListener("submit", function () {
      // One click, one request; a second one would come back as the same order anyway.
      window.setTimeout(function () { submit.disabled = true; }, 0);
    });
    window.addEventListener("pageshow", function () { submit.disabled = closed; }); // back from another page
    // A click on a price in the book copies it into a limit order.
    root.querySelector(".book").addEventListener("click", function (event) {
      var cell = event.target.closest("[data-price]");
      if (!cell || !form.elements.price || form.elements.price.disabled) return;
      form.elements.price.value = cell.dataset.price;
      estimate();
    });
    updateForm();
  }

  /* ---- Fetching: poll the API; a WebSocket can replace this part alone ----------------------------- */

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + ": " + response.status);
      return response.json();
    });
  }
  function query(base, params) { return base + "?" + new URLSearchParams(params).toString(); }

  var ordersSeen = null; // what the open orders looked like last time: a change refreshes history and fills

  function refreshAccount() {
    return Promise.all([
      getJSON(query(root.dataset.ordersUrl, { status: "closed", symbol: cfg.symbol, page_size: 20 })).then(function (page) { renderHistory(page.results); }),
      getJSON(query(root.dataset.fillsUrl, { symbol: cfg.symbol, page_size: 20 })).then(function (page) { renderFills(page.results); }),
      getJSON(root.dataset.balancesUrl).then(renderBalances),
    ]);
  }

  function poll() {
    var work = [
      getJSON(root.dataset.bookUrl).then(renderBook),
      getJSON(root.dataset.tradesUrl).then(renderTrades),
    ];
    if (cfg.signedIn) {
      work.push(getJSON(query(root.dataset.ordersUrl, { status: "open", symbol: cfg.symbol, page_size: 50 })).then(function (page) {
        renderOpenOrders(page.results);
        var seen = JSON.stringify(page.results.map(function (o) { return [o.id, o.status, o.filled_quantity, o.cancel_requested]; }));
        if (seen !== ordersSeen) {
          ordersSeen = seen;
          return refreshAccount();
        }
        return null;
      }));
    }
    return Promise.all(work).then(function () { renderLive(true); }, function () { renderLive(false); });
  }

  var timer = null;
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      if (document.hidden) { schedule(); return; }
      poll().then(schedule);
    }, cfg.pollMs);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { window.clearTimeout(timer); poll().then(schedule); }
  });

  window.TradePage = {
    render: {
      book: renderBook,
      trades: renderTrades,
      openOrders: renderOpenOrders,
      history: renderHistory,
      fills: renderFills,
      balances: renderBalances,
      live: renderLive,
    },
    poll: poll,
    stop: function () { window.clearTimeout(timer); timer = null; },
  };

  poll().then(schedule);
})();

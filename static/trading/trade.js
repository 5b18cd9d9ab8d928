/* The trade page, live: the book, recent trades, the ticker and the chart from /ws/stream, and the
 * trader's orders, fills and balances from its `user` channel (static/js/stream.js).
 *
 * The page is complete without this file. The render functions take the API's JSON shapes and know
 * nothing about how the data arrived: window.TradePage.render.book(payload), .trades(list), ...
 * The book is a snapshot with deltas applied in `seq` order; a gap starts it over from a new snapshot.
 * Each (re)subscription fetches what a disconnection may have hidden (trades, orders, fills, candles).
 * While the socket is down the page polls the REST API every few seconds instead.
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
    bookDepth: Number(root.dataset.bookDepth) || 15,
    streamDepth: Number(root.dataset.streamDepth) || 50,
    tradesShown: Number(root.dataset.tradesShown) || 30,
  };
  var labelsNode = document.getElementById("trade-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : { statuses: {}, reasons: {} };

  /* ---- Amounts: decimal strings, never floats ---------------------------------------------------- */

  var amounts = window.Exchange.amounts;
  var trim = amounts.trim, units = amounts.units, fromUnits = amounts.fromUnits;
  var price = function (v) { return trim(v, cfg.pricePlaces); };
  var quantity = function (v) { return trim(v, cfg.quantityPlaces); };
  var ofAsset = function (v, code) { return code === cfg.base ? quantity(v) : price(v); };

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

  // `fresh`: ids of trades that just arrived, highlighted for a moment.
  function renderTrades(trades, fresh) {
    fill(panel("trades"), trades.length ? trades.map(function (trade) {
      return el("tr", { "data-trade": trade.id, "class": fresh && fresh[trade.id] ? "fresh" : null }, [
        td(price(trade.price), "mono side-" + trade.taker_side),
        td(quantity(trade.quantity), "mono num"),
        el("td", { "class": "mono num muted" }, [time(trade.time, clock(trade.time))]),
      ]);
    }) : [empty(3, "No trades yet")]);
    if (trades.length) renderLastPrice(trades[0].price, trades[0].taker_side);
  }

  function renderLastPrice(value, side) {
    if (value === null || value === undefined) return;
    root.querySelectorAll("[data-last-price]").forEach(function (node) {
      node.textContent = price(value);
      if (!side) return;
      node.classList.remove("side-buy", "side-sell");
      node.classList.add("side-" + side);
    });
    document.title = document.title.replace(/^(?:[\d.]+ · )?/, price(value) + " · ");
  }

  // The 24-hour figures of the header, from a `ticker` message or /api/market/ticker.
  function renderTicker(ticker) {
    var set = function (name, text) {
      var node = root.querySelector('[data-ticker="' + name + '"]');
      if (node) node.textContent = text;
      return node;
    };
    var change = ticker.change_percent;
    var node = set("change", change === null ? "—" : (amounts.compare(change, "0") > 0 ? "+" : "") + change + "%");
    if (node) {
      node.classList.toggle("side-buy", change !== null && amounts.compare(change, "0") > 0);
      node.classList.toggle("side-sell", change !== null && amounts.compare(change, "0") < 0);
    }
    set("high", ticker.high === null ? "—" : price(ticker.high));
    set("low", ticker.low === null ? "—" : price(ticker.low));
    set("volume", quantity(ticker.volume) + " " + cfg.base);
    renderLastPrice(ticker.last);
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

  /* ---- The order form: show the fields the chosen order type uses -------------------------------- */

  var form = root.querySelector(".order-form");

  function chosen(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function setShown(block, shown) {
    block.hidden = !shown;
    // Hidden inputs are disabled too, so the form never sends a value the order type does not use.
    block.querySelectorAll("input, select").forEach(function (input) { input.disabled = !shown; });
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
    // Each type-dependent field lists the "type:side" pairs that use it (trading.order_types).
    form.querySelectorAll("[data-shown-for]").forEach(function (block) {
      setShown(block, block.dataset.shownFor.split(" ").indexOf(type + ":" + side) >= 0);
    });
    // A type that never rests (market): good-till-cancelled does not apply to it (the server makes it IOC).
    var tif = form.elements.time_in_force, gtc = tif && tif.querySelector('option[value="GTC"]');
    if (gtc) {
      gtc.disabled = (form.dataset.restingTypes || "").split(" ").indexOf(type) < 0;
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

  /* ---- Fetching from the REST API: at each (re)subscription, and as the fallback ----------------- */

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + ": " + response.status);
      return response.json();
    });
  }
  function query(base, params) { return base + "?" + new URLSearchParams(params).toString(); }
  var LIVE_STATUSES = { pending: true, open: true, partially_filled: true };

  /* ---- The book: a snapshot, then deltas in seq order -------------------------------------------- */

  var book = null; // {seq, bids: Map, asks: Map, deep: {bids, asks}}; keys are canonical price strings
  var bookChannel = "book:" + cfg.symbol;
  var drawing = false;

  function side(levels) {
    var map = new Map();
    levels.forEach(function (level) { map.set(trim(level[0], 0), level); });
    return map;
  }

  function sorted(map, descending) {
    var scale = cfg.quoteDecimals;
    return Array.from(map.values()).sort(function (a, b) {
      var x = units(a[0], scale), y = units(b[0], scale);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return descending ? -order : order;
    }).slice(0, cfg.bookDepth);
  }

  function drawBook() {
    if (drawing) return;
    drawing = true;
    window.requestAnimationFrame(function () {
      drawing = false;
      if (book) renderBook({ bids: sorted(book.bids, true), asks: sorted(book.asks, false) });
    });
  }

  function restart(reason) {
    book = null;
    root.dataset.bookRestarts = String(Number(root.dataset.bookRestarts || 0) + 1);
    if (window.console) window.console.info("book: " + reason + ", asking for a new snapshot");
    stream.resubscribe(bookChannel);
  }

  function onBook(message) {
    if (message.type === "book.snapshot") {
      book = {
        seq: message.seq,
        bids: side(message.bids),
        asks: side(message.asks),
        // A snapshot as deep as the stream sends may hide levels behind it.
        deep: { bids: message.bids.length >= cfg.streamDepth, asks: message.asks.length >= cfg.streamDepth },
      };
      root.dataset.bookSeq = String(book.seq);
      drawBook();
    } else if (message.type === "book.delta" && book) {
      if (message.seq <= book.seq) return; // in the snapshot already
      if (message.seq !== book.seq + 1) { restart("delta " + message.seq + " after " + book.seq); return; }
      book.seq = message.seq;
      [["bids", message.bids], ["asks", message.asks]].forEach(function (pair) {
        pair[1].forEach(function (level) {
          if (amounts.isZero(level[1])) book[pair[0]].delete(trim(level[0], 0));
          else book[pair[0]].set(trim(level[0], 0), level);
        });
      });
      root.dataset.bookSeq = String(book.seq);
      var short = ["bids", "asks"].some(function (name) { return book.deep[name] && book[name].size < cfg.bookDepth; });
      if (short) { restart("levels beyond the snapshot are needed"); return; }
      drawBook();
    }
  }

  /* ---- Recent trades: fetched at subscription, then prepended as they come ---------------------- */

  var trades = [];

  function isoTime(value) { return typeof value === "number" ? new Date(value).toISOString() : value; }

  function mergeTrades(list, highlight) {
    var byId = {};
    var fresh = {};
    trades.forEach(function (t) { byId[t.id] = t; });
    list.forEach(function (t) {
      if (highlight && !byId[t.id]) fresh[t.id] = true;
      byId[t.id] = { id: t.id, price: t.price, quantity: t.quantity, taker_side: t.taker_side, time: isoTime(t.time) };
    });
    trades = Object.keys(byId).map(function (id) { return byId[id]; })
      .sort(function (a, b) { return b.id - a.id; }).slice(0, cfg.tradesShown);
    renderTrades(trades, fresh);
  }

  function loadTrades() { return getJSON(root.dataset.tradesUrl).then(function (list) { mergeTrades(list, false); }); }

  function onTrades(message) {
    if (message.type === "subscribed") loadTrades().catch(function () {});
    else if (message.type === "trades") mergeTrades(message.trades, true);
  }

  function onTicker(message) { if (message.type === "ticker") renderTicker(message); }

  // The market switcher shows every market's last price, live too.
  function onTabTicker(message) {
    var tab = root.querySelector('[data-tab="' + message.symbol + '"]');
    if (message.type !== "ticker" || !tab || message.last === null) return;
    tab.querySelector("[data-tab-price]").textContent = trim(message.last, Number(tab.dataset.pricePlaces));
  }

  /* ---- The trader's orders, fills and balances: the `user` channel ------------------------------- */

  var openOrders = new Map(); // id -> order
  var history = [];
  // Order id -> filled quantity, for the fill toasts; it starts with the open orders the server
  // rendered, so that a fill between the page load and the subscription still gets its toast.
  var filledSeen = {};
  root.querySelectorAll("tr[data-order][data-filled]").forEach(function (row) {
    filledSeen[row.dataset.order] = row.dataset.filled;
  });
  var replay = null; // order updates that arrived while the REST lists were on their way

  function renderOrders() {
    var list = Array.from(openOrders.values()).sort(function (a, b) { return b.id - a.id; });
    renderOpenOrders(list);
    renderHistory(history);
  }

  function applyOrder(order) {
    if (LIVE_STATUSES[order.status]) {
      openOrders.set(order.id, order);
    } else {
      openOrders.delete(order.id);
      history = [order].concat(history.filter(function (o) { return o.id !== order.id; }))
        .sort(function (a, b) { return b.id - a.id; }).slice(0, 20);
    }
  }

  var fillsTimer = null;
  function loadFills() {
    return getJSON(query(root.dataset.fillsUrl, { symbol: cfg.symbol, page_size: 20 })).then(function (page) {
      renderFills(page.results);
    });
  }
  function fillsSoon() {
    window.clearTimeout(fillsTimer);
    fillsTimer = window.setTimeout(function () { loadFills().catch(function () {}); }, 150);
  }

  function loadAccount() {
    replay = [];
    return Promise.all([
      getJSON(query(root.dataset.ordersUrl, { status: "open", symbol: cfg.symbol, page_size: 50 })),
      getJSON(query(root.dataset.ordersUrl, { status: "closed", symbol: cfg.symbol, page_size: 20 })),
      loadFills(),
    ]).then(function (pages) {
      openOrders = new Map(pages[0].results.map(function (o) { return [o.id, o]; }));
      history = pages[1].results;
      var all = pages[0].results.concat(history);
      // Orders the page knew that filled while it was not listening (loading, reconnecting).
      window.Exchange.fillToasts(all.filter(function (o) { return o.id in filledSeen; }), filledSeen, describe);
      all.forEach(function (o) { filledSeen[o.id] = o.filled_quantity; });
      (replay || []).forEach(applyOrder);
      replay = null;
      renderOrders();
    }, function () { replay = null; });
  }

  function describe(order) {
    if (order.symbol !== cfg.symbol) return "";
    var average = order.average_price ? " at " + price(order.average_price) + " " + cfg.quote : "";
    return capitalize(order.side) + " " + quantity(order.filled_quantity) + " " + cfg.base + average + ".";
  }

  function onUser(message) {
    if (message.type === "subscribed") loadAccount();
    else if (message.type === "balances") renderBalances(message.balances);
    else if (message.type === "notification") window.Exchange.notificationToast(message);
    else if (message.type === "fills") fillsSoon();
    else if (message.type === "orders") {
      window.Exchange.fillToasts(message.orders, filledSeen, describe);
      var mine = message.orders.filter(function (o) { return o.symbol === cfg.symbol; });
      if (!mine.length) return;
      if (replay) replay.push.apply(replay, mine);
      mine.forEach(applyOrder);
      renderOrders();
      if (mine.some(function (o) { return !amounts.isZero(o.filled_quantity); })) fillsSoon();
    }
  }

  /* ---- The fallback: poll the API while the socket is down ---------------------------------------- */

  var ordersSeen = null; // what the open orders looked like last time: a change refreshes history and fills

  function refreshAccount() {
    return Promise.all([
      getJSON(query(root.dataset.ordersUrl, { status: "closed", symbol: cfg.symbol, page_size: 20 })).then(function (page) { history = page.results; renderHistory(history); }),
      loadFills(),
      getJSON(root.dataset.balancesUrl).then(renderBalances),
    ]);
  }

  function poll() {
    book = null; // the stream starts from a snapshot of its own when it is back
    var work = [
      getJSON(root.dataset.bookUrl).then(renderBook),
      loadTrades(),
      getJSON(root.dataset.tickerUrl).then(renderTicker),
    ];
    if (chart) work.push(chart.refresh());
    if (cfg.signedIn) {
      work.push(getJSON(query(root.dataset.ordersUrl, { status: "open", symbol: cfg.symbol, page_size: 50 })).then(function (page) {
        openOrders = new Map(page.results.map(function (o) { return [o.id, o]; }));
        renderOpenOrders(page.results);
        var seen = JSON.stringify(page.results.map(function (o) { return [o.id, o.status, o.filled_quantity, o.cancel_requested]; }));
        if (seen !== ordersSeen) {
          ordersSeen = seen;
          return refreshAccount();
        }
        return null;
      }));
    }
    return Promise.all(work).catch(function () {});
  }

  var stream = window.Exchange.stream && window.WebSocket ? window.Exchange.stream() : null;
  var timer = null;
  function polling() { return !stream || (stream.state !== "live" && stream.state !== "connecting"); }
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      if (document.hidden || !polling()) { schedule(); return; }
      poll().then(schedule);
    }, cfg.pollMs);
  }

  var chartPanel = root.querySelector("[data-chart-panel]");
  var chart = chartPanel && window.TradeChart
    ? window.TradeChart.create(chartPanel, {
      symbol: cfg.symbol,
      candlesUrl: root.dataset.candlesUrl,
      pricePlaces: cfg.pricePlaces,
      quantityPlaces: cfg.quantityPlaces,
      tick: root.dataset.tick,
      stream: stream,
    })
    : null;

  if (stream) {
    stream.indicator(root.querySelector("[data-live]"));
    stream.subscribe(bookChannel, onBook);
    stream.subscribe("trades:" + cfg.symbol, onTrades);
    root.querySelectorAll("[data-tab]").forEach(function (tab) {
      stream.subscribe("ticker:" + tab.dataset.tab, onTabTicker);
    });
    stream.subscribe("ticker:" + cfg.symbol, onTicker);
    if (cfg.signedIn) stream.subscribe("user", onUser);
    stream.on("state", function (state) {
      if (state === "reconnecting" || state === "offline") poll(); // at once, then every few seconds
    });
  } else {
    poll();
  }
  schedule();

  window.TradePage = {
    render: {
      book: renderBook,
      trades: renderTrades,
      ticker: renderTicker,
      openOrders: renderOpenOrders,
      history: renderHistory,
      fills: renderFills,
      balances: renderBalances,
    },
    poll: poll,
    stream: stream,
    chart: chart,
    stop: function () { window.clearTimeout(timer); timer = null; },
  };
})();

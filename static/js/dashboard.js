/* The dashboard, live: the `user` channel of /ws/stream brings balances, order updates and
 * notifications; the tickers of the USDT markets bring the prices the holdings are valued at.
 *
 * Balances and values are recomputed here the way trading/portfolio.py does it (decimal strings,
 * half up to the cent). A fill of one of the user's orders and each notification show a toast; a
 * notification is also put on top of the list, and may mean a deposit or withdrawal moved, so those
 * are fetched again. While the socket is down the page polls the REST API instead.
 */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  var dataNode = document.getElementById("dashboard-data");
  if (!root || !dataNode) return;

  var data = JSON.parse(dataNode.textContent);
  var labelsNode = document.getElementById("trade-labels");
  var labels = labelsNode ? JSON.parse(labelsNode.textContent) : { statuses: {} };
  var amounts = window.Exchange.amounts;
  var trim = amounts.trim;
  var POLL_MS = 5000;
  var LIVE_STATUSES = { pending: true, open: true, partially_filled: true };

  /* ---- Helpers ----------------------------------------------------------------------------------- */

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child !== null && child !== undefined) node.append(child); });
    return node;
  }
  function td(text, className) { return el("td", { "class": className, text: text }); }
  function panel(name) { return root.querySelector('[data-panel="' + name + '"]'); }
  function fill(body, rows) { if (body) body.replaceChildren.apply(body, rows); }
  function empty(colspan, text) {
    return el("tr", { "class": "empty" }, [el("td", { colspan: colspan, "class": "muted", text: text })]);
  }
  function capitalize(text) { return text ? text.charAt(0).toUpperCase() + text.slice(1) : ""; }
  function words(code) { return capitalize(String(code).replace(/_/g, " ")); }
  // "2026-11-26T08:07:12.345Z" -> "11-26 08:07:12" (UTC, as the server renders it)
  function stamp(iso) {
    var match = /^\d{4}-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)/.exec(iso || "");
    return match ? match[1] + "-" + match[2] + " " + match[3] : "";
  }
  function when(iso) { return el("td", { "class": "mono muted" }, [el("time", { datetime: iso, text: stamp(iso) })]); }
  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error(url + ": " + response.status);
      return response.json();
    });
  }
  function query(base, params) { return base + "?" + new URLSearchParams(params).toString(); }

  function market(symbol) {
    var known = data.markets[symbol];
    if (known) return known;
    var parts = symbol.split("-");
    return { base: parts[0], quote: parts[1], price_places: 2, quantity_places: 4 };
  }
  function pair(symbol) { var m = market(symbol); return m.base + "/" + m.quote; }
  function tradeLink(symbol) { return el("a", { href: "/trade/" + symbol, text: pair(symbol) }); }

  /* ---- Balances and their value ----------------------------------------------------------------- */

  var balances = {}; // asset -> {available, locked}
  var prices = {}; // asset -> price of one unit in USDT
  Object.keys(data.assets).forEach(function (code) { prices[code] = data.assets[code].price; });

  function renderBalances() {
    var total = "0";
    Object.keys(data.assets).forEach(function (code) {
      var asset = data.assets[code];
      var row = root.querySelector('tr[data-asset="' + code + '"]');
      var balance = balances[code];
      if (!row || !balance) return;
      var sum = amounts.add(balance.available, balance.locked);
      var exact = amounts.multiply(sum, prices[code] || "0", 36);
      total = amounts.add(total, exact);
      var set = function (field, text) { row.querySelector('[data-field="' + field + '"]').textContent = text; };
      set("available", trim(balance.available, asset.places));
      set("locked", trim(balance.locked, asset.places));
      set("total", trim(amounts.round(amounts.units(sum, 18), 18, asset.decimals), asset.places));
      set("value", amounts.group(amounts.round(amounts.units(exact, 18), 18, 2)));
    });
    var text = amounts.group(amounts.round(amounts.units(total, 18), 18, 2));
    root.querySelectorAll("[data-total-value]").forEach(function (node) { node.textContent = text; });
  }

  function onBalances(list) {
    list.forEach(function (b) { balances[b.asset] = { available: b.available, locked: b.locked }; });
    renderBalances();
  }

  function setPrice(symbol, last) {
    var base = market(symbol).base;
    if (last === null || prices[base] === last) return;
    prices[base] = last;
    if (Object.keys(balances).length) renderBalances();
  }

  // The ticker comes at most once a second; each batch's trades come at once: the newest sets the price.
  function onTicker(message) { if (message.type === "ticker") setPrice(message.symbol, message.last); }
  function onTrades(message) {
    if (message.type !== "trades" || !message.trades.length) return;
    var newest = message.trades.reduce(function (a, b) { return b.id > a.id ? b : a; });
    setPrice(message.symbol, newest.price);
  }

  /* ---- Open orders -------------------------------------------------------------------------------- */

  var openOrders = new Map();
  var filledSeen = {}; // order id -> filled quantity: the toasts' memory, from the orders rendered first
  root.querySelectorAll("tr[data-order][data-filled]").forEach(function (row) {
    filledSeen[row.dataset.order] = row.dataset.filled;
  });
  var replay = null; // order updates that arrived while the REST list was on its way

  function orderRow(order) {
    var m = market(order.symbol);
    var p = function (v) { return trim(v, m.price_places); };
    var q = function (v) { return trim(v, m.quantity_places); };
    var status = order.cancel_requested ? "cancelling…" : labels.statuses[order.status] || words(order.status);
    return el("tr", { "data-order": order.id }, [
      when(order.created_at),
      el("td", {}, [tradeLink(order.symbol)]),
      td(capitalize(order.side), "side-" + order.side),
      td(capitalize(order.type)),
      td(order.type === "market" ? "Market" : p(order.price), "mono num"),
      td(order.quantity === null ? p(order.quote_quantity) + " " + m.quote : q(order.quantity), "mono num"),
      td(q(order.filled_quantity), "mono num"),
      td(status, "status status-" + order.status),
    ]);
  }

  function renderOrders() {
    var list = Array.from(openOrders.values()).sort(function (a, b) { return b.id - a.id; }).slice(0, data.limits.orders);
    fill(panel("open-orders"), list.length ? list.map(orderRow) : [empty(8, "No open orders.")]);
    var count = root.querySelector("[data-open-count]");
    if (count) count.textContent = String(openOrders.size);
  }

  function applyOrder(order) {
    if (LIVE_STATUSES[order.status]) openOrders.set(order.id, order);
    else openOrders.delete(order.id);
  }

  function describe(order) {
    var m = market(order.symbol);
    var average = order.average_price ? " at " + trim(order.average_price, m.price_places) + " " + m.quote : "";
    return capitalize(order.side) + " " + trim(order.filled_quantity, m.quantity_places) + " " + m.base + average + ".";
  }

  function loadOrders() {
    replay = [];
    return Promise.all([
      getJSON(query(root.dataset.ordersUrl, { status: "open", page_size: data.limits.orders })),
      // Only for the toasts: orders the page knew that finished while it was not listening.
      getJSON(query(root.dataset.ordersUrl, { status: "closed", page_size: 20 })),
    ]).then(function (pages) {
      var page = pages[0];
      openOrders = new Map(page.results.map(function (o) { return [o.id, o]; }));
      var all = page.results.concat(pages[1].results);
      window.Exchange.fillToasts(all.filter(function (o) { return o.id in filledSeen; }), filledSeen, describe);
      all.forEach(function (o) { filledSeen[o.id] = o.filled_quantity; });
      (replay || []).forEach(applyOrder);
      replay = null;
      renderOrders();
    }, function () { replay = null; });
  }

  /* ---- Recent trades (fills) and transfers: fetched again when they may have changed -------------- */

  function renderFills(list) {
    fill(panel("fills"), list.length ? list.map(function (f) {
      var m = market(f.symbol);
      return el("tr", {}, [
        when(f.time),
        el("td", {}, [tradeLink(f.symbol)]),
        el("td", { "class": "side-" + f.side }, [capitalize(f.side) + " ", el("span", { "class": "muted", text: f.role })]),
        td(trim(f.price, m.price_places), "mono num"),
        td(trim(f.quantity, m.quantity_places), "mono num"),
        el("td", { "class": "mono num" }, [
          trim(f.fee, f.fee_asset === m.base ? m.quantity_places : m.price_places) + " ",
          el("span", { "class": "muted", text: f.fee_asset }),
        ]),
      ]);
    }) : [empty(6, "No trades yet.")]);
  }

  function renderTransactions(list) {
    fill(panel("transactions"), list.length ? list.map(function (tx) {
      return el("tr", {}, [
        when(tx.created_at),
        td(capitalize(tx.type)),
        el("td", { "class": "mono num" }, [tx.amount + " ", el("span", { "class": "muted", text: tx.asset })]),
        el("td", {}, [el("span", { "class": "status status-" + tx.status, text: words(tx.status) })]),
      ]);
    }) : [empty(4, "No deposits or withdrawals yet.")]);
  }

  function loadFills() {
    return getJSON(query(root.dataset.fillsUrl, { page_size: data.limits.fills })).then(function (page) { renderFills(page.results); });
  }
  function loadTransactions() {
    return getJSON(query(root.dataset.transactionsUrl, { page_size: data.limits.transactions })).then(function (page) {
      renderTransactions(page.results);
    });
  }
  var timers = {};
  function soon(name, work) {
    window.clearTimeout(timers[name]);
    timers[name] = window.setTimeout(function () { work().catch(function () {}); }, 150);
  }

  /* ---- Notifications ------------------------------------------------------------------------------ */

  function prependNotification(note) {
    var list = root.querySelector("[data-notifications]");
    if (!list) return;
    var placeholder = list.querySelector(".empty");
    if (placeholder) placeholder.remove();
    var title = note.link ? el("a", { href: note.link, text: note.title }) : note.title;
    var item = el("li", { "class": "fresh" }, [
      el("strong", {}, [title]),
      " ",
      el("span", { "class": "muted when" }, [el("time", { datetime: note.created_at, text: "just now" })]),
      note.body ? el("p", { text: note.body }) : null,
    ]);
    list.prepend(item);
    while (list.children.length > data.limits.notifications) list.lastElementChild.remove();
  }

  /* ---- The stream, and the fallback -------------------------------------------------------------- */

  function onUser(message) {
    if (message.type === "subscribed") {
      loadOrders();
      loadFills().catch(function () {});
      loadTransactions().catch(function () {});
    } else if (message.type === "balances") {
      onBalances(message.balances);
    } else if (message.type === "orders") {
      window.Exchange.fillToasts(message.orders, filledSeen, describe);
      if (replay) replay.push.apply(replay, message.orders);
      message.orders.forEach(applyOrder);
      renderOrders();
      if (message.orders.some(function (o) { return !amounts.isZero(o.filled_quantity); })) soon("fills", loadFills);
    } else if (message.type === "fills") {
      soon("fills", loadFills);
    } else if (message.type === "notification") {
      window.Exchange.notificationToast(message);
      prependNotification(message);
      soon("transactions", loadTransactions); // a deposit credited, a withdrawal sent ...
    }
  }

  function poll() {
    return Promise.all([
      getJSON(root.dataset.balancesUrl).then(onBalances),
      getJSON(root.dataset.pricesUrl).then(function (list) {
        list.forEach(function (p) {
          if (data.valued_by.indexOf(p.symbol) >= 0) setPrice(p.symbol, p.price);
        });
      }),
      getJSON(query(root.dataset.ordersUrl, { status: "open", page_size: data.limits.orders })).then(function (page) {
        window.Exchange.fillToasts(page.results, filledSeen, describe);
        openOrders = new Map(page.results.map(function (o) { return [o.id, o]; }));
        renderOrders();
      }),
      loadFills(),
      loadTransactions(),
    ]).catch(function () {});
  }

  var stream = window.WebSocket ? window.Exchange.stream() : null;
  var timer = null;
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var down = !stream || (stream.state !== "live" && stream.state !== "connecting");
      if (document.hidden || !down) { schedule(); return; }
      poll().then(schedule);
    }, POLL_MS);
  }

  if (stream) {
    stream.indicator(root.querySelector("[data-live]"));
    stream.subscribe("user", onUser);
    data.valued_by.forEach(function (symbol) {
      stream.subscribe("ticker:" + symbol, onTicker);
      stream.subscribe("trades:" + symbol, onTrades);
    });
    stream.on("state", function (state) { if (state === "reconnecting" || state === "offline") poll(); });
  } else {
    poll();
  }
  schedule();

  window.Dashboard = { poll: poll, stream: stream };
})();

/* The live pages' WebSocket client for /ws/stream, a connection indicator and toasts.
 *
 *   var stream = Exchange.stream();                       // one connection per page, opened at once
 *   stream.subscribe("book:BTC-USDT", function (message) { ... });   // every message of that channel
 *   stream.on("state", function (state) { ... });          // connecting | live | reconnecting | offline
 *                                                          // (live: connected and every channel confirmed)
 *   stream.indicator(node);                                // keeps a "Live" badge up to date
 *   Exchange.toast({ title: "...", body: "...", link: "/wallet" });
 *
 * Needs static/js/amounts.js first.
 *
 * Messages are dispatched by their `channel` ("book:BTC-USDT", "candles:BTC-USDT:1m", "user"); a
 * handler also receives the `subscribed` message of its channel, which comes again after every
 * reconnect: that is the moment to fetch what may have been missed. The connection closes when the
 * server goes away; the client reconnects with a growing, jittered delay (at once when the browser
 * comes back online or the tab becomes visible) and subscribes again to every channel, so a book
 * starts over from a fresh snapshot. The session cookie authenticates the `user` channel; when the
 * server ends that sign-in (`unauthenticated`), a page that follows the user channel reloads.
 */
(function () {
  "use strict";

  var LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline" };
  var PING_MS = 20000; // a ping every 20 s; no answer to anything within 45 s means the connection is dead
  var SILENCE_MS = 45000;
  var OFFLINE_AFTER = 4; // failed attempts in a row before the indicator says "Offline"
  var SETTLE_MS = 3000; // at most this long from "connected" to "Live"

  function Stream(url) {
    this.url = url;
    this.handlers = {}; // channel -> [handler]
    this.listeners = { state: [], error: [] };
    this.state = "connecting";
    this.failures = 0;
    this.socket = null;
    this.retry = null;
    this.heartbeat = null;
    this.heardAt = 0;
    this.waiting = null; // channels asked for on this connection, not confirmed yet
    this.settle = null;
    var self = this;
    window.addEventListener("online", function () { self.reconnectNow(); });
    window.addEventListener("offline", function () { if (self.state !== "live") self.setState("offline"); });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) self.reconnectNow(); });
    window.addEventListener("pagehide", function () { self.close(); });
    window.addEventListener("pageshow", function (event) { // back from the back-forward cache
      if (event.persisted && self.stopped) { self.stopped = false; self.connect(); }
    });
    this.connect();
  }

  Stream.prototype.setState = function (state) {
    if (state === this.state) return;
    this.state = state;
    this.listeners.state.forEach(function (listener) { listener(state); });
  };

  Stream.prototype.on = function (event, listener) {
    this.listeners[event].push(listener);
    if (event === "state") listener(this.state);
    return this;
  };

  Stream.prototype.send = function (message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  };

  Stream.prototype.connect = function () {
    var self = this;
    window.clearTimeout(this.retry);
    this.retry = null;
    var socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      this.closed();
      return;
    }
    this.socket = socket;
    socket.onopen = function () {
      self.heardAt = Date.now();
      self.heartbeat = window.setInterval(function () {
        if (Date.now() - self.heardAt > SILENCE_MS) socket.close();
        else self.send({ op: "ping" });
      }, PING_MS);
      var channels = Object.keys(self.handlers);
      if (!channels.length) { self.failures = 0; self.setState("live"); return; }
      // "Live" once every channel is confirmed: from then on nothing published is missed. An
      // error names no channel, so a refused subscription is given up on after a few seconds.
      self.waiting = new Set(channels);
      self.settle = window.setTimeout(function () { self.confirmed(null); }, SETTLE_MS);
      self.send({ op: "subscribe", channels: channels });
    };
    socket.onmessage = function (event) {
      self.heardAt = Date.now();
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      self.dispatch(message);
    };
    socket.onclose = function () {
      if (self.socket !== socket) return; // an old socket, replaced already
      self.closed();
    };
  };

  Stream.prototype.confirmed = function (channel) {
    if (!this.waiting) return;
    if (channel !== null) this.waiting.delete(channel);
    if (channel !== null && this.waiting.size) return;
    window.clearTimeout(this.settle);
    this.waiting = null;
    this.failures = 0; // only now: a server that accepts and drops at once still gets the growing delay
    this.setState("live");
  };

  Stream.prototype.closed = function () {
    window.clearInterval(this.heartbeat);
    window.clearTimeout(this.settle);
    this.waiting = null;
    this.socket = null;
    if (this.stopped) return;
    this.failures += 1;
    this.setState(this.failures >= OFFLINE_AFTER || navigator.onLine === false ? "offline" : "reconnecting");
    // 0.5 s, 1 s, 2 s ... up to 15 s, each between half and all of it, so that reconnecting
    // clients do not all come back at the same instant after a restart.
    var delay = Math.min(15000, 500 * Math.pow(2, this.failures - 1));
    var self = this;
    this.retry = window.setTimeout(function () { self.connect(); }, delay / 2 + Math.random() * delay / 2);
  };

  Stream.prototype.reconnectNow = function () {
    if (this.retry !== null && !this.stopped) this.connect();
  };

  Stream.prototype.close = function () {
    this.stopped = true;
    window.clearTimeout(this.retry);
    window.clearInterval(this.heartbeat);
    if (this.socket) this.socket.close();
  };

  Stream.prototype.dispatch = function (message) {
    if (message.type === "pong") return;
    if (message.type === "subscribed") this.confirmed(message.channel);
    if (message.type === "unauthenticated") {
      // The sign-in behind the user channel ended (a logout elsewhere, a password change): what the
      // page shows of the account is stale. Drawn again, it asks to sign in if the session is gone.
      if (this.handlers.user) window.location.reload();
      return;
    }
    if (message.type === "error") {
      this.listeners.error.forEach(function (listener) { listener(message); });
      return;
    }
    (this.handlers[message.channel] || []).forEach(function (handler) { handler(message); });
  };

  Stream.prototype.subscribe = function (channel, handler) {
    var fresh = !this.handlers[channel];
    (this.handlers[channel] = this.handlers[channel] || []).push(handler);
    if (fresh) this.send({ op: "subscribe", channels: [channel] });
    return this;
  };

  Stream.prototype.unsubscribe = function (channel, handler) {
    if (!this.handlers[channel]) return this;
    var list = (this.handlers[channel] || []).filter(function (h) { return handler && h !== handler; });
    if (list.length) {
      this.handlers[channel] = list;
      return this;
    }
    delete this.handlers[channel];
    this.send({ op: "unsubscribe", channels: [channel] });
    return this;
  };

  /* Start a channel over: a book that missed a delta gets a new snapshot. */
  Stream.prototype.resubscribe = function (channel) {
    this.send({ op: "unsubscribe", channels: [channel] });
    this.send({ op: "subscribe", channels: [channel] });
  };

  Stream.prototype.live = function () { return this.state === "live"; };

  /* A badge that says how fresh the page is: "Live", "Reconnecting…" or "Offline". */
  Stream.prototype.indicator = function (node) {
    if (!node) return this;
    return this.on("state", function (state) {
      node.hidden = false;
      node.textContent = LABELS[state];
      node.dataset.state = state;
      node.classList.toggle("stale", state !== "live");
      node.title = state === "live" ? "Updates arrive as they happen." : "Not connected: the page refreshes itself every few seconds.";
    });
  };

  var shared = null;

  /* The page's connection to /ws/stream (one per page, shared by every script on it). */
  function stream() {
    if (!shared) {
      /* The stream server's own address when the site names one (`make run`), else this host's. */
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      shared = new Stream(document.body.dataset.streamUrl || scheme + window.location.host + "/ws/stream");
    }
    return shared;
  }

  /* ---- Toasts ------------------------------------------------------------------------------------ */

  var TOAST_MS = 8000;

  function region() {
    var node = document.querySelector(".toasts");
    if (!node) {
      node = document.createElement("div");
      node.className = "toasts";
      node.setAttribute("role", "status");
      node.setAttribute("aria-live", "polite");
      document.body.append(node);
    }
    return node;
  }

  /* Show a short message in the corner: {title, body?, link?, kind?: "info" | "success" | "error"}. */
  function toast(options) {
    var node = document.createElement("div");
    node.className = "toast " + (options.kind || "info");
    node.dataset.testid = "toast";
    var title = document.createElement("strong");
    if (options.link) {
      var link = document.createElement("a");
      link.href = options.link;
      link.textContent = options.title;
      title.append(link);
    } else {
      title.textContent = options.title;
    }
    node.append(title);
    if (options.body) {
      var body = document.createElement("p");
      body.textContent = options.body;
      node.append(body);
    }
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { node.remove(); });
    node.append(close);
    region().append(node);
    var timer = null;
    function later() { timer = window.setTimeout(function () { node.remove(); }, TOAST_MS); }
    node.addEventListener("mouseenter", function () { window.clearTimeout(timer); });
    node.addEventListener("mouseleave", later);
    later();
    return node;
  }

  /* Toasts for the `user` channel: each notification, and each fill of the user's orders.
   * `known` maps order id -> filled quantity seen so far; it is updated here. */
  function fillToasts(orders, known, describe) {
    var amounts = window.Exchange.amounts;
    orders.forEach(function (order) {
      var before = known[order.id];
      known[order.id] = order.filled_quantity;
      var filled = before === undefined
        // An order the page did not know yet: only a fill can have brought it (not a cancel of an old part fill).
        ? (order.status === "filled" || order.status === "partially_filled") && !amounts.isZero(order.filled_quantity)
        : amounts.compare(order.filled_quantity, before) > 0;
      if (!filled) return;
      var done = order.status === "filled";
      toast({
        title: "Order #" + order.id + (done ? " filled" : " partly filled"),
        body: describe ? describe(order) : "",
        link: "/trade/" + order.symbol,
        kind: "success",
      });
    });
  }

  function notificationToast(message) {
    toast({ title: message.title, body: message.body, link: message.link || null });
  }

  window.Exchange = window.Exchange || {};
  window.Exchange.stream = stream;
  window.Exchange.toast = toast;
  window.Exchange.fillToasts = fillToasts;
  window.Exchange.notificationToast = notificationToast;
})();

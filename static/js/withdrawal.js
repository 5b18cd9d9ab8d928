/* A withdrawal's page, live: it is drawn on the server, and drawn again when the withdrawal moves.
 *
 * Every step of a withdrawal reaches the `user` channel as a notification (and its payout as a
 * balance change); on each, and after every (re)connect, the page asks the API where the withdrawal
 * is and reloads when its status or its confirmation email changed. The email going out is not on
 * the stream, so while one is on its way the page also asks every few seconds.
 */
(function () {
  "use strict";

  var card = document.querySelector("[data-withdrawal]");
  if (!card) return;
  var id = card.getAttribute("data-withdrawal");
  var status = card.getAttribute("data-status");
  var emailSent = card.getAttribute("data-email-sent") || "";
  var POLL_MS = 3000;
  var busy = false;

  function check() {
    if (busy) return;
    busy = true;
    fetch("/api/wallet/withdrawals/" + encodeURIComponent(id), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && (data.status !== status || Boolean(data.confirmation_sent_at) !== Boolean(emailSent))) {
          window.location.reload();
        }
      })
      .catch(function () { /* offline: the next event or poll tries again */ })
      .then(function () { busy = false; });
  }

  var stream = window.Exchange.stream();
  stream.subscribe("user", function (message) {
    if (message.type === "subscribed" || message.type === "notification" || message.type === "balances") check();
  });
  window.setInterval(function () {
    if (status === "awaiting_confirmation" && !emailSent) check();
  }, POLL_MS);
})();

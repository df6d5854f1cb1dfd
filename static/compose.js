/* Compose page: live character, part and cost counter (our own script, no CDN).
 * The rule mirrors smsco/text.py: 160 characters in one SMS, 153 per part beyond,
 * a price per part per recipient; allowed characters come from the server. */
(function () {
  "use strict";
  var form = document.querySelector(".compose-form");
  if (!form) { return; }
  var message = form.querySelector("#message");
  var recipients = form.querySelector("#recipients");
  var counter = form.querySelector("[data-counter]");
  var recipientCount = form.querySelector("[data-recipient-count]");
  var price = Number(form.dataset.price), single = Number(form.dataset.single);
  var multi = Number(form.dataset.multi), allowed = new Set(form.dataset.allowed);
  var balance = form.dataset.balance === "" ? null : Number(form.dataset.balance);

  function parts(length) { return length <= single ? 1 : Math.ceil(length / multi); }
  function countRecipients(text) {
    return text.split(/[,;\n]+/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s.replace(/\D/g, "").length >= 9; }).length;
  }
  function update() {
    var text = message.value, chars = Array.from(text);
    var bad = chars.filter(function (c) { return !allowed.has(c); });
    var n = Math.max(countRecipients(recipients.value), 1), p = parts(chars.length);
    var cost = p * n * price;
    var line = chars.length + " characters · " + p + (p === 1 ? " part" : " parts") +
      " · " + cost + " tetri for " + n + (n === 1 ? " recipient" : " recipients");
    if (balance !== null) { line += " · leaves " + (balance - cost / 100).toFixed(2) + " GEL"; }
    if (bad.length) {
      line += " — not allowed: " + Array.from(new Set(bad)).slice(0, 10).join(" ");
    }
    counter.textContent = line;
    counter.classList.toggle("warning", bad.length > 0);
    if (recipientCount) {
      recipientCount.textContent = recipients.value.trim() ? n + " number(s)" : "";
    }
  }
  message.addEventListener("input", update);
  recipients.addEventListener("input", update);
  update();
})();

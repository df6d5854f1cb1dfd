/* Bulk send and campaign pages: live campaign progress (polls JSON every 2 s until done)
 * and one submit per "Send to all" click. (Cancelling asks through confirm.js.) */
(function () {
  "use strict";
  var INTERVAL_MS = 2000;

  function setField(root, name, value) {
    var nodes = root.querySelectorAll('[data-field="' + name + '"]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = value === null || value === undefined ? "—" : String(value);
    }
  }

  function apply(root, data) {
    var bar = root.querySelector("[data-progressbar]");
    if (bar) { bar.setAttribute("aria-valuenow", String(data.percent)); }
    var fill = root.querySelector("[data-progress-fill]");
    if (fill) { fill.setAttribute("width", String(data.percent)); }
    ["percent", "done", "total", "credits", "delivery_rate"].forEach(function (name) {
      setField(root, name, data[name]);
    });
    Object.keys(data.counts).forEach(function (state) {
      var cell = root.querySelector('[data-state-count="' + state + '"]');
      if (cell) { cell.textContent = String(data.counts[state]); }
    });
    var wait = root.querySelector("[data-quiet-wait]");
    if (wait) {
      wait.hidden = !data.quiet_until;
      setField(root, "quiet_until", data.quiet_until || "");
    }
    Object.keys(data.actions || {}).forEach(function (name) {
      var slot = root.querySelector('[data-action="' + name + '"]');
      if (slot) { slot.hidden = !data.actions[name]; }
    });
    root.setAttribute("data-finished", data.finished ? "true" : "false");
  }

  function pollCampaign(root) {
    var url = root.getAttribute("data-progress-url");
    function tick() {
      if (document.hidden) { window.setTimeout(tick, INTERVAL_MS); return; }
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data) { apply(root, data); }
          if (!data || !data.finished) { window.setTimeout(tick, INTERVAL_MS); }
        })
        .catch(function () { window.setTimeout(tick, INTERVAL_MS); });
    }
    if (root.getAttribute("data-finished") !== "true") { window.setTimeout(tick, INTERVAL_MS); }
  }

  function oneSend(form) {
    // The idempotency key makes a second submit harmless; this only spares the round trip.
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || button.getAttribute("data-send") === null) { return; }
      if (form.getAttribute("data-sending") === "true") { event.preventDefault(); return; }
      form.setAttribute("data-sending", "true");
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-sending-label") || button.textContent;
      }, 0);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.querySelector("[data-campaign-live]");
    if (live) { pollCampaign(live); }
    var form = document.querySelector("form[data-bulk-form]");
    if (form) { oneSend(form); }
  });
})();

/* History live updates: poll while any visible message is not final, update cells in place. */
(function () {
  "use strict";
  var INTERVAL_MS = 2000;
  var MAX_IDS = 200;

  function schedule(fn) {
    window.setTimeout(function () {
      if (document.hidden) { schedule(fn); return; }  // no polling from a background tab
      fn();
    }, INTERVAL_MS);
  }

  function renderStatus(cell, update) {
    var state = document.createElement("span");
    state.className = "state state-" + update.state;
    state.textContent = update.label;
    cell.textContent = "";
    cell.appendChild(state);
    if (update.gateway) {
      var gateway = document.createElement("span");
      gateway.className = "gateway-status";
      gateway.textContent = update.gateway;
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(gateway);
    }
    if (update.error) {  // the likely cause of a failed or unknown message, in words
      var cause = document.createElement("small");
      cause.className = "cause";
      cause.textContent = update.error;
      cell.appendChild(document.createTextNode(" "));
      cell.appendChild(cause);
    }
  }

  function setText(row, name, value) {
    var cell = row.querySelector('[data-cell="' + name + '"]');
    if (cell) { cell.textContent = value === null || value === undefined ? "" : String(value); }
  }

  function applyRow(row, update) {
    var status = row.querySelector('[data-cell="status"]');
    if (status) { renderStatus(status, update); }
    setText(row, "sent_at", update.sent_at);
    setText(row, "credits", update.credits);
    row.setAttribute("data-final", update.final ? "true" : "false");
    row.setAttribute("data-state", update.state);
  }

  /* "2 messages queued; sending now." is news only while they wait: once none on the page
   * is queued or sending any more, the flash goes. */
  function settleFlash(root) {
    var waiting = '[data-state="queued"], [data-state="sending"]';
    if (root.matches(waiting) || root.querySelector(waiting)) { return; }
    var flashes = document.querySelectorAll("[data-flash-transient]");
    for (var i = 0; i < flashes.length; i++) { flashes[i].remove(); }
  }

  function pollTable(table) {
    var url = table.getAttribute("data-updates-url");
    function tick() {
      var rows = table.querySelectorAll('tr[data-id][data-final="false"]');
      if (!rows.length) { return; }
      var ids = [];
      for (var i = 0; i < rows.length && ids.length < MAX_IDS; i++) {
        ids.push(rows[i].getAttribute("data-id"));
      }
      fetch(url + "?ids=" + ids.join(","), {credentials: "same-origin",
                                             headers: {"Accept": "application/json"}})
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && data.messages) {
            Object.keys(data.messages).forEach(function (id) {
              var row = table.querySelector('tr[data-id="' + id + '"]');
              if (row) { applyRow(row, data.messages[id]); }
            });
            settleFlash(table);
            var balance = document.querySelector("[data-balance]");
            if (balance && data.balance) { balance.textContent = data.balance; }
          }
        })
        .catch(function () { /* offline for a moment: try again next time */ })
        .then(function () { schedule(tick); });
    }
    schedule(tick);
  }

  function pollMessage() {
    var live = document.getElementById("message-live");
    if (!live || live.getAttribute("data-final") === "true") { return; }
    var url = live.getAttribute("data-live-url");
    fetch(url, {credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = holder.querySelector("#message-live");
        if (fresh && fresh.innerHTML !== live.innerHTML) { live.replaceWith(fresh); }
        if (fresh) { settleFlash(fresh); }
      })
      .catch(function () { /* try again next time */ })
      .then(function () { schedule(pollMessage); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table.history-table[data-updates-url]");
    if (table) { settleFlash(table); pollTable(table); }
    var live = document.getElementById("message-live");
    if (live) { settleFlash(live); schedule(pollMessage); }
  });
})();

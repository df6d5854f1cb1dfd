/* Contacts pages. The list: a box in the header selects every contact on the page, and
 * "select all matching" ticks them all. The contact form: "Add a field" adds an empty
 * name/value row in place (without JavaScript it asks the server for one). */
(function () {
  "use strict";

  function selection() {
    var pageBox = document.querySelector("[data-select-page]");
    var matching = document.querySelector("[data-select-matching]");
    var rows = Array.prototype.slice.call(document.querySelectorAll("[data-select-row]"));
    if (!pageBox || !rows.length) { return; }

    function tickAll(checked) {
      rows.forEach(function (box) { box.checked = checked; });
    }

    function reflect() {
      var ticked = rows.filter(function (box) { return box.checked; }).length;
      pageBox.checked = ticked === rows.length;
      pageBox.indeterminate = ticked > 0 && ticked < rows.length;
    }

    pageBox.hidden = false;
    pageBox.addEventListener("change", function () {
      tickAll(pageBox.checked);
      if (!pageBox.checked && matching) { matching.checked = false; }
    });
    rows.forEach(function (box) {
      box.addEventListener("change", function () {
        if (!box.checked && matching) { matching.checked = false; }
        reflect();
      });
    });
    if (matching) {
      matching.addEventListener("change", function () { tickAll(matching.checked); reflect(); });
    }
  }

  function customFields() {
    var add = document.querySelector("[data-add-field]");
    var holder = document.querySelector("[data-custom-rows]");
    if (!add || !holder) { return; }
    add.addEventListener("click", function (event) {
      var rows = holder.querySelectorAll("[data-custom-row]");
      if (!rows.length) { return; }  // nothing to copy: let the server add one
      event.preventDefault();
      var last = rows[rows.length - 1];
      var fresh = last.cloneNode(true);
      var number = rows.length;  // rows are custom-0 … custom-(n-1)
      fresh.querySelectorAll("input, label").forEach(function (node) {
        ["id", "name", "for"].forEach(function (attribute) {
          var value = node.getAttribute(attribute);
          if (value) { node.setAttribute(attribute, value.replace(/-\d+-/, "-" + number + "-")); }
        });
        if (node.tagName === "INPUT") { node.value = ""; }
        if (node.tagName === "LABEL") {
          node.textContent = node.textContent.replace(/\d+/, String(number + 1));
        }
      });
      holder.appendChild(fresh);
      fresh.querySelector("input").focus();
    });
  }

  selection();
  customFields();
})();

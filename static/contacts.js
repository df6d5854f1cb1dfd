/* The contacts list: a box in the header selects every contact on the page, and "select all
 * matching" ticks them all. Without JavaScript each box still works on its own. */
(function () {
  "use strict";
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
})();

/* The send button says "Schedule" while a send time is filled in, "Send" when it is empty. */
(function () {
  "use strict";
  var button = document.querySelector("[data-send-button]");
  var when = document.getElementById("send_at");
  if (!button || !when) { return; }
  function update() {
    button.textContent = when.value.trim() ? button.dataset.labelLater : button.dataset.labelNow;
  }
  when.addEventListener("input", update);
  when.addEventListener("change", update);
  update();
})();

/* Destructive actions ask first (smsco/web/ui/confirm.py): a form with data-confirm opens a
 * <dialog> with the question; "Yes" posts the form with confirmed=1, "No" closes the dialog.
 * Without JavaScript the server shows a confirmation page instead. */
(function () {
  "use strict";

  function button(text, className) {
    var node = document.createElement("button");
    node.type = "button";
    node.className = className;
    node.textContent = text;
    return node;
  }

  function ask(form) {
    var dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-question");
    var question = document.createElement("p");
    question.id = "confirm-dialog-question";
    question.className = "confirm-question";
    question.textContent = form.getAttribute("data-confirm");
    dialog.appendChild(question);
    var detail = form.getAttribute("data-confirm-detail");
    if (detail) {
      var text = document.createElement("p");
      text.textContent = detail;
      dialog.appendChild(text);
    }
    var actions = document.createElement("div");
    actions.className = "actions";
    var yes = button(form.getAttribute("data-confirm-yes") || "OK", "button danger");
    var no = button(form.getAttribute("data-confirm-no") || "Cancel", "button");
    actions.appendChild(yes);
    actions.appendChild(no);
    dialog.appendChild(actions);
    yes.addEventListener("click", function () {
      var confirmed = document.createElement("input");
      confirmed.type = "hidden";
      confirmed.name = "confirmed";
      confirmed.value = "1";
      form.appendChild(confirmed);
      dialog.close();
      form.submit();  // submit() skips the submit event: no second question
    });
    no.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { dialog.remove(); });
    document.body.appendChild(dialog);
    dialog.showModal();
    no.focus();  // the safe answer is the default one
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) { return; }
    if (typeof HTMLDialogElement !== "function") { return; }  // the server asks instead
    event.preventDefault();
    ask(form);
  });
})();

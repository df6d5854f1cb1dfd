/* The message field (templates/_message_field.html): live counter, marked characters,
 * transliteration with a preview, template choice, opt-out footer. Our own script, no CDN.
 *
 * One source of truth: every number comes from the server (POST /text/analyze, which
 * uses smsco.text), so the page and the form's validation always agree. This script
 * only adds up recipients x cost and formats. Positions are code points, as in Python
 * (Array.from, never UTF-16 indices). */
(function () {
  "use strict";
  var DEBOUNCE_MS = 150;

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function gel(tetri) { return (tetri / 100).toFixed(2) + " GEL"; }

  /* How a refused character is shown inside <mark>: invisible ones by name. */
  function visible(ch) {
    if (ch === "\n") { return "↵"; }
    if (ch === "\t") { return "⇥"; }
    if (/\s/.test(ch) || /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/.test(ch)) {
      return "U+" + ch.codePointAt(0).toString(16).toUpperCase().padStart(4, "0");
    }
    return ch;
  }

  function MessageField(root) {
    this.root = root;
    this.input = root.querySelector("[data-message-input]");
    this.line = root.querySelector("[data-counter-line]");
    this.warning = root.querySelector("[data-counter-warning]");
    this.marked = root.querySelector("[data-marked]");
    this.markedText = root.querySelector("[data-marked-text]");
    this.style = root.querySelector("[data-style]");
    this.proposal = root.querySelector("[data-proposal]");
    this.proposalText = root.querySelector("[data-proposal-text]");
    this.proposalCount = root.querySelector("[data-proposal-count]");
    this.placeholderWarning = root.querySelector("[data-placeholder-warning]");
    this.templateSelect = root.querySelector("[data-template-select]");
    this.footerToggle = root.querySelector("[data-footer-toggle]") ||
      (root.dataset.footerFrom ? document.querySelector(root.dataset.footerFrom) : null);
    this.showCost = root.dataset.cost !== "off";
    var source = root.dataset.recipientCountFrom;
    this.recipientSource = source ? document.querySelector(source) : null;
    this.balance = root.dataset.balance === "" || root.dataset.balance === undefined
      ? null : Math.round(parseFloat(root.dataset.balance) * 100);
    this.sequence = 0;
    this.timer = null;
    this.bind();
    this.refresh();
  }

  MessageField.prototype.bind = function () {
    var self = this;
    var later = function () { self.refreshSoon(); };
    this.input.addEventListener("input", function () { self.hideProposal(); later(); });
    if (this.recipientSource) { this.recipientSource.addEventListener("input", later); }
    document.addEventListener("message-field:refresh", later);
    if (this.footerToggle && this.footerToggle.type === "radio") {
      // Choosing another radio of the group changes no event on this one.
      document.querySelectorAll('input[name="' + this.footerToggle.name + '"]')
        .forEach(function (radio) { radio.addEventListener("change", later); });
    } else if (this.footerToggle) {
      this.footerToggle.addEventListener("change", later);
    }
    if (this.style) {
      this.style.addEventListener("change", function () {
        if (!self.proposal.hidden) { self.propose(); } else { later(); }
      });
    }
    if (this.templateSelect) {
      this.templateSelect.addEventListener("change", function () {
        var option = self.templateSelect.selectedOptions[0];
        if (option && option.value) {
          self.input.value = option.dataset.body;
          self.hideProposal();
          self.refresh();
        }
      });
    }
    this.root.querySelector("[data-transliterate]").addEventListener("click", function () {
      self.propose();
    });
    this.root.querySelector("[data-accept]").addEventListener("click", function () {
      self.input.value = self.proposalText.textContent;
      self.hideProposal();
      self.input.focus();
      self.refresh();
    });
    this.root.querySelector("[data-reject]").addEventListener("click", function () {
      self.hideProposal();
      self.input.focus();
    });
  };

  MessageField.prototype.request = function () {
    var body = {
      text: this.input.value,
      style: this.style ? this.style.value : "national",
      footer: Boolean(this.footerToggle && this.footerToggle.checked),
      placeholders: this.root.dataset.placeholders === "allow"
    };
    var source = this.recipientSource;
    if (source && (source.tagName === "TEXTAREA" || source.tagName === "INPUT")) {
      body.recipients = source.value;
    }
    return body;
  };

  MessageField.prototype.analyze = function () {
    return fetch(this.root.dataset.analyzeUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(this.request())
    }).then(function (reply) {
      if (!reply.ok) { throw new Error("analyze failed: " + reply.status); }
      return reply.json();
    });
  };

  MessageField.prototype.refreshSoon = function () {
    var self = this;
    clearTimeout(this.timer);
    this.root.dataset.state = "pending";  // tests wait for "ready"
    this.timer = setTimeout(function () { self.refresh(); }, DEBOUNCE_MS);
  };

  MessageField.prototype.refresh = function () {
    var self = this, number = ++this.sequence;
    clearTimeout(this.timer);
    this.root.dataset.state = "pending";
    return this.analyze().then(function (result) {
      if (number !== self.sequence) { return; }  // a newer request is on its way
      self.render(result);
      self.root.dataset.state = "ready";
    }).catch(function () {
      if (number !== self.sequence) { return; }
      self.line.textContent = "The counter is unavailable; the text is checked when you send.";
      self.root.dataset.state = "error";
    });
  };

  MessageField.prototype.recipientCount = function (result) {
    if (this.root.dataset.recipientCount !== undefined) {
      return parseInt(this.root.dataset.recipientCount, 10) || 0;
    }
    var source = this.recipientSource;
    if (!source) { return null; }
    if (result.recipients !== undefined) { return result.recipients; }
    var raw = source.dataset.count !== undefined ? source.dataset.count : source.textContent;
    return parseInt(String(raw).replace(/\D/g, ""), 10) || 0;
  };

  MessageField.prototype.render = function (result) {
    var recipients = this.recipientCount(result);
    var total = result.cost_per_recipient * (recipients === null ? 1 : recipients);
    var line = this.line;
    line.textContent = "";
    var add = function (text, attr, value) {
      var span = document.createElement("span");
      span.textContent = text;
      if (attr) { span.setAttribute(attr, value); }
      line.appendChild(span);
    };
    add(String(result.characters), "data-chars", result.characters);
    add(result.characters === 1 ? " character" : " characters");
    if (result.footer) { add(" incl. footer"); }
    add(" · ");
    add(String(result.parts), "data-parts", result.parts);
    add(result.parts === 1 ? " part" : " parts");
    if (this.showCost) {
      add(" · ");
      add(gel(total), "data-cost", total);
      add(recipients === null ? " per recipient"
        : " for " + plural(recipients, "recipient", "recipients"));
    }
    var warnings = [];
    if (this.showCost && this.balance !== null && recipients !== null) {
      var left = this.balance - total;
      add(" · leaves ");
      add(gel(left), "data-leaves", left);
      if (left < 0) {
        warnings.push("This costs " + gel(total) + ", more than the balance of " +
          gel(this.balance) + ".");
      }
    }
    if (result.parts > 1) {
      var previous = result.parts === 2 ? "one SMS" : (result.parts - 1) + " parts";
      warnings.unshift(result.parts + " parts — " +
        plural(result.over, "character", "characters") + " over " + previous + ".");
    }
    if (result.too_long) {  // the server's own words (translated there): the form refuses it
      warnings.unshift(result.too_long);
    }
    if (result.invalid.length) {
      var chars = [];
      result.invalid.forEach(function (item) {
        var shown = visible(item[1]);
        if (chars.indexOf(shown) < 0) { chars.push(shown); }
      });
      warnings.push(plural(result.invalid.length, "character", "characters") +
        " the gateway refuses: " + chars.slice(0, 12).join(" ") +
        (chars.length > 12 ? " …" : "") + ".");
    }
    this.warning.textContent = warnings.join(" ");
    this.warning.hidden = warnings.length === 0;
    this.root.classList.toggle("is-warning", warnings.length > 0);
    this.root.classList.toggle("is-too-long", Boolean(result.too_long));
    this.placeholderWarning.hidden = !(result.placeholders.length &&
      this.root.dataset.placeholders !== "allow");
    this.renderMarked(result);
    this.latest = result;
  };

  /* The text again, below the field, with each refused character in <mark>. */
  MessageField.prototype.renderMarked = function (result) {
    this.marked.hidden = !result.needs_transliteration;
    this.markedText.textContent = "";
    if (!result.needs_transliteration) { this.hideProposal(); return; }
    var bad = new Set(result.invalid.map(function (item) { return item[0]; }));
    var chars = Array.from(this.input.value), run = "", target = this.markedText, mark = null;
    var flush = function () {
      if (run) { target.appendChild(document.createTextNode(run)); run = ""; }
    };
    chars.forEach(function (ch, position) {
      if (!bad.has(position)) { run += ch; mark = null; return; }
      flush();
      if (!mark) {  // one <mark> per run of refused characters
        mark = document.createElement("mark");
        target.appendChild(mark);
      }
      mark.textContent += visible(ch);
      if (ch === "\n") { run += "\n"; mark = null; }
    });
    flush();
  };

  MessageField.prototype.propose = function () {
    var self = this;
    this.analyze().then(function (result) {
      self.proposalText.textContent = result.transliterated;
      self.proposalCount.textContent = "(" +
        plural(result.transliterated_characters, "character", "characters") +
        (result.footer ? " incl. footer" : "") + " · " +
        plural(result.transliterated_parts, "part", "parts") + ")";
      self.proposal.hidden = false;
    });
  };

  MessageField.prototype.hideProposal = function () {
    if (this.proposal) { this.proposal.hidden = true; }
  };

  document.querySelectorAll("[data-message-field]").forEach(function (root) {
    root.messageField = new MessageField(root);
  });
})();

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

  /* The page's words (the JSON block in the field), in its language. */
  function Texts(root) {
    var block = root.querySelector("[data-message-texts]");
    this.words = block ? JSON.parse(block.textContent) : {};
    this.rules = new Intl.PluralRules(document.documentElement.lang || "en");
  }

  /* A text with its %(name)s placeholders filled in. */
  Texts.prototype.fill = function (text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (all, name) {
      return values[name] === undefined ? all : String(values[name]);
    });
  };

  Texts.prototype.get = function (key, values) { return this.fill(this.words[key], values || {}); };

  /* The form of a plural text for n (Russian has three). */
  Texts.prototype.form = function (key, n) {
    var forms = this.words[key] || {};
    return forms[this.rules.select(n)] || forms.other || "";
  };

  Texts.prototype.plural = function (key, n, values) {
    var all = {num: this.number(n)};
    Object.keys(values || {}).forEach(function (name) { all[name] = values[name]; });
    return this.fill(this.form(key, n), all);
  };

  Texts.prototype.number = function (n) {
    var group = (this.words.money || {}).group || ",";
    return String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, group).replace(/^/, n < 0 ? "-" : "");
  };

  /* Tetri as lari, written the way the server writes money (12,50 ₾ or ₾12.50). */
  Texts.prototype.money = function (tetri) {
    var money = this.words.money || {pattern: "%(amount)s", decimal: ".", group: ","};
    var whole = Math.floor(Math.abs(tetri) / 100), cents = Math.abs(tetri) % 100;
    var amount = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, money.group) +
      money.decimal + (cents < 10 ? "0" : "") + cents;
    return (tetri < 0 ? "-" : "") + this.fill(money.pattern, {amount: amount});
  };

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
    this.texts = new Texts(root);
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
      self.line.textContent = self.texts.get("unavailable");
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
    var texts = this.texts;
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
    /* A phrase around one value (the number or the amount), the value in its own span. */
    var phrase = function (text, placeholder, shown, attr, value) {
      var at = text.indexOf(placeholder);
      if (at < 0) { add(text); return; }
      if (at > 0) { add(text.slice(0, at)); }
      add(shown, attr, value);
      if (at + placeholder.length < text.length) { add(text.slice(at + placeholder.length)); }
    };
    phrase(texts.form("characters", result.characters), "%(num)s",
           texts.number(result.characters), "data-chars", result.characters);
    if (result.footer) { add(" " + texts.get("inclFooter")); }
    add(" · ");
    phrase(texts.form("parts", result.parts), "%(num)s", texts.number(result.parts),
           "data-parts", result.parts);
    if (this.showCost) {
      add(" · ");
      add(texts.money(total), "data-cost", total);
      add(" " + (recipients === null ? texts.get("perRecipient")
                                     : texts.plural("forRecipients", recipients)));
    }
    var warnings = [];
    if (this.showCost && this.balance !== null && recipients !== null) {
      var left = this.balance - total;
      add(" · ");
      phrase(texts.get("leaves", {}), "%(amount)s", texts.money(left), "data-leaves", left);
      if (left < 0) {
        warnings.push(texts.get("overBalance", {cost: texts.money(total),
                                                balance: texts.money(this.balance)}));
      }
    }
    if (result.parts > 1) {
      var over = result.parts === 2 ? texts.plural("overOne", result.over)
        : texts.plural("overParts", result.over, {previous: texts.number(result.parts - 1)});
      warnings.unshift(texts.plural("parts", result.parts) + " — " + over);
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
      warnings.push(texts.plural("refused", result.invalid.length, {
        chars: chars.slice(0, 12).join(" ") + (chars.length > 12 ? " …" : "")}));
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
      var texts = self.texts;
      self.proposalCount.textContent = "(" +
        texts.plural("characters", result.transliterated_characters) +
        (result.footer ? " " + texts.get("inclFooter") : "") + " · " +
        texts.plural("parts", result.transliterated_parts) + ")";
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

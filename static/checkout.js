/* Hosted checkout. Every page works without this file; it only adds (see docs/script-inventory.json):
   on the form, the Daum/Kakao address search loaded on demand, light checks before the
   server's (never instead), focus on the error summary, the bank for virtual accounts and one
   submit per click, typed values kept when a promotion code is applied, the cash-receipt,
   instalment and recipient fields shown only when they apply. The waiting pages have status.js. */
(function () {
  "use strict";
  // What check() judges; a phone's format or a bank is the server's to say.
  var CHECKED = ["name", "email", "phone", "postal_code", "address1", "address2", "payment_method", "agree"];
  var d = document;
  var nonce = (d.currentScript && d.currentScript.nonce) || "";

  function q(root, selector) { return root.querySelector(selector); }
  function make(tag, text) { var node = d.createElement(tag); node.textContent = text || ""; return node; }

  function enhanceForm(form) {
    var messages = JSON.parse(form.getAttribute("data-messages") || "{}");
    var summary = d.getElementById("error-summary");
    function msg(key) { return messages[key] || key; }
    function box(name) { return q(form, "[data-field='" + name + "']"); }
    function inputs(name) { return [].slice.call(form.querySelectorAll("[name='" + name + "']")); }
    function val(name) { var input = q(form, "[name='" + name + "']"); return input ? input.value.trim() : ""; }
    if (summary) { summary.focus(); }

    function describe(node, id, on) {
      var ids = (node.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
      if (on) { ids.unshift(id); }
      if (ids.length) { node.setAttribute("aria-describedby", ids.join(" ")); } else { node.removeAttribute("aria-describedby"); }
    }

    function setError(name, key) {
      var field = box(name);
      if (!field) { return; }
      var id = "e-" + name;
      var message = d.getElementById(id);
      var controls = inputs(name);
      var described = name === "payment_method" ? [field] : controls;
      field.classList.toggle("has-error", !!key);
      controls.forEach(function (c) { if (key) { c.setAttribute("aria-invalid", "true"); } else { c.removeAttribute("aria-invalid"); } });
      described.forEach(function (node) { describe(node, id, !!key); });
      if (!key) { if (message) { message.remove(); } return; }
      if (!message) {
        message = make("p");
        message.className = "error";
        message.id = id;
        var before = name === "payment_method" ? q(field, ".method-list") : name === "agree" ? q(field, ".check") : controls[0];
        before.parentNode.insertBefore(message, before);
      }
      message.textContent = msg(key);
    }

    function check() {
      var found = [];
      function need(name, key) { if (key) { found.push([name, key]); } }
      var email = val("email");
      need("name", val("name") ? null : "required");
      need("email", !email ? "required" : /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) ? null : "invalid_email");
      need("phone", val("phone") ? null : "required");
      if (box("postal_code")) {
        var postal = val("postal_code");
        need("postal_code", !postal ? "required" : /^\d{5}$/.test(postal) ? null : "invalid_postal_code");
        need("address1", val("address1") ? null : "required");
        need("address2", val("address2") ? null : "required");
      }
      need("payment_method", q(form, "[name=payment_method]:checked") ? null : "choose_method");
      need("agree", q(form, "[name=agree]").checked ? null : "must_agree");
      return found;
    }

    function showSummary(found) {
      if (!summary) {
        summary = make("div");
        summary.className = "error-summary";
        summary.id = "error-summary";
        summary.tabIndex = -1;
        summary.setAttribute("aria-labelledby", "error-summary-title");
        var before = q(d, ".summary") || form;
        before.parentNode.insertBefore(summary, before);
      }
      var title = make("h2", msg("errors_title"));
      var list = make("ul");
      title.id = "error-summary-title";
      found.forEach(function (item) {
        var name = item[0];
        var link = make("a", msg(item[1]));
        var label = name === "payment_method" ? q(box(name), "legend") : q(form, "label[for='f-" + name + "']");
        // The consent's label is a whole sentence; its message says enough alone.
        if (name !== "agree" && label) { link.textContent = label.textContent.trim() + ": " + link.textContent; }
        link.href = "#f-" + name + (name === "payment_method" ? "-0" : "");
        list.appendChild(make("li")).appendChild(link);
      });
      summary.textContent = "";
      summary.appendChild(title);
      summary.appendChild(make("p", found.length === 1 ? msg("error_count_one") : msg("error_count").replace("{count}", found.length)));
      summary.appendChild(list);
      summary.focus();
    }

    // A link in the summary moves focus into its field, not just the scroll position.
    d.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("#error-summary a");
      var target = link && d.getElementById(link.getAttribute("href").slice(1));
      if (target) { event.preventDefault(); target.focus(); }
    });

    // --- address search: its code (postcode.js) loads on the first press, as Kakao's script does ---
    var search = q(form, "[data-postcode-search]");
    if (search) {
      search.hidden = false;
      search.addEventListener("click", function () {
        if (window.checkoutPostcode) { window.checkoutPostcode(form, search); return; }
        search.disabled = true;
        var script = make("script");
        script.src = search.getAttribute("data-src");
        script.nonce = nonce;
        script.onload = function () { window.checkoutPostcode(form, search); };
        script.onerror = function () { search.disabled = false; q(form, "[data-postcode-failed]").hidden = false; };
        d.head.appendChild(script);
      });
    }

    // --- the bank, asked only for a virtual account ---
    var bank = q(form, "[data-bank-field]");
    function syncBank() {
      var chosen = q(form, "[name=payment_method]:checked");
      var show = !chosen || chosen.value === "virtual_account";
      bank.hidden = !show;
      q(bank, "select").disabled = !show;
    }
    if (bank) { inputs("payment_method").forEach(function (r) { r.addEventListener("change", syncBank); }); syncBank(); }

    // Cash receipt for cash methods, instalments for cards; the recipient only when it is someone else.
    function show(node, on) { if (node) { node.hidden = !on; [].forEach.call(node.querySelectorAll("select,input"), function (c) { c.disabled = !on; }); } }
    function syncChoices() {
      var chosen = q(form, "[name=payment_method]:checked");
      var method = chosen ? chosen.value : "";
      show(q(form, "[data-cash-only]"), method === "bank_transfer" || method === "virtual_account");
      show(q(form, "[data-card-only]"), method === "card");
      var same = q(form, "#f-recipient_same");
      show(q(form, "[data-recipient-fields]"), !(same && same.checked));
    }
    form.addEventListener("change", syncChoices);
    syncChoices();

    // A corrected field loses its message as soon as it is right.
    form.addEventListener("change", function (event) {
      var name = event.target.name;
      if (CHECKED.indexOf(name) >= 0 && !check().some(function (item) { return item[0] === name; })) { setError(name, null); }
    });

    var submitting = false;
    form.addEventListener("submit", function (event) {
      var found = check();
      var names = found.map(function (item) { return item[0]; });
      if (submitting) { event.preventDefault(); return; }
      CHECKED.forEach(function (name) { if (names.indexOf(name) < 0) { setError(name, null); } });
      if (found.length) {
        event.preventDefault();
        found.forEach(function (item) { setError(item[0], item[1]); });
        showSummary(found);
        return;
      }
      submitting = true;
      q(form, "[data-pay]").setAttribute("aria-busy", "true");
    });
    // Back from the provider's page (bfcache): the button works again.
    window.addEventListener("pageshow", function () { submitting = false; q(form, "[data-pay]").removeAttribute("aria-busy"); });
  }

  // The promotion code's own form takes along what is typed in the main one, so nothing is lost.
  function carry(promo, form) {
    function own(name) { return name === "csrf_token" || name === "lang"; }
    promo.addEventListener("submit", function () {
      [].slice.call(promo.querySelectorAll("input[type=hidden]")).forEach(function (n) { if (!own(n.name)) { n.remove(); } });
      new FormData(form).forEach(function (value, name) {
        if (own(name)) { return; }
        var copy = make("input");
        copy.type = "hidden"; copy.name = name; copy.value = value;
        promo.appendChild(copy);
      });
    });
  }

  var form = q(d, "[data-checkout-form]");
  var promo = q(d, "[data-promo-form]");
  if (form) { enhanceForm(form); }
  if (promo && form) { carry(promo, form); }
})();

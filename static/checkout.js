/* Hosted checkout. Every page works without this file; it only adds (see docs/script-inventory.json):
   on the form, the Daum/Kakao address search loaded on demand, light checks before the
   server's (never instead), focus on the error summary, the bank for virtual accounts and one
   submit per click, typed values kept when a promotion code is applied, the cash-receipt,
   instalment and recipient fields shown only when they apply; on the waiting pages, status
   polling that moves on by itself and a copy button for the account number. */
(function () {
  "use strict";
  // Newer builds come from kakaocdn as kakao.Postcode; the daumcdn URL serves daum.Postcode.
  var POSTCODE = ["https://t1.kakaocdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js",
    "https://t1.daumcdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js"];
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

    // --- address search ---
    var search = q(form, "[data-postcode-search]");
    var layer = q(form, "[data-postcode-layer]");
    var frame = q(form, "[data-postcode-frame]");

    function postcodeClass() {
      var w = window;
      return (w.kakao && w.kakao.Postcode) || (w.daum && w.daum.Postcode) || null;
    }

    function loadPostcode(index, done) {
      if (postcodeClass() || index >= POSTCODE.length) { done(postcodeClass()); return; }
      var script = make("script");
      var settled = false;
      var timer = setTimeout(function () { next(false); }, 10000);
      function next(loaded) {
        if (settled) { return; }
        settled = true;
        clearTimeout(timer);
        // Builds that fetch their core later offer postcode.load(callback).
        var later = loaded && !postcodeClass() && ((window.kakao || {}).postcode || (window.daum || {}).postcode);
        if (later && later.load) { later.load(function () { loadPostcode(postcodeClass() ? 0 : index + 1, done); }); return; }
        loadPostcode(loaded && postcodeClass() ? 0 : index + 1, done);
      }
      script.src = POSTCODE[index];
      script.nonce = nonce;
      script.onload = function () { next(true); };
      script.onerror = function () { next(false); };
      d.head.appendChild(script);
    }

    function closeLayer() {
      layer.hidden = true;
      frame.textContent = "";
      search.setAttribute("aria-expanded", "false");
    }

    if (search && layer && frame) {
      search.hidden = false;
      search.addEventListener("click", function () {
        search.disabled = true;
        loadPostcode(0, function (Postcode) {
          search.disabled = false;
          q(form, "[data-postcode-failed]").hidden = !!Postcode;
          if (!Postcode) { q(form, "#f-postal_code").focus(); return; }  // the fields stay typeable
          layer.hidden = false;
          frame.textContent = "";
          search.setAttribute("aria-expanded", "true");
          new Postcode({
            width: "100%",
            height: "100%",
            oncomplete: function (data) {
              var jibun = q(form, "#f-address_jibun");
              q(form, "#f-postal_code").value = data.zonecode || "";
              q(form, "#f-address1").value = data.roadAddress || data.address || "";
              if (jibun) { jibun.value = data.jibunAddress || data.autoJibunAddress || ""; }
              ["postal_code", "address1"].forEach(function (name) { setError(name, null); });
              closeLayer();
              q(form, "#f-address2").focus();
            }
          }).embed(frame);
          layer.scrollIntoView({ block: "nearest" });
        });
      });
      q(layer, "[data-postcode-close]").addEventListener("click", function () { closeLayer(); search.focus(); });
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

  function watchStatus(box) {
    var every = parseInt(box.getAttribute("data-poll-ms"), 10) || 3000;
    var started = Date.now();
    function schedule() { setTimeout(poll, Date.now() - started > 120000 ? Math.max(every, 15000) : every); }
    function poll() {
      fetch(box.getAttribute("data-status-url"), { cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : {}; })
        .then(function (body) {
          if (!body.status || body.status === box.getAttribute("data-status")) { schedule(); return; }
          q(box, "[data-status-live]").textContent = box.getAttribute("data-status-message");
          // The return route asks the provider, then sends the shopper to the merchant.
          window.location.replace(box.getAttribute("data-return-url"));
        })
        .catch(schedule);
    }
    schedule();
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

  // The account number is plain selectable text; the button only saves the shopper a long press.
  [].forEach.call(d.querySelectorAll("[data-copy]"), function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(d.getElementById(button.getAttribute("data-copy")).textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied");
      });
    });
  });

  var form = q(d, "[data-checkout-form]");
  var status = q(d, "[data-status-url]");
  var promo = q(d, "[data-promo-form]");
  if (form) { enhanceForm(form); }
  if (promo && form) { carry(promo, form); }
  if (status && window.fetch) { watchStatus(status); }
})();

/* The hosted checkout's one script. Every page works without it; it only adds:
   - on the form: Daum/Kakao address search (loaded on demand), light checks before
     the server's (never instead), focus on the error summary, the bank choice for
     virtual accounts, and one submit per click;
   - on the waiting and confirming pages: polling the checkout's status and moving on
     (through the return route, which asks the provider) once it changes.
   Listed in docs/script-inventory.json (PCI DSS 6.4.3); no inline handlers, no eval. */
(function () {
  "use strict";

  // Newer builds are served from kakaocdn as kakao.Postcode; the daumcdn URL still works.
  var POSTCODE_SCRIPTS = [
    "https://t1.kakaocdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js",
    "https://t1.daumcdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js"
  ];
  var SCRIPT_TIMEOUT_MS = 10000;
  var EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  var POSTAL_RE = /^\d{5}$/;
  // What check() looks at; other messages (a phone's format, a bank) come from the server only.
  var CHECKED = ["name", "email", "phone", "postal_code", "address1", "address2", "payment_method", "agree"];
  var nonce = (document.currentScript && document.currentScript.nonce) || "";

  function $(root, selector) { return root.querySelector(selector); }
  function $$(root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }

  // --- the checkout form -----------------------------------------------------------

  function enhanceForm(form) {
    var messages = {};
    try { messages = JSON.parse(form.getAttribute("data-messages") || "{}"); } catch (e) { messages = {}; }
    function msg(key) { return messages[key] || key; }

    var summary = document.getElementById("error-summary");
    if (summary && document.activeElement !== summary) { summary.focus(); }

    function fieldInputs(name) { return $$(form, "[name='" + name + "']"); }

    function describedBy(input, id, add) {
      var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(function (x) { return x && x !== id; });
      if (add) { ids.unshift(id); }
      if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); } else { input.removeAttribute("aria-describedby"); }
    }

    function setError(name, key) {
      var box = $(form, "[data-field='" + name + "']");
      if (!box) { return; }
      var id = "e-" + name;
      var existing = document.getElementById(id);
      var inputs = fieldInputs(name);
      var describes = name === "payment_method" ? [box] : inputs;
      if (!key) {
        box.classList.remove("has-error");
        if (existing) { existing.parentNode.removeChild(existing); }
        inputs.forEach(function (input) { input.removeAttribute("aria-invalid"); });
        describes.forEach(function (el) { describedBy(el, id, false); });
        return;
      }
      box.classList.add("has-error");
      if (!existing) {
        existing = document.createElement("p");
        existing.className = "error";
        existing.id = id;
        var anchor = name === "payment_method" ? $(box, ".method-list")
          : name === "agree" ? $(box, ".check") : inputs[0];
        anchor.parentNode.insertBefore(existing, anchor);
      }
      existing.textContent = msg(key);
      inputs.forEach(function (input) { input.setAttribute("aria-invalid", "true"); });
      describes.forEach(function (el) { describedBy(el, id, true); });
    }

    function labelOf(name) {
      if (name === "payment_method") { return $(form, "[data-field='payment_method'] legend").textContent; }
      var label = $(form, "label[for='f-" + name + "']");
      return label ? label.textContent.trim() : name;
    }

    function value(name) {
      var input = $(form, "[name='" + name + "']");
      return input ? input.value.trim() : null;
    }

    // The server checks everything again; these only spare the shopper a round trip.
    function check() {
      var found = [];
      function need(name, key) { if (key) { found.push([name, key]); } }
      need("name", value("name") ? null : "required");
      var email = value("email");
      need("email", !email ? "required" : EMAIL_RE.test(email) ? null : "invalid_email");
      need("phone", value("phone") ? null : "required");
      if ($(form, "[name='postal_code']")) {
        var postal = value("postal_code");
        need("postal_code", !postal ? "required" : POSTAL_RE.test(postal) ? null : "invalid_postal_code");
        need("address1", value("address1") ? null : "required");
        need("address2", value("address2") ? null : "required");
      }
      need("payment_method", $(form, "[name='payment_method']:checked") ? null : "choose_method");
      need("agree", $(form, "[name='agree']").checked ? null : "must_agree");
      return found;
    }

    function showSummary(found) {
      if (!summary) {
        summary = document.createElement("div");
        summary.className = "error-summary";
        summary.id = "error-summary";
        summary.tabIndex = -1;
        summary.setAttribute("aria-labelledby", "error-summary-title");
        summary.setAttribute("data-error-summary", "");
        var before = $(document, ".summary") || form;
        before.parentNode.insertBefore(summary, before);
      }
      summary.textContent = "";
      var title = document.createElement("h2");
      title.id = "error-summary-title";
      title.textContent = msg("errors_title");
      var count = document.createElement("p");
      count.textContent = found.length === 1 ? msg("error_count_one") : msg("error_count").replace("{count}", String(found.length));
      var list = document.createElement("ul");
      found.forEach(function (item) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "#f-" + item[0] + (item[0] === "payment_method" ? "-0" : "");
        a.textContent = labelOf(item[0]) + ": " + msg(item[1]);
        li.appendChild(a);
        list.appendChild(li);
      });
      summary.appendChild(title);
      summary.appendChild(count);
      summary.appendChild(list);
      summary.focus();
    }

    // A link in the summary moves focus into the field, not only the scroll position.
    document.addEventListener("click", function (event) {
      var link = event.target.closest && event.target.closest("#error-summary a[href^='#f-']");
      if (!link) { return; }
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target) { event.preventDefault(); target.focus(); }
    });

    // --- address search ---
    var search = $(form, "[data-postcode-search]");
    var layer = $(form, "[data-postcode-layer]");
    var frame = $(form, "[data-postcode-frame]");
    var failed = $(form, "[data-postcode-failed]");

    function postcodeClass() {
      if (window.kakao && window.kakao.Postcode) { return window.kakao.Postcode; }
      if (window.daum && window.daum.Postcode) { return window.daum.Postcode; }
      return null;
    }

    function loadPostcode(index, done) {
      if (postcodeClass()) { done(postcodeClass()); return; }
      if (index >= POSTCODE_SCRIPTS.length) { done(null); return; }
      var script = document.createElement("script");
      var settled = false;
      function next(ok) {
        if (settled) { return; }
        settled = true;
        clearTimeout(timer);
        if (ok && postcodeClass()) { done(postcodeClass()); return; }
        // Builds that load their core later offer postcode.load(callback) instead.
        var ns = ok && ((window.kakao && window.kakao.postcode) || (window.daum && window.daum.postcode));
        if (ns && typeof ns.load === "function") {
          ns.load(function () { if (postcodeClass()) { done(postcodeClass()); } else { loadPostcode(index + 1, done); } });
          return;
        }
        loadPostcode(index + 1, done);
      }
      var timer = setTimeout(function () { next(false); }, SCRIPT_TIMEOUT_MS);
      script.src = POSTCODE_SCRIPTS[index];
      script.async = true;
      if (nonce) { script.nonce = nonce; }
      script.onload = function () { next(true); };
      script.onerror = function () { next(false); };
      document.head.appendChild(script);
    }

    function closeLayer(focusSearch) {
      layer.hidden = true;
      frame.textContent = "";
      search.setAttribute("aria-expanded", "false");
      if (focusSearch) { search.focus(); }
    }

    if (search && layer && frame) {
      search.hidden = false;
      search.addEventListener("click", function () {
        search.disabled = true;
        search.setAttribute("aria-busy", "true");
        loadPostcode(0, function (Postcode) {
          search.disabled = false;
          search.removeAttribute("aria-busy");
          if (!Postcode) {
            // The fields were never locked: the shopper types the address instead.
            failed.hidden = false;
            $(form, "#f-postal_code").focus();
            return;
          }
          failed.hidden = true;
          layer.hidden = false;
          search.setAttribute("aria-expanded", "true");
          frame.textContent = "";
          new Postcode({
            oncomplete: function (data) {
              $(form, "#f-postal_code").value = data.zonecode || "";
              $(form, "#f-address1").value = data.roadAddress || data.address || "";
              var jibun = $(form, "#f-address_jibun");
              if (jibun) { jibun.value = data.jibunAddress || data.autoJibunAddress || ""; }
              ["postal_code", "address1", "address_jibun"].forEach(function (name) { setError(name, null); });
              closeLayer(false);
              $(form, "#f-address2").focus();
            },
            width: "100%",
            height: "100%"
          }).embed(frame);
        });
      });
      $(layer, "[data-postcode-close]").addEventListener("click", function () { closeLayer(true); });
    }

    // --- the bank, only for virtual accounts ---
    var bank = $(form, "[data-bank-field]");
    var methods = fieldInputs("payment_method");
    function syncBank() {
      if (!bank) { return; }
      var chosen = $(form, "[name='payment_method']:checked");
      var show = !chosen || chosen.value === "virtual_account" || methods.length === 1;
      bank.hidden = !show;
      $(bank, "select").disabled = !show;
    }
    methods.forEach(function (radio) { radio.addEventListener("change", syncBank); });
    syncBank();

    // A corrected field loses its message as soon as it is right.
    form.addEventListener("change", function (event) {
      var name = event.target && event.target.name;
      if (!name || !$(form, "[data-field='" + name + "'].has-error")) { return; }
      var still = check().filter(function (item) { return item[0] === name; })[0];
      if (!still) { setError(name, null); }
    });

    // --- submit: checks first, then one submit per click ---
    var submitting = false;
    form.addEventListener("submit", function (event) {
      if (submitting) { event.preventDefault(); return; }
      var found = check();
      var names = found.map(function (item) { return item[0]; });
      CHECKED.forEach(function (name) { if (names.indexOf(name) < 0) { setError(name, null); } });
      if (found.length) {
        event.preventDefault();
        found.forEach(function (item) { setError(item[0], item[1]); });
        showSummary(found);
        return;
      }
      submitting = true;
      var pay = $(form, "[data-pay]");
      if (pay) { pay.setAttribute("aria-busy", "true"); }
    });
    // Back from the provider's page (bfcache): the button works again.
    window.addEventListener("pageshow", function () {
      submitting = false;
      var pay = $(form, "[data-pay]");
      if (pay) { pay.removeAttribute("aria-busy"); }
    });
  }

  // --- waiting for a deposit or a provider's answer ----------------------------------

  function watchStatus(box) {
    var url = box.getAttribute("data-status-url");
    var initial = box.getAttribute("data-status");
    var next = box.getAttribute("data-return-url");
    var every = parseInt(box.getAttribute("data-poll-ms"), 10) || 3000;
    var live = $(box, "[data-status-live]");
    var started = Date.now();

    function schedule() {
      // Fast while the shopper is likely still at the bank app, gentler after two minutes.
      var wait = Date.now() - started > 120000 ? Math.max(every, 15000) : every;
      setTimeout(poll, wait);
    }

    function poll() {
      fetch(url, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (body && body.status && body.status !== initial) {
            if (live) { live.textContent = box.getAttribute("data-status-message") || ""; }
            window.location.replace(next);
            return;
          }
          schedule();
        })
        .catch(schedule);
    }
    schedule();
  }

  var form = document.querySelector("[data-checkout-form]");
  if (form) { enhanceForm(form); }
  var status = document.querySelector("[data-status-url]");
  if (status && window.fetch) { watchStatus(status); }
})();

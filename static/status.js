/* Hosted checkout, waiting pages (see docs/script-inventory.json): status polling that moves on
   by itself once the payment is settled, and a copy button for a virtual account's number. */
(function () {
  "use strict";
  var d = document;
  function q(root, selector) { return root.querySelector(selector); }

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

  var status = q(d, "[data-status-url]");
  if (status && window.fetch) { watchStatus(status); }
})();

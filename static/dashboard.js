// The dashboard works without this file: it adds copy buttons and refreshes the settings preview.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.setAttribute("aria-live", "polite");
        button.textContent = button.getAttribute("data-copied") || "✓";
      });
    });
  });
  var form = document.getElementById("settings-form");
  var frame = document.getElementById("preview");
  if (form && frame) {
    var timer = null;
    var refresh = function () {
      var params = new URLSearchParams();
      ["name", "brand_color", "button_radius", "logo_url", "locale", "support_email"].forEach(function (name) {
        var field = form.elements.namedItem(name);
        if (field) params.set(name, field.value);
      });
      frame.src = form.getAttribute("data-preview") + "?" + params.toString();
    };
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refresh, 400);
    });
  }
})();

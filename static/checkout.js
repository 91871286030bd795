/* Checkout page enhancements: Daum/Kakao address search, error focus, one submit.
   The page works without this file; it only adds to it. */
(function () {
  "use strict";
  var SCRIPTS = [
    "https://t1.daumcdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js",
    "https://t1.kakaocdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js"
  ];
  var form = document.querySelector("[data-checkout-form]");
  if (!form) { return; }
  var nonce = (document.currentScript && document.currentScript.nonce) || "";

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  function postcodeClass() {
    if (window.kakao && window.kakao.Postcode) { return window.kakao.Postcode; }
    if (window.daum && window.daum.Postcode) { return window.daum.Postcode; }
    return null;
  }

  function loadScript(index, done) {
    if (postcodeClass()) { done(postcodeClass()); return; }
    if (index >= SCRIPTS.length) { done(null); return; }
    var script = document.createElement("script");
    script.src = SCRIPTS[index];
    script.async = true;
    if (nonce) { script.nonce = nonce; }
    script.onload = function () { done(postcodeClass()); };
    script.onerror = function () { loadScript(index + 1, done); };
    document.head.appendChild(script);
  }

  var button = form.querySelector("[data-postcode-search]");
  var layer = form.querySelector("[data-postcode-layer]");
  var failed = form.querySelector("[data-postcode-failed]");
  if (button && layer) {
    button.hidden = false;
    button.addEventListener("click", function () {
      button.disabled = true;
      loadScript(0, function (Postcode) {
        button.disabled = false;
        if (!Postcode) {
          failed.hidden = false;
          form.querySelector("#f-postal_code").focus();
          return;
        }
        layer.hidden = false;
        new Postcode({
          oncomplete: function (data) {
            form.querySelector("#f-postal_code").value = data.zonecode || "";
            form.querySelector("#f-address1").value = data.roadAddress || data.address || "";
            var jibun = form.querySelector("#f-address_jibun");
            if (jibun) { jibun.value = data.jibunAddress || data.autoJibunAddress || ""; }
            layer.hidden = true;
            layer.textContent = "";
            form.querySelector("#f-address2").focus();
          },
          width: "100%",
          height: "100%"
        }).embed(layer);
      });
    });
  }

  var submitting = false;
  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }
    submitting = true;
    var pay = form.querySelector("[data-pay]");
    if (pay) { pay.setAttribute("aria-busy", "true"); }
  });
})();

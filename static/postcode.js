/* Hosted checkout: the Daum/Kakao address search, loaded by checkout.js on the first press of
   주소 검색 (see docs/script-inventory.json). It loads Kakao's script on demand, draws the search
   in the page and fills postal_code, address1 and address_jibun, then focuses address2. */
(function () {
  "use strict";
  // Newer builds come from kakaocdn as kakao.Postcode; the daumcdn URL serves daum.Postcode.
  var POSTCODE = ["https://t1.kakaocdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js",
    "https://t1.daumcdn.net/mapjsapi/bundle/postcode/prod/postcode.v2.js"];
  var d = document;
  var nonce = (d.currentScript && d.currentScript.nonce) || "";

  function q(root, selector) { return root.querySelector(selector); }

  function postcodeClass() {
    var w = window;
    return (w.kakao && w.kakao.Postcode) || (w.daum && w.daum.Postcode) || null;
  }

  function loadPostcode(index, done) {
    if (postcodeClass() || index >= POSTCODE.length) { done(postcodeClass()); return; }
    var script = d.createElement("script");
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

  var bound = false;
  window.checkoutPostcode = function (form, search) {
    var layer = q(form, "[data-postcode-layer]");
    var frame = q(form, "[data-postcode-frame]");
    function closeLayer() {
      layer.hidden = true;
      frame.textContent = "";
      search.setAttribute("aria-expanded", "false");
    }
    if (!bound) {
      bound = true;
      q(layer, "[data-postcode-close]").addEventListener("click", function () { closeLayer(); search.focus(); });
    }
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
          // checkout.js clears a field's message on its change event once the field is right.
          ["postal_code", "address1"].forEach(function (name) {
            q(form, "#f-" + name).dispatchEvent(new Event("change", { bubbles: true }));
          });
          closeLayer();
          q(form, "#f-address2").focus();
        }
      }).embed(frame);
      layer.scrollIntoView({ block: "nearest" });
    });
  };
})();

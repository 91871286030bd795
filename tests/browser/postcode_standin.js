/* A stand-in for Daum/Kakao Postcode (postcode.v2.js), served by the tests in place of the
   real script so that the page's own integration code runs. Like the real service, embed()
   draws the search into the given element at the requested size, with the Kakao logo at its
   foot; choosing the result calls oncomplete with the fields the real service sends. */
(function () {
  "use strict";
  var RESULT = {
    zonecode: "06236",
    address: "서울 강남구 테헤란로 152",
    addressType: "R",
    userSelectedType: "R",
    roadAddress: "서울 강남구 테헤란로 152",
    roadAddressEnglish: "152, Teheran-ro, Gangnam-gu, Seoul",
    jibunAddress: "서울 강남구 역삼동 737",
    autoJibunAddress: "",
    bname: "역삼동",
    buildingName: "강남파이낸스센터",
    apartment: "N",
    sido: "서울",
    sigungu: "강남구",
    query: "테헤란로 152"
  };
  function Postcode(options) {
    this.options = options || {};
    window.__postcodeCalls = (window.__postcodeCalls || []).concat([{ ns: "__NAMESPACE__", width: this.options.width, height: this.options.height }]);
  }
  Postcode.prototype.embed = function (element) {
    var options = this.options;
    var box = document.createElement("div");
    box.setAttribute("data-standin", "__NAMESPACE__");
    box.style.width = options.width || "100%";
    box.style.height = options.height || "100%";
    box.style.display = "flex";
    box.style.flexDirection = "column";
    var result = document.createElement("button");
    result.type = "button";
    result.setAttribute("data-standin-result", "");
    result.textContent = RESULT.zonecode + " " + RESULT.roadAddress;
    result.addEventListener("click", function () { options.oncomplete(RESULT); });
    var spacer = document.createElement("div");
    spacer.style.flex = "1";
    var logo = document.createElement("p");
    logo.setAttribute("data-standin-logo", "");
    logo.textContent = "kakao";
    box.appendChild(result);
    box.appendChild(spacer);
    box.appendChild(logo);
    element.appendChild(box);
  };
  Postcode.prototype.open = function () { this.options.oncomplete(RESULT); };
  window.__NAMESPACE__ = window.__NAMESPACE__ || {};
  window.__NAMESPACE__.Postcode = Postcode;
})();

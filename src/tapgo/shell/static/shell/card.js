// The member code on the card page changes every 60 s: as each minute begins, fetch the new
// code block and swap it in. Without JavaScript the page shows the current code and a link
// that reloads it. No inline scripts (CSP).
(function () {
  "use strict";

  var box = document.querySelector("[data-member-code]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-member-code");
  var step = Math.floor(Date.now() / 60000);

  function renew(force) {
    var now = Math.floor(Date.now() / 60000);
    if ((now === step && !force) || document.hidden) return;
    step = now;
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) box.innerHTML = html; }, function () {});
  }

  setInterval(renew, 1000);
  document.addEventListener("visibilitychange", function () { renew(true); });
})();

// "Mini apps near me": ask the browser for the position (the customer's permission), then
// open the nearby page with it. Without JavaScript, or when the position cannot be had, the
// link opens the nearby page, where a position can be typed. No inline scripts (CSP).
(function () {
  "use strict";

  function say(text) {
    var status = document.querySelector("[data-near-status]");
    if (status) status.textContent = text || "";
  }

  function round(value) {
    // Six decimals (about 0.1 m): what the stores' positions hold, and no more of the
    // customer's position than the search needs.
    return (Math.round(value * 1e6) / 1e6).toFixed(6);
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-near-me]");
    if (!link || !navigator.geolocation) return; // the link's own page takes over
    event.preventDefault();
    if (link.getAttribute("aria-busy") === "true") return;
    link.setAttribute("aria-busy", "true");
    say(link.getAttribute("data-locating"));
    navigator.geolocation.getCurrentPosition(
      function (position) {
        var url = new URL(link.href, window.location.href);
        url.searchParams.set("lat", round(position.coords.latitude));
        url.searchParams.set("lng", round(position.coords.longitude));
        window.location.assign(url.toString());
      },
      function (error) {
        link.removeAttribute("aria-busy");
        var denied = error && error.code === 1; // PERMISSION_DENIED
        say(link.getAttribute(denied ? "data-denied" : "data-failed"));
      },
      { enableHighAccuracy: false, timeout: 15000, maximumAge: 60000 }
    );
  });
})();

// The search box: "use my location" (geolocation → the form's lat/lng, rounded to about
// 100 m), and no empty lat/lng in the address. Progressive: without it the box searches
// without a location. No inline scripts (CSP).
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-search]");
  Array.prototype.forEach.call(forms, function (form) {
    var lat = form.querySelector("[data-lat]");
    var lng = form.querySelector("[data-lng]");
    var locate = form.querySelector("[data-locate]");
    form.addEventListener("submit", function () {
      [lat, lng].forEach(function (field) {
        if (field && !field.value) field.disabled = true;
      });
    });
    if (!locate || !navigator.geolocation || !lat || !lng) return;
    locate.hidden = false;
    locate.addEventListener("click", function () {
      var label = locate.textContent;
      locate.disabled = true;
      locate.textContent = locate.getAttribute("data-locating");
      navigator.geolocation.getCurrentPosition(
        function (position) {
          lat.value = position.coords.latitude.toFixed(3);
          lng.value = position.coords.longitude.toFixed(3);
          var query = form.querySelector("[name=q]");
          if (query && query.value.trim()) {
            form.requestSubmit ? form.requestSubmit() : form.submit();
          } else {
            locate.textContent = "✓ " + label;
            locate.disabled = false;
          }
        },
        function () {
          locate.textContent = locate.getAttribute("data-failed");
          locate.disabled = false;
        },
        { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
      );
    });
  });
})();

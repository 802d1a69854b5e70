// Delivery on the cart page: share the phone's position (the customer's permission) or pick
// an area, and see the zone, fee, time and total before placing the order. The server matches
// the zone (shell/views/cart.py, delivery_quote); this only asks it and shows the answer.
// Without JavaScript the "Check the delivery fee" button does the same with a page load. No
// inline scripts (CSP).
(function () {
  "use strict";

  var box = document.querySelector("[data-delivery]");
  if (!box) return;
  var form = box.closest("form");
  var output = box.querySelector("[data-quote]");
  var locate = box.querySelector("[data-locate]");
  var place = form.querySelector("[data-place-order]");

  function say(text, error) {
    output.textContent = text || "";
    output.classList.toggle("msg", !!error);
    output.classList.toggle("error", !!error);
  }

  function chooseDelivery() {
    var radio = form.querySelector("input[name=fulfilment][value=delivery]");
    if (radio) radio.checked = true;
  }

  function round(value) {
    // Six decimals (about 0.1 m): what the stores' positions hold, and no more of the
    // customer's position than the match needs.
    return (Math.round(value * 1e6) / 1e6).toFixed(6);
  }

  function quote() {
    form.elements.fee_seen.value = "";
    var data = new FormData(form);
    data.delete("quote");
    return fetch(box.getAttribute("data-quote-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("quote " + response.status);
        return response.json();
      })
      .then(function (answer) {
        var text = [answer.text, answer.error].filter(Boolean).join(" ");
        say(text, !answer.ok);
        if (answer.ok) form.elements.fee_seen.value = String(answer.fee);
        if (place && answer.button) place.textContent = answer.button;
      })
      .catch(function () {
        say(box.getAttribute("data-failed") || "", true);
      });
  }

  if (locate && navigator.geolocation) {
    locate.hidden = false;
    locate.addEventListener("click", function () {
      if (locate.getAttribute("aria-busy") === "true") return;
      locate.setAttribute("aria-busy", "true");
      chooseDelivery();
      say(locate.getAttribute("data-locating"));
      navigator.geolocation.getCurrentPosition(
        function (position) {
          locate.removeAttribute("aria-busy");
          form.elements.lat.value = round(position.coords.latitude);
          form.elements.lng.value = round(position.coords.longitude);
          if (form.elements.area) form.elements.area.value = "";
          quote();
        },
        function (error) {
          locate.removeAttribute("aria-busy");
          var denied = error && error.code === 1; // PERMISSION_DENIED
          say(locate.getAttribute(denied ? "data-denied" : "data-located-failed"), true);
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  box.addEventListener("change", function (event) {
    if (event.target.name === "area") {
      chooseDelivery();
      quote();
    }
  });

  // "Check the delivery fee" asks in place instead of loading the page again.
  var check = box.querySelector("button[name=quote]");
  if (check) {
    check.addEventListener("click", function (event) {
      event.preventDefault();
      chooseDelivery();
      quote();
    });
  }
})();

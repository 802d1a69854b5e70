/* Tapgo merchant console. Everything works without this file; it adds confirmations,
   printing, short search URLs, and the live order board (Server-Sent Events, a beep,
   in-place updates). */
(function () {
  "use strict";

  // --- small helpers ---------------------------------------------------------------------
  function showMessage(text, kind) {
    var box = document.getElementById("messages");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "msg " + (kind || "error");
    p.textContent = text;
    box.appendChild(p);
    setTimeout(function () { p.remove(); }, 8000);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches(".js-confirm") && !window.confirm(form.dataset.confirm || "?")) {
      event.preventDefault();
    }
    // A search form's empty fields stay out of its URL (shorter to bookmark and share).
    if (form.matches(".js-drop-empty")) {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (field.name && !field.value) field.disabled = true;
      });
      setTimeout(function () {  // usable again when the page is kept (back button)
        form.querySelectorAll(":disabled").forEach(function (field) { field.disabled = false; });
      }, 0);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest(".js-print")) window.print();
  });

  // --- sound: a short beep made with WebAudio (no audio file) ----------------------------
  var audio = null;
  var soundButton = document.querySelector(".js-sound");

  function audioContext() {
    if (!audio) {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      audio = new Ctx();
    }
    return audio;
  }

  function updateSoundButton() {
    if (!soundButton) return;
    var running = audio && audio.state === "running";
    soundButton.hidden = false;
    soundButton.textContent = running ? soundButton.dataset.on : soundButton.dataset.off;
    soundButton.classList.toggle("primary", !running);
  }

  function unlockAudio() {
    var ctx = audioContext();
    if (ctx && ctx.state !== "running") ctx.resume().then(updateSoundButton, updateSoundButton);
  }

  function beep() {
    var ctx = audioContext();
    if (!ctx || ctx.state !== "running") return;
    var start = ctx.currentTime;
    [880, 1320].forEach(function (freq, i) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var t = start + i * 0.18;
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.4, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.17);
    });
  }

  // --- the live order board --------------------------------------------------------------
  var board = document.getElementById("board");
  if (!board) return;

  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });
  if (soundButton) {
    soundButton.addEventListener("click", unlockAudio);
    audioContext();
    updateSoundButton();
  }

  function cardFrom(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }

  function updateCounts() {
    board.querySelectorAll(".column").forEach(function (column) {
      var count = column.querySelector(".count");
      if (count) count.textContent = column.querySelectorAll(".card").length;
    });
  }

  function place(card) {
    var column = board.querySelector('.column[data-status="' + card.dataset.status + '"] .cards');
    if (!column) return false;
    var sort = Number(card.dataset.sort || 0);
    var before = Array.prototype.find.call(column.children, function (other) {
      return Number(other.dataset.sort || 0) > sort;
    });
    column.insertBefore(card, before || null);
    return true;
  }

  function flash(card) {
    card.classList.add("flash");
    card.addEventListener("animationend", function () { card.classList.remove("flash"); });
  }

  // Apply one update: the order's card as the server rendered it, or none (leaves the board).
  function apply(data, isEvent) {
    var existing = document.getElementById("order-" + data.order);
    if (!data.html) {
      if (existing) existing.remove();
      updateCounts();
      return;
    }
    var card = cardFrom(data.html);
    if (!card) return;
    var fresh = !existing;
    if (existing && existing.classList.contains("flash")) flash(card); // still flashing
    if (existing && existing.dataset.status === card.dataset.status) {
      existing.replaceWith(card);
    } else {
      if (existing) existing.remove();
      place(card);
    }
    // A card new to the board in the "paid" state is a new order: call for attention.
    if (isEvent && fresh && card.dataset.status === "paid") {
      flash(card);
      beep();
    }
    updateCounts();
  }

  // Buttons: submit in the background and show the result at once (the stream agrees later).
  board.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches(".js-action") || !window.fetch) return;
    event.preventDefault();
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) { return { response: response, body: body }; });
      })
      .then(function (result) {
        if (result.body.ok) {
          apply(result.body, false);
        } else {
          showMessage(result.body.error || "Error");
          buttons.forEach(function (b) { b.disabled = false; });
        }
      })
      .catch(function () {
        form.submit(); // no JSON (e.g. a login page): let the browser do it the plain way
      });
  });

  var state = document.getElementById("live-state");
  var offlineTimer = null;
  function setState(online) {
    if (!state) return;
    clearTimeout(offlineTimer);
    var show = function () {
      state.textContent = online ? state.dataset.online : state.dataset.offline;
      state.classList.toggle("online", online);
    };
    // The stream ends every ~25 s by design and reconnects at once: only a lasting
    // disconnection is worth showing.
    if (online) show();
    else offlineTimer = setTimeout(show, 3000);
  }

  if (!window.EventSource) return;
  // The page was rendered up to event `after`; the stream starts there, and EventSource
  // reconnects by itself with Last-Event-ID, so no event is missed between the two.
  var source = new EventSource(board.dataset.events);
  source.addEventListener("open", function () { setState(true); });
  source.addEventListener("error", function () { setState(false); });
  source.addEventListener("order", function (event) {
    try {
      apply(JSON.parse(event.data), true);
    } catch (err) {
      /* a malformed event: ignore it, the next one carries the full card again */
    }
  });
})();

/* The store's location: "use this phone's location" fills the latitude and longitude (kept
   under "Advanced" for typing them). Without geolocation the button stays hidden and the
   fields still work; the server checks what arrives either way. */
(function () {
  "use strict";
  var box = document.querySelector("[data-location]");
  if (!box) return;
  var button = box.querySelector("[data-locate]");
  var status = box.querySelector("[data-location-status]");
  var lat = box.querySelector("input[name=latitude]");
  var lng = box.querySelector("input[name=longitude]");
  if (!button || !status || !lat || !lng || !navigator.geolocation) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    if (window.isSecureContext === false) {
      status.textContent = status.dataset.insecure;
      return;
    }
    button.disabled = true;
    status.textContent = status.dataset.locating;
    navigator.geolocation.getCurrentPosition(
      function (position) {
        lat.value = position.coords.latitude.toFixed(6);
        lng.value = position.coords.longitude.toFixed(6);
        status.textContent = status.dataset.done + " (" + lat.value + ", " + lng.value + ")";
        button.disabled = false;
      },
      function () {
        status.textContent = status.dataset.failed;
        button.disabled = false;
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
    );
  });
})();

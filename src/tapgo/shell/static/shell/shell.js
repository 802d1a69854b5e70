// Progressive enhancement of the shell. Everything works without it; this adds live order
// status, the share sheet and one-click protection. No inline scripts (CSP).
(function () {
  "use strict";

  // Brand colour from the app (a data attribute: no inline style under the CSP).
  var brand = document.body.getAttribute("data-brand");
  if (brand && /^#[0-9a-fA-F]{6}$/.test(brand)) {
    document.documentElement.style.setProperty("--brand", brand);
  }

  // Menu thumbnails load after the first paint, and only as they come near the screen: on a
  // slow link the first screen is not held up by pictures below it (without JavaScript the
  // <noscript> copy loads lazily instead).
  var pictures = document.querySelectorAll("img[data-src]");
  function show(img) { img.src = img.getAttribute("data-src"); img.removeAttribute("data-src"); }
  if (pictures.length) {
    requestAnimationFrame(function () {
      setTimeout(function () {
        if (!window.IntersectionObserver) { pictures.forEach(show); return; }
        var watch = new IntersectionObserver(function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) { watch.unobserve(entry.target); show(entry.target); }
          });
        }, { rootMargin: "200px" });
        pictures.forEach(function (img) { watch.observe(img); });
      }, 0);
    });
  }

  // Share: the Web Share API where the browser has it, copy-link otherwise. data-share is the
  // share endpoint (shell/views/sharing.py), which answers the customer's link as JSON (making the
  // link the first time, so it is asked only when the finger comes down on Share: the share
  // sheet must open soon after the tap). Where neither works, or the browser refuses the
  // sheet, the endpoint's page shows the link and its QR code, as it does without JavaScript.
  var shareLinks = {};
  function shareLink(endpoint) {
    if (!shareLinks[endpoint]) {
      shareLinks[endpoint] = fetch(endpoint, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("share " + response.status);
          return response.json();
        })
        .then(function (data) { shareLinks[endpoint].url = data.url; return data.url; });
      shareLinks[endpoint].catch(function () { delete shareLinks[endpoint]; });
    }
    return shareLinks[endpoint];
  }
  function say(text) {
    var box = document.createElement("div");
    box.className = "messages toast";
    box.setAttribute("role", "status");
    var line = document.createElement("p");
    line.className = "msg success";
    line.textContent = text;
    box.appendChild(line);
    document.body.appendChild(box);
    setTimeout(function () { box.remove(); }, 3000);
  }
  function deliver(link, url) {
    var fallback = function () { if (link.href) window.location.href = link.href; };
    if (navigator.share) {
      navigator.share({ title: link.getAttribute("data-title") || document.title, url: url })
        .catch(function (error) { if (error && error.name !== "AbortError") fallback(); });
    } else if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(url).then(function () {
        say(link.getAttribute("data-copied") || "✓");
      }, fallback);
    } else {
      fallback();
    }
  }
  document.addEventListener("pointerdown", function (event) {
    var link = event.target.closest && event.target.closest("[data-share]");
    if (link && !link.hasAttribute("data-url")) shareLink(link.getAttribute("data-share")).catch(function () {});
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-share]");
    if (!link) return;
    event.preventDefault();
    var endpoint = link.getAttribute("data-share");
    var url = link.getAttribute("data-url") || (shareLinks[endpoint] && shareLinks[endpoint].url);
    if (url) {
      deliver(link, url);
    } else {
      shareLink(endpoint).then(function (found) { deliver(link, found); }, function () {
        if (link.href) window.location.href = link.href;
      });
    }
  });
  document.querySelectorAll("[data-share][hidden]").forEach(function (button) { button.hidden = false; });

  // A form marked data-once is sent once even if double-clicked (the server is idempotent too).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-once")) return;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
  });

  // Top-up: a typed amount and a chosen amount exclude each other (the server takes a typed
  // one first).
  document.addEventListener("input", function (event) {
    var field = event.target;
    var form = field.form;
    if (!form || !form.classList.contains("topup")) return;
    if (field.name === "amount" && field.value) {
      form.querySelectorAll("input[name=pick]").forEach(function (pick) { pick.checked = false; });
    } else if (field.name === "pick" && form.elements.amount) {
      form.elements.amount.value = "";
    }
  });

  // Paused or resumed live: [data-ordering] greyed out with the reason (held ones stay off).
  var app = document.body.dataset, box = document.querySelector(".notice.paused");
  function pause(on, why) {
    document.body.toggleAttribute("data-paused", on);
    document.querySelectorAll("[data-ordering]:not([data-held])").forEach(function (b) { b.disabled = on; b.title = why; });
    box.textContent = why;
    box.hidden = !on;
  }
  if (app.liveState && box && document.querySelector("[data-ordering]")) {
    document.querySelectorAll("[data-ordering][disabled]").forEach(function (b) { b.dataset.held = 1; });
    pause("paused" in app, box.textContent);
    var ask = function () {
      if (!document.hidden) fetch(app.liveState).then(function (r) { return r.json(); }).then(function (d) { pause(d.paused, d.notice); }, function () {});
    };
    setInterval(ask, +app.liveEvery || 1e4);
    document.addEventListener("visibilitychange", ask);
  }

  // Live order status over Server-Sent Events; EventSource reconnects with Last-Event-ID.
  var status = document.getElementById("order-status");
  if (status && window.EventSource) {
    var source = new EventSource(status.getAttribute("data-live"));
    source.addEventListener("status", function (event) {
      var data = JSON.parse(event.data);
      status.innerHTML = data.html;
      document.dispatchEvent(new CustomEvent("tapgo:status", { detail: data })); // notify.js
      if (["completed", "expired", "rejected", "cancelled"].indexOf(data.status) >= 0) source.close();
    });
  }
})();

// Notifications on this device (Web Push), on top of forms that work without it. No inline
// scripts (CSP). The markup is shell/_notify_ask.html: a box [data-push-key] holds the VAPID
// public key, the subscribe endpoint, the worker's URL and what to say ([data-said-*]).
//
// - form[data-notify-ask] (the ask button): ask the browser's permission, register the
//   worker, subscribe, POST the subscription, then send the form with push=on; permission
//   refused (push=denied) or push unavailable, the form is sent all the same (the inbox, and
//   email if ticked, still carry the message) and the next page says so.
// - form[data-notify-device] ("Also on this phone"): hidden without JavaScript; shown where
//   this browser can show notifications and has no subscription yet (always on the settings
//   page, [data-explain]); it subscribes this device without sending the form.
// - form[data-notify-signout] (sign out, shell/signin.html): this device's subscription is
//   the account's; before the form goes, it is removed on the server (POST {endpoint} to
//   [data-push-unsubscribe]) and in the browser, so the phone shows no more of the account's
//   notifications. Whatever fails, the form is sent; without JavaScript it is sent as is.
(function () {
  "use strict";

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window &&
      window.isSecureContext !== false;
  }

  function bytes(base64url) {
    var text = base64url.replace(/-/g, "+").replace(/_/g, "/");
    text += "====".slice(0, (4 - (text.length % 4)) % 4);
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function say(box, what) {
    var status = box.querySelector("[data-notify-status]");
    if (status) status.textContent = box.getAttribute("data-said-" + what) || "";
  }

  function permission() {
    if (Notification.permission !== "default") return Promise.resolve(Notification.permission);
    return new Promise(function (resolve) {
      // Older browsers take a callback, newer ones return a promise.
      var asked = Notification.requestPermission(resolve);
      if (asked && asked.then) asked.then(resolve, function () { resolve("default"); });
    });
  }

  function token(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // This browser's subscription, made if need be: "on", "denied", "unsupported" or "failed".
  function subscribe(box, csrf) {
    if (!supported()) return Promise.resolve("unsupported");
    return permission().then(function (state) {
      if (state !== "granted") return "denied";
      return navigator.serviceWorker.register(box.getAttribute("data-worker"), { scope: "/" })
        .then(function () { return navigator.serviceWorker.ready; })
        .then(function (registration) {
          return registration.pushManager.getSubscription().then(function (existing) {
            return existing || registration.pushManager.subscribe({
              userVisibleOnly: true,
              applicationServerKey: bytes(box.getAttribute("data-push-key"))
            });
          });
        })
        .then(function (subscription) {
          var json = subscription.toJSON ? subscription.toJSON() : subscription;
          return fetch(box.getAttribute("data-push-subscribe"), {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
            body: JSON.stringify({ endpoint: json.endpoint, keys: json.keys })
          });
        })
        .then(function (response) { return response.ok ? "on" : "failed"; });
    }).catch(function () { return "failed"; });
  }

  // Forget this browser's subscription, here and on the server; resolves whatever happens.
  function unsubscribe(form) {
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) return Promise.resolve();
    return navigator.serviceWorker.getRegistration("/").then(function (registration) {
      return registration ? registration.pushManager.getSubscription() : null;
    }).then(function (subscription) {
      if (!subscription) return null;
      return fetch(form.getAttribute("data-push-unsubscribe"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token(form) },
        body: JSON.stringify({ endpoint: subscription.endpoint })
      }).then(function () { return subscription.unsubscribe(); });
    }).catch(function () { return null; });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute && form.hasAttribute("data-notify-signout")) {
      event.preventDefault();
      if (form.dataset.leaving) return;
      form.dataset.leaving = "1";
      unsubscribe(form).then(function () { form.submit(); });
      return;
    }
    var box = form.closest && form.closest("[data-push-key]");
    if (!box) return;
    if (form.hasAttribute("data-notify-ask")) {
      event.preventDefault();
      if (form.dataset.asking) return;
      form.dataset.asking = "1";
      subscribe(box, token(form)).then(function (result) {
        form.elements.push.value = result;
        if (result !== "on") say(box, result);
        form.submit(); // no submit event: this handler does not run again
      });
    } else if (form.hasAttribute("data-notify-device")) {
      event.preventDefault();
      if (form.dataset.asking) return;
      form.dataset.asking = "1";
      subscribe(box, token(form)).then(function (result) {
        delete form.dataset.asking;
        say(box, result);
        if (result === "on") {
          if (box.hasAttribute("data-reload")) window.location.reload();
          else form.hidden = true;
        }
      });
    }
  });

  // "Also on this phone": only where it can work and is not done yet.
  function setUp(root) {
    root.querySelectorAll("form[data-notify-device]").forEach(function (form) {
      var box = form.closest("[data-push-key]");
      var explain = box.hasAttribute("data-explain");
      if (!supported()) { if (explain) say(box, "unsupported"); return; }
      if (Notification.permission === "denied") { if (explain) say(box, "denied"); return; }
      if (explain) { form.hidden = false; return; } // sending it again is harmless: same endpoint
      navigator.serviceWorker.getRegistration("/").then(function (registration) {
        return registration ? registration.pushManager.getSubscription() : null;
      }).then(function (subscription) {
        if (!subscription) form.hidden = false;
      }, function () { form.hidden = false; });
    });
  }
  setUp(document);

  // The order page's card comes with the payment and goes once the order is ready: each live
  // status (shell.js passes it on as "tapgo:status") carries it. Left alone while the
  // customer is answering it.
  document.addEventListener("tapgo:status", function (event) {
    var card = document.getElementById("order-notify");
    var html = event.detail && event.detail.notify;
    if (!card || typeof html !== "string" || card.querySelector("form[data-sent], form[data-asking]")) return;
    card.innerHTML = html;
    setUp(card);
  });
})();

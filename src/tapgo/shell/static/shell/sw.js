// Tapgo's service worker, served at /sw.js (shell/views/notifications.py: service_worker) so that
// its scope is the whole site; the view puts self.tapgoTexts (its words, in the customer's
// language) before this file. It shows the notifications a customer allowed and opens their
// page when one is tapped. It handles no fetches: pages load as they would without it.
"use strict";

var texts = self.tapgoTexts || {};

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// A URL on this site: a link elsewhere is taken as its path here, so a notification never
// opens another site.
function here(url) {
  var fallback = new URL("/me/inbox", self.location.origin).href;
  if (typeof url !== "string" || !url) return fallback;
  try {
    var parsed = new URL(url, self.location.origin);
    return new URL(parsed.pathname + parsed.search, self.location.origin).href;
  } catch (error) {
    return fallback;
  }
}

// The payload (messaging.delivery): {title, body, url, tag, app}. A push without data, or
// with data that is not that JSON, still shows something: the inbox has the message.
self.addEventListener("push", function (event) {
  var data = {};
  if (event.data) {
    try {
      data = event.data.json() || {};
    } catch (error) {
      data = {};
    }
  }
  var known = typeof data.title === "string" && data.title !== "";
  var title = known ? data.title : texts.fallbackTitle || "New notification";
  var options = {
    body: known ? (typeof data.body === "string" ? data.body : "") : texts.fallbackBody || "",
    data: { url: here(data.url) }
  };
  if (typeof data.tag === "string" && data.tag) options.tag = data.tag;
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = here(event.notification.data && event.notification.data.url);
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i++) {
        if (windows[i].url === url && "focus" in windows[i]) return windows[i].focus();
      }
      if (self.clients.openWindow) return self.clients.openWindow(url);
      return undefined;
    })
  );
});

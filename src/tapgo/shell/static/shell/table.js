// A table's shared cart and bill, live (the cart and table pages only): each Server-Sent
// Event carries the block re-rendered; EventSource reconnects by itself.
(function () {
  "use strict";
  if (!window.EventSource) return;
  Array.prototype.forEach.call(document.querySelectorAll("[data-live-block]"), function (block) {
    var feed = new EventSource(block.getAttribute("data-live-block"));
    feed.addEventListener("block", function (event) {
      block.innerHTML = JSON.parse(event.data).html;
    });
  });
})();

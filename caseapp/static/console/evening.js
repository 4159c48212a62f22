// 相談会 mode: the queue board reloads itself (htmx polling); this file keeps it usable.
(function () {
  "use strict";

  // A row whose team someone has started ticking is not swapped away by the next reload;
  // after a minute untouched the board refreshes again (someone walked away mid-row).
  var HOLD_MS = 60000;
  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-team-form]");
    if (form) { form.setAttribute("data-dirty", String(Date.now())); }
  });

  function beingFilledIn(board) {
    var now = Date.now();
    return Array.prototype.some.call(board.querySelectorAll("[data-team-form][data-dirty]"),
      function (form) { return now - Number(form.getAttribute("data-dirty")) < HOLD_MS; });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var config = event.detail.requestConfig || {};
    if (target && target.id === "queue-board" && config.verb === "get" &&
        beingFilledIn(target)) {
      event.detail.shouldSwap = false;
    }
  });

  // Waiting minutes move on between reloads (the board reloads only when something changed).
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-waiting-since]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("data-waiting-since"));
      if (!isNaN(since)) {
        el.textContent = Math.max(0, Math.floor((now - since) / 60000)) + " 分";
      }
    });
  }
  window.setInterval(tick, 30000);
})();

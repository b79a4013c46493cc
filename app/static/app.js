// Toasts for htmx's HX-Trigger "notify" events, and a clear message when an htmx
// request fails (htmx does not swap 4xx/5xx, so without this a button would look dead).
(function () {
  "use strict";
  function toast(level, message) {
    var box = document.getElementById("toasts");
    if (!box || !message) return;
    var el = document.createElement("p");
    el.className = "toast toast-" + (level || "info");
    if (level === "error") el.setAttribute("role", "alert"); // the container is already a polite live region
    el.textContent = message; // text, never HTML
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }
  document.body.addEventListener("notify", function (e) {
    toast(e.detail && e.detail.level, e.detail && e.detail.message);
  });
  document.body.addEventListener("htmx:responseError", function (e) {
    var trig = e.detail.xhr.getResponseHeader("HX-Trigger");
    if (!trig) toast("error", "That didn't work (" + e.detail.xhr.status + "). Please reload the page and try again.");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("error", "Can't reach Logic Target. Check your connection and try again.");
  });
})();

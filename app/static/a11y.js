// Keyboard and phone help for every page (CSP: no inline script, no eval).
// 1. Focus after an htmx swap: when the swap removed the focused element, focus lands on
//    [data-focus-after-swap] in the new content, else the pressed element's namesake (same id),
//    the sorted column's header (after a sort), the first row (after paging), the element
//    with the id the focus was in (a row redrawn inside a refreshed list), or the swapped
//    row/region itself — never on <body>, where a keyboard user would start over.
// 2. Wide tables: a table wider than its card scrolls inside a focusable region (so it
//    can be scrolled with the keyboard) with a visible "scroll" cue; the page never does.
(function () {
  "use strict";
  // What a request started from and where focus was, kept on its own XHR: polling rows and
  // HX-Trigger follow-up requests run concurrently and must not overwrite each other's.
  var lastFocus = null;
  document.addEventListener("focusin", function (e) { lastFocus = e.target; });

  function focusable(el) {
    if (!el) return null;
    if (!el.matches("a[href], button, input, select, textarea, summary, [tabindex]")) el.setAttribute("tabindex", "-1");
    return el;
  }
  function lost() {
    var a = document.activeElement;
    return !a || a === document.body || !a.isConnected;
  }
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt;
    e.detail.xhr.a11yTrigger = {id: document.activeElement === elt ? elt.id : "", sort: !!elt.closest("th"),
                                page: !!elt.closest(".pager, [rel=next], [rel=prev]")};
  });
  // Just before content is replaced: is focus inside what goes, and in which element with an id?
  // (hx-disabled-elt disables the pressed button, which drops focus to <body>: lastFocus has it.)
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var a = document.activeElement, target = e.detail.target, xhr = e.detail.xhr;
    if (!a || a === document.body) a = lastFocus;
    // Inside what goes, or already gone with an earlier swap whose settle nobody heard (an
    // event on a detached element does not reach <body>): its old ancestors still have ids.
    if (xhr && a && a !== document.body && target && (target === a || target.contains(a) || !a.isConnected)) {
      var inner = a.closest("[id]");
      xhr.a11yHeld = {trigger: xhr.a11yTrigger || {}, id: inner && inner !== target ? inner.id : null};
    }
  });
  document.body.addEventListener("htmx:afterSettle", function (e) {
    var h = e.detail.xhr && e.detail.xhr.a11yHeld, target = e.detail.target;
    if (target && !target.isConnected && target.id) target = document.getElementById(target.id);
    markScrollRegions(target || document);
    if (!h || !lost() || !target) return;
    e.detail.xhr.a11yHeld = null;
    var t = h.trigger;
    var el = target.querySelector("[data-focus-after-swap]") || (target.matches("[data-focus-after-swap]") && target)
      || (t.id && document.getElementById(t.id))
      || (t.sort && (target.querySelector("th[aria-sort] a") || target.querySelector("th[aria-sort]")))
      || (t.page && target.querySelector("tbody tr"))
      || (h.id && document.getElementById(h.id))
      || (target.matches("li, tr, section, article, [role=region]") && target)
      || target.querySelector("h1, h2, h3, caption") || target;
    el = focusable(el);
    if (el) el.focus();
  });

  function label(box) {
    var cap = box.querySelector("caption"), head = box.closest("section, .card");
    head = head && head.querySelector("h1, h2, h3");
    return (cap && cap.textContent.trim()) || (head && head.textContent.trim()) || "Table";
  }
  function scrollsSideways(el) {
    var o = getComputedStyle(el).overflowX;
    return o === "auto" || o === "scroll";
  }
  function markScrollRegions(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("table").forEach(function (table) {
      if (table.classList.contains("visually-hidden")) return;
      var box = table.parentElement;
      while (box && box !== document.body && !scrollsSideways(box)) box = box.parentElement;
      if (!box || box === document.body) {
        if (table.offsetWidth <= table.parentElement.clientWidth + 1) return;
        box = document.createElement("div");  // a wide table nobody wrapped: it scrolls on its own
        box.className = "scroll-x";
        table.parentElement.insertBefore(box, table);
        box.appendChild(table);
      }
      var wide = box.scrollWidth > box.clientWidth + 1, cue = box.nextElementSibling;
      box.classList.toggle("is-scrollable", wide);
      if (wide) {
        if (!box.hasAttribute("role")) {  // ours to add, and to take away when it fits again
          box.setAttribute("tabindex", "0");
          box.setAttribute("role", "region");
          box.dataset.scrollRegion = "auto";
          if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
            box.setAttribute("aria-label", label(box) + " (scrolls sideways)");
            box.dataset.scrollRegion = "auto-label";
          }
        }
        if (!cue || !cue.classList.contains("scroll-cue")) {
          cue = document.createElement("p");
          cue.className = "scroll-cue";
          cue.setAttribute("aria-hidden", "true");
          cue.textContent = "Scroll sideways for more →";
          box.parentElement.insertBefore(cue, box.nextSibling);
        }
      } else {
        if (box.dataset.scrollRegion) {
          if (box.dataset.scrollRegion === "auto-label") box.removeAttribute("aria-label");
          ["tabindex", "role", "data-scroll-region"].forEach(function (a) { box.removeAttribute(a); });
        }
        if (cue && cue.classList.contains("scroll-cue")) cue.remove();
      }
    });
  }
  // Once per frame while the window is resized or a phone is turned: the cue follows the new
  // width in the next frame, and a drag that fires many resize events marks tables once a frame.
  var markQueued = false;
  window.addEventListener("resize", function () {
    if (markQueued) return;
    markQueued = true;
    requestAnimationFrame(function () { markQueued = false; markScrollRegions(document); });
  });
  markScrollRegions(document);
})();

/* The console's only script: keyboard shortcuts. Everything works without it.
 *
 * Lists (tables marked data-rows): j / k move to the next / previous row's link,
 * n opens the first row. A review: a goes to "Approve and run", e to the parameters,
 * r to the rejection comment, n opens the next waiting action; an action in doubt: d goes
 * to its three choices (resend, mark done, cancel). Ctrl+Enter (or Cmd+Enter) sends the
 * form the focus is in. Keys typed into a field are the field's, not shortcuts.
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function typing(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  function rowLinks() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-rows] a.row-link"));
  }

  function move(step) {
    var links = rowLinks();
    if (!links.length) return false;
    var at = links.indexOf(document.activeElement);
    var next = at < 0 ? (step > 0 ? 0 : links.length - 1)
                      : Math.min(links.length - 1, Math.max(0, at + step));
    links[next].focus();
    var row = links[next].closest("tr");
    if (row && row.scrollIntoView) row.scrollIntoView({block: "nearest"});
    return true;
  }

  function focus(id) {
    var el = document.getElementById(id);
    if (!el) return false;
    el.focus();
    if (el.scrollIntoView) el.scrollIntoView({block: "center"});
    return true;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      var form = ev.target && ev.target.form;
      if (form && typeof form.requestSubmit === "function") {
        ev.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var done = false;
    switch (ev.key) {
      case "j": done = move(1); break;
      case "k": done = move(-1); break;
      case "a": done = focus("approve"); break;
      case "e": done = focus("edit-params"); break;
      case "r": done = focus("reject-comment"); break;
      case "d": done = focus("resolve-resend"); break;
      case "n":
        var next = document.getElementById("next-item") || rowLinks()[0];
        if (next) { next.click(); done = true; }
        break;
    }
    if (done) ev.preventDefault();
  });
})();

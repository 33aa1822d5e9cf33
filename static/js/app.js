// ksherdash's own script, loaded with defer from the layout (our CSP allows
// no inline script). It only adds keyboard comfort; every page works
// without it.
(function () {
  "use strict";
  // "/" focuses the header's search box, as on GitHub and Stripe, unless the
  // person is typing somewhere already.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) {
      return;
    }
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
      return;
    }
    var box = document.querySelector("input[data-search-box]");
    if (!box) {
      return;
    }
    e.preventDefault();
    box.focus();
    box.select();
  });
})();

/* The PHR pages' own small script (served at /static/phr.js). Every page works without it:
   the facility search has its Search button, the waiting page its Refresh link. */
(function () {
  "use strict";

  // Facility search: narrow the list as one types (the form searches all facilities on
  // the server when submitted).
  var box = document.querySelector("input[data-filter]");
  if (box) {
    var items = document.querySelectorAll(box.getAttribute("data-filter"));
    var none = document.getElementById("no-match");
    var narrow = function () {
      var q = box.value.trim().toLowerCase();
      var shown = 0;
      Array.prototype.forEach.call(items, function (li) {
        var hit = (li.getAttribute("data-name") || "").indexOf(q) !== -1;
        li.hidden = !hit;
        if (hit) { shown += 1; }
      });
      if (none) { none.hidden = shown > 0; }
    };
    box.addEventListener("input", narrow);
    // What was typed before this script ran (it loads deferred), or what the browser
    // restored on going back, narrows the list too.
    if (box.value) { narrow(); }
  }

  // Waiting for the facility's answer: ask every two seconds whether the step has moved
  // on, then reload to show it. The server says when the facility is late (about 30 s),
  // so polling stops by itself; on any failure it stops and the Refresh link remains.
  var wait = document.querySelector("[data-poll]");
  if (wait && window.fetch) {
    var url = wait.getAttribute("data-poll");
    var step = wait.getAttribute("data-step");
    var tries = 0;
    var tick = function () {
      tries += 1;
      window.fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          if (!s) { return; }
          if (s.status !== step || !s.waiting) { window.location.reload(); return; }
          if (tries < 45) { window.setTimeout(tick, 2000); }
        })
        .catch(function () { /* offline: the Refresh link remains */ });
    };
    window.setTimeout(tick, 1500);
  }
})();

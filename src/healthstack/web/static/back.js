/* "Go back" on the error page: the previous page when there is one (the link's own
   target, the start page, otherwise and without JavaScript). */
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("a[data-go-back]"), function (a) {
    a.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  });
}());

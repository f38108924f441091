/* Small helpers for the ABHA desk and patient pages. Every form works without them. */
(function () {
  "use strict";
  var each = function (selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  };

  // OTP resend: disabled until the server's wait is over, with a countdown. The server
  // enforces the rule; this only saves a refused click.
  each("button[data-wait]", function (button) {
    var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
    var label = button.getAttribute("data-label") || button.textContent;
    var tick = function () {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        each("[data-when]", function (el) { el.textContent = "now"; });
        return;
      }
      button.disabled = true;
      button.textContent = label + " (" + left + " s)";
      each("[data-countdown]", function (el) { el.textContent = String(left); });
      left -= 1;
      window.setTimeout(tick, 1000);
    };
    tick();
  });

  // Typing an own ABHA address selects its radio button.
  each("input[data-selects]", function (input) {
    input.addEventListener("input", function () {
      var radio = document.getElementById(input.getAttribute("data-selects"));
      if (radio && input.value) { radio.checked = true; }
    });
  });

  // A photo over the upload limit is refused before a long upload.
  each("input[type=file][data-max-bytes]", function (input) {
    input.addEventListener("change", function () {
      var max = parseInt(input.getAttribute("data-max-bytes"), 10);
      var file = input.files && input.files[0];
      input.setCustomValidity(file && file.size > max
        ? "This photo is too large. Take it again at a lower resolution, or crop it to the QR code."
        : "");
    });
  });
})();

/* Starts the API docs viewer the page names (data-apidocs="swagger" or "redoc") on the
   OpenAPI description at data-openapi. A file of ours, not an inline script, so the
   pages keep the strict script policy; the viewers come from the installed wheel. */
(function () {
  "use strict";
  var el = document.querySelector("[data-apidocs]");
  if (!el) { return; }
  var url = el.getAttribute("data-openapi");
  var failed = function (what) {
    el.textContent = "The API description could not be shown (" + what + "). It is at " + url + ".";
  };
  if (el.getAttribute("data-apidocs") === "swagger") {
    if (!window.SwaggerUIBundle) { failed("Swagger UI did not load"); return; }
    el.textContent = "";
    window.SwaggerUIBundle({
      url: url,
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      filter: true,
      showExtensions: true,
      showCommonExtensions: true,
      // No badge from the public validator: the page asks nothing of another site.
      validatorUrl: null,
      presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset]
    });
  } else {
    if (!window.Redoc) { failed("ReDoc did not load"); return; }
    el.textContent = "";
    window.Redoc.init(url, {}, el, function (error) { if (error) { failed(String(error)); } });
  }
}());

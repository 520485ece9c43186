// Starts Swagger UI on /api/v1/docs with the settings the page carries (no inline script: CSP script-src 'self').
(function () {
  "use strict";
  var tag = document.getElementById("docs-start");
  var config = JSON.parse(tag.getAttribute("data-config") || "{}");
  config.url = tag.getAttribute("data-spec-url");
  config.dom_id = "#swagger-ui-container";
  window.addEventListener("load", function () {
    window.ui = window.SwaggerUIBundle(config);
  });
})();

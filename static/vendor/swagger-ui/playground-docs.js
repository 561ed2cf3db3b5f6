// Our Swagger UI start-up for /api/docs (not part of swagger-ui-dist).
// persistAuthorization keeps the bearer token from "Authorize" across reloads (localStorage);
// validatorUrl: null stops Swagger UI from calling its online validator: no request leaves the site.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    persistAuthorization: true,
    validatorUrl: null,
    displayRequestDuration: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();

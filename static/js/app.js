/* Playground: the little JavaScript every page shares. Pages work without it; it adds the
 * phone menu, dismissible messages and sensible htmx behaviour. */
(function () {
  "use strict";

  /* Show a message in the flash area (the same markup as templates/_flash.html). */
  function flash(message, category) {
    var area = document.getElementById("flashes");
    if (!area) return;
    var box = document.createElement("div");
    box.className = "alert alert-" + (category || "error") + " flash";
    box.setAttribute("role", category === "error" ? "alert" : "status");
    var text = document.createElement("p");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "flash-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    box.append(text, close);
    area.append(box);
  }
  window.playgroundFlash = flash;

  function setUpMenu() {
    var toggle = document.querySelector(".nav-toggle");
    var menu = document.getElementById("nav-menu");
    if (!toggle || !menu) return;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      menu.classList.toggle("is-open", open);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.classList.contains("is-open")) {
        toggle.click();
        toggle.focus();
      }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (button) button.closest(".flash, .alert").remove();
  });

  function loginUrl() {
    var here = window.location.pathname + window.location.search;
    return "/auth/login?next=" + encodeURIComponent(here);
  }

  function setUpHtmx() {
    if (!window.htmx) return;
    // Forms re-rendered with errors answer 422: swap them in like a success, so a form
    // loaded by htmx shows its errors in place. Other 4xx/5xx stay unswapped (see below).
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "422", swap: true },
      { code: "[45]..", swap: false, error: true },
    ];

    // An expired session normally comes back with HX-Redirect (htmx follows it itself);
    // a bare 401 means the same, so go to the log-in page and come back here afterwards.
    document.body.addEventListener("htmx:responseError", function (event) {
      var xhr = event.detail.xhr;
      if (xhr.status === 401) {
        window.location.assign(loginUrl());
      } else if (xhr.status === 400 && /expired/i.test(xhr.responseText)) {
        flash("The form expired. Please reload the page and try again.");
      } else if (xhr.status === 429) {
        flash("Too many attempts. Please wait a moment and try again.");
      } else if (xhr.status === 404) {
        flash("That item no longer exists. Reload the page to see the latest.");
      } else {
        flash("Something went wrong (" + xhr.status + "). Please try again.");
      }
    });
    document.body.addEventListener("htmx:sendError", function () {
      flash("Could not reach the server. Check your connection and try again.");
    });
  }

  /* The Content-Security-Policy lets htmx evaluate no code, so a trigger filter such as
   * "every 4s [canRefresh()]" cannot work. Instead an element names a global function,
   * data-request-when="canRefresh", and its requests are skipped while that returns false. */
  document.addEventListener("htmx:confirm", function (event) {
    var element = event.target;
    var name = element && element.getAttribute && element.getAttribute("data-request-when");
    if (!name) return;
    var allowed = window[name];
    if (typeof allowed === "function" && !allowed()) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    setUpHtmx();
  });
})();

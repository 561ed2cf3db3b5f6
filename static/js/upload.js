/* Data sets page (templates/datasets/index.html), moved out of the page so the
   Content-Security-Policy can forbid inline scripts. */
/* Drag and drop onto the file field, show the chosen name, and refuse a file over the
   upload limit before sending it (the server answers 413 too, but only after the upload). */
(function () {
  "use strict";
  var form = document.querySelector("[data-upload-form]");
  if (!form) return;
  var input = form.querySelector("input[type=file]");
  var zone = form.querySelector("[data-dropzone]");
  var nameOut = form.querySelector("[data-file-name]");
  var errors = form.querySelector("[data-file-error]");
  var maxBytes = Number(form.getAttribute("data-max-bytes")) || 0;
  function showError(message) {
    errors.innerHTML = "";
    if (message) {
      var item = document.createElement("li");
      item.textContent = message;
      errors.append(item);
    }
    errors.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
  }
  function tooBig(file) {
    return maxBytes && file && file.size > maxBytes;
  }
  function chosen() {
    var file = input.files && input.files[0];
    nameOut.textContent = file ? file.name + " (" + Math.ceil(file.size / 1024) + " KB)" : "";
    showError(tooBig(file) ? "The file is larger than the " + Math.round(maxBytes / 1048576) + " MB limit." : "");
  }
  input.addEventListener("change", chosen);
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("is-dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("is-dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      chosen();
    }
  });
  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    if (!file) { event.preventDefault(); showError("Choose a CSV file to upload."); return; }
    if (tooBig(file)) { event.preventDefault(); chosen(); }
  });
})();

/* Training pages: sortable comparison tables, selects that apply themselves, and the run
 * form's feature boxes following the chosen target. Every page works without it. */
(function () {
  "use strict";

  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) return "";
    return cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
  }

  function sortBy(button) {
    var th = button.closest("th");
    var table = th.closest("table");
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var numeric = button.getAttribute("data-type") === "number";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index), y = cellValue(b, index);
      if (numeric) {
        // Missing values always last.
        if (x === "" || y === "") return (x === "") - (y === "");
        x = parseFloat(x); y = parseFloat(y);
        return ascending ? x - y : y - x;
      }
      return ascending ? x.localeCompare(y) : y.localeCompare(x);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[aria-sort]").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("table.sortable button.sort");
    if (button) sortBy(button);
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  /* The target is never a feature: untick and lock its box, and give the previous target's
   * box back as it was. */
  function followTarget(select) {
    var form = select.form;
    if (!form) return;
    form.querySelectorAll('input[name="features"][data-target-locked]').forEach(function (box) {
      box.removeAttribute("data-target-locked");
      box.disabled = false;
      box.checked = box.getAttribute("data-was-checked") === "true";
      var note = box.parentNode.querySelector(".target-note");
      if (note) note.remove();
    });
    if (!select.value) return;
    form.querySelectorAll('input[name="features"]').forEach(function (box) {
      if (box.value !== select.value || box.disabled) return;
      box.setAttribute("data-was-checked", String(box.checked));
      box.setAttribute("data-target-locked", "");
      box.checked = false;
      box.disabled = true;
      var note = document.createElement("span");
      note.className = "target-note small";
      note.textContent = " (the target)";
      box.parentNode.appendChild(note);
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select#target")) followTarget(event.target);
  });

  function init(root) {
    var target = (root || document).querySelector("select#target");
    if (target) followTarget(target);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) { init(event.target); });
})();

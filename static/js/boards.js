/* Board page: drag and drop between and within columns, focus after keyboard moves and
 * adds, the undo toast, label chips as filters, when the periodic refresh may run, the
 * column tabs on phones and the keyboard shortcuts. Every action also works through
 * buttons and forms (htmx); this only adds what those cannot do. */
(function () {
  "use strict";

  var dragged = null; // the task being dragged
  var origin = null; // where it was, to put it back when the drag is cancelled
  var dropped = false;

  function columnsEl() {
    return document.getElementById("board-columns");
  }

  /* The poll on #board-columns asks this first: never replace what the user is working on. */
  window.boardCanRefresh = function () {
    if (document.hidden || dragged) return false;
    var columns = columnsEl();
    if (!columns || columns.querySelector(".task-editing, .task-quick-form, .htmx-request")) {
      return false;
    }
    var typing = Array.prototype.some.call(
      columns.querySelectorAll(".add-task input[name=title]"),
      function (input) {
        return input.value.trim() !== "";
      }
    );
    if (typing) return false;
    var active = document.activeElement;
    return !(active && active.closest && active.closest(".task-form"));
  };

  /* ---- drag and drop ---- */

  function taskAfter(list, y) {
    var tasks = list.querySelectorAll(".task:not(.is-dragging):not(.task-editing)");
    for (var i = 0; i < tasks.length; i++) {
      var box = tasks[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) return tasks[i];
    }
    return null;
  }

  document.addEventListener("dragstart", function (event) {
    var task = event.target.closest && event.target.closest(".task[draggable=true]");
    if (!task) return;
    dragged = task;
    dropped = false;
    origin = { parent: task.parentNode, next: task.nextSibling };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", task.dataset.taskId);
    // Styled on the next frame, so the drag image is the normal card.
    requestAnimationFrame(function () {
      task.classList.add("is-dragging");
    });
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var column = event.target.closest && event.target.closest(".column");
    if (!column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    var list = column.querySelector(".task-list");
    var after = taskAfter(list, event.clientY);
    if (after !== dragged && (after !== dragged.nextSibling || dragged.parentNode !== list)) {
      list.insertBefore(dragged, after);
    }
    document.querySelectorAll(".column.is-drop-target").forEach(function (el) {
      if (el !== column) el.classList.remove("is-drop-target");
    });
    column.classList.add("is-drop-target");
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    var column = event.target.closest && event.target.closest(".column");
    if (!column) return;
    event.preventDefault();
    dropped = true;
    var next = dragged.nextElementSibling;
    while (next && !next.classList.contains("task")) next = next.nextElementSibling;
    // The filters travel in HX-Current-URL, as for every other board action.
    var values = { status: column.dataset.status };
    if (next) values.before_id = next.dataset.taskId;
    htmx.ajax("POST", dragged.dataset.moveUrl, {
      source: dragged,
      target: "#board-columns",
      swap: "outerHTML",
      values: values,
    });
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("is-dragging");
    document.querySelectorAll(".column.is-drop-target").forEach(function (el) {
      el.classList.remove("is-drop-target");
    });
    if (!dropped && origin && origin.parent.isConnected) {
      origin.parent.insertBefore(dragged, origin.next); // cancelled: put it back
    }
    dragged = null;
    origin = null;
  });

  /* ---- after htmx swaps ---- */

  /* 409 (edited meanwhile) answers with the form and the conflict message: show it. */
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  function restoreFocus(columns) {
    var id = columns.dataset.focus;
    if (!id) return;
    var el = document.getElementById(id);
    if (el && el.disabled) {
      // At the top/bottom/edge now: keep the user on the same task.
      el = el.closest(".task");
    }
    if (el && el.classList.contains("task")) el = el.querySelector(".task-title");
    if (el) el.focus();
    if (el && el.classList.contains("input")) el.scrollIntoView({ block: "nearest" });
  }

  function autohideToasts() {
    document.querySelectorAll("[data-autohide]").forEach(function (toast) {
      if (toast.dataset.timer) return;
      toast.dataset.timer = "1";
      setTimeout(function () {
        toast.remove();
      }, Number(toast.dataset.autohide) * 1000);
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var columns = columnsEl();
    if (columns && event.detail.elt && event.detail.elt.id === "board-columns") {
      restoreFocus(columns);
    }
    var editing = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest(".task-editing");
    if (editing && !editing.contains(document.activeElement)) {
      var first = editing.querySelector("[aria-invalid=true], input[name=title]");
      if (first) first.focus();
    }
    autohideToasts();
  });
  document.addEventListener("htmx:oobAfterSwap", autohideToasts);

  /* ---- small conveniences ---- */

  document.addEventListener("click", function (event) {
    var chip = event.target.closest && event.target.closest(".chip[data-label]");
    if (!chip) return;
    var input = document.getElementById("filter-label");
    if (!input) return;
    input.value = chip.dataset.label;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  document.addEventListener("reset", function (event) {
    if (event.target.id !== "board-filters") return;
    // After the browser has cleared the fields.
    setTimeout(function () {
      event.target.dispatchEvent(new Event("input", { bubbles: true }));
    }, 0);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest(".task-editing");
    if (form) {
      var cancel = form.querySelector(".task-cancel");
      if (cancel) cancel.click();
    }
  });

  /* ---- phones: the column tabs scroll the row sideways, not the page down ---- */

  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest(".column-tab");
    if (!tab) return;
    var column = document.getElementById("column-" + tab.dataset.column);
    if (!column) return;
    event.preventDefault();
    column.scrollIntoView({ behavior: "smooth", block: "nearest", inline: "start" });
  });

  /* ---- keyboard shortcuts (listed on the page under "Keyboard shortcuts") ---- */

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  function focusTask(step) {
    var titles = Array.prototype.slice.call(document.querySelectorAll(".task .task-title"));
    if (!titles.length) return;
    var current = document.activeElement && document.activeElement.closest(".task");
    var index = current ? titles.indexOf(current.querySelector(".task-title")) : -1;
    var next = titles[Math.max(0, Math.min(titles.length - 1, index + step))];
    if (index === -1) next = titles[0];
    next.focus();
  }

  var TASK_KEYS = {
    d: ".task-done",
    q: ".task-quick",
    "Shift+ArrowLeft": "[id^=left-]",
    "Shift+ArrowRight": "[id^=right-]",
    "Shift+ArrowUp": "[id^=up-]",
    "Shift+ArrowDown": "[id^=down-]",
  };

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target)) return;
    var key = (event.shiftKey && event.key.indexOf("Arrow") === 0 ? "Shift+" : "") + event.key;
    var task = event.target.closest && event.target.closest(".task:not(.task-editing)");
    if (task && TASK_KEYS[key]) {
      var button = task.querySelector(TASK_KEYS[key]);
      if (button && !button.disabled) {
        event.preventDefault();
        button.click();
      }
      return;
    }
    if (key === "n") {
      var add = document.getElementById("add-title-pending");
      if (add) {
        event.preventDefault();
        add.focus();
      }
    } else if (key === "/") {
      var search = document.getElementById("filter-q");
      if (search) {
        event.preventDefault();
        search.focus();
      }
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      focusTask(key === "j" ? 1 : -1);
    } else if (key === "?") {
      var help = document.getElementById("board-shortcuts");
      if (help) {
        event.preventDefault();
        help.open = !help.open;
        if (help.open) help.querySelector("summary").focus();
      }
    }
  });
})();

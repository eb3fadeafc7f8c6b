// Bulk selection on list pages (forms marked data-bulk): shift-click a second box to tick
// or clear the range between it and the last box clicked; the count says how many are
// selected; "Select all N matching" selects the whole filtered list, not just this page.
(function () {
  "use strict";
  document.querySelectorAll("form[data-bulk]").forEach(function (form) {
    // form.elements: boxes in the table may belong to the form by their form attribute.
    var fields = Array.prototype.slice.call(form.elements);
    var boxes = fields.filter(function (el) { return el.hasAttribute("data-bulk-row"); });
    var all = form.querySelector("input[data-bulk-all]");
    var count = form.querySelector("[data-bulk-count]");
    var matching = form.getAttribute("data-matching") || "0";
    var last = null;

    function update() {
      var ticked = boxes.filter(function (box) { return box.checked; }).length;
      if (all && all.checked) {
        count.textContent = "All " + matching + " matching selected.";
      } else if (ticked === 0) {
        count.textContent = "None selected.";
      } else {
        count.textContent = ticked + " selected on this page.";
      }
    }

    boxes.forEach(function (box) {
      box.addEventListener("click", function (event) {
        if (event.shiftKey && last !== null && last !== box) {
          var from = boxes.indexOf(last);
          var to = boxes.indexOf(box);
          var low = Math.min(from, to);
          var high = Math.max(from, to);
          for (var i = low; i <= high; i++) { boxes[i].checked = box.checked; }
        }
        last = box;
        if (all && !box.checked) { all.checked = false; }
        update();
      });
    });
    if (all) {
      all.addEventListener("change", function () {
        boxes.forEach(function (box) { box.checked = all.checked; });
        update();
      });
    }
    update();
  });
}());

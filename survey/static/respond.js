// Show a question only while its condition on an earlier answer holds. The server applies
// the same rule (a hidden question's answer is ignored), so without JavaScript all is shown.
(function () {
  "use strict";
  var form = document.querySelector("form.survey");
  if (!form) return;
  var ops = {
    "==": function (a, b) { return a == b; },
    "!=": function (a, b) { return a != b; },
    "<": function (a, b) { return a < b; },
    "<=": function (a, b) { return a <= b; },
    ">": function (a, b) { return a > b; },
    ">=": function (a, b) { return a >= b; },
    "in": function (a, b) { return Array.isArray(b) && b.indexOf(a) >= 0; },
    "not_in": function (a, b) { return Array.isArray(b) && b.indexOf(a) < 0; }
  };

  function answerOf(key) {
    var box = document.getElementById("q_" + key);
    if (!box || box.disabled) return null;
    var checked = box.querySelector("input:checked");
    if (!checked) return null;
    var kind = box.getAttribute("data-kind");
    if (kind === "yes_no") return checked.value === "yes" ? 1 : 0;
    if (kind === "single_choice") return checked.value;
    return Number(checked.value);
  }

  function update() {
    var boxes = form.querySelectorAll("fieldset[data-condition]");
    for (var i = 0; i < boxes.length; i++) {
      var condition = JSON.parse(boxes[i].getAttribute("data-condition"));
      var value = answerOf(condition.question);
      var op = ops[condition.op || "=="];
      var show = value !== null && !!op && op(value, condition.value);
      boxes[i].hidden = !show;
      boxes[i].disabled = !show;
    }
  }

  form.addEventListener("change", update);
  update();
})();

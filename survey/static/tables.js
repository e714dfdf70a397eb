// On a phone a table.stack shows each row as a card: every cell is labelled with its
// column's heading (data-label), which the stylesheet shows before the cell's value.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.stack").forEach(function (table) {
    var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, i) {
        if (!cell.hasAttribute("data-label") && headings[i]) cell.setAttribute("data-label", headings[i]);
      });
    });
  });
});

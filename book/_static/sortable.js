// Click a header of a table with class "sortable" to sort its rows (again to reverse).
// Cells carry data-sort keys: numbers sort numerically, text alphabetically, blanks last.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, idx) {
      th.setAttribute("role", "button");
      th.setAttribute("tabindex", "0");
      th.title = "Sort by this column";
      var sort = function () {
        var body = table.tBodies[0];
        var asc = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        var cell = function (r) { return r.cells[idx]; };
        var num = function (c) { return c && c.hasAttribute("data-num") ? parseFloat(c.getAttribute("data-num")) : null; };
        var txt = function (c) { return c ? (c.getAttribute("data-sort") || "") : ""; };
        rows.sort(function (a, b) {
          var ca = cell(a), cb = cell(b), na = num(ca), nb = num(cb), cmp;
          if (na !== null && nb !== null) { cmp = na - nb; }
          else {
            var x = na !== null ? String(na) : txt(ca), y = nb !== null ? String(nb) : txt(cb);
            if (x === "" || y === "") { return x === y ? 0 : (x === "" ? 1 : -1); }
            cmp = x.localeCompare(y);
          }
          return asc ? cmp : -cmp;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); } });
    });
  });
});

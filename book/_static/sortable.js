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

// Tables with class "filterable" get a search box above them: typing hides the rows whose text
// (details included) does not contain every typed word, case- and accent-insensitively, and says
// how many rows are shown. Without scripts every row stays visible; print shows them all.
document.addEventListener("DOMContentLoaded", function () {
  var fold = function (s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  };
  document.querySelectorAll("table.filterable").forEach(function (table, n) {
    var body = table.tBodies[0];
    if (!body) { return; }
    var box = document.createElement("div");
    box.className = "review-filter";
    var id = (table.id || "review-table-" + n) + "-filter";
    var label = document.createElement("label");
    label.setAttribute("for", id);
    label.textContent = "Filter rows:";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.placeholder = "type a word, e.g. a name or a site";
    input.setAttribute("aria-controls", table.id || "");
    var count = document.createElement("span");
    count.className = "review-filter-count";
    count.setAttribute("aria-live", "polite");
    box.appendChild(label);
    box.appendChild(input);
    box.appendChild(count);
    var anchor = table.parentElement && table.parentElement.classList.contains("review-table-wrap")
      ? table.parentElement : table;
    anchor.parentElement.insertBefore(box, anchor);
    var apply = function () {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      var rows = Array.prototype.slice.call(body.rows), shown = 0;
      rows.forEach(function (r) {
        var text = fold(r.textContent);
        var keep = words.every(function (w) { return text.indexOf(w) !== -1; });
        r.hidden = !keep;
        if (keep) { shown += 1; }
      });
      count.textContent = words.length ? shown + " of " + rows.length + " rows" : rows.length + " rows";
    };
    input.addEventListener("input", apply);
    apply();
  });
});

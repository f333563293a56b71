// nnexp sweep report: sortable and filterable tables, no library, no network.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) { return { empty: true }; }
    var raw = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (raw === "") { return { empty: true }; }
    var number = Number(raw);
    if (raw === "Infinity" || raw === "-Infinity" || !isNaN(number)) {
      return { number: number };
    }
    return { text: raw.toLowerCase() };
  }
  function compare(a, b) {
    if (a.empty || b.empty) { return a.empty === b.empty ? 0 : (a.empty ? 1 : -1); }
    if (a.number !== undefined && b.number !== undefined) {
      return a.number === b.number ? 0 : (a.number < b.number ? -1 : 1);
    }
    if (a.number !== undefined) { return -1; }
    if (b.number !== undefined) { return 1; }
    return a.text.localeCompare(b.text, undefined, { numeric: true });
  }
  function sortBy(table, index, th) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, i) { row._order = i; });
    rows.sort(function (r1, r2) {
      var a = cellValue(r1, index), b = cellValue(r2, index);
      var c = compare(a, b);
      if (!a.empty && !b.empty && !ascending) { c = -c; }
      return c || r1._order - r2._order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  function filter(table, input, counter) {
    var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = table.tBodies[0].rows, shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].textContent.toLowerCase();
      var keep = terms.every(function (t) { return text.indexOf(t) >= 0; });
      rows[i].hidden = !keep;
      if (keep) { shown++; }
    }
    if (counter) { counter.textContent = shown + " of " + rows.length + " rows"; }
  }
  // The page may reload itself while a sweep runs: keep the reader's sorting, filters
  // and open sections across reloads (per page, for this browser tab only).
  var key = "nnexp-report:" + location.pathname, state = {};
  try { state = JSON.parse(sessionStorage.getItem(key) || "{}") || {}; } catch (e) { state = {}; }
  function save() {
    try { sessionStorage.setItem(key, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  state.sort = state.sort || {};
  state.filter = state.filter || {};
  state.open = state.open || {};
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, index) {
      th.title = "click to sort";
      th.addEventListener("click", function () {
        sortBy(table, index, th);
        state.sort[table.id] = [index, th.getAttribute("aria-sort")];
        save();
      });
    });
    var saved = state.sort[table.id];
    if (saved && heads[saved[0]]) {
      if (saved[1] === "descending") { heads[saved[0]].setAttribute("aria-sort", "ascending"); }
      sortBy(table, saved[0], heads[saved[0]]);
    }
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    var counter = document.getElementById(input.getAttribute("data-count"));
    if (!table) { return; }
    if (state.filter[table.id]) { input.value = state.filter[table.id]; }
    input.addEventListener("input", function () {
      filter(table, input, counter);
      state.filter[table.id] = input.value;
      save();
    });
    filter(table, input, counter);
  });
  document.querySelectorAll("section[id] details").forEach(function (details) {
    var id = details.closest("section").id;
    if (state.open[id]) { details.open = true; }
    details.addEventListener("toggle", function () { state.open[id] = details.open; save(); });
  });
})();

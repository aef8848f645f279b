/* opsledger: filter and sort the index tables, in the page, with no other script.
   A <div class="ol-filter" data-ol-columns="Priority,Status"> placed before a table gets
   one drop-down per named column, a text box, a row count, and sortable headers. */
(function () {
  "use strict";
  function text(cell) { return (cell.textContent || "").trim(); }
  function tableAfter(marker) {
    for (var el = marker.nextElementSibling; el; el = el.nextElementSibling) {
      if (el.tagName === "TABLE") return el;
      var inner = el.querySelector && el.querySelector("table");
      if (inner) return inner;
    }
    return null;
  }
  function compare(a, b) {
    var na = parseFloat(a), nb = parseFloat(b);
    if (!isNaN(na) && !isNaN(nb) && /^-?[0-9.]+/.test(a) && /^-?[0-9.]+/.test(b)) return na - nb;
    return a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
  }
  function setup(marker) {
    var table = tableAfter(marker);
    if (!table || !table.tBodies.length) return;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var heads = Array.prototype.slice.call(table.tHead ? table.tHead.rows[0].cells : []);
    var names = heads.map(text);
    var wanted = (marker.getAttribute("data-ol-columns") || "").split(",").filter(Boolean);
    var selects = [];
    var form = document.createElement("form");
    form.className = "ol-filter__form";
    form.setAttribute("role", "search");
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    wanted.forEach(function (name) {
      var index = names.indexOf(name);
      if (index < 0) return;
      var values = {};
      rows.forEach(function (r) { if (r.cells[index]) values[text(r.cells[index])] = true; });
      var label = document.createElement("label");
      label.textContent = name + " ";
      var select = document.createElement("select");
      select.setAttribute("data-column", String(index));
      var all = document.createElement("option");
      all.value = ""; all.textContent = "all";
      select.appendChild(all);
      Object.keys(values).sort(compare).forEach(function (v) {
        var o = document.createElement("option");
        o.value = v; o.textContent = v === "" ? "(none)" : v;
        select.appendChild(o);
      });
      select.addEventListener("change", apply);
      label.appendChild(select);
      form.appendChild(label);
      selects.push(select);
    });
    var search = document.createElement("input");
    search.type = "search"; search.placeholder = "Filter rows"; search.setAttribute("aria-label", "Filter rows");
    search.addEventListener("input", apply);
    form.appendChild(search);
    var count = document.createElement("output");
    count.className = "ol-filter__count";
    form.appendChild(count);
    marker.appendChild(form);
    function apply() {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (r) {
        var ok = selects.every(function (s) {
          return !s.value || text(r.cells[+s.getAttribute("data-column")]) === s.value;
        });
        if (ok && words.length) {
          var all = (r.textContent || "").toLowerCase();
          ok = words.every(function (w) { return all.indexOf(w) >= 0; });
        }
        r.hidden = !ok;
        if (ok) shown++;
      });
      count.textContent = shown + " of " + rows.length + " rows";
    }
    heads.forEach(function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "ol-sort";
      button.textContent = text(th);
      button.title = "Sort by " + text(th);
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        rows.sort(function (a, b) {
          var c = compare(text(a.cells[index] || a), text(b.cells[index] || b));
          return up ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
    apply();
  }
  function init() {
    var markers = document.querySelectorAll("div.ol-filter");
    for (var i = 0; i < markers.length; i++) setup(markers[i]);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

// Client-side filters of the results table (the report is a static file).
(function () {
  "use strict";
  var table = document.getElementById("results-table");
  if (!table) { return; }
  var status = document.getElementById("f-status");
  var search = document.getElementById("f-search");
  var conf = document.getElementById("f-conf");
  var count = document.getElementById("f-count");
  function apply() {
    var s = status.value, q = search.value.toLowerCase(), c = parseFloat(conf.value), shown = 0;
    var rows = table.tBodies[0].rows;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i], ok = true;
      if (s && r.dataset.status !== s) { ok = false; }
      if (ok && q && r.dataset.search.toLowerCase().indexOf(q) < 0) { ok = false; }
      if (ok && !isNaN(c)) { var v = parseFloat(r.dataset.conf); ok = !isNaN(v) && v < c; }
      r.style.display = ok ? "" : "none";
      shown += ok ? 1 : 0;
    }
    count.textContent = shown + " of " + rows.length + " cases";
  }
  [status, search, conf].forEach(function (el) { el.addEventListener("input", apply); });
  apply();
})();

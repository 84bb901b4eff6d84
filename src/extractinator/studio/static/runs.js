// The runs table (start and run pages): kept fresh while runs are going, with rename and
// delete (both ask first). Every value is put in the page as text.
(function () {
  "use strict";
  var table = document.getElementById("runs-table");
  if (!table) { return; }
  var timer = null;

  function link(href, text) { return el("a", { href: href, text: text }); }

  function row(r) {
    var q = encodeURIComponent(r.run);
    var status = el("td", {}, [el("span", { className: "badge " + r.status.replace(/ /g, "-"), text: r.status })]);
    if (r.error) { status.appendChild(el("div", { className: "error-cell small", text: r.error })); }
    var actions = el("td", {}, [
      link("/run?run=" + q, "progress"), " · ", link("/results?run=" + q, "results"), " · ",
      link("/review?run=" + q, "review"), " · ", link("/evaluate?run=" + q, "evaluate"), " · ",
      el("button", { type: "button", className: "link run-rename", text: "rename" }), " · ",
      el("button", { type: "button", className: "link run-delete", text: "delete" }),
    ]);
    var tr = el("tr", { "data-run": r.run }, [
      el("td", {}, [el("code", { text: r.run })]), el("td", { text: r.task || "" }), status,
      el("td", { text: r.ok + " ok · " + r.failed + " failed" + (r.total ? " of " + r.total : "") }),
      actions,
    ]);
    return tr;
  }

  function refresh() {
    return api("/api/runs").then(function (res) {
      var body = table.tBodies[0];
      body.textContent = "";
      if (!res.runs.length) {
        body.appendChild(el("tr", {}, [el("td", { colspan: "5", className: "muted", text: "No runs yet." })]));
      }
      res.runs.forEach(function (r) { body.appendChild(row(r)); });
      var busy = res.runs.some(function (r) { return r.status === "loading model" || r.status === "running"; });
      clearTimeout(timer);
      if (busy) { timer = setTimeout(refresh, 2000); }
      return res;
    });
  }
  window.refreshRuns = refresh;

  table.addEventListener("click", function (ev) {
    var button = ev.target.closest("button");
    if (!button) { return; }
    var run = button.closest("tr").dataset.run;
    if (button.classList.contains("run-rename")) {
      var name = window.prompt("New name for " + run + " (a folder name: no / or ..):", run.split("/").pop());
      if (!name) { return; }
      api("/api/runs/rename", { run: run, name: name }).then(refresh)
        .catch(function (e) { window.alert(e.message); });
    } else if (button.classList.contains("run-delete")) {
      if (!window.confirm("Delete " + run + " and everything in it (results, evaluation, review)? This cannot be undone.")) { return; }
      api("/api/runs/delete", { run: run }).then(refresh)
        .catch(function (e) { window.alert(e.message); });
    }
  });
  if (table.querySelector(".badge.running, .badge.loading-model")) { timer = setTimeout(refresh, 2000); }
})();

// Run page: start a run, follow its progress over server-sent events, cancel it.
(function () {
  "use strict";
  var panel = document.getElementById("progress-panel");
  var source = null;

  function val(id) { return document.getElementById(id).value; }

  function setStatus(text, good) {
    var s = document.getElementById("run-status");
    s.textContent = text;
    s.className = "status " + (good ? "good" : "bad");
  }

  function show(run, info) {
    var total = info.total || 0;
    var bar = document.getElementById("progress-bar");
    bar.max = total || Math.max(info.done, 1);
    bar.value = info.done;
    document.getElementById("progress-text").textContent =
      info.status + " · " + info.done + (total ? " of " + total : "") + " cases · " +
      info.ok + " ok · " + info.failed + " failed";
    document.getElementById("progress-rate").textContent =
      (info.rate_per_min !== null ? info.rate_per_min.toFixed(1) + " cases/min" : "rate –") +
      " · ETA " + (info.finished ? "done" : fmtSeconds(info.eta_s));
    document.getElementById("progress-error").textContent = info.error || "";
    document.getElementById("cancel-run").hidden = !(info.studio_job && !info.finished);
    var link = document.getElementById("progress-results");
    link.href = "/results?run=" + encodeURIComponent(run);
    link.hidden = info.done === 0;
    panel.dataset.status = info.status;
  }

  function follow(run) {
    if (source) { source.close(); }
    panel.hidden = false;
    panel.dataset.run = run;
    document.getElementById("progress-run").textContent = run;
    source = new EventSource("/api/runs/events?run=" + encodeURIComponent(run));
    source.onmessage = function (ev) {
      var info = JSON.parse(ev.data);
      show(run, info);
      if (info.finished) { source.close(); source = null; }
    };
    source.onerror = function () {
      if (source) { source.close(); source = null; }
    };
  }

  document.getElementById("run-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
  document.getElementById("start-run").addEventListener("click", function () {
    var body = {
      task: val("run-task"), data: val("run-data"), input: val("run-input"), id: val("run-id"),
      engine: { kind: val("run-engine"), model: val("run-model"), base_url: val("run-base-url") },
      limit: val("run-limit"), temperature: val("run-temperature"), outdir: val("run-outdir"),
      retry_failed: document.getElementById("run-retry").checked,
      overwrite: document.getElementById("run-overwrite").checked,
    };
    if (!body.task || !body.data) { setStatus("choose a task file and a data file", false); return; }
    setStatus("starting…", true);
    api("/api/runs", body).then(function (res) {
      setStatus("started " + res.run + " (" + res.total + " cases)", true);
      follow(res.run);
    }).catch(function (e) { setStatus(e.message, false); });
  });

  document.getElementById("cancel-run").addEventListener("click", function () {
    var run = panel.dataset.run;
    api("/api/runs/cancel?run=" + encodeURIComponent(run), {}).then(function (res) {
      setStatus(res.cancelled ? "cancelling: the case in progress finishes first" : "not running", res.cancelled);
    }).catch(function (e) { setStatus(e.message, false); });
  });

  if (panel.dataset.run) { follow(panel.dataset.run); }
})();

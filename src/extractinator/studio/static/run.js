// Run page: start a run and follow it: "loading model", then progress, then the end
// state. Progress comes over server-sent events; when the stream is not there (yet), or
// drops, the page polls and reconnects, so it never stays at "…".
(function () {
  "use strict";
  var panel = document.getElementById("progress-panel");
  var source = null;
  var poller = null;
  var following = null;

  function val(id) { return document.getElementById(id).value; }

  function setStatus(text, good) { setStatusText("run-status", text, good); }

  var WORDS = {
    "loading model": "loading model…",
    running: "running",
    finished: "finished",
    cancelled: "cancelled",
    failed: "failed",
    interrupted: "interrupted (run it again to continue)",
  };

  function show(run, info) {
    var total = info.total || 0;
    var bar = document.getElementById("progress-bar");
    var loading = info.status === "loading model";
    if (loading) { bar.removeAttribute("value"); } else {
      bar.max = total || Math.max(info.done, 1);
      bar.value = info.done;
    }
    var state = WORDS[info.status] || info.status;
    document.getElementById("progress-text").textContent = loading
      ? state + " (the first run loads the model: this can take a minute)"
      : state + " · " + info.done + (total ? " of " + total : "") + " cases · " + info.ok + " ok · " + info.failed + " failed";
    document.getElementById("progress-rate").textContent = loading ? "" :
      (info.rate_per_min !== null ? info.rate_per_min.toFixed(1) + " cases/min" : "rate –") +
      " · " + (info.finished ? "ended" : "time left " + fmtSeconds(info.eta_s));
    document.getElementById("progress-error").textContent = info.error || "";
    document.getElementById("cancel-run").hidden = !(info.studio_job && !info.finished);
    var link = document.getElementById("progress-results");
    link.href = "/results?run=" + encodeURIComponent(run);
    link.hidden = info.done === 0;
    var review = document.getElementById("progress-review");
    review.href = "/review?run=" + encodeURIComponent(run);
    review.hidden = !(info.finished && info.done > 0);
    panel.dataset.status = info.status;
    if (info.finished && window.refreshRuns) { window.refreshRuns(); }
  }

  function stop() {
    if (source) { source.close(); source = null; }
    clearTimeout(poller);
    poller = null;
  }

  // Poll until the run's progress can be read, then go back to the event stream.
  function poll(run, tries) {
    poller = setTimeout(function () {
      if (following !== run) { return; }
      api("/api/runs/progress?run=" + encodeURIComponent(run)).then(function (info) {
        show(run, info);
        if (!info.finished) { stream(run); }
      }).catch(function (e) {
        if (tries > 120) { document.getElementById("progress-error").textContent = e.message; return; }
        poll(run, tries + 1);
      });
    }, tries === 0 ? 200 : 1000);
  }

  function stream(run) {
    if (source) { source.close(); }
    source = new EventSource("/api/runs/events?run=" + encodeURIComponent(run));
    source.onmessage = function (ev) {
      var info = JSON.parse(ev.data);
      show(run, info);
      if (info.finished) { stop(); }
    };
    source.onerror = function () {
      if (source) { source.close(); source = null; }
      if (following === run && panel.dataset.status !== "finished") { poll(run, 1); }
    };
  }

  function follow(run) {
    stop();
    following = run;
    panel.hidden = false;
    panel.dataset.run = run;
    panel.dataset.status = "";
    document.getElementById("progress-run").textContent = run;
    document.getElementById("progress-text").textContent = "…";
    poll(run, 0);
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
    if (!body.task || !body.data) { setStatus("choose a task file and data", false); return; }
    setStatus("starting…", true);
    api("/api/runs", body).then(function (res) {
      setStatus("started " + res.run + " (" + res.total + " cases)", true);
      follow(res.run);
      if (window.refreshRuns) { window.refreshRuns(); }
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

// Evaluation page: save the evaluation files (a POST: showing an evaluation writes nothing).
(function () {
  "use strict";
  var save = document.getElementById("save-eval");
  if (save) {
    save.addEventListener("click", function () {
      api("/api/evaluate/save", { run: save.dataset.run, labels: save.dataset.labels, prefix: save.dataset.prefix })
        .then(function (res) { setStatusText("save-eval-status", "saved " + res.saved, true); })
        .catch(function (e) { setStatusText("save-eval-status", e.message, false); });
    });
  }
  var run = document.getElementById("eval-run");
  var upload = document.getElementById("labels-upload");
  if (run && upload) {
    run.addEventListener("change", function () { upload.dataset.labelsFor = run.value; });
  }
})();

// Task builder: the form is the source of truth; every edit rebuilds the task mapping,
// asks the server for validation, the task file and the prompt, and shows errors inline.
(function () {
  "use strict";
  var TYPES = ["boolean", "integer", "number", "string", "enum", "list", "object", "spans"];
  var TYPE_HELP = {
    boolean: "yes / no", integer: "whole number", number: "number (decimals allowed)",
    string: "free text", enum: "one of a list of options", list: "a list of values",
    object: "a group of fields", spans: "passages marked in the report",
  };
  var LAYOUTS = ["", "pairs", "list", "by_label"];
  var PICKS = ["", "largest", "smallest", "first", "last", "mean"];
  var TRIMS = ["", "qualifiers", "amounts", "none"];
  var fieldsBox = document.getElementById("fields");
  var examplesBox = document.getElementById("examples");
  var timer = null;

  function input(cls, value, attrs) {
    var a = Object.assign({ className: cls }, attrs || {});
    var node = el("input", a);
    node.value = value === undefined || value === null ? "" : String(value);
    return node;
  }

  function labelled(text, control, cls) {
    return el("label", { className: cls || "" }, [text + " ", control]);
  }

  // ---- fields -------------------------------------------------------------------------
  function fieldEditor(name, spec, opts) {
    spec = spec || { type: "string" };
    opts = opts || {};
    var box = el("div", { className: "field" + (opts.item ? " item" : "") });
    var head = el("div", { className: "field-head" });
    if (opts.item) {
      head.appendChild(el("span", { className: "muted small", text: "each item:" }));
    } else {
      head.appendChild(labelled("name", input("f-name", name, { placeholder: "field_name" })));
    }
    var type = el("select", { className: "f-type" });
    TYPES.forEach(function (t) { type.appendChild(el("option", { value: t, text: t + ": " + TYPE_HELP[t] })); });
    type.value = spec.type || "string";
    head.appendChild(labelled("type", type));
    var nullable = el("input", { type: "checkbox", className: "f-nullable" });
    nullable.checked = !!spec.nullable;
    head.appendChild(labelled("nullable", nullable, "check"));
    if (!opts.item) {
      head.appendChild(el("button", { type: "button", className: "remove", title: "remove field", text: "✕",
        onclick: function () { box.remove(); changed(); } }));
    }
    box.appendChild(head);
    box.appendChild(labelled("description", input("f-desc", spec.description, { size: 60 }), "wide"));
    var extras = el("div", { className: "f-extras" });
    box.appendChild(extras);
    box.appendChild(el("div", { className: "err" }));
    box._top = !!opts.top;
    renderExtras(extras, type.value, spec, box._top);
    type.addEventListener("change", function () {
      renderExtras(extras, type.value, {}, box._top);
      changed();
    });
    return box;
  }

  function renderExtras(extras, type, spec, top) {
    extras.textContent = "";
    if (type === "integer" || type === "number") {
      extras.appendChild(labelled("minimum", input("f-min", spec.minimum, { type: "number", step: "any" })));
      extras.appendChild(labelled("maximum", input("f-max", spec.maximum, { type: "number", step: "any" })));
      extras.appendChild(labelled("unit", input("f-unit", spec.unit, { size: 6 })));
      var asWritten = el("input", { type: "checkbox", className: "f-amount",
        title: "With a unit, the model copies the amount as the report writes it (\"1,4 cm\") and it is converted in code" });
      asWritten.checked = spec.amount !== false;
      extras.appendChild(labelled("read as written, convert in code", asWritten, "check"));
      var pick = el("select", { className: "f-pick",
        title: "A range (4-6 mm) or a size in several dimensions (3 x 2 cm) becomes this one value" });
      PICKS.forEach(function (p) { pick.appendChild(el("option", { value: p, text: p || "(default: largest)" })); });
      pick.value = spec.pick || "";
      extras.appendChild(labelled("for a range or dimensions take", pick));
    } else if (type === "enum") {
      extras.appendChild(labelled("allowed values (comma-separated)",
        input("f-values", (spec.values || []).join(", "), { size: 40 }), "wide"));
    } else if (type === "spans") {
      var labels = spec.labels || [];
      var lines = Array.isArray(labels) ? labels : Object.keys(labels).map(function (k) {
        return k + ": " + labels[k];
      });
      var ta = el("textarea", { className: "f-labels", rows: 3, placeholder: "LABEL: what it marks (one per line)" });
      ta.value = lines.join("\n");
      extras.appendChild(labelled("labels (one per line, LABEL or LABEL: description)", ta, "wide"));
      var layout = el("select", { className: "f-layout" });
      LAYOUTS.forEach(function (l) { layout.appendChild(el("option", { value: l, text: l || "(default)" })); });
      layout.value = spec.layout || "";
      extras.appendChild(labelled("layout", layout));
      var trim = el("select", { className: "f-trim",
        title: "amounts: cut a passage before its first amount (\"metoprolol 50 mg\" becomes \"metoprolol\")" });
      TRIMS.forEach(function (t) { trim.appendChild(el("option", { value: t, text: t || "(default)" })); });
      trim.value = spec.trim || "";
      extras.appendChild(labelled("cut passages", trim));
    } else if (type === "list") {
      extras.appendChild(fieldEditor(null, spec.items || { type: "string" }, { item: true }));
    } else if (type === "object") {
      var children = el("div", { className: "f-children" });
      Object.keys(spec.fields || {}).forEach(function (k) {
        children.appendChild(fieldEditor(k, spec.fields[k], {}));
      });
      if (!children.children.length) { children.appendChild(fieldEditor("", { type: "string" }, {})); }
      extras.appendChild(children);
      extras.appendChild(el("button", { type: "button", className: "small", text: "+ sub-field",
        onclick: function () { children.appendChild(fieldEditor("", { type: "string" }, {})); changed(); } }));
    }
    if (top && type !== "spans") {
      var ev = el("input", { type: "checkbox", className: "f-evidence" });
      ev.checked = !!spec.evidence;
      extras.appendChild(labelled("evidence quote", ev, "check"));
      extras.appendChild(labelled("computed from the other fields (leave empty: the model answers it)",
        input("f-compute", spec.compute, { size: 60, placeholder: "e.g. len(nodules) > 0" }), "wide"));
    }
  }

  function own(box, selector) {
    // the first matching element that belongs to this field editor, not a nested one
    var found = null;
    box.querySelectorAll(selector).forEach(function (n) {
      if (!found && n.closest(".field") === box) { found = n; }
    });
    return found;
  }

  function numberOrNull(v) { return v === "" ? null : Number(v); }

  function collectField(box, path) {
    box.setAttribute("data-path", path);
    var spec = { type: own(box, ".f-type").value };
    var desc = own(box, ".f-desc").value.trim();
    if (desc) { spec.description = desc; }
    if (own(box, ".f-nullable").checked) { spec.nullable = true; }
    var t = spec.type, n;
    if (t === "integer" || t === "number") {
      ["min", "max"].forEach(function (k) {
        n = numberOrNull(own(box, ".f-" + k).value);
        if (n !== null) { spec[k === "min" ? "minimum" : "maximum"] = n; }
      });
      var unit = own(box, ".f-unit").value.trim();
      if (unit) {
        spec.unit = unit;
        if (!own(box, ".f-amount").checked) { spec.amount = false; }
        var pick = own(box, ".f-pick").value;
        if (pick && spec.amount !== false) { spec.pick = pick; }
      }
    } else if (t === "enum") {
      spec.values = own(box, ".f-values").value.split(",").map(function (s) { return s.trim(); })
        .filter(function (s) { return s; });
    } else if (t === "spans") {
      var lines = own(box, ".f-labels").value.split("\n").map(function (s) { return s.trim(); })
        .filter(function (s) { return s; });
      var described = lines.some(function (l) { return l.indexOf(":") > 0; });
      if (described) {
        spec.labels = {};
        lines.forEach(function (l) {
          var i = l.indexOf(":");
          if (i > 0) { spec.labels[l.slice(0, i).trim()] = l.slice(i + 1).trim(); }
          else { spec.labels[l] = ""; }
        });
      } else { spec.labels = lines; }
      var layout = own(box, ".f-layout").value;
      if (layout) { spec.layout = layout; }
      var trim = own(box, ".f-trim").value;
      if (trim) { spec.trim = trim; }
    } else if (t === "list") {
      var item = own(box, ".f-extras").querySelector(":scope > .field.item");
      spec.items = collectField(item, path + ".items")[1];
    } else if (t === "object") {
      spec.fields = collectFields(own(box, ".f-extras").querySelector(":scope > .f-children"), path + ".fields");
    }
    var ev = own(box, ".f-evidence");
    if (ev && ev.checked) { spec.evidence = true; }
    var compute = own(box, ".f-compute");
    if (compute && compute.value.trim()) {
      spec.compute = compute.value.trim();
      delete spec.evidence; delete spec.amount; delete spec.pick;
    }
    var nameEl = own(box, ".f-name");
    return [nameEl ? nameEl.value.trim() : null, spec];
  }

  function collectFields(container, prefix) {
    var out = {};
    Array.prototype.forEach.call(container.children, function (box) {
      if (!box.classList.contains("field")) { return; }
      var name = own(box, ".f-name").value.trim();
      var pair = collectField(box, prefix + "." + name);
      out[pair[0]] = pair[1];
    });
    return out;
  }

  // ---- examples -----------------------------------------------------------------------
  function exampleEditor(ex) {
    ex = ex || { input: "", output: {} };
    var box = el("div", { className: "example" });
    var inp = el("textarea", { className: "ex-input", rows: 3, placeholder: "report text" });
    inp.value = typeof ex.input === "string" ? ex.input : JSON.stringify(ex.input);
    var out = el("textarea", { className: "ex-output code", rows: 3, placeholder: "{\"field\": value}" });
    out.value = JSON.stringify(ex.output || {}, null, 1);
    box.appendChild(labelled("input", inp, "wide"));
    box.appendChild(labelled("output (JSON)", out, "wide"));
    box.appendChild(el("button", { type: "button", className: "remove", text: "✕ remove example",
      onclick: function () { box.remove(); changed(); } }));
    box.appendChild(el("div", { className: "err" }));
    return box;
  }

  function collectExamples(local) {
    var list = [];
    Array.prototype.forEach.call(examplesBox.querySelectorAll(".example"), function (box, i) {
      box.setAttribute("data-path", "examples." + i);
      var output;
      try { output = JSON.parse(box.querySelector(".ex-output").value || "{}"); }
      catch (e) { local.push({ path: "examples." + i, message: "output is not valid JSON: " + e.message }); output = {}; }
      list.push({ input: box.querySelector(".ex-input").value, output: output });
    });
    return list;
  }

  // ---- the task -----------------------------------------------------------------------
  function collect(local) {
    var task = {
      name: document.getElementById("t-name").value.trim(),
      description: document.getElementById("t-description").value,
    };
    var cols = document.getElementById("t-input").value.split(",").map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
    task.input = cols.length > 1 ? cols : (cols[0] || "text");
    var id = document.getElementById("t-id").value.trim();
    if (id) { task.id = id; }
    if (document.getElementById("t-evidence").checked) { task.evidence = true; }
    task.fields = collectFields(fieldsBox, "fields");
    var examples = collectExamples(local);
    if (examples.length) { task.examples = examples; }
    return task;
  }

  function load(task) {
    document.getElementById("t-name").value = task.name || "";
    document.getElementById("t-description").value = task.description || "";
    document.getElementById("t-input").value = Array.isArray(task.input) ? task.input.join(", ") : (task.input || "");
    document.getElementById("t-id").value = task.id || "";
    document.getElementById("t-evidence").checked = !!task.evidence;
    fieldsBox.querySelectorAll(":scope > .field").forEach(function (n) { n.remove(); });
    Object.keys(task.fields || {}).forEach(function (k) {
      fieldsBox.appendChild(fieldEditor(k, task.fields[k], { top: true }));
    });
    examplesBox.querySelectorAll(".example").forEach(function (n) { n.remove(); });
    (task.examples || []).forEach(function (ex) { examplesBox.appendChild(exampleEditor(ex)); });
    changed();
  }

  function showErrors(errors) {
    document.querySelectorAll("#task-form .err").forEach(function (n) { n.textContent = ""; });
    var summary = document.getElementById("errors-summary");
    summary.textContent = "";
    summary.hidden = !errors.length;
    if (errors.length) { summary.appendChild(el("strong", { text: errors.length + " problem(s):" })); }
    var targets = Array.prototype.slice.call(document.querySelectorAll("#task-form [data-path]"));
    errors.forEach(function (e) {
      summary.appendChild(el("div", { text: (e.path ? e.path + ": " : "") + e.message }));
      var best = null;
      targets.forEach(function (t) {
        var p = t.getAttribute("data-path");
        if ((e.path === p || e.path.indexOf(p + ".") === 0) && (!best || p.length > best.getAttribute("data-path").length)) { best = t; }
      });
      var slot = best && Array.prototype.filter.call(best.children, function (c) { return c.classList.contains("err"); })[0];
      if (slot) { slot.appendChild(el("div", { text: e.message })); }
    });
  }

  function showPreview(res) {
    document.getElementById("tab-yaml").textContent = res.yaml || "";
    document.getElementById("tab-schema").textContent = res.schema || "(fix the errors to see the schema)";
    var box = document.getElementById("prompt-messages");
    box.textContent = "";
    (res.messages || []).forEach(function (m) {
      box.appendChild(el("div", { className: "msg " + m.role }, [el("div", { className: "role", text: m.role }), el("pre", { text: m.content })]));
    });
    if (!res.messages) { box.appendChild(el("p", { className: "muted", text: "Fix the errors to see the prompt." })); }
    var computed = Object.keys(res.computed || {});
    if (computed.length) {
      box.appendChild(el("div", { className: "msg computed" }, [
        el("div", { className: "role", text: "computed in code after the answer (not asked)" }),
        el("pre", { text: computed.map(function (k) { return k + " = " + res.computed[k]; }).join("\n") })]));
    }
    var state = document.getElementById("valid-state");
    state.textContent = res.ok ? "✓ valid task" : "✗ " + res.errors.length + " problem(s)";
    state.className = "status " + (res.ok ? "good" : "bad");
  }

  function refresh() {
    var local = [];
    var task = collect(local);
    api("/api/tasks/preview", { task: task, sample: document.getElementById("sample-text").value || null })
      .then(function (res) {
        res.errors = local.concat(res.errors || []);
        res.ok = res.ok && !local.length;
        showErrors(res.errors);
        showPreview(res);
      })
      .catch(function (e) { document.getElementById("valid-state").textContent = "preview failed: " + e.message; });
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  document.getElementById("task-form").addEventListener("submit", function (ev) { ev.preventDefault(); });
  document.getElementById("task-form").addEventListener("input", changed);
  document.getElementById("task-form").addEventListener("change", changed);
  document.getElementById("sample-text").addEventListener("input", changed);
  document.getElementById("add-field").addEventListener("click", function () {
    fieldsBox.appendChild(fieldEditor("", { type: "string" }, { top: true }));
    changed();
  });
  document.getElementById("add-example").addEventListener("click", function () {
    examplesBox.appendChild(exampleEditor());
    changed();
  });
  document.querySelectorAll(".tabs button").forEach(function (b) {
    b.addEventListener("click", function () {
      document.querySelectorAll(".tabs button").forEach(function (x) { x.classList.toggle("active", x === b); });
      document.querySelectorAll(".preview .tab").forEach(function (t) { t.hidden = t.id !== "tab-" + b.dataset.tab; });
    });
  });
  document.getElementById("load-select").addEventListener("change", function (ev) {
    var path = ev.target.value;
    if (!path) { return; }
    api("/api/tasks/load?path=" + encodeURIComponent(path)).then(function (res) {
      document.getElementById("save-path").value = res.path;
      pathTouched = true;
      load(res.task);
    }).catch(function (e) { setStatus("save-status", e.message, false); });
  });
  document.getElementById("paste-btn").addEventListener("click", function () {
    api("/api/tasks/parse", { text: document.getElementById("paste-text").value })
      .then(function (res) { load(res.task); })
      .catch(function (e) { setStatus("save-status", e.message, false); });
  });
  // "Save as" follows the task's name until the path is edited by hand or a file is loaded.
  var savePath = document.getElementById("save-path");
  var pathTouched = !!savePath.value;
  function followName() {
    if (pathTouched) { return; }
    var name = document.getElementById("t-name").value.trim().replace(/[^\w.-]+/g, "_").replace(/^[._]+|[._]+$/g, "");
    savePath.value = "tasks/" + (name || "my_task") + ".yaml";
  }
  savePath.addEventListener("input", function () { pathTouched = true; });
  document.getElementById("t-name").addEventListener("input", followName);

  function save(task, overwrite) {
    return api("/api/tasks/save", { path: savePath.value, task: task, overwrite: overwrite }).then(function (res) {
      if (res.exists) {
        if (window.confirm(res.path + " exists already. Replace it?")) { return save(task, true); }
        setStatus("save-status", "not saved: " + res.path + " exists", false);
        return;
      }
      if (res.ok) { setStatus("save-status", "saved " + res.path, true); pathTouched = true; }
      else { showErrors(res.errors); setStatus("save-status", "not saved: fix the errors", false); }
    });
  }
  document.getElementById("save-btn").addEventListener("click", function () {
    var local = [];
    var task = collect(local);
    if (local.length) { showErrors(local); setStatus("save-status", "not saved: fix the errors", false); return; }
    save(task, false).catch(function (e) { setStatus("save-status", e.message, false); });
  });

  function setStatus(id, text, good) {
    var s = document.getElementById(id);
    s.textContent = text;
    s.className = "status " + (good ? "good" : "bad");
  }

  load(JSON.parse(document.getElementById("initial-task").textContent));
  followName();
})();

// Review page: the case's text with its passages and supporting quotes highlighted (nested
// where they nest), the values as an editable form, saved case by case. The report text
// and every value are put in the page as text (textContent), never as HTML.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("review-data").textContent);
  var fields = data.fields;
  var names = Object.keys(fields);
  var values = clone(data.values);
  var selected = null; // {field, index} of the passage clicked last
  var pre = document.getElementById("review-text");
  var form = document.getElementById("review-form");
  var reviewer = document.getElementById("reviewer");
  var busy = false;

  function clone(v) { return JSON.parse(JSON.stringify(v)); }
  function same(a, b) { return JSON.stringify(norm(a)) === JSON.stringify(norm(b)); }
  function norm(v) {
    if (Array.isArray(v)) {
      return v.map(function (s) { return s && typeof s === "object" && "label" in s ? [s.label, s.start, s.end] : s; })
        .sort(function (x, y) { return JSON.stringify(x) < JSON.stringify(y) ? -1 : 1; });
    }
    return v;
  }
  function shown(v) {
    if (v === null || v === undefined) { return "not in report"; }
    if (Array.isArray(v) && v.every(function (s) { return s && typeof s === "object" && "label" in s; })) {
      return v.length ? v.map(function (s) { return s.text + " [" + s.label + "]"; }).join("; ") : "no passages";
    }
    if (typeof v === "object") { return JSON.stringify(v); }
    return String(v);
  }
  function status(text, good) { setStatusText("review-status", text, good); }

  // ---- the report text ------------------------------------------------------------------
  function marks() {
    var out = [];
    names.forEach(function (name) {
      if (fields[name].type !== "spans") { return; }
      (values[name] || []).forEach(function (s, i) {
        if (typeof s.start === "number" && typeof s.end === "number" && s.end > s.start) {
          out.push({ start: s.start, end: s.end, kind: "span", label: s.label, field: name, index: i });
        }
      });
    });
    Object.keys(data.evidence || {}).forEach(function (name) {
      var ev = data.evidence[name];
      if (typeof ev.start === "number" && typeof ev.end === "number" && ev.end > ev.start) {
        out.push({ start: ev.start, end: ev.end, kind: "evidence", label: name, field: name, index: -1 });
      }
    });
    return out;
  }

  function colour(label) {
    var h = 0;
    for (var i = 0; i < label.length; i++) { h = (h * 31 + label.charCodeAt(i)) % 8; }
    return "c" + h;
  }

  // Cut the text at every mark boundary; each piece is wrapped in the marks covering it,
  // the longest outermost, so nested quotes and passages all show.
  function renderText() {
    var text = data.text;
    pre.textContent = "";
    if (text === null) { return; }
    var ms = marks();
    var cuts = [0, text.length];
    ms.forEach(function (m) { cuts.push(m.start, m.end); });
    var pageStarts = {};
    (data.pages || []).forEach(function (p) { if (data.pages.length > 1) { pageStarts[p.start] = p.page; cuts.push(p.start); } });
    cuts = cuts.filter(function (c, i, a) { return a.indexOf(c) === i && c >= 0 && c <= text.length; }).sort(function (a, b) { return a - b; });
    var lastPiece = {}; // the label shows once, after a mark's last piece
    for (var q = 0; q + 1 < cuts.length; q++) {
      ms.forEach(function (m) { if (m.start <= cuts[q] && m.end >= cuts[q + 1]) { lastPiece[m.kind + m.field + m.index] = q; } });
    }
    for (var k = 0; k + 1 < cuts.length; k++) {
      var a = cuts[k], b = cuts[k + 1];
      if (a in pageStarts) { pre.appendChild(el("span", { className: "page-start", "data-page": String(pageStarts[a]), title: "page " + pageStarts[a] })); }
      var covering = ms.filter(function (m) { return m.start <= a && m.end >= b; })
        .sort(function (x, y) { return (y.end - y.start) - (x.end - x.start); });
      var node = document.createTextNode(text.slice(a, b));
      for (var j = covering.length - 1; j >= 0; j--) {
        var m = covering[j];
        var key = m.kind + m.field + m.index;
        var isSel = selected && m.kind === "span" && selected.field === m.field && selected.index === m.index;
        var mark = el("mark", {
          className: m.kind + " " + colour(m.label) + (lastPiece[key] !== k ? " cont" : "") + (isSel ? " selected" : ""),
          "data-label": m.label, "data-field": m.field, "data-index": String(m.index),
          title: m.kind === "span" ? m.field + ": " + m.label + " (click to select)" : "supporting quote for " + m.field,
        }, [node]);
        node = mark;
      }
      pre.appendChild(node);
    }
  }

  pre.addEventListener("click", function (ev) {
    var mark = ev.target.closest("mark.span");
    if (!mark || window.getSelection().toString()) { return; }
    selectSpan(mark.dataset.field, parseInt(mark.dataset.index, 10));
  });

  // The selection in the report as character offsets, or null.
  function selection() {
    var sel = window.getSelection();
    if (!sel.rangeCount || sel.isCollapsed) { return null; }
    var range = sel.getRangeAt(0);
    if (!pre.contains(range.startContainer) || !pre.contains(range.endContainer)) { return null; }
    var before = document.createRange();
    before.setStart(pre, 0);
    before.setEnd(range.startContainer, range.startOffset);
    var start = before.toString().length;
    var end = start + range.toString().length;
    while (start < end && /\s/.test(data.text[start])) { start++; }
    while (end > start && /\s/.test(data.text[end - 1])) { end--; }
    return end > start ? { start: start, end: end } : null;
  }

  // ---- the form -------------------------------------------------------------------------
  function control(name) {
    var spec = fields[name];
    var v = values[name];
    var c;
    if (spec.type === "boolean" || spec.type === "enum") {
      c = el("select", { className: "rv-control" });
      c.appendChild(el("option", { value: "null", text: "— not in report —" }));
      var options = spec.type === "boolean" ? [true, false] : spec.values;
      options.forEach(function (o) { c.appendChild(el("option", { value: JSON.stringify(o), text: String(o) })); });
      c.value = JSON.stringify(v === undefined ? null : v);
    } else if (spec.type === "integer" || spec.type === "number") {
      c = el("input", { type: "number", step: spec.type === "integer" ? "1" : "any", className: "rv-control" });
      if (spec.minimum !== null) { c.min = spec.minimum; }
      if (spec.maximum !== null) { c.max = spec.maximum; }
      c.value = v === null || v === undefined ? "" : String(v);
    } else if (spec.type === "string") {
      c = el("input", { type: "text", className: "rv-control", size: "40" });
      c.value = v === null || v === undefined ? "" : v;
    } else if (spec.type === "spans") {
      c = el("div", { className: "rv-control chips" });
      (v || []).forEach(function (s, i) {
        var sel = selected && selected.field === name && selected.index === i;
        c.appendChild(el("span", { className: "chip" + (sel ? " selected" : ""), title: "click to select; ✕ removes",
          onclick: function () { selectSpan(name, i); } }, [
          el("span", { text: s.text }), el("strong", { text: s.label }),
          el("button", { type: "button", text: "✕", title: "remove this passage",
            onclick: function (ev) { ev.stopPropagation(); values[name].splice(i, 1); selected = null; refresh(); } }),
        ]));
      });
      if (!(v || []).length) { c.appendChild(el("span", { className: "null-value", text: "no passages" })); }
    } else {
      c = el("textarea", { className: "rv-control", rows: "3" });
      c.value = v === null || v === undefined ? "" : JSON.stringify(v, null, 1);
    }
    c.dataset.field = name;
    return c;
  }

  function renderForm() {
    form.textContent = "";
    names.forEach(function (name) {
      var spec = fields[name];
      var unit = spec.unit ? " (" + spec.unit + ")" : "";
      var changed = !same(values[name], data.model[name]);
      var conf = data.confidence[name];
      var row = el("div", { className: "review-field" + (changed ? " changed" : ""), "data-field": name }, [
        el("div", { className: "rv-head" }, [
          el("span", { className: "rv-name", text: name + unit, title: spec.description }),
          el("span", { className: "rv-model", text: data.ok ? "model: " + shown(data.model[name]) + (conf !== undefined ? " (" + Math.round(conf * 100) + "% sure)" : "") : "the model gave no valid answer" }),
          el("span", { className: "badge rv-changed", text: "changed", hidden: !changed }),
        ]),
        el("div", { className: "rv-row" }, [
          control(name),
          el("button", { type: "button", className: "rv-null", text: "not in report", title: "The report does not say: the value becomes empty",
            onclick: function () { values[name] = null; selected = null; refresh(); } }),
        ]),
      ]);
      form.appendChild(row);
    });
  }

  // Read the form's controls into values; problems (bad JSON, not a number) are listed.
  function collect() {
    var problems = [];
    form.querySelectorAll(".rv-control").forEach(function (c) {
      var name = c.dataset.field, spec = fields[name];
      if (spec.type === "spans") { return; }
      var raw = c.value;
      if (spec.type === "boolean" || spec.type === "enum") { values[name] = JSON.parse(raw); return; }
      if (raw.trim() === "") { values[name] = null; return; }
      if (spec.type === "integer" || spec.type === "number") {
        var n = Number(raw.replace(",", "."));
        if (isNaN(n)) { problems.push(name + ": not a number"); } else { values[name] = n; }
      } else if (spec.type === "string") {
        values[name] = raw;
      } else {
        try { values[name] = JSON.parse(raw); } catch (e) { problems.push(name + ": not valid JSON"); }
      }
    });
    return problems;
  }

  function refresh() {
    renderForm();
    renderText();
    var resize = document.getElementById("resize-span");
    resize.disabled = !selected;
  }

  // An edit marks its field as changed; the controls stay in place (no re-render).
  function markChanged() {
    form.querySelectorAll(".review-field").forEach(function (row) {
      var name = row.dataset.field;
      var changed = !same(values[name], data.model[name]);
      row.classList.toggle("changed", changed);
      var badge = row.querySelector(".rv-changed");
      if (badge) { badge.hidden = !changed; }
    });
  }
  form.addEventListener("change", function () { collect(); markChanged(); });

  // ---- passages -------------------------------------------------------------------------
  var spanFields = names.filter(function (n) { return fields[n].type === "spans"; });
  var labelSelect = document.getElementById("span-label");
  if (spanFields.length && data.text !== null) {
    document.getElementById("span-tools").hidden = false;
    spanFields.forEach(function (n) {
      fields[n].labels.forEach(function (l) {
        labelSelect.appendChild(el("option", { value: JSON.stringify([n, l]), text: (spanFields.length > 1 ? n + ": " : "") + l }));
      });
    });
  }

  function selectSpan(field, index) {
    selected = selected && selected.field === field && selected.index === index ? null : { field: field, index: index };
    refresh();
  }

  function addSpan() {
    collect();
    var range = selection();
    if (!range || !labelSelect.value) { status("select text in the report first", false); return; }
    var choice = JSON.parse(labelSelect.value);
    var list = values[choice[0]] || [];
    list.push({ text: data.text.slice(range.start, range.end), label: choice[1], start: range.start, end: range.end });
    list.sort(function (a, b) { return (a.start || 0) - (b.start || 0); });
    values[choice[0]] = list;
    window.getSelection().removeAllRanges();
    selected = null;
    refresh();
    status("passage added", true);
  }

  document.getElementById("add-span").addEventListener("click", addSpan);
  document.getElementById("resize-span").addEventListener("click", function () {
    collect();
    var range = selection();
    if (!selected || !range) { status("click a passage, then select the text it should cover", false); return; }
    var s = values[selected.field][selected.index];
    s.start = range.start; s.end = range.end; s.text = data.text.slice(range.start, range.end);
    window.getSelection().removeAllRanges();
    refresh();
    status("passage changed", true);
  });

  // ---- saving ---------------------------------------------------------------------------
  function go(href) { if (href) { window.location.href = href; } }

  function saveAndNext() {
    if (busy) { return; }
    var problems = collect();
    if (problems.length) { status("not saved: " + problems.join("; "), false); return; }
    busy = true;
    status("saving…", true);
    api("/api/review/save", { run: data.run, id: data.id, values: values, reviewer: reviewer.value })
      .then(function (res) {
        document.getElementById("review-progress").textContent = res.reviewed + " of " + res.total + " reviewed";
        document.getElementById("review-bar").value = res.reviewed;
        document.getElementById("review-state").textContent = "reviewed: " + (res.saved._source === "corrected" ? "corrected" : "accepted");
        document.getElementById("add-example").disabled = false;
        if (res.next) {
          go("/review?run=" + encodeURIComponent(data.run) + "&id=" + encodeURIComponent(res.next));
        } else {
          busy = false;
          status("saved: every case is reviewed. Export the checked data above.", true);
        }
      })
      .catch(function (e) { busy = false; status("not saved: " + e.message, false); });
  }

  document.getElementById("accept").addEventListener("click", saveAndNext);
  document.getElementById("reset").addEventListener("click", function () {
    values = clone(data.model); selected = null; refresh(); status("back to the model's values", true);
  });
  document.getElementById("add-example").addEventListener("click", function () {
    if (!window.confirm("Add this case and its checked values to the task file as a worked example? (The task file is rewritten; a run of the changed task goes into a new folder.)")) { return; }
    api("/api/review/example", { run: data.run, id: data.id })
      .then(function (res) { status("added to " + res.task + " (" + res.examples + " examples)", true); })
      .catch(function (e) { status(e.message, false); });
  });

  reviewer.value = window.localStorage.getItem("extractinator-reviewer") || "";
  reviewer.addEventListener("change", function () { window.localStorage.setItem("extractinator-reviewer", reviewer.value); });

  document.addEventListener("keydown", function (ev) {
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); saveAndNext(); return; }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var key = ev.key.toLowerCase();
    if (key === "enter" && /^(BUTTON|A|SUMMARY)$/.test(ev.target.tagName)) { return; }
    var prev = document.getElementById("prev-case"), next = document.getElementById("next-case");
    if (key === "a" || key === "enter") { ev.preventDefault(); saveAndNext(); }
    else if (key === "n" || key === "arrowright") { if (next) { go(next.href); } }
    else if (key === "p" || key === "arrowleft") { if (prev) { go(prev.href); } }
    else if (key === "u") { document.getElementById("reset").click(); }
    else if (key === "s" && spanFields.length) { ev.preventDefault(); addSpan(); }
  });

  refresh();
})();

// Shared helpers for the studio pages. Data from the server is always put in the page as
// text (textContent), never as HTML.
"use strict";

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    var v = attrs[k];
    if (v === null || v === undefined || v === false) { return; }
    if (k === "text") { node.textContent = v; }
    else if (k === "className") { node.className = v; }
    else if (k.slice(0, 2) === "on") { node.addEventListener(k.slice(2), v); }
    else if (v === true) { node.setAttribute(k, ""); }
    else { node.setAttribute(k, v); }
  });
  (children || []).forEach(function (c) {
    node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  });
  return node;
}

function api(url, body, method) {
  var opts = { method: method || (body === undefined ? "GET" : "POST"), headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  return fetch(url, opts).then(function (r) {
    return r.text().then(function (t) {
      var data;
      try { data = t ? JSON.parse(t) : {}; } catch (e) { data = { detail: t }; }
      data._status = r.status;
      if (!r.ok && !data.errors) { throw new Error(typeof data.detail === "string" ? data.detail : r.status + " " + r.statusText); }
      return data;
    });
  });
}

function fmtSeconds(s) {
  if (s === null || s === undefined) { return "–"; }
  s = Math.round(s);
  var m = Math.floor(s / 60), h = Math.floor(m / 60);
  if (h) { return h + " h " + (m % 60) + " min"; }
  if (m) { return m + " min " + (s % 60) + " s"; }
  return s + " s";
}

// Upload files through /api/upload; when a file of that name exists, ask before replacing
// it. Resolves with the server's answer ({next, paths}); rejects with a one-line Error.
function uploadFiles(files, fields) {
  function send(extra) {
    var form = new FormData();
    Array.prototype.forEach.call(files, function (f) { form.append("file", f); });
    Object.keys(extra).forEach(function (k) { form.append(k, extra[k]); });
    return fetch("/api/upload", { method: "POST", body: form, headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.text().then(function (t) {
          var data;
          try { data = t ? JSON.parse(t) : {}; } catch (e) { data = { detail: t }; }
          data._status = r.status;
          return data;
        });
      });
  }
  fields = fields || {};
  return send(fields).then(function (data) {
    if (data._status === 409 && data.exists) {
      if (!window.confirm(data.exists.join(", ") + " exists already. Replace it?")) {
        throw new Error("not uploaded: " + data.exists.join(", ") + " exists already");
      }
      return send(Object.assign({}, fields, { overwrite: "1" }));
    }
    return data;
  }).then(function (data) {
    if (data._status >= 400) {
      throw new Error(typeof data.detail === "string" ? data.detail : "upload failed (" + data._status + ")");
    }
    return data;
  });
}

function setStatusText(id, text, good) {
  var s = document.getElementById(id);
  if (!s) { return; }
  s.textContent = text;
  s.className = "status " + (good ? "good" : "bad");
}

// Forms marked .upload-form upload their file input through uploadFiles.
document.querySelectorAll("form.upload-form").forEach(function (form) {
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var input = form.querySelector("input[type=file]");
    var status = form.querySelector(".status");
    var fields = {};
    form.querySelectorAll("input[type=text][name], input[type=hidden][name]").forEach(function (i) { fields[i.name] = i.value; });
    if (form.dataset.labelsFor) { fields.labels_for = form.dataset.labelsFor; }
    if (!input.files.length) { return; }
    if (status) { status.textContent = "uploading…"; status.className = "status"; }
    uploadFiles(input.files, fields).then(function (res) {
      window.location.href = res.next;
    }).catch(function (e) {
      if (status) { status.textContent = e.message; status.className = "status bad"; }
    });
  });
});

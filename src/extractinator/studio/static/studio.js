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

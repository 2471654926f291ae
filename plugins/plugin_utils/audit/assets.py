# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inline CSS and script of the fleet report page (private; see ``page``).

``STATE_COLORS``: the color of each state (bars, dots, badges). A badge is white text on
its state's color, so each color keeps WCAG AA's 4.5:1 against white (the unit tests
compute every text pair of the CSS).

The script keeps its state in the URL hash (``state``, ``q``, ``sort``, ``dir``,
``open=all``), reads it on load and on ``hashchange``, and records what it shows on
``<body>``: ``data-shown`` (routers visible), ``data-sort`` (``key:dir``) and
``data-ready`` once it ran, which is what tests/browser/run checks through the DOM.
"""
from __future__ import annotations

STATE_COLORS = {
    "offloading_hw": "#116329", "offloading_sw": "#1a7f37", "configured_idle": "#0969da",
    "not_configured": "#656d76", "drifted": "#9a6700", "unsupported": "#953800",
    "unreachable": "#82071e", "failed": "#cf222e", "unknown": "#57606a",
}

CSS = r"""
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--alt:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px 8px;border-bottom:1px solid var(--line)}
h1{font-size:20px;margin:0 0 4px}
h4{margin:10px 0 4px;font-size:13px}
main{padding:12px 24px 32px}
.fo-sub{color:var(--muted);font-size:12px}
.fo-overview{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.fo-cards{display:grid;grid-template-columns:repeat(3,minmax(110px,1fr));gap:8px;flex:1 1 340px}
.fo-card{border:1px solid var(--line);border-radius:8px;padding:8px 10px;background:var(--alt)}
.fo-card b{display:block;font-size:20px}
.fo-card span{color:var(--muted);font-size:12px}
figure{margin:0;flex:2 1 520px;max-width:760px}
#fo-chart{width:100%;height:auto}
#fo-chart .fo-count{font-size:13px;font-weight:600;fill:var(--fg)}
#fo-chart .fo-label{font-size:11px;fill:var(--muted)}
#fo-chart .fo-bar{cursor:pointer}
#fo-chart .fo-bar.fo-active rect{stroke:var(--fg);stroke-width:2}
#fo-chart .fo-bar:focus{outline:none}
#fo-chart .fo-bar:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
#fo-chart .fo-bar:focus-visible rect{stroke:var(--accent);stroke-width:4}
.fo-trend{margin:16px 0 4px;max-width:760px}
.fo-trend h2{font-size:15px;margin:0 0 4px}
.fo-trend-note{color:var(--muted);font-size:12px;margin:2px 0 6px}
#fo-trend-chart{width:100%;height:auto}
#fo-trend-chart .fo-label{font-size:11px;fill:var(--muted)}
#fo-trend-chart .fo-axis{stroke:var(--line)}
#fo-trend-chart .fo-share{fill:none;stroke:var(--fg);stroke-width:2}
#fo-trend-chart .fo-share-dot{fill:var(--fg)}
.fo-trend-data summary{cursor:pointer;font-size:12px}
button:focus-visible,select:focus-visible,input:focus-visible,summary:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
.fo-legend-list{list-style:none;display:flex;flex-wrap:wrap;gap:4px 10px;padding:0;margin:4px 0 0}
.fo-legend{border:1px solid transparent;background:none;border-radius:12px;padding:1px 8px;cursor:pointer;font:inherit;font-size:12px}
.fo-legend.fo-active{border-color:var(--fg)}
.fo-dot{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.fo-controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:14px 0 8px;position:sticky;top:0;background:var(--bg);padding:6px 0;z-index:2}
.fo-controls input,.fo-controls select,.fo-controls button{font:inherit;padding:4px 8px;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
.fo-controls input{width:260px}
#fo-shown{color:var(--muted);margin-left:auto}
#fo-table{width:100%;border-collapse:collapse;font-size:13px}
#fo-table>thead th{text-align:left;border-bottom:2px solid var(--line);padding:0;white-space:nowrap;position:sticky;top:44px;background:var(--bg)}
#fo-table>thead th button{all:unset;cursor:pointer;display:block;padding:6px;font-weight:600}
#fo-table>thead th[aria-sort=ascending] button::after{content:" \25B4"}
#fo-table>thead th[aria-sort=descending] button::after{content:" \25BE"}
#fo-table>thead th[data-num="1"]{text-align:right}
.fo-row>td{padding:5px 6px;border-bottom:1px solid var(--line);vertical-align:top}
.fo-row>td[data-key=drift],.fo-row>td[data-key=hw],.fo-row>td[data-key=flows],.fo-row>td[data-key=offloaded],.fo-row>td[data-key=hw_offloaded],.fo-row>td[data-key=conflicts]{text-align:right;font-variant-numeric:tabular-nums}
.fo-host-group:nth-of-type(even) .fo-row{background:var(--alt)}
.fo-host{font-weight:600}
.fo-row>td[data-key=host],.fo-row>td[data-key=state],.fo-row>td[data-key=platform]{white-space:nowrap}
.fo-toggle{border:0;background:none;cursor:pointer;padding:0 2px;font-size:12px;color:var(--muted)}
.fo-badge{display:inline-block;color:#fff;background:#57606a;border-radius:10px;padding:1px 8px;font-size:12px;white-space:nowrap}
.fo-detail>td{background:#fbfcfd;border-bottom:1px solid var(--line);padding:8px 16px 14px}
.fo-detail-body{max-width:calc(100vw - 90px);overflow-x:auto}
.fo-grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:16px}
.fo-grid dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.fo-grid dt{color:var(--muted)}
.fo-grid dd{margin:0;word-break:break-word}
.fo-inner{border-collapse:collapse;font-size:12px;margin-bottom:6px}
.fo-inner th,.fo-inner td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top}
.fo-none{color:var(--muted);margin:2px 0}
.fo-error{color:#cf222e;font-weight:600}
ul{margin:2px 0;padding-left:18px}
#fo-empty{color:var(--muted);padding:12px}
""" + "".join(f".fo-badge.fo-s-{state}{{background:{color}}}\n" for state, color in STATE_COLORS.items()) + r"""
@media print{.fo-controls,.fo-toggle{display:none}.fo-detail{display:table-row!important}}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var table = document.getElementById("fo-table");
  var groups = Array.prototype.slice.call(table.querySelectorAll("tbody.fo-host-group"));
  var q = document.getElementById("fo-q"), sel = document.getElementById("fo-state");
  var shown = document.getElementById("fo-shown"), empty = document.getElementById("fo-empty");
  var expandBtn = document.getElementById("fo-expand");
  var sortKey = "", sortDir = "asc", expanded = false;
  groups.forEach(function (g, i) { g.dataset.i = i; });

  function hasState(s) {
    return Array.prototype.some.call(sel.options, function (o) { return o.value === s; });
  }
  function parseHash() {
    var out = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      if (!part) { return; }
      var i = part.indexOf("=");
      try {
        out[decodeURIComponent(i < 0 ? part : part.slice(0, i))] = i < 0 ? "" : decodeURIComponent(part.slice(i + 1).replace(/\+/g, " "));
      } catch (e) { /* a malformed escape: ignore that part */ }
    });
    return out;
  }
  function writeHash() {
    var parts = [];
    if (sel.value) { parts.push("state=" + encodeURIComponent(sel.value)); }
    if (q.value) { parts.push("q=" + encodeURIComponent(q.value)); }
    if (sortKey) { parts.push("sort=" + encodeURIComponent(sortKey), "dir=" + sortDir); }
    if (expanded) { parts.push("open=all"); }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== location.hash) { history.replaceState(null, "", hash || location.pathname + location.search); }
  }
  function apply() {
    var words = q.value.trim().toLowerCase().split(/\s+/).filter(Boolean), state = sel.value, n = 0;
    groups.forEach(function (g) {
      var ok = (!state || g.dataset.state === state) && words.every(function (w) { return g.dataset.search.indexOf(w) >= 0; });
      g.hidden = !ok;
      if (ok) { n++; }
    });
    shown.textContent = n + " of " + groups.length + " routers";
    document.body.dataset.shown = String(n);
    empty.hidden = n > 0;
    Array.prototype.forEach.call(document.querySelectorAll(".fo-legend, .fo-bar"), function (b) {
      var on = !!state && b.getAttribute("data-state") === state;
      b.classList.toggle("fo-active", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }
  function cell(g, key) {
    var td = g.querySelector("td[data-key='" + key + "']");
    return td ? td.getAttribute("data-v") : "";
  }
  function sortBy(key, dir) {
    var th = Array.prototype.filter.call(table.tHead.rows[0].cells, function (h) { return h.dataset.key === key; })[0];
    var num, sign;
    if (!th) {
      sortKey = "";
      groups.sort(function (a, b) { return a.dataset.i - b.dataset.i; });
    } else {
      num = th.dataset.num === "1";
      sortKey = key;
      sortDir = dir === "desc" ? "desc" : "asc";
      sign = sortDir === "desc" ? -1 : 1;
      groups.sort(function (a, b) {
        var x = cell(a, key), y = cell(b, key), c;
        c = num ? (parseFloat(x) || 0) - (parseFloat(y) || 0) : x.localeCompare(y, undefined, {numeric: true, sensitivity: "base"});
        return c ? sign * c : a.dataset.i - b.dataset.i;
      });
    }
    groups.forEach(function (g) { table.appendChild(g); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      h.setAttribute("aria-sort", h === th ? (sortDir === "asc" ? "ascending" : "descending") : "none");
    });
    document.body.dataset.sort = sortKey ? sortKey + ":" + sortDir : "";
  }
  function toggle(g, open) {
    var detail = g.querySelector(".fo-detail"), button = g.querySelector(".fo-toggle");
    detail.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "\u25BE" : "\u25B8";
  }
  function expandAll(open) {
    expanded = open;
    groups.forEach(function (g) { toggle(g, open); });
    expandBtn.textContent = open ? "Collapse all" : "Expand all";
  }
  function fromHash() {
    var h = parseHash();
    q.value = h.q || "";
    sel.value = h.state && hasState(h.state) ? h.state : "";
    sortBy(h.sort || "", h.dir);
    expandAll(h.open === "all");
    apply();
  }
  function pickState(state) {
    sel.value = sel.value === state ? "" : state;
    apply();
    writeHash();
  }

  q.addEventListener("input", function () { apply(); writeHash(); });
  sel.addEventListener("change", function () { apply(); writeHash(); });
  table.tHead.addEventListener("click", function (ev) {
    var th = ev.target.closest("th");
    if (!th) { return; }
    sortBy(th.dataset.key, sortKey === th.dataset.key && sortDir === "asc" ? "desc" : "asc");
    writeHash();
  });
  table.addEventListener("click", function (ev) {
    var button = ev.target.closest(".fo-toggle");
    if (!button) { return; }
    var g = button.closest("tbody");
    toggle(g, g.querySelector(".fo-detail").hidden);
  });
  Array.prototype.forEach.call(document.querySelectorAll(".fo-legend, .fo-bar"), function (b) {
    b.addEventListener("click", function () { pickState(b.getAttribute("data-state")); });
    b.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pickState(b.getAttribute("data-state")); }
    });
  });
  expandBtn.addEventListener("click", function () { expandAll(!expanded); writeHash(); });
  document.getElementById("fo-reset").addEventListener("click", function () {
    q.value = ""; sel.value = ""; sortBy("", "asc"); expandAll(false); apply(); writeHash();
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
  document.body.dataset.ready = "1";
}());
"""

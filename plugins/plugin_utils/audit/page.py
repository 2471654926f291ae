# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one self-contained HTML page (private).

No external asset: the CSS and the script are inline (``assets``), the charts are inline
SVG (``chart``): the states of this run and the trend across the runs of the history.
The rows are rendered here, so the page reads without its script; the script
adds sorting (click a column head), the filter box, the state filter, expandable details
and the URL hash (``#state=drifted&q=openwrt&sort=offloaded&dir=desc&open=all``), which
sets the same filters on load and is kept in step with them, so a view can be shared.

Every value from a host goes through ``html.escape`` (``esc``): a device name or a reason is text,
never markup.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.assets import CSS, SCRIPT, STATE_COLORS
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.chart import (
    STATE_LABELS,
    esc,
    render_chart,
    render_trend,
)

# (key, label, numeric): the columns of the table
COLUMNS = (
    ("host", "Router", False), ("state", "State", False), ("platform", "Platform", False),
    ("kernel", "Kernel / flowtables", False), ("modules", "Modules / package", False),
    ("flowtable", "Live flowtable", False), ("drift", "Drift", True), ("hw", "HW-capable", True),
    ("flows", "Conntrack", True), ("offloaded", "Offloaded %", True), ("hw_offloaded", "HW %", True),
    ("conflicts", "Conflicts", True),
)


def _yes_no(value: t.Any) -> str:
    return {True: "yes", False: "no"}.get(value, "unknown")


def _ft_label(ft: t.Mapping[str, t.Any]) -> str:
    return f"{ft.get('family')} {ft.get('table')} {ft.get('name')}"


# --- one router ---------------------------------------------------------------------------
def _cells(row: t.Mapping[str, t.Any]) -> list[tuple[str, str, t.Any]]:
    """(key, html, sort value) per column."""
    platform = row.get("platform") or {}
    kernel = row.get("kernel") or {}
    package = row.get("package") or {}
    flows = row.get("flows")
    live = (row.get("flowtables") or {}).get("live") or []
    devices = row.get("devices") or []
    state = row["state"]
    plat = " ".join(str(platform.get(k) or "") for k in ("distribution", "distribution_version")).strip()
    software = (kernel.get("software_offload") or {}).get("supported") if kernel else None
    kern = f"{esc(kernel.get('release') or '-')}<br><span class=\"fo-sub\">flowtables: {_yes_no(software)}</span>" \
        if kernel else "-"
    pkg = ""
    if package.get("name"):
        pkg = f"<br><span class=\"fo-sub\">{esc(package['name'])}: {'installed' if package.get('installed') else 'not installed'}</span>"
    mods = f"{esc(kernel.get('modules_summary') or '-')}{pkg}" if kernel else "-"
    ft_html = "<br>".join(
        f"{esc(ft.get('name'))} <span class=\"fo-sub\">{len(ft.get('devices') or [])} dev"
        f"{' &middot; hw' if ft.get('offload') else ''}</span>" for ft in live) or "-"
    capable = len(row.get("hardware_capable") or [])
    considered = [d for d in devices if d.get("candidate") or d.get("configured")] or devices
    badge = f'<span class="fo-badge fo-s-{state if state in STATES else "unknown"}">{esc(state)}</span>'
    return [
        ("host", f'<button type="button" class="fo-toggle" aria-expanded="false" '
                 f'aria-label="Details of {esc(row["host"])}">&#9656;</button> '
                 f'<span class="fo-host">{esc(row["host"])}</span>', row["host"]),
        ("state", badge, STATES.index(state) if state in STATES else len(STATES)),
        ("platform", esc(plat or "-"), plat),
        ("kernel", kern, kernel.get("release") or ""),
        ("modules", mods, kernel.get("modules_summary") or ""),
        ("flowtable", ft_html, len(live)),
        ("drift", str(len(row.get("drift") or [])) if row.get("drift") else "none", len(row.get("drift") or [])),
        ("hw", f"{capable}/{len(considered)}", capable),
        ("flows", str(flows["total"]) if flows else "-", flows["total"] if flows else -1),
        ("offloaded", f"{flows['offloaded_pct']}" if flows else "-", flows["offloaded_pct"] if flows else -1),
        ("hw_offloaded", f"{flows['hw_offloaded_pct']}" if flows else "-", flows["hw_offloaded_pct"] if flows else -1),
        ("conflicts", str(len(row.get("conflicts") or [])), len(row.get("conflicts") or [])),
    ]


def _table(head: t.Sequence[str], body: t.Iterable[t.Sequence[t.Any]]) -> str:
    rows = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in line) + "</tr>" for line in body)
    if not rows:
        return '<p class="fo-none">none</p>'
    return ('<table class="fo-inner"><thead><tr>' + "".join(f"<th>{esc(h)}</th>" for h in head)
            + f"</tr></thead><tbody>{rows}</tbody></table>")


def _list(items: t.Iterable[t.Any]) -> str:
    lis = "".join(f"<li>{esc(item)}</li>" for item in items)
    return f"<ul>{lis}</ul>" if lis else '<p class="fo-none">none</p>'


def render_details(row: t.Mapping[str, t.Any]) -> str:
    platform = row.get("platform") or {}
    kernel = row.get("kernel") or {}
    package = row.get("package") or {}
    fts = row.get("flowtables") or {}
    software = kernel.get("software_offload") or {}

    def ft_rows(items: t.Iterable[t.Mapping[str, t.Any]], source: bool) -> list[list[t.Any]]:
        return [[_ft_label(ft)] + ([ft.get("source")] if source else [])
                + [f"{ft.get('hook')} {ft.get('priority')}", _yes_no(ft.get("offload")), _yes_no(ft.get("counter")),
                   "(from the firewall zones)" if ft.get("devices") is None else ", ".join(ft.get("devices") or []) or "-"]
                for ft in items]

    css = "fo-reason fo-error" if row.get("error") else "fo-reason"
    parts = [f'<p class="{css}"><strong>{esc(row["state"])}</strong>: {esc(row.get("reason"))}</p>']
    if row.get("error"):
        if row["error"] != row.get("reason"):
            parts.append(f'<p class="fo-error">{esc(row["error"])}</p>')
    else:
        installed = f"installed {package.get('version') or ''}".strip() if package.get("installed") else "not installed"
        facts = [("OS", f"{platform.get('distribution', '')} {platform.get('distribution_version', '')} "
                        f"({platform.get('os_family', '')})"),
                 ("kernel", kernel.get("release")), ("firewall", platform.get("firewall")),
                 ("init", platform.get("init")), ("package manager", platform.get("package_manager")),
                 ("nft", row.get("nft_version")),
                 ("flowtable support", f"{_yes_no(software.get('supported'))}: {software.get('message', '')}"),
                 ("modules", ", ".join(f"{k}={v}" for k, v in (kernel.get("modules") or {}).items())),
                 ("modules loaded at boot", _yes_no(kernel.get("modules_persisted"))),
                 ("package", f"{package.get('name') or '-'} ({installed})"),
                 ("persisted files", ", ".join(fts.get("files") or []) or "none"),
                 ("UCI", ", ".join(f"{k}={v or 'unset'}" for k, v in (fts.get("uci") or {}).items()) or "-")]
        parts.append('<div class="fo-grid"><section><h4>Host</h4><dl>'
                     + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts) + "</dl></section>")
        parts.append("<section><h4>Drift</h4>" + _list(row.get("drift") or [])
                     + "<h4>Configured devices missing on the host</h4>" + _list(row.get("missing_devices") or [])
                     + "<h4>Conflicts</h4>" + _list(f"{c.get('kind')}{' ' + str(c['device']) if c.get('device') else ''}: {c.get('detail')}"
                                                    for c in row.get("conflicts") or [])
                     + "<h4>Warnings</h4>" + _list(row.get("warnings") or []) + "</section></div>")
        parts.append("<h4>Flowtables configured</h4>" + _table(
            ["flowtable", "source", "hook/priority", "offload", "counter", "devices"], ft_rows(fts.get("configured") or [], True)))
        parts.append("<h4>Flowtables live</h4>" + _table(
            ["flowtable", "hook/priority", "offload", "counter", "devices"], ft_rows(fts.get("live") or [], False)))
        if fts.get("unmanaged"):
            parts.append("<h4>Live, not managed by flowoffload.nft</h4>" + _list(fts["unmanaged"]))
        parts.append("<h4>Devices: hardware offload</h4>" + _table(
            ["device", "kind", "driver", "state", "forwarding", "configured", "hardware", "reason"],
            [[d["name"], d.get("kind"), d.get("driver") or "-", d.get("operstate"), _yes_no(d.get("candidate")),
              _yes_no(d.get("configured")), d.get("hardware_offload"), d.get("reason")] for d in row.get("devices") or []]))
    return "".join(parts)


def render_host(row: t.Mapping[str, t.Any]) -> str:
    cells = _cells(row)
    search = " ".join([str(row.get("host")), str(row.get("state")), str(row.get("reason") or "")]
                      + [str(v) for v in (row.get("platform") or {}).values()]
                      + [d["name"] for d in row.get("devices") or []]
                      + [str(c.get("kind")) for c in row.get("conflicts") or []]
                      + list(row.get("drift") or []) + list(row.get("missing_devices") or [])).lower()
    tds = "".join(f'<td data-key="{key}" data-v="{esc(value)}">{content}</td>' for key, content, value in cells)
    return (f'<tbody class="fo-host-group" data-host="{esc(row["host"])}" data-state="{esc(row["state"])}" '
            f'data-search="{esc(search)}"><tr class="fo-row">{tds}</tr>'
            f'<tr class="fo-detail" hidden><td colspan="{len(COLUMNS)}"><div class="fo-detail-body">{render_details(row)}'
            '</div></td></tr></tbody>')


# --- the page -------------------------------------------------------------------------------
def render_html(rows: t.Sequence[t.Mapping[str, t.Any]], summary: t.Mapping[str, t.Any], title: str,
                generated: str, trend: t.Sequence[t.Mapping[str, t.Any]] = (), history_on: bool = False) -> str:
    """The page; trend: the runs of the history, this one last (history.trend)."""
    counts = summary["states"]
    flows = summary["flows"]
    options = "".join(f'<option value="{s}">{esc(STATE_LABELS[s])} ({counts.get(s, 0)})</option>' for s in STATES)
    heads = "".join(f'<th scope="col" data-key="{key}" data-num="{1 if num else 0}" aria-sort="none">'
                    f'<button type="button">{esc(label)}</button></th>' for key, label, num in COLUMNS)
    legend = "".join(f'<li><button type="button" class="fo-legend" data-state="{s}" aria-pressed="false">'
                     f'<span class="fo-dot" style="background:{STATE_COLORS[s]}"></span>{esc(STATE_LABELS[s])} '
                     f'<b>{counts.get(s, 0)}</b></button></li>' for s in STATES)
    cards = [("routers", summary["hosts"]), ("offloading", summary["offloading"]),
             ("in hardware", counts["offloading_hw"]), ("drifted", counts["drifted"]),
             ("unsupported", counts["unsupported"]), ("unreachable / failed", counts["unreachable"] + counts["failed"]),
             ("with conflicts", summary["with_conflicts"]),
             ("entries offloaded", f"{flows['offloaded_pct']}%"), ("in hardware", f"{flows['hw_offloaded_pct']}%")]
    card_html = "".join(f'<div class="fo-card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in cards)
    body = "".join(render_host(row) for row in rows)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="flowoffload.nft fleet_report">
<title>{esc(title)}</title>
<style>{CSS}</style></head>
<body data-total="{len(rows)}">
<header><h1>{esc(title)}</h1><p class="fo-sub">Generated <time datetime="{esc(generated)}">{esc(generated)}</time> &middot; {len(rows)} router(s) &middot;
{esc(flows['total'])} conntrack entries, {esc(flows['offloaded_pct'])}% offloaded, {esc(flows['hw_offloaded_pct'])}% in hardware</p></header>
<main>
<section class="fo-overview"><div class="fo-cards">{card_html}</div>
<figure>{render_chart(summary)}<figcaption><ul class="fo-legend-list">{legend}</ul></figcaption></figure></section>
{render_trend(trend, history_on)}
<section class="fo-controls" aria-label="filters">
<label>Filter <input id="fo-q" type="search" placeholder="router, platform, device, reason&hellip;" autocomplete="off"></label>
<label>State <select id="fo-state"><option value="">all states ({len(rows)})</option>{options}</select></label>
<button type="button" id="fo-expand">Expand all</button> <button type="button" id="fo-reset">Reset</button>
<span id="fo-shown" aria-live="polite">{len(rows)} of {len(rows)} routers</span>
</section>
<table id="fo-table"><thead><tr>{heads}</tr></thead>{body}</table>
<p id="fo-empty" hidden>No router matches the filters.</p>
</main>
<script>{SCRIPT}</script>
</body></html>
"""

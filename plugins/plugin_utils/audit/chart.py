# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report page's two inline SVG charts (private; see ``page``).

- ``render_chart(summary)``: a bar per state. Each bar is a button for keyboards and
  screen readers (``tabindex=0``, ``role=button``, ``aria-pressed``, an ``aria-label``
  with the state and its count); the page's script filters the table by its state on a
  click, Enter or Space. The SVG is a labelled group, not ``role=img`` (an image's
  children are hidden from assistive technology).
- ``render_trend(runs, history_on)``: per run of the history (``history.trend``), a bar of
  the routers stacked by state and a line of the fleet's offloaded share, and the same as
  a table; with one run it says the trend starts with the next.
"""
from __future__ import annotations

import html
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.assets import STATE_COLORS
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES

STATE_LABELS = {
    "offloading_hw": "offloading (hardware)", "offloading_sw": "offloading (software)",
    "configured_idle": "configured, idle", "not_configured": "not configured", "drifted": "drifted",
    "unsupported": "unsupported", "unreachable": "unreachable", "failed": "failed",
}


def esc(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_chart(summary: t.Mapping[str, t.Any]) -> str:
    """An SVG bar per state (count above, label below) and a stacked bar of the fleet."""
    counts = summary["states"]
    total = max(summary["hosts"], 1)
    top = max(list(counts.values()) + [1])
    width, bar_w, gap, height = 720, 66, 22, 150
    parts = [f'<svg id="fo-chart" role="group" aria-labelledby="fo-chart-title" viewBox="0 0 {width} 230" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="fo-chart-title">Routers per offload state '
             f'(each bar filters the table)</title>']
    for index, state in enumerate(STATES):
        count = counts.get(state, 0)
        x = 20 + index * (bar_w + gap)
        h = round(height * count / top) if count else 0
        y = 20 + height - h
        parts.append(f'<g class="fo-bar" data-state="{state}" tabindex="0" role="button" aria-pressed="false" '
                     f'aria-label="{esc(STATE_LABELS[state])}: {count} router{"" if count == 1 else "s"}">'
                     f'<rect x="{x}" y="{y}" width="{bar_w}" height="{max(h, 1)}" fill="{STATE_COLORS[state]}" rx="3"/>'
                     f'<text x="{x + bar_w / 2}" y="{y - 5}" text-anchor="middle" class="fo-count">{count}</text>'
                     f'<text x="{x + bar_w / 2}" y="{20 + height + 16}" text-anchor="middle" class="fo-label">'
                     f'{esc(state.replace("_", " "))}</text></g>')
    x = 20.0
    for state in STATES:
        count = counts.get(state, 0)
        if not count:
            continue
        w = (width - 40) * count / total
        parts.append(f'<rect class="fo-stack" x="{x:.1f}" y="205" width="{w:.1f}" height="14" aria-hidden="true" '
                     f'fill="{STATE_COLORS[state]}"><title>{esc(STATE_LABELS[state])}: {count} of '
                     f'{summary["hosts"]}</title></rect>')
        x += w
    parts.append("</svg>")
    return "".join(parts)


def _run_title(run: t.Mapping[str, t.Any]) -> str:
    states = ", ".join(f"{count} {STATE_LABELS[state]}" for state, count in run["states"].items() if count)
    return (f"{run['time']}: {run['hosts']} router(s): {states or 'none'}; "
            f"{run['offloaded_pct']}% of the conntrack entries offloaded")


def _trend_svg(runs: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    width, left, right, top, height = 720, 40, 44, 12, 150
    plot_w = width - left - right
    step = plot_w / len(runs)
    bar_w = max(min(step * 0.7, 40), 1)
    most = max([run["hosts"] for run in runs] + [1])
    parts = [f'<svg id="fo-trend-chart" role="img" aria-labelledby="fo-trend-title" viewBox="0 0 {width} 200" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="fo-trend-title">Routers per state (bars) and the '
             f'offloaded share (line) over {len(runs)} runs, from {esc(runs[0]["time"])} to {esc(runs[-1]["time"])}'
             '</title>',
             f'<line class="fo-axis" x1="{left}" y1="{top + height}" x2="{width - right}" y2="{top + height}"/>',
             f'<text class="fo-label" x="{left - 4}" y="{top + 4}" text-anchor="end">{most}</text>',
             f'<text class="fo-label" x="{left - 4}" y="{top + height}" text-anchor="end">0</text>',
             f'<text class="fo-label" x="{width - right + 4}" y="{top + 4}">100%</text>',
             f'<text class="fo-label" x="{width - right + 4}" y="{top + height}">0%</text>']
    points = []
    for index, run in enumerate(runs):
        x = left + index * step + (step - bar_w) / 2
        y = float(top + height)
        rects = []
        for state in STATES:
            count = run["states"].get(state, 0)
            if not count:
                continue
            h = height * count / most
            y -= h
            rects.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{STATE_COLORS[state]}" data-state="{state}" data-count="{count}"/>')
        parts.append(f'<g class="fo-run" data-time="{esc(run["time"])}" data-hosts="{run["hosts"]}" '
                     f'data-offloaded="{run["offloaded_pct"]}"><title>{esc(_run_title(run))}</title>'
                     + "".join(rects) + "</g>")
        points.append((x + bar_w / 2, top + height * (1 - float(run["offloaded_pct"]) / 100)))
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    parts.append(f'<polyline class="fo-share" points="{path}"/>')
    parts.extend(f'<circle class="fo-share-dot" cx="{px:.1f}" cy="{py:.1f}" r="3"/>' for px, py in points)
    first, last = (esc(run["time"][:16].replace("T", " ")) for run in (runs[0], runs[-1]))
    parts.append(f'<text class="fo-label" x="{left}" y="{top + height + 16}">{first}</text>'
                 f'<text class="fo-label" x="{width - right}" y="{top + height + 16}" text-anchor="end">{last}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _trend_table(runs: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    head = "".join(f'<th scope="col">{esc(STATE_LABELS[state])}</th>' for state in STATES)
    body = "".join(
        f'<tr><th scope="row">{esc(run["time"])}</th><td>{run["hosts"]}</td>'
        + "".join(f"<td>{run['states'].get(state, 0)}</td>" for state in STATES)
        + f"<td>{run['offloaded_pct']}</td><td>{run['hw_offloaded_pct']}</td></tr>" for run in reversed(runs))
    return ('<details class="fo-trend-data"><summary>The runs as a table</summary><table class="fo-inner" '
            f'id="fo-trend-table"><thead><tr><th scope="col">run (UTC)</th><th scope="col">routers</th>{head}'
            '<th scope="col">offloaded %</th><th scope="col">HW %</th></tr></thead>'
            f"<tbody>{body}</tbody></table></details>")


def render_trend(runs: t.Sequence[t.Mapping[str, t.Any]], history_on: bool) -> str:
    """The trend section: runs oldest first, this run last."""
    parts = ['<section class="fo-trend" aria-labelledby="fo-trend-h"><h2 id="fo-trend-h">Trend</h2>']
    if not history_on:
        parts.append('<p class="fo-trend-note">The history is off (history_runs: 0): this run only, no trend.</p>')
    elif len(runs) < 2:
        parts.append('<p class="fo-trend-note">One run in the history so far: the trend starts with the next '
                     'run.</p>')
    else:
        parts.append(f'<p class="fo-trend-note">{len(runs)} runs, from {esc(runs[0]["time"])} to '
                     f'{esc(runs[-1]["time"])}: routers per state (bars, colors as above) and the share of '
                     'conntrack entries offloaded (line, right axis).</p>')
        parts.append(_trend_svg(runs))
    if runs:
        parts.append(_trend_table(runs))
    parts.append("</section>")
    return "".join(parts)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report page by keyboard and as a screen reader gets it (tests/browser/cdp.py), and its
trend: called by check_report.py for the fixture fleet (with a history of several runs)
and for a real run's report.

- Tab from the top of the page to a chart bar, Enter: the table shows that state only (the
  state filter, the URL hash, ``aria-pressed``), Space on the same bar: every router again;
- every row toggle is a button named after its router in the accessibility tree, with
  ``expanded`` following Enter on it; every chart bar is a button there, named with its
  state and count;
- the trend chart: one stacked bar per run of the history, as many routers as the run had.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.tests.browser.cdp import Page

SHOWN = "document.body.dataset.shown"
STATE = "document.getElementById('fo-state').value"
ACTIVE = "document.activeElement.getAttribute('data-state')"


def check_keyboard(binary: str, flags: t.Sequence[str], page: str, rows: t.Sequence[t.Mapping[str, t.Any]],
                   checks: t.Any, state: str) -> None:
    """Tab to state's bar, Enter, Space; the names in the accessibility tree."""
    want = [row["host"] for row in rows if row["state"] == state]
    with Page(binary, page, "", flags) as tab:
        tabs = 0
        while tab.eval(ACTIVE) != state and tabs < 40:
            tab.key("Tab")
            tabs += 1
        focused = tab.eval("document.activeElement.getAttribute('class') + ' ' + document.activeElement.getAttribute('role')")
        checks.check(f"Tab reaches the chart bar of {state} ({tabs} presses)",
                     tab.eval(ACTIVE) == state and focused == "fo-bar button", f"focused: {focused}")
        outline = tab.eval("getComputedStyle(document.activeElement).outlineStyle")
        checks.check("the focused bar shows an outline", outline == "solid", f"outline-style {outline}")
        tab.key("Enter")
        shown = tab.eval("Array.from(document.querySelectorAll('tbody.fo-host-group')).filter("
                         "function (g) { return !g.hidden; }).map(function (g) { return g.dataset.host; })")
        checks.check(f"Enter on the bar filters the table to {state} ({len(want)})",
                     shown == want and tab.eval(STATE) == state and tab.eval(SHOWN) == str(len(want))
                     and tab.eval("location.hash") == f"#state={state}"
                     and tab.eval("document.activeElement.getAttribute('aria-pressed')") == "true",
                     f"shown {shown}, filter {tab.eval(STATE)!r}, hash {tab.eval('location.hash')!r}")
        tab.key(" ")
        checks.check("Space on the same bar clears the filter",
                     tab.eval(STATE) == "" and tab.eval(SHOWN) == str(len(rows)), f"shown {tab.eval(SHOWN)}")
        buttons = [node for node in tab.ax_nodes() if node["role"] == "button"]
        names = {node["name"]: node for node in buttons}
        missing = [row["host"] for row in rows if f"Details of {row['host']}" not in names]
        checks.check("every row toggle is a button named after its router (accessibility tree)",
                     not missing and all(names[f"Details of {r['host']}"].get("expanded") == "False" for r in rows),
                     f"no button for {missing[:5]}")
        bars = [node["name"] for node in buttons if node.get("pressed") in ("false", "true")
                and ": " in node["name"] and node["name"].split(": ")[1].split()[0].isdigit()]
        checks.check("every chart bar is a button with its state and count (accessibility tree)",
                     len(bars) == 8 and any(name.startswith("drifted: ") for name in bars), f"{bars}")
        first = rows[0]["host"]
        tab.eval("document.querySelector('tbody.fo-host-group .fo-toggle').focus()")
        tab.key("Enter")
        node = next((n for n in tab.ax_nodes() if n["name"] == f"Details of {first}"), {})
        checks.check("Enter on a row toggle opens its details, expanded follows",
                     node.get("expanded") == "True"
                     and tab.eval("document.querySelector('tbody.fo-host-group .fo-detail').hidden") is False,
                     f"{node}")


def check_trend(binary: str, flags: t.Sequence[str], page: str, runs: t.Sequence[t.Mapping[str, t.Any]],
                checks: t.Any) -> None:
    """The trend chart holds one bar per run (routers of that run) and the share line; with
    one run, the page says so and draws no chart."""
    with Page(binary, page, "", flags) as tab:
        if len(runs) < 2:
            note = tab.eval("document.querySelector('.fo-trend-note').textContent")
            checks.check("trend: one run in the history, said so, no chart",
                         note.startswith("One run in the history so far")
                         and tab.eval("document.getElementById('fo-trend-chart')") is None, note)
            return
        got = tab.eval("Array.from(document.querySelectorAll('#fo-trend-chart g.fo-run')).map(function (g) {"
                       " return [g.dataset.time, Array.from(g.querySelectorAll('rect')).reduce(function (n, r) {"
                       " return n + Number(r.dataset.count); }, 0), g.getBoundingClientRect().height > 0]; })")
        want = [[run["time"], run["hosts"], True] for run in runs]
        checks.check(f"trend chart: one visible bar per run ({len(runs)}), stacked to its routers", got == want,
                     f"{got} != {want}")
        points = tab.eval("document.querySelector('#fo-trend-chart polyline.fo-share').points.length")
        checks.check("trend chart: the offloaded share as a line through every run", points == len(runs),
                     f"{points} points")

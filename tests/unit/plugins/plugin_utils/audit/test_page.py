# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report page's accessibility: WCAG AA contrast of every text color pair of its CSS
(computed from assets.CSS), the row toggles' names, the chart's bars as buttons, and the
trend section (several runs, one run, history off)."""
from __future__ import annotations

import html.parser
import re
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import history as hi
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import report as rep
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.assets import CSS, STATE_COLORS
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.page import render_html
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.tests.browser.fleet import KINDS, fleet

TIMES = [f"2026-12-0{day}T01:00:00Z" for day in range(1, 5)]


@pytest.fixture(scope="module", name="rows")
def fleet_rows():
    return fleet(len(KINDS) + 2)


# --- contrast -------------------------------------------------------------------------------------
def luminance(color: str) -> float:
    """WCAG 2's relative luminance of #rgb or #rrggbb."""
    hexa = color.lstrip("#")
    if len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    channels = [int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    high, low = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def css_rules() -> dict[str, dict[str, str]]:
    """selector -> {property: value} of the page's CSS (the top level; @media left out)."""
    text = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", CSS)
    rules: dict[str, dict[str, str]] = {}
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", text):
        props = {}
        for declaration in body.split(";"):
            name, _colon, value = declaration.partition(":")
            if value:
                props[name.strip()] = value.strip()
        for sel in selector.split(","):
            rules.setdefault(sel.strip(), {}).update(props)
    return rules


def resolve(value: str, variables: t.Mapping[str, str]) -> str:
    match = re.fullmatch(r"var\((--[\w-]+)\)", value)
    return variables[match.group(1)] if match else value


def text_pairs() -> list[tuple[str, str, str]]:
    """(what, text color, background) of every text the CSS colors: each badge on its state's
    background, and each colored text on the page's backgrounds."""
    rules = css_rules()
    variables = {k: v for k, v in rules[":root"].items() if k.startswith("--")}
    backgrounds = [variables["--bg"], variables["--alt"], rules[".fo-detail>td"]["background"]]
    badge = rules[".fo-badge"]
    pairs = []
    for selector, props in rules.items():
        if selector.startswith(".fo-badge.fo-s-"):
            pairs.append((selector, resolve(props.get("color", badge["color"]), variables), props["background"]))
    pairs.append((".fo-badge", badge["color"], badge["background"]))
    for selector, props in rules.items():
        if "color" in props and not selector.startswith(".fo-badge"):
            pairs.extend((f"{selector} on {bg}", resolve(props["color"], variables), bg) for bg in backgrounds)
        if "fill" in props and (".fo-label" in selector or ".fo-count" in selector):
            pairs.extend((f"{selector} on {bg}", resolve(props["fill"], variables), bg) for bg in backgrounds)
    return pairs


def test_every_text_color_pair_of_the_css_meets_wcag_aa():
    pairs = text_pairs()
    badges = {sel for sel, _fg, _bg in pairs if sel.startswith(".fo-badge.fo-s-")}
    assert badges == {f".fo-badge.fo-s-{state}" for state in STATE_COLORS}  # every state parsed
    assert len(pairs) > len(badges) + 6
    low = [(what, fg, bg, round(contrast(fg, bg), 2)) for what, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert not low, f"below WCAG AA 4.5:1: {low}"


def test_the_contrast_formula_and_the_old_colors_it_caught():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    for old in ("#2da44e", "#8c959f", "#bf8700"):
        assert contrast("#ffffff", old) < 4.5 and old not in STATE_COLORS.values()


# --- names and roles ---------------------------------------------------------------------------------
class Elements(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, t.Optional[str]]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))

    def with_class(self, name: str) -> list[dict[str, str]]:
        return [attr for _tag, attr in self.found if name in attr.get("class", "").split()]


def elements(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    return parser


def test_each_row_toggle_is_named_after_its_router(rows):
    found = elements(render_html(rows, rep.summarize(rows), "F", TIMES[0]))
    toggles = found.with_class("fo-toggle")
    assert [t_["aria-label"] for t_ in toggles] == [f"Details of {r['host']}" for r in rows]
    assert all(t_["aria-expanded"] == "false" for t_ in toggles)
    badges = found.with_class("fo-badge")
    assert [b["class"] for b in badges] == [f"fo-badge fo-s-{r['state']}" for r in rows]
    assert not any("style" in b for b in badges)


def test_the_chart_bars_are_buttons_a_screen_reader_reaches(rows):
    summary = rep.summarize(rows)
    found = elements(render_html(rows, summary, "F", TIMES[0]))
    svg = next(attr for tag, attr in found.found if tag == "svg" and attr.get("id") == "fo-chart")
    assert svg["role"] == "group" and svg["aria-labelledby"] == "fo-chart-title"  # not img: it hides children
    bars = found.with_class("fo-bar")
    assert [b["data-state"] for b in bars] == list(STATES)
    for state_bar in bars:
        count = summary["states"][state_bar["data-state"]]
        assert state_bar["tabindex"] == "0" and state_bar["role"] == "button" and state_bar["aria-pressed"] == "false"
        assert re.fullmatch(rf"[a-z (),]+: {count} routers?", state_bar["aria-label"])
    assert ".fo-bar:focus-visible{outline:3px solid" in CSS


# --- the trend -------------------------------------------------------------------------------------------
def test_the_trend_draws_every_run_and_the_share(rows):
    records = [r for index, time in enumerate(TIMES) for r in hi.run_records(rows[:len(rows) - index], time)]
    runs = hi.trend(records)
    page = render_html(rows, rep.summarize(rows), "F", TIMES[-1], runs, True)
    found = elements(page)
    groups = found.with_class("fo-run")
    assert [g["data-time"] for g in groups] == TIMES
    assert [int(g["data-hosts"]) for g in groups] == [len(rows) - i for i in range(len(TIMES))]
    assert [float(g["data-offloaded"]) for g in groups] == [run["offloaded_pct"] for run in runs]
    stacked = [a for tag, a in found.found if tag == "rect" and "data-count" in a]
    assert sum(int(a["data-count"]) for a in stacked) == sum(run["hosts"] for run in runs)
    points = re.search(r'<polyline class="fo-share" points="([^"]+)"', page).group(1).split()
    assert len(points) == len(TIMES)
    assert f"{len(TIMES)} runs, from {TIMES[0]} to {TIMES[-1]}" in page
    assert page.count("<tr><th scope=\"row\">2026-12-0") == len(TIMES)


def test_one_run_says_so_and_no_history_says_it_is_off(rows):
    runs = hi.trend(hi.run_records(rows, TIMES[0]))
    page = render_html(rows, rep.summarize(rows), "F", TIMES[0], runs, True)
    assert "One run in the history so far" in page and 'class="fo-run"' not in page
    page = render_html(rows, rep.summarize(rows), "F", TIMES[0], runs, False)
    assert "The history is off (history_runs: 0)" in page and 'class="fo-run"' not in page

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report in a real headless browser (Debian's chromium); see tests/browser/run.

Renders the report of the fixture fleet (tests/browser/fleet.py, 56 routers of every
state, plus one whose values carry markup), opens the page with filters set through the
URL hash (the page's own way to share a view), lets chromium run its script and dump the
DOM, and checks the rows, the filters, the sort order and the details against what the
rows say. The fixture's history holds four runs (written by the real history code), so
the trend shows four; the page is then driven by keyboard and read as a screen reader
gets it (tests/browser/keyboard.py). The JSON and the history lines are validated against
the shipped JSON Schema. Saves screenshots. With ``--report FILE`` it checks a report written by a real
run instead (tests/browser/audit-local), without the fixture's expectations.
"""
from __future__ import annotations

import argparse
import csv
import html.parser
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t
import urllib.parse

import jsonschema
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import history as hi
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.report import render_all, write_report
from ansible_collections.flowoffload.nft.tests.browser.fleet import fleet
from ansible_collections.flowoffload.nft.tests.browser.keyboard import check_keyboard, check_trend

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")
EVIL = '<img src=x onerror="document.body.dataset.pwned=1">'
GENERATED = "2026-11-27T07:00:00Z"
EARLIER = ("2026-11-24T07:00:00Z", "2026-11-25T07:00:00Z", "2026-11-26T07:00:00Z")


class Dom(html.parser.HTMLParser):
    """The parts of the dumped DOM the checks need."""

    def __init__(self) -> None:
        super().__init__()
        self.body: t.Dict[str, str] = {}
        self.groups: t.List[t.Dict[str, t.Any]] = []
        self.external: t.List[str] = []
        self.imgs = 0

    def handle_starttag(self, tag: str, attrs: t.List[t.Tuple[str, t.Optional[str]]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = attr
        elif tag == "tbody" and "fo-host-group" in attr.get("class", ""):
            self.groups.append({"host": attr["data-host"], "state": attr["data-state"], "hidden": "hidden" in attr,
                                "detail_hidden": None})
        elif tag == "tr" and "fo-detail" in attr.get("class", "") and self.groups:
            self.groups[-1]["detail_hidden"] = "hidden" in attr
        elif tag == "img":
            self.imgs += 1
        for key in ("src", "href"):
            if re.match(r"^\s*(https?:)?//", attr.get(key, "")):
                self.external.append(f"{tag} {key}={attr[key]}")
        if tag == "link":
            self.external.append("link element")

    def visible(self) -> t.List[t.Dict[str, t.Any]]:
        return [g for g in self.groups if not g["hidden"]]


class Browser:
    def __init__(self, binary: str, out: str) -> None:
        self.binary = binary
        self.out = out
        self.runs = 0

    def _run(self, extra: t.Sequence[str], url: str) -> str:
        profile = tempfile.mkdtemp(prefix="fo-chromium-")
        try:
            proc = subprocess.run([self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                                  capture_output=True, text=True, timeout=120, check=False)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.runs += 1
        if proc.returncode != 0:
            raise AssertionError(f"chromium failed (rc={proc.returncode}): {proc.stderr[-1500:]}")
        return proc.stdout

    def dom(self, page: str, hash_: str = "") -> Dom:
        text = self._run(["--dump-dom"], "file://" + urllib.parse.quote(page) + (("#" + hash_) if hash_ else ""))
        dom = Dom()
        dom.feed(text)
        if dom.body.get("data-ready") != "1":
            raise AssertionError(f"the page's script did not run (body: {dom.body})")
        return dom

    def screenshot(self, page: str, name: str, hash_: str = "", size: str = "1280,900") -> str:
        path = os.path.join(self.out, name)
        self._run([f"--screenshot={path}", f"--window-size={size}", "--hide-scrollbars"],
                  "file://" + urllib.parse.quote(page) + (("#" + hash_) if hash_ else ""))
        if not os.path.getsize(path):
            raise AssertionError(f"empty screenshot {path}")
        return path


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed: t.List[str] = []

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok    {name}")
        else:
            self.failed.append(name)
            print(f"FAIL  {name}: {detail}")


def _search_text(row: t.Mapping[str, t.Any]) -> str:
    """What the filter box searches: host, state, reason, platform, devices, conflict kinds, drift, missing devices."""
    return " ".join([str(row["host"]), row["state"], str(row.get("reason") or "")]
                    + [str(v) for v in (row.get("platform") or {}).values()]
                    + [d["name"] for d in row.get("devices") or []]
                    + [str(c.get("kind")) for c in row.get("conflicts") or []]
                    + list(row.get("drift") or []) + list(row.get("missing_devices") or [])).lower()


def _sort_value(row: t.Mapping[str, t.Any]) -> float:
    flows = row.get("flows")
    return flows["offloaded_pct"] if flows else -1


def check_generic(browser: Browser, page: str, checks: Checks, rows_total: int) -> None:
    dom = browser.dom(page)
    checks.check("every row rendered and shown", len(dom.groups) == rows_total == len(dom.visible()),
                 f"{len(dom.groups)} groups, {len(dom.visible())} visible, {rows_total} rows")
    checks.check("no external asset (src/href/link)", not dom.external, ", ".join(dom.external))
    checks.check("details start collapsed", all(g["detail_hidden"] for g in dom.groups))
    opened = browser.dom(page, "open=all")
    checks.check("open=all expands every router", all(g["detail_hidden"] is False for g in opened.groups))


def check_fixture(browser: Browser, page: str, rows: t.Sequence[t.Mapping[str, t.Any]], checks: Checks) -> None:
    hosts = [row["host"] for row in rows]
    dom = browser.dom(page)
    checks.check("rows in fleet order", [g["host"] for g in dom.groups] == hosts)
    checks.check("body data-shown = all", dom.body.get("data-shown") == str(len(rows)), str(dom.body))
    checks.check("markup in values stays text", dom.imgs == 0 and "data-pwned" not in dom.body,
                 f"{dom.imgs} img element(s), body {dom.body}")
    for state in STATES:
        want = [row["host"] for row in rows if row["state"] == state]
        got = browser.dom(page, f"state={state}")
        shown = [g["host"] for g in got.visible()]
        checks.check(f"state filter {state} ({len(want)})", shown == want and got.body.get("data-shown") == str(len(want)),
                     f"shown {shown}, want {want}")
    for query in ("openwrt", "gw-01", "ipsec", "wan9", "timed out"):
        want = [row["host"] for row in rows if all(w in _search_text(row) for w in query.lower().split())]
        got = [g["host"] for g in browser.dom(page, "q=" + urllib.parse.quote(query)).visible()]
        checks.check(f"filter box {query!r} ({len(want)})", got == want and len(want) > 0, f"shown {got}, want {want}")
    want = [row["host"] for row in rows if row["state"] == "offloading_sw" and "openwrt" not in _search_text(row)
            and "ipsec" in _search_text(row)]
    got = [g["host"] for g in browser.dom(page, "state=offloading_sw&q=ipsec").visible()]
    checks.check(f"state + filter box together ({len(want)})", got == want and want, f"shown {got}, want {want}")
    got = browser.dom(page, "state=" + urllib.parse.quote("nope\"'<x>") + "&q=")
    checks.check("an unknown state in the hash shows all", len(got.visible()) == len(rows))
    order = sorted(range(len(rows)), key=lambda i: (-_sort_value(rows[i]), i))
    got = browser.dom(page, "sort=offloaded&dir=desc")
    checks.check("sort by offloaded % descending", [g["host"] for g in got.groups] == [hosts[i] for i in order]
                 and got.body.get("data-sort") == "offloaded:desc", f"{[g['host'] for g in got.groups][:8]}")
    got = browser.dom(page, "sort=host&dir=desc")
    checks.check("sort by router descending", [g["host"] for g in got.groups] == sorted(hosts, reverse=True))
    got = browser.dom(page, "sort=state&state=drifted&dir=asc")
    checks.check("sort and filter together",
                 [g["host"] for g in got.visible()] == [r["host"] for r in rows if r["state"] == "drifted"])


def check_schema(json_path: str, history_path: str, checks: Checks) -> None:
    """The report and every history line against the shipped JSON Schema."""
    with open(hi.SCHEMA_PATH, encoding="utf-8") as handle:
        schema = json.load(handle)
    with open(json_path, encoding="utf-8") as handle:
        data = json.load(handle)
    errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    checks.check("JSON: valid against report.schema.json", not errors, "; ".join(errors[:3]))
    lines: t.List[str] = []
    if os.path.exists(history_path):
        with open(history_path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    record = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/history_record"})
    errors = [e.message for line in lines for e in record.iter_errors(json.loads(line))]
    checks.check(f"history: {len(lines)} line(s), each a history_record of the schema", bool(lines) and not errors,
                 "; ".join(errors[:3]))


def write_fixture_history(out: str, rows: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """The history of four runs (three earlier ones of fewer routers, then rows), written by the
    real code as four runs of fleet_report would; the trend of the kept runs."""
    path = hi.history_path(out, "fleet-report")
    if os.path.exists(path):
        os.unlink(path)
    for index, time in enumerate(EARLIER + (GENERATED,)):
        text, old, _warnings, _skipped = hi.read_history(path)
        new = hi.run_records(rows[:len(rows) - 6 * (len(EARLIER) - index)], time)
        kept, mode = hi.plan_history(old, new, 100)
        hi.write_history(path, text, kept, new, mode)
    return hi.trend(hi.read_history(path)[1])


def check_files(paths: t.Mapping[str, str], rows: t.Sequence[t.Mapping[str, t.Any]], checks: Checks) -> None:
    with open(paths["json"], encoding="utf-8") as handle:
        data = json.load(handle)
    checks.check("JSON: one host per row, summary", [h["host"] for h in data["hosts"]] == [r["host"] for r in rows]
                 and data["summary"]["hosts"] == len(rows))
    checks.check("JSON: schema_version 1, generated in ISO 8601 UTC, four runs in the trend",
                 data["schema_version"] == 1 and data["generated"] == GENERATED
                 and [run["time"] for run in data["trend"]] == list(EARLIER) + [GENERATED])
    with open(paths["csv"], encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(io.StringIO(handle.read())))
    checks.check("CSV: one record per row", [r["host"] for r in records] == [r["host"] for r in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--out", required=True, help="folder for the report and the screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--report", help="check this HTML report (a real run's) instead of the fixture fleet")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    browser = Browser(args.chromium, args.out)
    checks = Checks()
    if args.report:
        page = os.path.abspath(args.report)
        with open(os.path.splitext(page)[0] + ".json", encoding="utf-8") as handle:
            total = len(json.load(handle)["hosts"])
        check_generic(browser, page, checks, total)
        with open(os.path.splitext(page)[0] + ".json", encoding="utf-8") as handle:
            data = json.load(handle)
        check_keyboard(args.chromium, CHROMIUM_FLAGS, page, data["hosts"], checks, data["hosts"][0]["state"])
        check_trend(args.chromium, CHROMIUM_FLAGS, page, data["trend"], checks)
        check_schema(os.path.splitext(page)[0] + ".json", os.path.splitext(page)[0] + hi.HISTORY_SUFFIX, checks)
        shot = browser.screenshot(page, "local-report.png", "open=all", "1280,1400")
        print(f"screenshot: {shot}")
    else:
        rows = fleet()
        rows[3] = {**rows[3], "reason": rows[3]["reason"] + " " + EVIL,
                   "devices": rows[3]["devices"] + [{**rows[3]["devices"][0], "name": EVIL}]}
        runs = write_fixture_history(args.out, rows)
        contents, summary = render_all(rows, "flowoffload.nft fleet audit (fixture fleet)", GENERATED, runs,
                                       {"file": "fleet-report" + hi.HISTORY_SUFFIX, "runs": len(runs)})
        _changed, paths = write_report(args.out, "fleet-report", contents, False)
        page = paths["html"]
        print(f"report: {page} ({len(rows)} routers: {json.dumps(summary['states'])})")
        checks.check("fixture fleet: >= 50 routers, every state", len(rows) >= 50 and all(summary["states"].values()))
        check_generic(browser, page, checks, len(rows))
        check_fixture(browser, page, rows, checks)
        check_files(paths, rows, checks)
        check_schema(paths["json"], hi.history_path(args.out, "fleet-report"), checks)
        check_trend(args.chromium, CHROMIUM_FLAGS, page, runs, checks)
        check_keyboard(args.chromium, CHROMIUM_FLAGS, page, rows, checks, "drifted")
        for name, hash_, size in (("report.png", "", "1280,900"),
                                  ("report-drifted-open.png", "state=drifted&open=all", "1280,1600")):
            print(f"screenshot: {browser.screenshot(page, name, hash_, size)}")
    print(f"{checks.passed} passed, {len(checks.failed)} failed ({browser.runs} chromium runs)")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report: rows from registered results (unreachable, failed, missing), the
summary, JSON, CSV (formula cells defused), the HTML page (escaped, self-contained, one
group per router, the chart), and the atomic writes."""
from __future__ import annotations

import csv
import io
import json
import os
import re

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import report as rep
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.page import (
    render_html,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.tests.browser.fleet import KINDS, fleet

GENERATED = "2026-11-27T07:00:00Z"


@pytest.fixture(scope="module", name="rows")
def fleet_rows():
    return fleet(len(KINDS) + 2)


# --- rows ---------------------------------------------------------------------------------------
def test_rows_from_results_for_every_way_a_host_can_end():
    ok = {"changed": False, "audit": {"host": "x", "state": "offloading_sw", "reason": "r"}}
    results = {
        "a": ok,
        "b": {"unreachable": True, "msg": "ssh: connect to host b port 22: No route to host"},
        "c": {"failed": True, "msg": "the read script printed nothing"},
        "d": {"skipped": True, "skip_reason": "Conditional result was False"},
        "e": {"changed": False, "rc": 0},
        "f": {"failed": False, "msg": "something else registered under the name"},
    }
    rows = rep.rows_from_results(["a", "b", "c", "d", "e", "f", "g", "a"], results)
    assert [(r["host"], r["state"]) for r in rows] == [
        ("a", "offloading_sw"), ("b", "unreachable"), ("c", "failed"), ("d", "failed"), ("e", "failed"),
        ("f", "failed"), ("g", "failed")]
    assert rows[1]["error"] == "ssh: connect to host b port 22: No route to host"
    assert rows[2]["reason"] == "the read script printed nothing"
    assert "skipped" in rows[3]["error"] and "no audit row" in rows[4]["error"]
    assert rows[5]["error"] == "something else registered under the name"
    assert "left the play" in rows[6]["error"]
    assert rows[0]["host"] == "a"  # the inventory name, whatever the row said


def test_validate_rows_names_the_bad_row():
    with pytest.raises(FlowOffloadError, match=r"rows\[1\]: not an audit row"):
        rep.validate_rows([{"host": "a", "state": "drifted"}, {"host": "b", "state": "bogus"}])
    with pytest.raises(FlowOffloadError, match="rows: give a list"):
        rep.validate_rows({"host": "a"})
    full = rep.validate_rows([{"host": "a", "state": "drifted"}])[0]
    assert full["drift"] == [] and full["flowtables"]["live"] == []


# --- summary --------------------------------------------------------------------------------------
def test_summary_counts_every_state_and_the_fleets_share(rows):
    summary = rep.summarize(rows)
    assert summary["hosts"] == len(rows) and sum(summary["states"].values()) == len(rows)
    assert list(summary["states"]) == list(STATES) and all(summary["states"].values())
    flows = [r["flows"] for r in rows if r["flows"]]
    total = sum(f["total"] for f in flows)
    soft, hard = sum(f["offload"] for f in flows), sum(f["hw_offload"] for f in flows)
    assert summary["flows"] == {"total": total, "offload": soft, "hw_offload": hard,
                                "offloaded_pct": round(100.0 * (soft + hard) / total, 1),
                                "hw_offloaded_pct": round(100.0 * hard / total, 1)}
    assert summary["offloading"] == summary["states"]["offloading_hw"] + summary["states"]["offloading_sw"]
    assert summary["problem_hosts"] == sorted(r["host"] for r in rows if r["state"] in ("drifted", "unreachable", "failed"))
    line = rep.summary_line(summary)
    assert line.startswith(f"{len(rows)} host(s): ") and f"{summary['states']['drifted']} drifted" in line


def test_summary_of_no_rows():
    summary = rep.summarize([])
    assert summary["hosts"] == 0 and summary["flows"]["offloaded_pct"] == 0.0
    assert rep.summary_line(summary).startswith("0 host(s): none;")


# --- JSON, CSV --------------------------------------------------------------------------------------
def test_json_holds_the_rows_and_the_summary(rows):
    summary = rep.summarize(rows)
    data = json.loads(rep.render_json(rows, summary, "T", GENERATED))
    assert data["schema_version"] == 1 and data["trend"] == [] and data["history"] is None
    assert data["title"] == "T" and data["generated"] == GENERATED and data["summary"] == summary
    assert [h["host"] for h in data["hosts"]] == [r["host"] for r in rows]


def test_csv_one_record_per_row_and_formulas_defused(rows):
    evil = dict(rows[0], host="=HYPERLINK(\"http://x\")", reason="+1", drift=["-2", "@SUM(A1)"])
    records = list(csv.DictReader(io.StringIO(rep.render_csv([evil] + list(rows)))))
    assert len(records) == len(rows) + 1 and list(records[0]) == list(rep.CSV_COLUMNS)
    assert records[0]["host"] == "'=HYPERLINK(\"http://x\")" and records[0]["reason"] == "'+1"
    assert records[0]["drift"] == "'-2; @SUM(A1)"
    by_host = {r["host"]: r for r in records[1:]}
    for row in rows:
        rec = by_host[row["host"]]
        assert rec["state"] == row["state"]
        if row["flows"]:
            assert float(rec["offloaded_pct"]) == row["flows"]["offloaded_pct"]
        else:
            assert rec["flows_total"] == ""


# --- HTML ------------------------------------------------------------------------------------------
def test_html_is_self_contained_with_one_group_per_router(rows):
    page = render_html(rows, rep.summarize(rows), "Fleet", GENERATED)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "<script>" in page and "<svg" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) and "<link" not in page
    assert re.findall(r'<tbody class="fo-host-group" data-host="([^"]+)"', page) == [r["host"] for r in rows]
    assert page.count('class="fo-detail" hidden') == len(rows)
    for state in STATES:
        assert f'<option value="{state}">' in page and f'class="fo-bar" data-state="{state}"' in page


def test_html_escapes_every_value(rows):
    evil = dict(rows[0], host='gw"><script>alert(1)</script>', reason="<b>bold</b> & co",
                devices=[dict(rows[0]["devices"][0], name="<img src=x onerror=alert(1)>")])
    page = render_html([evil], rep.summarize([evil]), "<title>", GENERATED)
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in page
    assert "<title>&lt;title&gt;</title>" in page


def test_chart_bars_scale_with_the_counts(rows):
    summary = rep.summarize(rows)
    page = render_html(rows, summary, "F", GENERATED)
    heights = {m.group(1): float(m.group(2)) for m in re.finditer(
        r'data-state="(\w+)" tabindex="0" role="button" aria-pressed="false" aria-label="[^"]*"><rect x="[\d.]+" y="[\d.]+" width="66" '
        r'height="([\d.]+)"', page)}
    top = max(summary["states"].values())
    assert set(heights) == set(STATES)
    for state, count in summary["states"].items():
        assert heights[state] == max(round(150 * count / top), 1)


# --- files ---------------------------------------------------------------------------------------------
def test_write_report_writes_three_files_then_nothing_when_unchanged(tmp_path, rows):
    contents, summary = rep.render_all(rows, "F", GENERATED)
    dest = str(tmp_path / "new" / "dir")
    changed, paths = rep.write_report(dest, "audit", contents, False)
    assert changed and sorted(os.listdir(dest)) == ["audit.csv", "audit.html", "audit.json"]
    assert paths == {ext: os.path.join(dest, f"audit.{ext}") for ext in ("html", "json", "csv")}
    with open(paths["json"], encoding="utf-8") as handle:
        assert json.load(handle)["summary"] == summary
    assert oct(os.stat(paths["html"]).st_mode & 0o777) == "0o644"
    assert rep.write_report(dest, "audit", contents, False)[0] is False
    assert sorted(os.listdir(dest)) == ["audit.csv", "audit.html", "audit.json"]  # no temporary file left


def test_check_mode_writes_nothing_but_says_it_would(tmp_path, rows):
    contents, _summary = rep.render_all(rows, "F", GENERATED)
    changed, _paths = rep.write_report(str(tmp_path / "r"), "audit", contents, True)
    assert changed and not os.path.exists(tmp_path / "r")


def test_dest_that_is_a_file_and_bad_basenames_are_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FlowOffloadError, match="dest: .* is not a directory"):
        rep.write_report(str(tmp_path / "f"), "a", {"html": "", "json": "", "csv": ""}, False)
    for bad in ("../x", "a/b", "", ".hidden", "a b"):
        with pytest.raises(FlowOffloadError, match="basename: "):
            rep.validate_basename(bad)
    assert rep.validate_basename("fleet-2026.11_27") == "fleet-2026.11_27"


def test_unwritable_dest_names_the_path(tmp_path):
    if os.geteuid() == 0:
        target = "/proc/flowoffload-audit-test"  # even root cannot create files in /proc
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        target = str(tmp_path / "ro")
    with pytest.raises(FlowOffloadError, match="dest: cannot write .*audit.html"):
        rep.write_report(target, "audit", {"html": "a", "json": "b", "csv": "c"}, False)

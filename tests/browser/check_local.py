# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of a real audit run (tests/browser/audit-local): its log, its JSON report and the
history beside it (two runs: the playbook ran twice).

usage: check_local.py PLAYBOOK_LOG REPORT_JSON
"""
from __future__ import annotations

import json
import os
import re
import sys
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES


def custom_stats(log: str) -> t.Dict[str, t.Any]:
    """The set_stats data the default callback prints (ANSIBLE_SHOW_CUSTOM_STATS, JSON format)."""
    match = re.search(r"^CUSTOM STATS: \*+\s*\n+\s*RUN: (\{.*\})\s*$", log, re.M)
    if not match:
        raise AssertionError("no CUSTOM STATS RUN line in the log (set_stats did not run?)")
    return json.loads(match.group(1))


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as handle:
        log = handle.read()
    with open(sys.argv[2], encoding="utf-8") as handle:
        report = json.load(handle)
    failures = []

    def check(name: str, ok: bool, detail: t.Any = "") -> None:
        print(("ok    " if ok else "FAIL  ") + name + ("" if ok else f": {detail}"))
        if not ok:
            failures.append(name)

    rows = {row["host"]: row for row in report["hosts"]}
    check("one row per host of the play", sorted(rows) == ["localhost", "unreachable-gw"], sorted(rows))
    local = rows.get("localhost") or {}
    check("this host was audited (not failed/unreachable)", local.get("state") in STATES[:6],
          f"{local.get('state')}: {local.get('reason')}")
    software = (local.get("kernel") or {}).get("software_offload") or {}
    if software.get("supported") is False:
        check("a kernel without flowtables is reported unsupported, with nft's ENOENT",
              local["state"] == "unsupported" and "ENOENT" in local["reason"], local.get("reason"))
    check("platform and devices read", bool((local.get("platform") or {}).get("os_family")) and bool(local.get("devices")))
    down = rows.get("unreachable-gw") or {}
    check("the unreachable host is in the report as such", down.get("state") == "unreachable" and down.get("error"), down)
    stats = custom_stats(log).get("flowoffload_audit") or {}
    check("set_stats holds the report's summary", {k: v for k, v in stats.items() if k != "report"} == report["summary"],
          stats)
    check("set_stats names the report files", sorted(stats.get("report") or {}) == ["csv", "html", "json"], stats)
    summary_line = re.search(r'"msg": "(2 host\(s\): [^"]*)"', log)
    check("the summary is printed at the end", bool(summary_line) and "1 unreachable" in summary_line.group(1),
          summary_line.group(1) if summary_line else "no summary line")
    check("the report's time is ISO 8601 UTC, schema_version 1",
          bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(report.get("generated"))))
          and report.get("schema_version") == 1, report.get("generated"))
    with open(os.path.join(os.path.dirname(sys.argv[2]), "flowoffload-audit-history.jsonl"), encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    runs = sorted({record["time"] for record in records})
    check("the history holds both runs, one record per host each",
          len(runs) == 2 and runs[-1] == report.get("generated")
          and sorted((r["time"], r["router"]) for r in records) == sorted((time, host) for time in runs for host in rows),
          [(r["time"], r["router"], r["state"]) for r in records])
    check("the report's trend is the history's", [run["time"] for run in report.get("trend") or []] == runs
          and report.get("history") == {"file": "flowoffload-audit-history.jsonl", "runs": 2}, report.get("trend"))
    print(f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

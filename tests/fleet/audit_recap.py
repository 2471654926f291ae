# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit is read-only: its PLAY RECAP must say changed=0 for every router (issue 16
point 3: the report write, run_once and delegated to localhost, was counted against the
play's first router). Only the controller itself (localhost) may show a change.

    python tests/fleet/audit_recap.py AUDIT_LOG FLEET_JSON

FLEET_JSON is lab/fleet's fleet.json (router -> seeded pattern): every router in it must be
in the recap once, with changed=0 and failed=0. Prints one line (and FAIL lines) and exits 1
on a problem.
"""
from __future__ import annotations

import json
import os
import sys
import typing as t

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from fleet import recap  # noqa: E402  pylint: disable=wrong-import-position,import-error

CONTROLLER = ("localhost", "127.0.0.1")


def check_audit_recap(text: str, routers: t.Iterable[str]) -> list[str]:
    """Problems of the audit's recap: a router missing from it, or changed/failed above 0;
    any host that is not a router nor the controller with a change."""
    rows = recap(text)
    wanted = sorted(routers)
    problems = []
    for host in wanted:
        row = rows.get(host)
        if row is None:
            problems.append(f"{host}: not in the PLAY RECAP")
        elif row["changed"] or row["failed"]:
            problems.append(f"{host}: changed={row['changed']} failed={row['failed']} (a read-only audit: "
                            "want changed=0, failed=0)")
    for host, row in rows.items():
        if host not in wanted and host not in CONTROLLER and row["changed"]:
            problems.append(f"{host}: changed={row['changed']} (not a router of the fleet, not the controller)")
    return problems


def main(argv: t.Sequence[str]) -> int:
    log, fleet_json = argv
    with open(fleet_json, encoding="utf-8") as handle:
        routers = list(json.load(handle))
    with open(log, encoding="utf-8") as handle:
        problems = check_audit_recap(handle.read(), routers)
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"{'ok' if not problems else 'FAILED'}: audit recap: changed=0 on all {len(routers)} routers"
          + (f" ({len(problems)} problem(s))" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks of tests/fleet/run's issue 17 steps (pure; the command line at the bottom).

rollout: the gateway playbook in batches where a router of the first batch fails its
health check. The run fails; the first batch's healthy router changed; the failing router
is as before (rolled back); no router of a later batch is in the recap, and each is byte
for byte as before (lab/fleet snapshot before and after). With --confirmed / --rolled-back
the log (-v, ANSIBLE_CALLBACK_RESULT_FORMAT=json: one result per line) must also show the
commit-confirmed outcome: the role's result of each --confirmed router with
rollback.confirmed true after a passed health check, the failure of each --rolled-back
router saying that its health check failed and the change was rolled back at once.

    python tests/fleet/rollout.py rollout LOG RC BEFORE AFTER --ok r07 --failing r09 --later r10 r17 ... \
        [--confirmed r07] [--rolled-back r09]

audit-fail: the audit with one router unreachable. The run fails (rc != 0), a failure line
names the router as unreachable, and the report still holds every router (the cut one
unreachable, the others as seeded: bench/fleet.py check_report).

    python tests/fleet/rollout.py audit-fail LOG RC REPORT FLEET_JSON --cut r03
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import typing as t

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from fleet import check_report, recap, report  # pylint: disable=wrong-import-position,import-error


def snapshots(text: str) -> dict[str, str]:
    """lab/fleet snapshot output -> router -> its section (the lines after "== rNN")."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.match(r"^== (r\d+)$", line)
        if match:
            current = out.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    return {router: "\n".join(lines) for router, lines in out.items()}


RESULT = re.compile(r"^(ok|changed|fatal): \[(r\d+)\](?:: FAILED!)? => (\{.*\})\s*$")


def results(text: str, router: str) -> list[tuple[str, dict[str, t.Any]]]:
    """The task results of one router in a -v log with one JSON result per line."""
    out = []
    for line in text.splitlines():
        match = RESULT.match(line)
        if match and match.group(2) == router:
            try:
                out.append((match.group(1), json.loads(match.group(3))))
            except ValueError:
                continue
    return out


ROLLED_BACK = ("health_check failed on the router after the change",
               "the change was rolled back at once: the router is in the state before this run")


def check_rollback(text: str, confirmed: t.Sequence[str], rolled_back: t.Sequence[str]) -> list[str]:
    """Problems of the commit-confirmed outcome (see the module doc)."""
    problems = []
    for router in confirmed:
        rollbacks = [res.get("rollback") for _task, res in results(text, router) if isinstance(res.get("rollback"), dict)]
        if not any(r.get("armed") and r.get("confirmed") and (r.get("health_check") or {}).get("rc") == 0
                   for r in rollbacks):
            problems.append(f"{router}: no result with a rollback armed and confirmed after a passed health "
                            f"check (rollback results: {rollbacks})")
    for router in rolled_back:
        fatal = [r for status, r in results(text, router) if status == "fatal"]
        if not any(all(part in str(r.get("msg", "")) for part in ROLLED_BACK)
                   and (r.get("rollback") or {}).get("confirmed") is False for r in fatal):
            said = "; ".join(str(r.get("msg", ""))[:300] for r in fatal) or "no failure result"
            problems.append(f"{router}: no failure saying its health check failed and the change was rolled "
                            f"back at once ({said})")
    return problems


def check_rollout(text: str, rc: int, before: str, after: str, ok: t.Sequence[str], failing: t.Sequence[str],
                  later: t.Sequence[str], confirmed: t.Sequence[str] = (),
                  rolled_back: t.Sequence[str] = ()) -> list[str]:
    """Problems of a rollout that must stop after its first batch (see the module doc)."""
    problems = check_rollback(text, confirmed, rolled_back)
    if rc == 0:
        problems.append("the rollout ended with rc 0 (want a failure: a router of the first batch failed)")
    rows, old, new = recap(text), snapshots(before), snapshots(after)
    for router in ok:
        row = rows.get(router)
        if row is None or row["failed"] or row["unreachable"] or not row["changed"]:
            problems.append(f"{router} (first batch, healthy): recap {row} (want changed, no failure)")
        if router in old and old.get(router) == new.get(router):
            problems.append(f"{router} (first batch, healthy): the snapshot did not change (the rollout "
                            "changed nothing, or the snapshot cannot see it)")
    for router in failing:
        row = rows.get(router)
        if row is None or not row["failed"]:
            problems.append(f"{router} (first batch, failing): recap {row} (want failed=1)")
    for router in list(failing) + list(later):
        if router not in old or router not in new:
            problems.append(f"{router}: no snapshot {'before' if router not in old else 'after'} the rollout")
        elif old[router] != new[router]:
            changed = sorted(set(old[router].splitlines()) ^ set(new[router].splitlines()))
            problems.append(f"{router}: changed by a rollout that should have left it alone: "
                            + "; ".join(changed[:6]))
    for router in later:
        if router in rows:
            problems.append(f"{router} (later batch): in the recap {rows[router]} (want: never started)")
    return problems


def check_audit_failure(text: str, rc: int, report: t.Mapping[str, t.Any],
                        expected: t.Mapping[str, t.Mapping[str, t.Any]], cut: str) -> list[str]:
    """Problems of an audit that must fail naming the unreachable router (module doc)."""
    problems = []
    if rc == 0:
        problems.append("the audit ended with rc 0 (want a failure: a router is unreachable)")
    if not re.search(rf"^fatal: \[{re.escape(cut)}\]: FAILED!", text, re.MULTILINE) or \
            f"{cut} is unreachable (listed in audit_fail_on" not in text:
        problems.append(f"no failure line naming {cut} as unreachable (listed in audit_fail_on)")
    row = recap(text).get(cut)
    if row is None or not row["failed"]:
        problems.append(f"{cut}: recap {row} (want failed=1)")
    others = [host for host, r in recap(text).items() if host != cut and r["failed"]]
    if others:
        problems.append(f"routers other than {cut} failed: {', '.join(sorted(others))}")
    want = {host: dict(w) for host, w in expected.items()}
    if cut not in want:
        problems.append(f"{cut} is not a router of the fleet")
    else:
        want[cut].update(state="unreachable", conflicts=False, missing=False)
    problems.extend(check_report(report, want))
    return problems


def main(argv: t.Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description="checks of the fleet's rollout and failing audit")
    sub = parser.add_subparsers(dest="cmd", required=True)
    roll = sub.add_parser("rollout")
    roll.add_argument("log")
    roll.add_argument("rc", type=int)
    roll.add_argument("before")
    roll.add_argument("after")
    roll.add_argument("--ok", nargs="+", required=True)
    roll.add_argument("--failing", nargs="+", required=True)
    roll.add_argument("--later", nargs="+", required=True)
    roll.add_argument("--confirmed", nargs="+", default=[])
    roll.add_argument("--rolled-back", nargs="+", default=[])
    aud = sub.add_parser("audit-fail")
    aud.add_argument("log")
    aud.add_argument("rc", type=int)
    aud.add_argument("report")
    aud.add_argument("fleet_json")
    aud.add_argument("--cut", required=True)
    args = parser.parse_args(argv)

    def read(path: str) -> str:
        with open(path, encoding="utf-8") as handle:
            return handle.read()

    if args.cmd == "rollout":
        problems = check_rollout(read(args.log), args.rc, read(args.before), read(args.after),
                                 args.ok, args.failing, args.later, args.confirmed, args.rolled_back)
        what = (f"rollout stopped after the first batch ({', '.join(args.ok)} changed, {', '.join(args.failing)} "
                f"failed and is as before); {len(args.later)} router(s) of later batches untouched")
        if args.confirmed or args.rolled_back:
            what += (f"; commit-confirmed: {', '.join(args.confirmed) or 'none'} confirmed, "
                     f"{', '.join(args.rolled_back) or 'none'} rolled back on a failed health check")
    else:
        problems = check_audit_failure(read(args.log), args.rc, json.loads(read(args.report)),
                                       json.loads(read(args.fleet_json)), args.cut)
        what = f"audit failed (rc {args.rc}) naming {args.cut} unreachable; the report lists every router"
    return report(problems, what)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers for the simulated fleet (lab/fleet): per-host round trips and recap from
ansible-playbook output, and the check of the audit report against the seeded mix.

Used by tests/fleet/run (``python bench/fleet.py check|trips ...``) and bench/run.py's
fleet section. No I/O except the command line at the bottom.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import typing as t

# -vvv: one "SSH: EXEC ssh ... -o 'User="rNN"' ..." line per ssh process (a round trip).
_EXEC_RE = re.compile(r"SSH: EXEC (?:ssh|sftp|scp)\b.*?User=\\?\"?(r\d+)")
_RECAP_RE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def round_trips_per_host(text: str) -> t.Dict[str, int]:
    """rNN -> number of ssh processes ansible-playbook -vvv started for it."""
    out: t.Dict[str, int] = {}
    for line in text.splitlines():
        match = _EXEC_RE.search(line)
        if match:
            out[match.group(1)] = out.get(match.group(1), 0) + 1
    return out


def recap(text: str) -> t.Dict[str, t.Dict[str, int]]:
    """host -> ok/changed/unreachable/failed from the PLAY RECAP lines."""
    return {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                         "failed": int(m.group(5))} for m in _RECAP_RE.finditer(text)}


def check_idempotent(text: str, hosts: t.Sequence[str]) -> t.List[str]:
    """Problems of an idempotent run: every host once in the recap with changed=0 and no
    failure, and exactly one round trip per host."""
    problems = []
    rec, trips = recap(text), round_trips_per_host(text)
    for host in hosts:
        row = rec.get(host)
        if row is None:
            problems.append(f"{host}: not in the PLAY RECAP")
            continue
        if row["changed"] or row["failed"] or row["unreachable"]:
            problems.append(f"{host}: changed={row['changed']} failed={row['failed']} "
                            f"unreachable={row['unreachable']} (want changed=0, no failure)")
        if trips.get(host, 0) != 1:
            problems.append(f"{host}: {trips.get(host, 0)} SSH round trips (want 1)")
    return problems


def check_report(report: t.Mapping[str, t.Any], expected: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.List[str]:
    """Problems of the audit's JSON report against lab/fleet's seeded mix (fleet.json):
    every router present once, its state the seeded one, conflicts and missing devices
    reported exactly where seeded."""
    problems = []
    rows = report.get("hosts")
    if not isinstance(rows, list):
        return ["the report has no list 'hosts'"]
    by_host: t.Dict[str, t.Mapping[str, t.Any]] = {}
    for row in rows:
        host = str(row.get("host"))
        if host in by_host:
            problems.append(f"{host}: more than one row")
        by_host[host] = row
    for host, want in sorted(expected.items()):
        row = by_host.get(host)
        if row is None:
            problems.append(f"{host}: no row in the report")
            continue
        if row.get("state") != want["state"]:
            problems.append(f"{host} (seed {want['seed']}): state {row.get('state')!r}, seeded {want['state']!r} "
                            f"(reason: {row.get('reason')})")
        if bool(row.get("conflicts")) != bool(want["conflicts"]):
            problems.append(f"{host} (seed {want['seed']}): conflicts {row.get('conflicts')!r}, "
                            f"seeded {'some' if want['conflicts'] else 'none'}")
        if bool(row.get("missing_devices")) != bool(want["missing"]):
            problems.append(f"{host} (seed {want['seed']}): missing devices {row.get('missing_devices')!r}, "
                            f"seeded {'some' if want['missing'] else 'none'}")
    extra = sorted(set(by_host) - set(expected))
    if extra:
        problems.append(f"rows for hosts that are not in the fleet: {', '.join(extra)}")
    summary = report.get("summary") or {}
    if summary.get("hosts") != len(expected):
        problems.append(f"summary counts {summary.get('hosts')} host(s), the fleet has {len(expected)}")
    return problems


def state_counts(expected: t.Mapping[str, t.Mapping[str, t.Any]]) -> t.Dict[str, int]:
    out: t.Dict[str, int] = {}
    for want in expected.values():
        out[want["state"]] = out.get(want["state"], 0) + 1
    return dict(sorted(out.items()))


def run_figures(wall: float, text: str, hosts: int) -> t.Dict[str, t.Any]:
    """One measured playbook run: wall time, round trips per host (min/max), changed."""
    trips = round_trips_per_host(text)
    counts = list(trips.values()) or [0]
    rec = recap(text)
    return {"wall": wall, "hosts": hosts, "trips_min": min(counts), "trips_max": max(counts),
            "trips_total": sum(counts), "changed": sum(r["changed"] for r in rec.values()),
            "failed": sum(r["failed"] + r["unreachable"] for r in rec.values())}


def render_fleet(fleet: t.Mapping[str, t.Any]) -> t.List[str]:
    """The fleet section of scripts/bench's table: one column per fleet size."""
    sizes = fleet["sizes"]
    row = "  {:<44}" + " {:>16}" * len(sizes)
    out = [f"5. simulated fleet in one VM (lab/fleet), forks {fleet['forks']}",
           row.format("", *[f"{n} routers" for n in sizes])]
    for key, label in (("gateway", "gateway role, first (changing) run"),
                       ("idempotent", "gateway role, idempotent re-run"),
                       ("audit", "audit playbook, whole fleet")):
        runs = [fleet["runs"][str(n)][key] for n in sizes]
        out.append(row.format(f"{label}: wall", *[f"{r['wall']:.1f} s" for r in runs]))
        out.append(row.format("  per host (wall / hosts)", *[f"{r['wall'] / max(r['hosts'], 1):.2f} s" for r in runs]))
        out.append(row.format("  SSH round trips per host (min-max)",
                              *[f"{r['trips_min']}-{r['trips_max']}" for r in runs]))
        out.append(row.format("  hosts / changed / failed",
                              *[f"{r['hosts']} / {r['changed']} / {r['failed']}" for r in runs]))
    out.append(row.format("fleet build (lab/fleet up)", *[f"{fleet['runs'][str(n)]['build']:.1f} s" for n in sizes]))
    if fleet.get("load"):
        out.append(f"  host load average at the start: {fleet['load']}")
    out.append("")
    return out


def main(argv: t.Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description="checks for the simulated fleet (lab/fleet)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rep = sub.add_parser("report", help="check the audit's JSON report against fleet.json")
    rep.add_argument("report")
    rep.add_argument("fleet_json")
    idem = sub.add_parser("idempotent", help="check an idempotent -vvv run: changed=0, 1 round trip per host")
    idem.add_argument("log")
    idem.add_argument("fleet_json")
    args = parser.parse_args(argv)
    with open(args.fleet_json, encoding="utf-8") as handle:
        expected = json.load(handle)
    if args.cmd == "report":
        with open(args.report, encoding="utf-8") as handle:
            problems = check_report(json.load(handle), expected)
        what = f"audit report: {len(expected)} routers, seeded {state_counts(expected)}"
    else:
        with open(args.log, encoding="utf-8") as handle:
            problems = check_idempotent(handle.read(), [h for h, w in sorted(expected.items()) if w["configured"]])
        what = "idempotent gateway run: changed=0 and 1 SSH round trip on every configured router"
    return report(problems, what)


def report(problems: t.Sequence[str], what: str) -> int:
    """Print each problem and one verdict line; the exit status (1 when anything failed)."""
    for problem in problems:
        print(f"FAIL {problem}")
    print(f"{'ok' if not problems else 'FAILED'}: {what}" + (f" ({len(problems)} problem(s))" if problems else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

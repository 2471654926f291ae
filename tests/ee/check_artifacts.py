#!/usr/bin/env python3
"""Check one ansible-runner job's artifacts the way AWX reads them.

    check_artifacts.py ARTIFACT_DIR [--changed N | --changed-min N] [--stats KEY]
                       [--stats-expect PATH=VALUE ...] [--hosts N]

ARTIFACT_DIR is <private_data_dir>/artifacts/<ident>. AWX takes a job's status from the
runner's `status`/`rc`, the per-host counts from the `playbook_on_stats` event and the
job's artifacts (what `set_stats` handed over) from that event's `artifact_data`.
Prints one JSON line (status, rc, counts, artifact keys, events); exits 1 with the reasons
when an expectation fails.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import typing


def load_events(artifact_dir: pathlib.Path) -> list[dict[str, typing.Any]]:
    """The job's events in the order the runner wrote them."""
    events = []
    for path in (artifact_dir / "job_events").glob("*.json"):
        events.append(json.loads(path.read_text(encoding="utf-8")))
    events.sort(key=lambda event: event.get("counter", 0))
    return events


def summarize(artifact_dir: pathlib.Path) -> dict[str, typing.Any]:
    """status, rc, the stats event's counts per category and its artifact_data."""
    status = (artifact_dir / "status").read_text(encoding="utf-8").strip()
    rc = int((artifact_dir / "rc").read_text(encoding="utf-8").strip())
    events = load_events(artifact_dir)
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    counts: dict[str, int] = {}
    hosts: set[str] = set()
    artifact_data: dict[str, typing.Any] = {}
    if stats:
        data = stats[-1].get("event_data", {})
        for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"):
            per_host = data.get(key) or {}
            hosts.update(per_host)
            counts[key] = sum(per_host.values())
        artifact_data = data.get("artifact_data") or {}
    return {
        "status": status,
        "rc": rc,
        "events": len(events),
        "stats_event": bool(stats),
        "hosts": len(hosts),
        "counts": counts,
        "artifact_data": artifact_data,
    }


def lookup(data: typing.Any, dotted: str) -> typing.Any:
    """data['a']['b'] for 'a.b'; KeyError names the missing part."""
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            raise KeyError(part)
        data = data[part]
    return data


def check(summary: dict[str, typing.Any], args: argparse.Namespace) -> list[str]:
    """The reasons the job does not meet the expectations (empty: it does)."""
    problems = []
    if summary["status"] != "successful" or summary["rc"] != 0:
        problems.append(f"status {summary['status']} rc {summary['rc']} (expected successful, 0)")
    if not summary["stats_event"]:
        problems.append("no playbook_on_stats event in job_events")
    counts = summary["counts"]
    for key in ("failures", "dark"):
        if counts.get(key):
            problems.append(f"{key}={counts[key]} (expected 0)")
    changed = counts.get("changed", 0)
    if args.changed is not None and changed != args.changed:
        problems.append(f"changed={changed} (expected {args.changed})")
    if args.changed_min is not None and changed < args.changed_min:
        problems.append(f"changed={changed} (expected at least {args.changed_min})")
    if args.hosts is not None and summary["hosts"] != args.hosts:
        problems.append(f"{summary['hosts']} hosts in the stats (expected {args.hosts})")
    if args.stats and args.stats not in summary["artifact_data"]:
        problems.append(f"set_stats key {args.stats!r} missing from artifact_data "
                        f"(keys: {sorted(summary['artifact_data'])})")
    for item in args.stats_expect:
        path, _, expected = item.partition("=")
        try:
            value = lookup(summary["artifact_data"], path)
        except KeyError as exc:
            problems.append(f"artifact_data has no {path} (missing {exc})")
            continue
        if json.dumps(value) != expected and str(value) != expected:
            problems.append(f"artifact_data {path}={json.dumps(value)} (expected {expected})")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, print the summary line, return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact_dir", type=pathlib.Path)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--changed", type=int)
    group.add_argument("--changed-min", type=int)
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--stats", help="a key set_stats must have handed over")
    parser.add_argument("--stats-expect", action="append", default=[], metavar="PATH=VALUE",
                        help="a value in artifact_data (dotted path, JSON or plain text)")
    args = parser.parse_args(argv)
    try:
        summary = summarize(args.artifact_dir)
    except (OSError, ValueError) as exc:
        print(f"ERROR: cannot read the runner's artifacts in {args.artifact_dir}: {exc}",
              file=sys.stderr)
        return 1
    print(json.dumps(summary, sort_keys=True))
    problems = check(summary, args)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

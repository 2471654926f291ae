# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's history (private): one JSON Lines record per router and run, beside the report.

- ``run_records(rows, time)``: the records of this run (``history_record`` in
  ``report.schema.json``);
- ``read_history(path)``: the records of the file and a warning per line that is not one
  (a corrupt line is skipped, never fatal);
- ``plan_history(old, new, keep)``: the runs kept (the last ``keep`` by time; a run whose
  time is already in the file replaces it) and how to write them: append, rewrite or nothing;
- ``write_history``: an append is ONE ``write`` on a file opened with ``O_APPEND``; a
  rewrite (trimming, a replaced run; unreadable lines go then) a temporary file renamed
  over it;
- ``trend(records)``: per run, the routers per state and the fleet's offloaded share.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError

SCHEMA_VERSION = 1
# The JSON Schema of the report (BASENAME.json); its $defs.history_record is a history line.
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report.schema.json")
HISTORY_SUFFIX = "-history.jsonl"
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_COUNTS = ("flows_total", "flows_offload", "flows_hw_offload")
_MAX_WARNINGS = 5

Record = t.Dict[str, t.Any]


def iso_utc(moment: datetime.datetime) -> str:
    """2026-12-08T01:23:45Z (seconds, UTC)."""
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: t.Any) -> str:
    """An ISO 8601 time with a zone (Z or +hh:mm) -> the same moment as 2026-12-08T01:23:45Z."""
    text = str(value or "").strip()
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise FlowOffloadError(f"generated: {value!r} is not an ISO 8601 time with a zone; give e.g. "
                               "2026-12-08T01:23:45Z (UTC) or 2026-12-08T02:23:45+01:00, or leave it out for now")
    return iso_utc(moment)


def history_path(dest: str, basename: str) -> str:
    return os.path.join(dest, basename + HISTORY_SUFFIX)


def run_records(rows: t.Sequence[t.Mapping[str, t.Any]], time: str) -> list[Record]:
    """One record per row, for the run at time."""
    out = []
    for row in rows:
        flows = row.get("flows") or None
        out.append({
            "schema_version": SCHEMA_VERSION, "time": time, "router": str(row["host"]), "state": row["state"],
            "flows_total": int(flows["total"]) if flows else None,
            "flows_offload": int(flows["offload"]) if flows else None,
            "flows_hw_offload": int(flows["hw_offload"]) if flows else None,
            "offloaded_pct": flows.get("offloaded_pct") if flows else None,
            "hardware_capable": bool(row.get("hardware_capable")),
        })
    return out


def _problem(record: t.Any) -> str:
    """Why record is not a history record ('' when it is one)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("schema_version") != SCHEMA_VERSION:
        return f"schema_version {record.get('schema_version')!r}, this collection reads {SCHEMA_VERSION}"
    if not isinstance(record.get("time"), str) or not TIME_RE.match(record["time"]):
        return f"time {record.get('time')!r} is not an ISO 8601 UTC time (2026-12-08T01:23:45Z)"
    if not isinstance(record.get("router"), str) or not record["router"]:
        return "no router"
    if record.get("state") not in STATES:
        return f"state {record.get('state')!r} is not one of the report's"
    for key in _COUNTS:
        value = record.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            return f"{key} {value!r} is not a count"
    return ""


def parse_history(text: str, path: str) -> tuple[list[Record], list[str], int]:
    """(records, warnings, lines skipped) of a history file's text."""
    records: list[Record] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: not JSON ({exc.msg})")
            continue
        problem = _problem(record)
        if problem:
            problems.append(f"line {number}: {problem}")
            continue
        records.append(record)
    warnings = [f"history {path}: {problem}; the line is skipped" for problem in problems[:_MAX_WARNINGS]]
    if len(problems) > _MAX_WARNINGS:
        warnings.append(f"history {path}: {len(problems) - _MAX_WARNINGS} more line(s) skipped")
    return records, warnings, len(problems)


def read_history(path: str) -> tuple[str, list[Record], list[str], int]:
    """(text, records, warnings, lines skipped); a missing file is an empty history."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            text = handle.read()
    except (FileNotFoundError, NotADirectoryError):  # no history yet; a dest that is a file fails its write
        return "", [], [], 0
    except OSError as exc:
        raise FlowOffloadError(f"history_runs: cannot read the history {path}: {exc.strerror or exc}; make it "
                               "readable, or set history_runs: 0", path=path) from None
    records, warnings, skipped = parse_history(text, path)
    return text, records, warnings, skipped


def by_run(records: t.Iterable[Record]) -> dict[str, list[Record]]:
    """time -> its records, oldest run first."""
    runs: dict[str, list[Record]] = {}
    for record in records:
        runs.setdefault(record["time"], []).append(record)
    return dict(sorted(runs.items()))


def plan_history(old: t.Sequence[Record], new: t.Sequence[Record], keep: int) -> tuple[list[Record], str]:
    """(records kept, mode): the last keep runs by time with new's run in them (replacing a run
    of the same time). mode: 'none' (the file holds that already), 'append' (new's lines go
    after the file's) or 'rewrite' (trimmed or a run replaced). Unreadable lines stay in the
    file on an append and go on a rewrite."""
    before = by_run(old)
    runs = dict(before)
    time = new[0]["time"] if new else None
    if time is not None:
        runs[time] = list(new)
    kept_runs = dict(list(sorted(runs.items()))[-keep:]) if keep > 0 else {}
    kept = [record for records in kept_runs.values() for record in records]
    if kept_runs == before:
        return kept, "none"
    appends = time is not None and time not in before and (not before or max(before) < time) \
        and len(runs) == len(kept_runs)
    return kept, "append" if appends else "rewrite"


def write_atomic(path: str, content: str) -> None:
    """content into path: a temporary file in the same folder, renamed over path."""
    folder = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _line(record: Record) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def write_history(path: str, text: str, kept: t.Sequence[Record], new: t.Sequence[Record], mode: str) -> None:
    """Write the plan of plan_history; text is the file as read (an append after a line that
    lacks its newline starts with one)."""
    try:
        if mode == "append":
            data = ("\n" if text and not text.endswith("\n") else "") + "".join(_line(r) for r in new)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, data.encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        elif mode == "rewrite":
            write_atomic(path, "".join(_line(r) for r in kept))
    except OSError as exc:
        raise FlowOffloadError(f"dest: cannot write the history {path}: {exc.strerror or exc}; give a writable "
                               "directory, or set history_runs: 0", path=path) from None


def trend(records: t.Iterable[Record]) -> list[dict[str, t.Any]]:
    """Per run, oldest first: time, routers, routers per state, the fleet's offloaded shares."""
    out = []
    for time, records_ in by_run(records).items():
        states = {state: 0 for state in STATES}
        total = soft = hard = 0
        for record in records_:
            states[record["state"]] += 1
            total += record.get("flows_total") or 0
            soft += record.get("flows_offload") or 0
            hard += record.get("flows_hw_offload") or 0
        out.append({"time": time, "hosts": len(records_), "states": states,
                    "offloaded_pct": round(100.0 * (soft + hard) / total, 1) if total else 0.0,
                    "hw_offloaded_pct": round(100.0 * hard / total, 1) if total else 0.0,
                    "hardware_capable_hosts": sum(1 for r in records_ if r.get("hardware_capable"))})
    return out

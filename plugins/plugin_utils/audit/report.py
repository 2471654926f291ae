# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report of the audit: rows -> summary, JSON, CSV, files (private).

- ``rows_from_results(hosts, results)``: one row per host from the registered results of
  ``offload_audit`` (a host without a result, unreachable or failed gets a row saying so);
- ``summarize(rows)`` / ``summary_line``: the counts per state, the fleet's offloaded
  share, for the end of the run and ``set_stats``;
- ``render_json`` / ``render_csv`` here, ``render_html`` in ``page``; the JSON carries
  ``schema_version`` (``history.SCHEMA_VERSION``) and follows ``report.schema.json``;
- ``write_report(dest, basename, ...)``: the three files, each written atomically
  (a temporary file in ``dest``, then renamed over the old one). The history beside them
  is ``history``'s.
"""
from __future__ import annotations

import csv
import io
import json
import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.history import SCHEMA_VERSION, write_atomic
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.page import render_html
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError

CSV_COLUMNS = ("host", "state", "reason", "platform", "kernel", "software_offload", "modules", "package",
               "flowtables_live", "flowtables_configured", "drift", "missing_devices", "hardware_capable",
               "devices", "flows_total", "flows_offload", "flows_hw_offload", "offloaded_pct", "hw_offloaded_pct",
               "conflicts", "error")
EXTENSIONS = ("html", "json", "csv")
_BASENAME_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def failure_row(host: str, state: str, error: str) -> dict[str, t.Any]:
    """The row of a host the audit could not read (state unreachable or failed)."""
    return {"host": host, "state": state, "reason": error, "platform": {}, "kernel": {}, "package": {},
            "nft_version": None, "flowtables": {"live": [], "configured": [], "unmanaged": [], "files": [], "uci": {}},
            "drift": [], "missing_devices": [], "devices": [], "hardware_capable": [], "flows": None,
            "conflicts": [], "warnings": [], "error": error}


def row_from_result(host: str, result: t.Any) -> dict[str, t.Any]:
    """The row of one host from its registered ``offload_audit`` result (or None)."""
    if not isinstance(result, t.Mapping):
        return failure_row(host, "failed", "no audit result: the host left the play before the audit ran "
                                           "(unreachable or failed earlier)")
    msg = str(result.get("msg") or "").strip()
    if result.get("unreachable"):
        return failure_row(host, "unreachable", msg or "the host could not be reached")
    if result.get("failed"):
        return failure_row(host, "failed", msg or "the audit task failed")
    if result.get("skipped"):
        return failure_row(host, "failed", "the audit task was skipped on this host" + (f": {msg}" if msg else ""))
    row = result.get("audit")
    if not isinstance(row, t.Mapping) or row.get("state") not in STATES:
        return failure_row(host, "failed", msg or "the result holds no audit row (is it offload_audit's?)")
    return {**dict(row), "host": host}


def rows_from_results(hosts: t.Sequence[str], results: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """One row per host, in the order of hosts (each host once)."""
    seen: set[str] = set()
    rows = []
    for host in hosts:
        if host in seen:
            continue
        seen.add(host)
        rows.append(row_from_result(host, results.get(host)))
    return rows


def validate_rows(rows: t.Any) -> list[dict[str, t.Any]]:
    """Rows given directly (option rows): each a mapping with a host and a known state."""
    if not isinstance(rows, (list, tuple)):
        raise FlowOffloadError("rows: give a list of audit rows (the audit values of offload_audit's results)")
    out = []
    for index, row in enumerate(rows):
        if not isinstance(row, t.Mapping) or not row.get("host") or row.get("state") not in STATES:
            raise FlowOffloadError(f"rows[{index}]: not an audit row; each needs host and state "
                                   f"(one of {', '.join(STATES)})")
        out.append({**failure_row(str(row["host"]), str(row["state"]), ""), **dict(row)})
    return out


def _pct(part: int, total: int) -> float:
    return round(100.0 * part / total, 1) if total else 0.0


def summarize(rows: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Counts per state and the fleet's conntrack totals (the set_stats payload)."""
    states = {state: 0 for state in STATES}
    total = soft = hard = 0
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
        flows = row.get("flows") or {}
        total += int(flows.get("total") or 0)
        soft += int(flows.get("offload") or 0)
        hard += int(flows.get("hw_offload") or 0)
    return {
        "hosts": len(rows),
        "states": states,
        "offloading": states["offloading_hw"] + states["offloading_sw"],
        "hardware_capable_hosts": sum(1 for row in rows if row.get("hardware_capable")),
        "with_conflicts": sum(1 for row in rows if row.get("conflicts")),
        "with_drift": sum(1 for row in rows if row.get("drift")),
        "flows": {"total": total, "offload": soft, "hw_offload": hard, "offloaded_pct": _pct(soft + hard, total),
                  "hw_offloaded_pct": _pct(hard, total)},
        "problem_hosts": sorted(row["host"] for row in rows
                                if row["state"] in ("drifted", "unreachable", "failed"))[:20],
    }


def summary_line(summary: t.Mapping[str, t.Any]) -> str:
    """One line for the end of the run."""
    states = ", ".join(f"{count} {state}" for state, count in summary["states"].items() if count)
    flows = summary["flows"]
    return (f"{summary['hosts']} host(s): {states or 'none'}; {summary['with_conflicts']} with conflicts; "
            f"{flows['offloaded_pct']}% of {flows['total']} conntrack entries offloaded "
            f"({flows['hw_offloaded_pct']}% in hardware)")


def render_json(rows: t.Sequence[t.Mapping[str, t.Any]], summary: t.Mapping[str, t.Any], title: str,
                generated: str, trend: t.Sequence[t.Mapping[str, t.Any]] = (),
                history: t.Optional[t.Mapping[str, t.Any]] = None) -> str:
    """The report as JSON (plugins/plugin_utils/audit/report.schema.json, schema_version 1)."""
    return json.dumps({"schema_version": SCHEMA_VERSION, "title": title, "generated": generated, "summary": summary,
                       "hosts": list(rows), "trend": list(trend), "history": dict(history) if history else None},
                      indent=1, sort_keys=True, default=str) + "\n"


def _cell(value: t.Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _ft_text(fts: t.Iterable[t.Mapping[str, t.Any]]) -> str:
    out = []
    for ft in fts:
        devs = ft.get("devices")
        out.append(f"{ft.get('family')} {ft.get('table')} {ft.get('name')}"
                   + (" offload" if ft.get("offload") else "")
                   + (f" [{','.join(devs)}]" if devs else ""))
    return "; ".join(out)


def csv_record(row: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The flat record of one row (CSV_COLUMNS)."""
    platform = row.get("platform") or {}
    kernel = row.get("kernel") or {}
    package = row.get("package") or {}
    flows = row.get("flows") or {}
    fts = row.get("flowtables") or {}
    software = (kernel.get("software_offload") or {}).get("supported")
    return {
        "host": row.get("host"), "state": row.get("state"), "reason": row.get("reason"),
        "platform": " ".join(str(platform.get(k) or "") for k in ("distribution", "distribution_version")).strip(),
        "kernel": kernel.get("release") or "",
        "software_offload": {True: "yes", False: "no"}.get(software, "unknown") if kernel else "",
        "modules": kernel.get("modules_summary") or "",
        "package": (f"{package.get('name')} {'installed' if package.get('installed') else 'not installed'}"
                    if package.get("name") else ""),
        "flowtables_live": _ft_text(fts.get("live") or []),
        "flowtables_configured": _ft_text(fts.get("configured") or []),
        "drift": "; ".join(row.get("drift") or []),
        "missing_devices": "; ".join(row.get("missing_devices") or []),
        "hardware_capable": " ".join(row.get("hardware_capable") or []),
        "devices": "; ".join(f"{d['name']}={d.get('hardware_offload')}" for d in row.get("devices") or []),
        "flows_total": flows.get("total", ""), "flows_offload": flows.get("offload", ""),
        "flows_hw_offload": flows.get("hw_offload", ""), "offloaded_pct": flows.get("offloaded_pct", ""),
        "hw_offloaded_pct": flows.get("hw_offloaded_pct", ""),
        "conflicts": "; ".join(f"{c.get('kind')}:{c.get('device') or '-'}" for c in row.get("conflicts") or []),
        "error": row.get("error") or "",
    }


def render_csv(rows: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: _cell(value) for key, value in csv_record(row).items()})
    return buf.getvalue()


def validate_basename(basename: t.Any) -> str:
    text = str(basename or "")
    if not text or text.startswith(".") or not set(text) <= _BASENAME_OK:
        raise FlowOffloadError(f"basename: {basename!r} is not a plain file name; use letters, digits, '.', '_' "
                               "and '-' (no path), e.g. flowoffload-audit")
    return text


def report_paths(dest: str, basename: str) -> dict[str, str]:
    return {ext: os.path.join(dest, f"{basename}.{ext}") for ext in EXTENSIONS}


def render_all(rows: t.Sequence[t.Mapping[str, t.Any]], title: str, generated: str,
               trend: t.Sequence[t.Mapping[str, t.Any]] = (),
               history: t.Optional[t.Mapping[str, t.Any]] = None) -> tuple[dict[str, str], dict[str, t.Any]]:
    """(extension -> content, summary). trend: the runs of the history (history.trend), this
    one last; history: {file, runs} of the history file, None when it is off."""
    summary = summarize(rows)
    return {"html": render_html(rows, summary, title, generated, trend, history is not None),
            "json": render_json(rows, summary, title, generated, trend, history),
            "csv": render_csv(rows)}, summary


def write_report(dest: str, basename: str, contents: t.Mapping[str, str], check_mode: bool) -> tuple[bool, dict[str, str]]:
    """(changed, extension -> path): write each file whose content differs, atomically.

    In check mode nothing is written; changed says whether a file would be."""
    paths = report_paths(dest, basename)
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise FlowOffloadError(f"dest: {dest} exists and is not a directory; give a directory for the report")
    changed = False
    for ext, path in paths.items():
        try:
            with open(path, encoding="utf-8", newline="") as handle:
                same = handle.read() == contents[ext]
        except OSError:
            same = False
        if same:
            continue
        changed = True
        if check_mode:
            continue
        try:
            os.makedirs(dest, mode=0o755, exist_ok=True)
            write_atomic(path, contents[ext])
        except OSError as exc:
            raise FlowOffloadError(f"dest: cannot write {path}: {exc.strerror or exc}; give a writable directory",
                                   path=path) from None
    return changed, paths

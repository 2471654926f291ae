# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action fleet_report: the audit rows of every host -> one report on the controller
(HTML, JSON, CSV; see plugins/plugin_utils/audit/report.py) and one record per router in
the history beside it (plugins/plugin_utils/audit/history.py). Nothing runs on a target."""
from __future__ import annotations

import datetime
import os
import typing as t

from ansible.plugins.action import ActionBase
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.history import (
    history_path,
    iso_utc,
    parse_time,
    plan_history,
    read_history,
    run_records,
    trend,
    write_history,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.report import (
    render_all,
    rows_from_results,
    summary_line,
    validate_basename,
    validate_rows,
    write_report,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.modules.fleet_report import ARGUMENT_SPEC


def results_from_hostvars(hostvars: t.Any, hosts: t.Sequence[str], var: str) -> dict[str, t.Any]:
    """host -> the registered result named var (None where the host has none)."""
    out: dict[str, t.Any] = {}
    for host in hosts:
        try:
            host_vars = hostvars[host]
        except (KeyError, TypeError):
            host_vars = None
        out[host] = host_vars.get(var) if host_vars is not None else None
    return out


def utc_now() -> str:
    """The current time, ISO 8601 UTC: 2026-12-08T01:23:45Z."""
    return iso_utc(datetime.datetime.now(datetime.timezone.utc))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _valid, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC,
                                                     mutually_exclusive=[["rows", "hosts"]])
        try:
            basename = validate_basename(params["basename"])
            keep = params["history_runs"]
            if keep < 0:
                raise FlowOffloadError(f"history_runs: {keep} is negative; give the number of runs the history "
                                       "keeps (default 100), or 0 for no history")
            generated = parse_time(params["generated"]) if params.get("generated") else utc_now()
            if params.get("rows") is not None:
                rows = validate_rows(params["rows"])
            else:
                hosts = params.get("hosts")
                if hosts is None:
                    hosts = list(task_vars.get("ansible_play_hosts_all") or [])
                hosts = [str(host) for host in hosts]
                results = results_from_hostvars(task_vars.get("hostvars") or {}, hosts, params["result_var"])
                rows = rows_from_results(hosts, results)
            dest = os.path.abspath(os.path.expanduser(params["dest"]))
            new = run_records(rows, generated)
            history: dict[str, t.Any] = {"path": None, "runs": 0}
            warnings: list[str] = []
            text, kept, mode = "", new, "none"
            if keep:
                path = history_path(dest, basename)
                text, old, warnings, skipped = read_history(path)
                kept, mode = plan_history(old, new, keep)
                if mode == "rewrite" and skipped:
                    warnings.append(f"history {path}: {skipped} unreadable line(s) dropped as the history is rewritten")
                runs = trend(kept)
                history = {"path": path, "runs": len(runs)}
                contents, summary = render_all(rows, params["title"], generated, runs,
                                               {"file": os.path.basename(path), "runs": len(runs)})
            else:
                contents, summary = render_all(rows, params["title"], generated, trend(new), None)
            changed, paths = write_report(dest, basename, contents, bool(self._task.check_mode))
            if mode != "none":
                changed = True
                if not self._task.check_mode:
                    write_history(history["path"], text, kept, new, mode)
        except FlowOffloadError as exc:
            result.update(failed=True, msg=exc.msg, **exc.details)
            return result
        line = summary_line(summary)
        result.update(changed=changed, summary=summary, files=paths, history=history,
                      msg=f"{line}; report: {paths['html']}")
        if warnings:
            result["warnings"] = warnings
        return result

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_report action (rows from the play's hostvars, files on the controller, the
summary; check mode), its module file, and the audit playbook's wiring (register name,
unreachable hosts kept, the report written in check mode, set_stats data)."""
from __future__ import annotations

import json
import os
import typing as t

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible_collections.flowoffload.nft.plugins.action.fleet_report import ActionModule
from ansible_collections.flowoffload.nft.plugins.modules import fleet_report
from ansible_collections.flowoffload.nft.tests.browser.fleet import fleet
from ansible_collections.flowoffload.nft.tests.unit.plugins.action.module_doc import (
    module_doc,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    action_on,
)

PLAYBOOK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "audit.yml")


def hostvars(rows: t.Sequence[t.Mapping[str, t.Any]], var: str = "flowoffload_audit") -> dict[str, t.Any]:
    return {row["host"]: {var: {"changed": False, "audit": dict(row)}} for row in rows}


def run(args: dict[str, t.Any], task_vars: dict[str, t.Any], check_mode: bool = False) -> dict[str, t.Any]:
    target = FakeTarget()
    result = action_on(ActionModule, args, target, check_mode).run(task_vars=task_vars)
    assert target.round_trips == 0  # nothing runs on a target
    return result


def test_rows_from_the_plays_hosts_including_those_without_a_result(tmp_path):
    rows = [r for r in fleet(14) if r["state"] not in ("unreachable", "failed")]
    hv = hostvars(rows)
    hv["down"] = {"flowoffload_audit": {"unreachable": True, "msg": "timed out"}}
    hv["gone"] = {"ansible_host": "192.0.2.9"}
    hosts = [r["host"] for r in rows] + ["down", "gone"]
    result = run({"dest": str(tmp_path)}, {"hostvars": hv, "ansible_play_hosts_all": hosts})
    assert result["changed"] is True and not result.get("failed")
    summary = result["summary"]
    assert summary["hosts"] == len(hosts) and summary["states"]["unreachable"] == 1 and summary["states"]["failed"] == 1
    assert result["files"]["html"] == os.path.join(str(tmp_path), "flowoffload-audit.html")
    assert result["msg"].endswith("report: " + result["files"]["html"])
    with open(result["files"]["json"], encoding="utf-8") as handle:
        data = json.load(handle)
    assert [h["host"] for h in data["hosts"]] == hosts and data["hosts"][-1]["state"] == "failed"


def test_hosts_and_result_var_options(tmp_path):
    rows = fleet(3)[:2]
    hv = hostvars(rows, "audit_x")
    result = run({"dest": str(tmp_path), "hosts": [rows[1]["host"]], "result_var": "audit_x", "basename": "x"},
                 {"hostvars": hv, "ansible_play_hosts_all": ["ignored"]})
    assert result["summary"]["hosts"] == 1
    assert sorted(os.listdir(tmp_path)) == ["x-history.jsonl", "x.csv", "x.html", "x.json"]


def test_rows_given_directly_and_check_mode_writes_nothing(tmp_path):
    rows = fleet(5)
    dest = str(tmp_path / "out")
    then = "2026-12-08T02:23:45+01:00"
    result = run({"dest": dest, "rows": rows, "generated": then}, {}, check_mode=True)
    assert result["changed"] is True and not os.path.exists(dest) and result["summary"]["hosts"] == 5
    assert result["history"] == {"path": os.path.join(dest, "flowoffload-audit-history.jsonl"), "runs": 1}
    result = run({"dest": dest, "rows": rows, "generated": then}, {})
    assert result["changed"] is True and os.path.exists(result["files"]["csv"])
    with open(result["files"]["json"], encoding="utf-8") as handle:
        assert json.load(handle)["generated"] == "2026-12-08T01:23:45Z"
    # the same run again: the report is the same and the history holds that run already
    assert run({"dest": dest, "rows": rows, "generated": then}, {})["changed"] is False
    with open(result["history"]["path"], encoding="utf-8") as handle:
        assert len(handle.read().splitlines()) == 5


def test_bad_input_fails_before_anything_is_written(tmp_path):
    result = run({"dest": str(tmp_path), "basename": "../up"}, {"hostvars": {}, "ansible_play_hosts_all": []})
    assert result["failed"] is True and result["msg"].startswith("basename:") and os.listdir(tmp_path) == []
    result = run({"dest": str(tmp_path), "rows": [{"host": "a"}]}, {})
    assert result["failed"] is True and result["msg"].startswith("rows[0]:")
    with pytest.raises(AnsibleActionFail):
        run({"dest": str(tmp_path), "rows": [], "hosts": ["a"]}, {})
    for generated in ("then", "2026-12-08 01:23:45", "2026-13-08T01:23:45Z"):
        result = run({"dest": str(tmp_path), "rows": [], "generated": generated}, {})
        assert result["failed"] is True and result["msg"].startswith("generated: ") and "ISO 8601" in result["msg"]
    result = run({"dest": str(tmp_path), "rows": [], "history_runs": -1}, {})
    assert result["failed"] is True and result["msg"].startswith("history_runs: -1 is negative")
    assert os.listdir(tmp_path) == []
    (tmp_path / "file").write_text("x")
    result = run({"dest": str(tmp_path / "file"), "rows": []}, {})
    assert result["failed"] is True and result["msg"].startswith("dest: ") and "not a directory" in result["msg"]


def test_documentation_matches_the_argspec():
    doc = module_doc(fleet_report)
    assert doc["version_added"] == "0.1.0"
    assert set(doc["options"]) == set(fleet_report.ARGUMENT_SPEC)
    for name, spec in fleet_report.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == spec["type"] and doc["options"][name].get("default") == spec.get("default")
    ret = yaml.safe_load(fleet_report.RETURN)
    result = run({"rows": fleet(3), "dest": "/nonexistent-check-mode"}, {}, check_mode=True)
    assert set(ret["summary"]["contains"]) == set(result["summary"])
    assert set(ret["history"]["contains"]) == set(result["history"])
    assert set(ret) == {k for k in result if k not in ("changed", "invocation")}


def test_the_audit_playbook_wires_audit_report_and_set_stats():
    with open(PLAYBOOK, encoding="utf-8") as handle:
        play = yaml.safe_load(handle)[0]
    tasks = {next(k for k in task if "." in k and k.count(".") == 2): task for task in play["tasks"]}
    audit = tasks["flowoffload.nft.offload_audit"]
    report = tasks["flowoffload.nft.fleet_report"]
    stats = tasks["ansible.builtin.set_stats"]
    assert play["gather_facts"] is False
    assert audit["ignore_unreachable"] is True and audit["ignore_errors"] is True
    assert report["flowoffload.nft.fleet_report"]["result_var"] == audit["register"]
    assert report["flowoffload.nft.fleet_report"]["hosts"] == "{{ ansible_play_hosts_all }}"
    assert report["run_once"] is True and report["delegate_to"] == "localhost" and report["check_mode"] is False
    assert report["become"] is False
    # a read-only audit: the report write (run_once, delegated) must not count as a change of
    # the play's first router (issue 16 point 3)
    assert report["changed_when"] is False
    assert report["flowoffload.nft.fleet_report"]["history_runs"] == "{{ audit_history_runs | default(100) | int }}"
    data = stats["ansible.builtin.set_stats"]
    assert data["per_host"] is False and data["aggregate"] is False
    assert data["data"]["flowoffload_audit"].startswith("{{ " + report["register"] + ".summary")


def _history(path: str) -> list[dict[str, t.Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_each_run_appends_one_record_per_router_and_the_history_keeps_history_runs(tmp_path):
    rows = fleet(4)
    dest = str(tmp_path)
    times = [f"2026-12-0{day}T01:00:00Z" for day in range(1, 6)]
    for number, time in enumerate(times, start=1):
        result = run({"dest": dest, "rows": rows, "generated": time, "history_runs": 3}, {})
        assert result["changed"] is True and result["history"]["runs"] == min(number, 3)
    records = _history(result["history"]["path"])
    assert [r["time"] for r in records] == [time for time in times[-3:] for _row in rows]
    assert [r["router"] for r in records[-4:]] == [r["host"] for r in rows]
    with open(result["files"]["json"], encoding="utf-8") as handle:
        data = json.load(handle)
    assert [run_["time"] for run_ in data["trend"]] == times[-3:]
    assert data["history"] == {"file": "flowoffload-audit-history.jsonl", "runs": 3}
    with open(result["files"]["html"], encoding="utf-8") as handle:
        assert handle.read().count('class="fo-run"') == 3


def test_check_mode_and_history_runs_0_write_no_history(tmp_path):
    rows = fleet(3)
    path = tmp_path / "flowoffload-audit-history.jsonl"
    result = run({"dest": str(tmp_path), "rows": rows, "generated": "2026-12-08T01:00:00Z"}, {}, check_mode=True)
    assert result["changed"] is True and not path.exists() and result["history"]["runs"] == 1
    result = run({"dest": str(tmp_path), "rows": rows, "history_runs": 0}, {})
    assert result["history"] == {"path": None, "runs": 0} and not path.exists()
    with open(result["files"]["json"], encoding="utf-8") as handle:
        data = json.load(handle)
    assert data["history"] is None and len(data["trend"]) == 1
    with open(result["files"]["html"], encoding="utf-8") as handle:
        assert "The history is off" in handle.read()


def test_a_corrupt_history_line_is_skipped_with_a_warning(tmp_path):
    rows = fleet(2)
    path = tmp_path / "flowoffload-audit-history.jsonl"
    run({"dest": str(tmp_path), "rows": rows, "generated": "2026-12-01T00:00:00Z"}, {})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"torn": \n')
    result = run({"dest": str(tmp_path), "rows": rows, "generated": "2026-12-02T00:00:00Z"}, {})
    assert not result.get("failed") and result["history"]["runs"] == 2
    assert len(result["warnings"]) == 1 and "line 3: not JSON" in result["warnings"][0]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5 and lines[2] == '{"torn": '  # appended after it, the line kept

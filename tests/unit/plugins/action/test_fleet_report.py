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
    assert result["summary"]["hosts"] == 1 and sorted(os.listdir(tmp_path)) == ["x.csv", "x.html", "x.json"]


def test_rows_given_directly_and_check_mode_writes_nothing(tmp_path):
    rows = fleet(5)
    dest = str(tmp_path / "out")
    result = run({"dest": dest, "rows": rows, "generated": "then"}, {}, check_mode=True)
    assert result["changed"] is True and not os.path.exists(dest) and result["summary"]["hosts"] == 5
    result = run({"dest": dest, "rows": rows, "generated": "then"}, {})
    assert result["changed"] is True and os.path.exists(result["files"]["csv"])
    assert run({"dest": dest, "rows": rows, "generated": "then"}, {})["changed"] is False


def test_bad_input_fails_before_anything_is_written(tmp_path):
    result = run({"dest": str(tmp_path), "basename": "../up"}, {"hostvars": {}, "ansible_play_hosts_all": []})
    assert result["failed"] is True and result["msg"].startswith("basename:") and os.listdir(tmp_path) == []
    result = run({"dest": str(tmp_path), "rows": [{"host": "a"}]}, {})
    assert result["failed"] is True and result["msg"].startswith("rows[0]:")
    with pytest.raises(AnsibleActionFail):
        run({"dest": str(tmp_path), "rows": [], "hosts": ["a"]}, {})


def test_documentation_matches_the_argspec():
    doc = module_doc(fleet_report)
    assert doc["version_added"] == "0.1.0"
    assert set(doc["options"]) == set(fleet_report.ARGUMENT_SPEC)
    for name, spec in fleet_report.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == spec["type"] and doc["options"][name].get("default") == spec.get("default")
    ret = yaml.safe_load(fleet_report.RETURN)
    summary = run({"rows": fleet(3), "dest": "/nonexistent-check-mode"}, {}, check_mode=True)["summary"]
    assert set(ret["summary"]["contains"]) == set(summary)


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
    data = stats["ansible.builtin.set_stats"]
    assert data["per_host"] is False and data["aggregate"] is False
    assert data["data"]["flowoffload_audit"].startswith("{{ " + report["register"] + ".summary")

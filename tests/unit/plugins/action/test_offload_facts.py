# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offload_facts action on the controller (argument validation, exactly one round trip
over the connection with /bin/sh, facts and warnings in the task result) and the module
file (docs, argspec, main() running the same read script through run_command).

One file for both: pytest's default import mode cannot collect two test_offload_facts.py."""
from __future__ import annotations

import typing as t
from unittest import mock

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils import basic

from ansible_collections.flowoffload.nft.plugins.action.offload_facts import ActionModule
from ansible_collections.flowoffload.nft.plugins.modules import offload_facts
from ansible_collections.flowoffload.nft.plugins.module_utils._target import Section
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.facts_fake import (
    netns_sections,
    openwrt_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.fake_target import FakeTarget, fake_execute, sec
from ansible_collections.flowoffload.nft.tests.unit.plugins.modules.harness import Exit, Fail, run_module


def _action(args: t.Dict[str, t.Any], target: FakeTarget, check_mode: bool = False) -> t.Tuple[ActionModule, t.List[t.Any]]:
    task = mock.MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = False
    task.action = "flowoffload.nft.offload_facts"
    connection = mock.MagicMock()
    connection._shell.tmpdir = "/tmp/x"  # pylint: disable=protected-access
    action = ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    action._load_name = "flowoffload.nft.offload_facts"  # pylint: disable=protected-access  # set by the plugin loader
    calls: t.List[t.Any] = []

    action._low_level_execute_command = fake_execute(target, calls)  # pylint: disable=protected-access
    return action, calls


def test_argument_spec_is_the_modules():
    assert ActionModule.ARGUMENT_SPEC is offload_facts.ARGUMENT_SPEC


def test_one_round_trip_through_bin_sh_and_facts_in_the_result():
    target = FakeTarget(netns_sections())
    action, calls = _action({"gather_subset": ["interfaces", "kernel"]}, target)
    result = action.run(task_vars={})
    assert result["round_trips"] == 1 and len(calls) == 1 and calls[0][1] == "/bin/sh"
    assert calls[0][0].startswith("#!/bin/sh\n# flowoffload.nft: read") and "python" not in calls[0][0]
    assert result["changed"] is False and not result.get("failed")
    assert set(result["ansible_facts"]["flowoffload"]) == {"kernel", "sysctl", "interfaces", "candidate_devices"}


def test_check_mode_is_the_same_read():
    normal = _action({}, FakeTarget(netns_sections()))[0].run(task_vars={})
    checked = _action({}, FakeTarget(netns_sections()), check_mode=True)[0].run(task_vars={})
    assert checked == normal and checked["round_trips"] == 1


def test_warnings_reach_the_task_result():
    target = FakeTarget(openwrt_sections())
    result = _action({"gather_subset": ["conflicts"]}, target)[0].run(task_vars={})
    assert result["warnings"] == ["conflicts: tc is not installed on the target; qdiscs were not checked"]


def test_bad_subset_fails_without_a_round_trip():
    target = FakeTarget(netns_sections())
    result = _action({"gather_subset": ["all", "nope"]}, target)[0].run(task_vars={})
    assert result["failed"] is True and "gather_subset" in result["msg"] and result["round_trips"] == 0
    assert target.round_trips == 0


def test_unknown_option_is_refused_by_the_argspec():
    target = FakeTarget(netns_sections())
    with pytest.raises(AnsibleActionFail):
        _action({"gather": ["all"]}, target)[0].run(task_vars={})
    assert target.round_trips == 0


def test_target_without_a_shell_fails_with_the_cause():
    class Broken(FakeTarget):
        def run_script(self, script):
            self.round_trips += 1
            return 127, "", "/bin/sh: No such file or directory\n"

    result = _action({"gather_subset": ["nft"]}, Broken({"x": Section(0, "")}))[0].run(task_vars={})
    assert result["failed"] is True and "/bin/sh" in result["msg"] and result["round_trips"] == 1


# --- the module file -------------------------------------------------------------------------
def _main(monkeypatch, args: t.Dict[str, t.Any], target: t.Optional[FakeTarget] = None):
    calls: t.List[t.List[str]] = []

    def run_command(self, argv, **kwargs):
        calls.append(list(argv))
        assert target is not None, "no script may run"
        assert argv[:2] == ["/bin/sh", "-c"]
        return target.run_script(argv[2])

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    return run_module(monkeypatch, offload_facts.main, args) + (calls,)


def test_module_main_unknown_subset_fails_naming_the_option_before_any_script(monkeypatch):
    kind, result, _warned, calls = _main(monkeypatch, {"gather_subset": ["interfaces", "nics"]})
    assert kind is Fail and calls == []
    assert result["msg"].startswith("gather_subset: unknown subset 'nics'")
    assert "flowtables" in result["msg"]


def test_module_main_facts_and_warnings_in_one_script(monkeypatch):
    sections = netns_sections()
    sections["host:tools"] = sec("ip=/sbin/ip\n")
    target = FakeTarget(sections)
    args = {"gather_subset": ["nft", "flowtables"], "_ansible_check_mode": True}
    kind, result, warned, calls = _main(monkeypatch, args, target)
    assert kind is Exit and len(calls) == 1 and target.round_trips == 1
    assert result["changed"] is False
    assert result["ansible_facts"] == {"flowoffload": {"nft": {"path": None, "version": None, "json": None},
                                                       "flowtables": []}}
    assert warned == ["flowtables: the nft binary was not found on the target; no flowtables listed"]


def test_module_main_default_subset_is_all(monkeypatch):
    target = FakeTarget(netns_sections())
    kind, result, _warned, _calls = _main(monkeypatch, {}, target)
    assert kind is Exit and len(result["ansible_facts"]["flowoffload"]) == 10


def test_documentation_parses():
    doc = yaml.safe_load(offload_facts.DOCUMENTATION)
    assert doc["options"]["gather_subset"]["default"] == ["all"]
    assert offload_facts.ARGUMENT_SPEC["gather_subset"]["default"] == ["all"]
    assert set(doc["attributes"]) == {"action", "check_mode", "diff_mode", "facts", "platform"}
    assert doc["attributes"]["action"]["support"] == "full"
    assert any("/bin/sh" in line and "no Python" in line for line in doc["requirements"])
    assert any("controller" in line for line in doc["description"])
    examples = yaml.safe_load(offload_facts.EXAMPLES)
    assert all(task["name"] for task in examples)
    assert all(any(k.startswith(("flowoffload.nft.", "ansible.builtin.")) for k in task) for task in examples)
    ret = yaml.safe_load(offload_facts.RETURN)
    flowoffload = ret["ansible_facts"]["contains"]["flowoffload"]["contains"]
    assert set(flowoffload) == {"platform", "kernel", "sysctl", "package", "nft", "interfaces", "candidate_devices",
                                "flowtables", "flows", "conflicts"}

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
from ansible_collections.flowoffload.nft.plugins.action.offload_facts import (
    ActionModule,
)
from ansible_collections.flowoffload.nft.plugins.modules import offload_facts
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    netns_sections,
    openwrt_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    fake_execute,
    sec,
)


def _action(args: dict[str, t.Any], target: FakeTarget, check_mode: bool = False) -> tuple[ActionModule, list[t.Any]]:
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
    calls: list[t.Any] = []

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
    sections = openwrt_sections()
    # a router without tc whose UCI enables SQM: that warning is worth giving
    sections["facts:shaping"] = sec("@file /etc/config/sqm\nconfig queue 'wan'\n\toption enabled '1'\n"
                                    "\toption interface 'wan0'\n")
    result = _action({"gather_subset": ["conflicts"]}, FakeTarget(sections))[0].run(task_vars={})
    assert result["warnings"] == [
        "conflicts: tc is not installed on the target, but SQM (sqm-scripts) shapes wan0 (sqm.wan): shaping qdiscs "
        "could not be checked, and offloaded packets bypass them; install tc (opkg install tc-tiny, or tc-full) so "
        "the facts can check"]
    # the stock router: no tc, nothing that could shape: no warning
    assert "warnings" not in _action({"gather_subset": ["conflicts"]}, FakeTarget(openwrt_sections()))[0].run(task_vars={})


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
                                "flowtables", "flows", "conflicts", "shaping"}

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offload_kmod action (argspec from the module, run on the controller over the connection)
and the module file (documentation matches the argspec; main() runs the same scripts locally
through ModuleTarget when the module is executed on the host itself).

One file for both: pytest's default import mode cannot collect two test_offload_kmod.py."""
from __future__ import annotations

import re
import typing as t

import pytest
import yaml
from ansible_collections.flowoffload.nft.plugins.action.offload_kmod import ActionModule
from ansible_collections.flowoffload.nft.plugins.modules import offload_kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.action.module_doc import (
    module_doc,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    action_on,
    fixture,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.kmod_fake import (
    NAMES,
    VM,
    vm_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    lab_root,
    shell,
)

LOADED = fixture(f"{VM}-proc-modules-loaded.txt")
CONF = _kmod.render_file(NAMES)
__all__ = ["shell"]  # the fixture pytest finds through this module


def action(args: dict[str, t.Any], target: FakeTarget | HostRoot, check_mode: bool = False, diff: bool = False) -> ActionModule:
    return action_on(ActionModule, args, target, check_mode, diff)


def test_argument_spec_is_the_modules():
    assert ActionModule.ARGUMENT_SPEC is offload_kmod.ARGUMENT_SPEC


def test_idempotent_run_is_one_round_trip():
    target = FakeTarget(vm_sections(LOADED, modules_load=CONF))
    result = action({}, target).run(task_vars={})
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["round_trips"] == 1
    assert result["modules"] == {n: "loaded" for n in NAMES}
    assert "diff" not in result and "warnings" not in result


def test_change_is_two_round_trips_with_diff_and_the_next_run_changes_nothing(tmp_path, shell):
    target = lab_root(tmp_path, shell)  # the real scripts on the lab VM
    result = action({"modules": NAMES}, target, diff=True).run(task_vars={})
    assert result["changed"] is True and result["round_trips"] == 2 and result["loaded"] == NAMES
    assert result["diff"]["after"] == CONF and result["persist_file"] == _kmod.SYSTEMD_FILE
    assert target.read(_kmod.SYSTEMD_FILE) == CONF
    again = action({"modules": NAMES}, target).run(task_vars={})
    assert again["changed"] is False and again["round_trips"] == 1 and "diff" not in again


def test_check_mode_and_warnings_of_modules_in_use():
    target = FakeTarget(vm_sections(fixture(f"{VM}-proc-modules-flowtable.txt")))
    result = action({"state": "absent"}, target, check_mode=True).run(task_vars={})
    assert result["round_trips"] == 1 and result["unloaded"] == ["nft_flow_offload"]
    assert len(result["warnings"]) == 2


@pytest.mark.parametrize("args, match", [
    ({"modules": ["eth0; flush ruleset"]}, "^modules contains invalid"),
    ({"package": "-o APT::x"}, "^package "),
])
def test_bad_input_fails_without_touching_the_host(args, match):
    target = FakeTarget(vm_sections())
    result = action(args, target).run(task_vars={})
    assert result["failed"] is True and result["round_trips"] == 0 and target.round_trips == 0
    assert re.match(match, result["msg"])


# --- the module file ------------------------------------------------------------------


def test_documentation_matches_the_argument_spec():
    doc = module_doc(offload_kmod)
    assert set(doc["options"]) == set(offload_kmod.ARGUMENT_SPEC)
    for name, spec in offload_kmod.ARGUMENT_SPEC.items():
        assert doc["options"][name].get("default") == spec.get("default"), name
        assert doc["options"][name]["type"] == spec["type"]
    assert doc["attributes"]["action"]["support"] == "full"
    assert set(yaml.safe_load(offload_kmod.RETURN)) == {"modules", "loaded", "unloaded", "installed", "packages",
                                                        "persist_file", "diff"}

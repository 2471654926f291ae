# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flowtable action (argspec from the module, run on the controller over the connection)
and the module file (documentation matches the argspec; main() runs the same scripts locally
through ModuleTarget when the module is executed on the host itself).

One file for both: pytest's default import mode cannot collect two test_flowtable.py."""
from __future__ import annotations

import typing as t

import yaml
from ansible_collections.flowoffload.nft.plugins.action.flowtable import ActionModule
from ansible_collections.flowoffload.nft.plugins.modules import flowtable
from ansible_collections.flowoffload.nft.tests.unit.plugins.action.module_doc import (
    module_doc,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    action_on,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    listing,
    owned,
)

CONTRACT = {"changed", "commands", "flowtable", "hardware_offload", "fallback_reason", "skipped_devices",
            "persist_files"}


def action(args: dict[str, t.Any], target: FakeTarget, check_mode: bool = False, diff: bool = False) -> ActionModule:
    return action_on(ActionModule, args, target, check_mode, diff)


def test_argument_spec_is_the_modules():
    assert ActionModule.ARGUMENT_SPEC is flowtable.ARGUMENT_SPEC


def test_argspec_matches_documentation_and_action_attribute():
    doc = module_doc(flowtable)
    assert set(doc["options"]) == set(flowtable.ARGUMENT_SPEC)
    for name, spec in flowtable.ARGUMENT_SPEC.items():
        assert doc["options"][name]["type"] == spec["type"], name
        assert doc["options"][name].get("default") == spec.get("default"), name
        assert doc["options"][name].get("choices") == spec.get("choices"), name
    assert doc["attributes"]["action"]["support"] == "full"
    assert any("/bin/sh" in line and "nft" in line for line in doc["requirements"])


def test_examples_are_named_and_fully_qualified():
    assert flowtable.EXAMPLES.lstrip().startswith("---")
    for task in yaml.safe_load(flowtable.EXAMPLES):
        assert task["name"] and "flowoffload.nft.flowtable" in task


def test_create_through_the_action_two_round_trips_with_diff():
    json_sec, text_sec = listing("1.0.6-bookworm-handmade-ft-owned-one")
    target = FakeTarget(owned(None), apply_sections={"ft:after-json": json_sec, "ft:after-text": text_sec})
    result = action({"devices": ["lan0", "wan0"]}, target, diff=True).run(task_vars={})
    assert result.get("failed") is not True, result
    assert CONTRACT <= set(result) and result["changed"] is True and result["round_trips"] == 2
    assert 'devices = { "lan0", "wan0" }' in result["diff"][0]["after"]


def test_bad_input_fails_with_no_round_trip():
    target = FakeTarget(owned(None))
    result = action({"devices": ["lan0"], "name": "fwd"}, target).run(task_vars={})
    assert result["failed"] is True and result["msg"].startswith("name:") and result["round_trips"] == 0

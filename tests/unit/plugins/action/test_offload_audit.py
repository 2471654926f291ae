# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offload_audit action (one round trip over /bin/sh, the row named after the
inventory host, the same in check mode) and its module file (docs, argspec, main())."""
from __future__ import annotations

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible_collections.flowoffload.nft.plugins.action.offload_audit import (
    ActionModule,
)
from ansible_collections.flowoffload.nft.plugins.modules import offload_audit
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import STATES
from ansible_collections.flowoffload.nft.tests.browser.fleet import (
    config_snapshot,
    persisted_file,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    netns_sections,
    vm_ns_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    action_on,
)


def vm_target() -> FakeTarget:
    sections = dict(vm_ns_sections())
    path, text = persisted_file(["dummy0", "veth-a"], False)
    sections.update(config_snapshot({path: text}, units="flowoffload-inet-factsft.service=enabled\n").sections)
    return FakeTarget(sections)


def test_argument_spec_is_the_modules():
    assert ActionModule.ARGUMENT_SPEC is offload_audit.ARGUMENT_SPEC


def test_one_round_trip_and_the_row_carries_the_inventory_name():
    target = vm_target()
    result = action_on(ActionModule, {}, target).run(task_vars={"inventory_hostname": "gw-7"})
    assert result["round_trips"] == 1 and target.round_trips == 1 and not target.applies
    assert result["changed"] is False and not result.get("failed") and "warnings" not in result
    assert result["audit"]["host"] == "gw-7" and result["audit"]["state"] == "offloading_sw"


def test_check_mode_is_the_same_read():
    normal = action_on(ActionModule, {}, vm_target()).run(task_vars={"inventory_hostname": "h"})
    checked = action_on(ActionModule, {}, vm_target(), check_mode=True).run(task_vars={"inventory_hostname": "h"})
    assert normal == checked


def test_a_kernel_without_flowtables_is_reported_not_failed():
    sections = dict(netns_sections())
    sections.update(config_snapshot({}, loader=False).sections)
    result = action_on(ActionModule, {}, FakeTarget(sections)).run(task_vars={"inventory_hostname": "dev"})
    assert not result.get("failed") and result["audit"]["state"] == "unsupported"


def test_a_host_without_a_shell_fails_with_the_cause():
    class NoShell(FakeTarget):
        def run_script(self, script):
            self.round_trips += 1
            return 127, "", "/bin/sh: not found\n"

    result = action_on(ActionModule, {}, NoShell()).run(task_vars={"inventory_hostname": "h"})
    assert result["failed"] is True and "/bin/sh" in result["msg"] and result["round_trips"] == 1


def test_options_are_refused():
    target = vm_target()
    plugin = action_on(ActionModule, {"gather_subset": ["all"]}, target)
    plugin._load_name = "flowoffload.nft.offload_audit"  # pylint: disable=protected-access  # set by the plugin loader
    with pytest.raises(AnsibleActionFail, match="gather_subset"):
        plugin.run(task_vars={})
    assert target.round_trips == 0


def test_documentation():
    doc = yaml.safe_load(offload_audit.DOCUMENTATION)
    assert doc["version_added"] == "0.1.0" and doc["options"] == {}
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert all(state in offload_audit.DOCUMENTATION for state in STATES if state not in ("unreachable", "failed"))
    ret = yaml.safe_load(offload_audit.RETURN)["audit"]["contains"]
    row = action_on(ActionModule, {}, vm_target()).run(task_vars={"inventory_hostname": "h"})["audit"]
    assert set(ret) == set(row)
    examples = yaml.safe_load(offload_audit.EXAMPLES)
    assert examples[0]["flowoffload.nft.offload_audit"] is None

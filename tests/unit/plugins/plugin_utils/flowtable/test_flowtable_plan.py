# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of the owned table and of chain mode, from captured listings."""
from __future__ import annotations

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    model as F,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    plan as PL,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    VM,
    params,
)


def _owned(prefix):
    return PL.parse_owned(fixture(f"{prefix}.json"), fixture(f"{prefix}.txt"), F.desired_state(params()))


# --- plan: owned table -------------------------------------------------------------------
def _plan(prefix, **changes):
    desired = F.desired_state(params(**changes))
    current = PL.parse_owned(fixture(f"{prefix}.json"), fixture(f"{prefix}.txt"), desired) if prefix else PL.Current()
    new = desired.flowtable(desired.devices, desired.offload == "true") if desired.state == "present" else None
    return PL.plan_owned(current, desired, new)


def test_create_from_nothing():
    plan = _plan(None)
    assert plan.commands == [
        'add table inet flowoffload { comment "managed by flowoffload.nft"; }',
        'add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "lan0", "wan0" }; counter; }',
        "add chain inet flowoffload forward { type filter hook forward priority 10; policy accept; }",
        'add rule inet flowoffload forward meta l4proto { tcp, udp } flow add @ft comment "flowoffload.nft:ft"',
    ]
    assert plan.before == "" and 'devices = { "lan0", "wan0" }' in plan.after


def test_idempotent_on_the_real_vm_listing_with_a_second_flowtable():
    plan = _plan(f"{VM}-owned-two")
    assert plan.commands == []
    assert plan.before == plan.after


def test_numbers_without_etc_protocols_are_idempotent():
    """issue 9, defect 2: nft prints meta l4proto { 6, 17 } without /etc/protocols."""
    current = _owned("1.0.6-bookworm-handmade-ft-owned-noprotocols")
    assert current.rules[0][0] == ("ft", ("tcp", "udp"))
    assert _plan("1.0.6-bookworm-handmade-ft-owned-noprotocols").commands == []
    assert _plan("1.0.6-bookworm-handmade-ft-owned-noprotocols", protocols=["tcp"]).commands[0] == \
        "flush chain inet flowoffload forward"


def test_foreign_rule_above_the_flow_add_rule_is_drift_and_restored():
    """issue 9, defect 3: the owned chain ends exactly as rendered."""
    plan = _plan("1.0.6-bookworm-handmade-ft-owned-drift")
    assert plan.commands == [
        "flush chain inet flowoffload forward",
        'add rule inet flowoffload forward meta l4proto { tcp, udp } flow add @ft comment "flowoffload.nft:ft"',
    ]
    assert "meta l4proto { tcp, udp } accept" in plan.before and "accept\n" not in plan.after.split("policy accept;")[1]
    # what the batch leaves is what the collection renders: the next plan is empty
    assert _plan("1.0.6-bookworm-handmade-ft-owned-one").commands == []


def test_foreign_object_in_the_owned_table_rebuilds_it():
    desired = F.desired_state(params())
    current = _owned("1.0.6-bookworm-handmade-ft-owned-one")
    current.others = ["set blocklist"]
    plan = PL.plan_owned(current, desired, desired.flowtable(desired.devices, False))
    assert plan.commands[0] == "delete table inet flowoffload" and plan.commands[1].startswith("add table")
    assert "# set blocklist" in plan.before


def test_rule_without_our_comment_is_replaced():
    desired = F.desired_state(params())
    current = _owned("1.0.6-bookworm-handmade-ft-owned-one")
    current.rules = [(None, 5, "meta l4proto { tcp, udp } flow add @ft")]
    plan = PL.plan_owned(current, desired, desired.flowtable(desired.devices, False))
    assert plan.commands[0] == "flush chain inet flowoffload forward" and len(plan.commands) == 2


def test_added_device_in_place_and_removed_device_recreates():
    plan = _plan(f"{VM}-owned-two", devices=["lan0", "wan0", "eth3"])
    assert plan.commands == ['add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "eth3" }; counter; }']
    plan = _plan(f"{VM}-owned-two", devices=["lan0"])
    assert plan.commands[0] == "flush chain inet flowoffload forward"
    assert "delete flowtable inet flowoffload ft" in plan.commands
    # the other flowtable keeps its rule (udp), rules re-added in rendered order
    assert plan.commands[-2:] == [
        'add rule inet flowoffload forward meta l4proto { tcp, udp } flow add @ft comment "flowoffload.nft:ft"',
        'add rule inet flowoffload forward meta l4proto udp flow add @ft2 comment "flowoffload.nft:ft2"',
    ]


def test_absent_keeps_the_other_flowtable_and_last_one_drops_the_table():
    plan = _plan(f"{VM}-owned-two", state="absent")
    assert "delete flowtable inet flowoffload ft" in plan.commands and "delete table" not in " ".join(plan.commands)
    assert plan.flowtable is None and [ft.name for ft in plan.after_flowtables] == ["ft2"]
    plan = _plan("1.0.6-bookworm-handmade-ft-owned-one", state="absent")
    assert plan.commands == ["delete table inet flowoffload"] and plan.after == ""
    assert _plan(None, state="absent").commands == []


def test_device_in_another_flowtable_is_refused_before_apply():
    with pytest.raises(FlowOffloadError) as err:
        _plan(f"{VM}-owned-two", name="ft3", devices=["eth2"])
    assert "eth2 already in flowtable ft2" in err.value.msg


def test_table_not_ours_is_refused():
    desired = F.desired_state(params())
    with pytest.raises(FlowOffloadError) as err:
        PL.plan_owned(PL.Current(exists=True, owned=False), desired, desired.flowtable(desired.devices, False))
    assert err.value.msg.startswith("table:")


# --- plan: chain mode --------------------------------------------------------------------
def _chain(rule_fixture, ft_pair=None, **changes):
    desired = F.desired_state(params(table="filter", chain="forward", **changes))
    current = PL.parse_chain_mode(fixture(rule_fixture), ft_pair, desired)
    new = desired.flowtable(desired.devices, False) if desired.state == "present" else None
    return PL.plan_chain(current, desired, new)


def test_chain_mode_insert_and_idempotent():
    plan = _chain("1.0.6-bookworm-host-ft-chain-forward.json")
    assert plan.commands[-1].startswith("insert rule inet filter forward meta l4proto { tcp, udp } flow add @ft")
    pair = (fixture(f"{VM}-chain-flowtable.json"), fixture(f"{VM}-chain-flowtable.txt"))
    live = PL.parse_chain_mode(fixture(f"{VM}-chain-forward-with-rule.json"), pair,
                               F.desired_state(params(table="filter", chain="forward"))).flowtables[0]
    plan = _chain(f"{VM}-chain-forward-with-rule.json", pair, devices=list(live.devices), counter=live.counter)
    assert plan.commands == []


def test_chain_mode_rejects_missing_and_non_forward_chains():
    desired = F.desired_state(params(table="filter", chain="input"))
    with pytest.raises(FlowOffloadError) as err:
        PL.parse_chain_mode(None, None, desired)
    assert err.value.msg.startswith("chain:")
    with pytest.raises(FlowOffloadError) as err:
        PL.parse_chain_mode(fixture("1.0.6-bookworm-host-ft-chain-input.json"), None, desired)
    assert "not a forward base chain" in err.value.msg

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import model as F
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    VM,
    params,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import fixture


def _owned(prefix):
    return F.parse_owned(fixture(f"{prefix}.json"), fixture(f"{prefix}.txt"), F.desired_state(params()))


# --- model and renderer ------------------------------------------------------------------
def test_model_normalizes_devices_once_and_as_dict_is_the_contract():
    ft = F.FlowtableModel("inet", "flowoffload", "ft", devices=("wan0", "lan0", "wan0"), counter=True)
    assert ft.devices == ("lan0", "wan0")
    assert ft.as_dict() == {"family": "inet", "table": "flowoffload", "name": "ft", "hook": "ingress",
                            "priority": 0, "devices": ["lan0", "wan0"], "offload": False, "counter": True}
    assert F.FlowtableModel.from_dict(ft.as_dict()) == ft


def test_one_renderer_add_and_block():
    ft = F.FlowtableModel("inet", "t", "ft", priority=-5, devices=("1wan", "lan+"), offload=True, counter=True)
    assert F.render_flowtable(ft) == ('add flowtable inet t ft { hook ingress priority -5; devices = { "1wan", "lan+" }; '
                                      'flags offload; counter; }')
    assert F.render_flowtable(ft, "block") == ('\tflowtable ft {\n\t\thook ingress priority -5\n'
                                               '\t\tdevices = { "1wan", "lan+" }\n\t\tflags offload\n\t\tcounter\n\t}\n')


# --- validation (issue 9, defect 7) ------------------------------------------------------
@pytest.mark.parametrize("option", ["name", "table", "chain"])
@pytest.mark.parametrize("word", ["fwd", "ingress", "egress", "offload", "devices", "hook", "flowtable", "counter"])
def test_nft_keywords_are_refused_naming_the_option(option, word):
    with pytest.raises(FlowOffloadError) as err:
        F.desired_state(params(**{option: word}))
    assert err.value.msg.startswith(f"{option}:") and "keyword" in err.value.msg


@pytest.mark.parametrize("value", [99999999999, 2 ** 31, -(2 ** 31) - 1, "filter + 2147483648"])
def test_priority_outside_signed_32_bit_is_refused(value):
    with pytest.raises(FlowOffloadError) as err:
        F.desired_state(params(priority=value))
    assert err.value.msg.startswith("priority:") and "32-bit" in err.value.msg


@pytest.mark.parametrize("value", [2 ** 31 - 1, -(2 ** 31), "filter - 5"])
def test_priority_at_the_limits_is_accepted(value):
    assert isinstance(F.desired_state(params(priority=value)).priority, int)


def test_names_that_are_not_keywords_still_work():
    desired = F.desired_state(params(table="filter", chain="forward", name="ft_lan"))
    assert (desired.table, desired.chain, desired.name) == ("filter", "forward", "ft_lan")


@pytest.mark.parametrize("changes,option", [
    ({"devices": ["eth0; flush ruleset"]}, "devices:"), ({"devices": []}, "devices:"),
    ({"offload": "maybe"}, "offload:"), ({"protocols": ["icmp"]}, "protocols:"),
    ({"family": "bridge"}, "family:"), ({"backend": "fw4", "devices": ["lan0"]}, "devices:"),
])
def test_bad_input_names_the_option(changes, option):
    with pytest.raises(FlowOffloadError) as err:
        F.desired_state(params(**changes))
    assert err.value.msg.startswith(option)


# --- plan: owned table -------------------------------------------------------------------
def _plan(prefix, **changes):
    desired = F.desired_state(params(**changes))
    current = F.parse_owned(fixture(f"{prefix}.json"), fixture(f"{prefix}.txt"), desired) if prefix else F.Current()
    new = desired.flowtable(desired.devices, desired.offload == "true") if desired.state == "present" else None
    return F.plan_owned(current, desired, new)


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
    plan = F.plan_owned(current, desired, desired.flowtable(desired.devices, False))
    assert plan.commands[0] == "delete table inet flowoffload" and plan.commands[1].startswith("add table")
    assert "# set blocklist" in plan.before


def test_rule_without_our_comment_is_replaced():
    desired = F.desired_state(params())
    current = _owned("1.0.6-bookworm-handmade-ft-owned-one")
    current.rules = [(None, 5, "meta l4proto { tcp, udp } flow add @ft")]
    plan = F.plan_owned(current, desired, desired.flowtable(desired.devices, False))
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
        F.plan_owned(F.Current(exists=True, owned=False), desired, desired.flowtable(desired.devices, False))
    assert err.value.msg.startswith("table:")


# --- plan: chain mode --------------------------------------------------------------------
def _chain(rule_fixture, ft_pair=None, **changes):
    desired = F.desired_state(params(table="filter", chain="forward", **changes))
    current = F.parse_chain_mode(fixture(rule_fixture), ft_pair, desired)
    new = desired.flowtable(desired.devices, False) if desired.state == "present" else None
    return F.plan_chain(current, desired, new)


def test_chain_mode_insert_and_idempotent():
    plan = _chain("1.0.6-bookworm-host-ft-chain-forward.json")
    assert plan.commands[-1].startswith("insert rule inet filter forward meta l4proto { tcp, udp } flow add @ft")
    pair = (fixture(f"{VM}-chain-flowtable.json"), fixture(f"{VM}-chain-flowtable.txt"))
    desired_devices = F.parse_chain_mode(fixture(f"{VM}-chain-forward-with-rule.json"), pair,
                                         F.desired_state(params(table="filter", chain="forward"))).flowtables[0].devices
    plan = _chain(f"{VM}-chain-forward-with-rule.json", pair, devices=list(desired_devices),
                  counter=F.parse_chain_mode(fixture(f"{VM}-chain-forward-with-rule.json"), pair,
                                             F.desired_state(params(table="filter", chain="forward"))).flowtables[0].counter)
    assert plan.commands == []


def test_chain_mode_rejects_missing_and_non_forward_chains():
    desired = F.desired_state(params(table="filter", chain="input"))
    with pytest.raises(FlowOffloadError) as err:
        F.parse_chain_mode(None, None, desired)
    assert err.value.msg.startswith("chain:")
    with pytest.raises(FlowOffloadError) as err:
        F.parse_chain_mode(fixture("1.0.6-bookworm-host-ft-chain-input.json"), None, desired)
    assert "not a forward base chain" in err.value.msg

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable as F
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.ft_helpers import (
    fixture,
)

HOST = "1.0.6-bookworm-host-ft"
TAG = 'comment "flowoffload.nft:ft"'


def desired(**params: t.Any) -> t.Dict[str, t.Any]:
    base: t.Dict[str, t.Any] = {"devices": ["wan0", "lan0"]}
    base.update(params)
    return F.desired_state(base)


def flowtable(**kw: t.Any) -> t.Dict[str, t.Any]:
    ft = {"family": "inet", "table": "flowoffload", "name": "ft", "hook": "ingress", "priority": 0,
          "devices": ["lan0", "wan0"], "offload": False, "counter": True}
    ft.update(kw)
    return ft


def offload_rule(name: str = "ft", protocols: t.Sequence[str] = ("tcp", "udp"), handle: int = 4,
                 chain: str = "forward", comment: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    right: t.Any = {"set": list(protocols)} if len(protocols) > 1 else protocols[0]
    return {"family": "inet", "table": "flowoffload", "chain": chain, "handle": handle,
            "comment": f"flowoffload.nft:{name}" if comment is None else comment,
            "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": right}},
                     {"flow": {"op": "add", "flowtable": f"@{name}"}}]}


def owned(flowtables: t.Sequence[t.Dict[str, t.Any]] = (), rules: t.Sequence[t.Dict[str, t.Any]] = ()) -> t.Dict[str, t.Any]:
    """Current owned table: chain from the real host listing, flowtables/rules given."""
    base = F.parse_owned(fixture(f"{HOST}-owned-noflowtable.json"), fixture(f"{HOST}-owned-noflowtable.txt"),
                         "inet", "flowoffload")
    base["flowtables"] = list(flowtables)
    base["rules"] = list(rules)
    return base


ABSENT = F.parse_owned(None, "", "inet", "flowoffload")


def run_plan(current: t.Dict[str, t.Any], want: t.Dict[str, t.Any], offload: bool = False) -> t.List[str]:
    new_ft = F.wanted_flowtable(want, want["devices"], offload) if want["state"] == "present" else None
    return F.plan(current, want, new_ft)["commands"]


# --- desired state / bad input ---------------------------------------------------------
def test_desired_defaults():
    want = desired()
    assert want["name"] == "ft" and want["table"] == "flowoffload" and want["family"] == "inet"
    assert want["devices"] == ["lan0", "wan0"] and want["priority"] == 0
    assert want["protocols"] == ["tcp", "udp"] and want["counter"] is True and want["offload"] == "false"


@pytest.mark.parametrize("value, expected", [(True, "true"), (False, "false"), ("yes", "true"), ("no", "false"),
                                             ("auto", "auto"), ("True", "true"), ("off", "false")])
def test_offload_values(value, expected):
    assert desired(offload=value)["offload"] == expected


@pytest.mark.parametrize(
    "params, option",
    [
        ({"offload": "maybe"}, "offload:"),
        ({"family": "bridge"}, "family:"),
        ({"family": "netdev"}, "family:"),
        ({"priority": "mangle"}, "priority:"),
        ({"priority": "filter + ten"}, "priority:"),
        ({"name": "flow"}, "name:"),
        ({"name": "ft; flush ruleset"}, "name:"),
        ({"table": "my table"}, "table:"),
        ({"chain": "fwd{"}, "chain:"),
        ({"devices": ["eth0; flush ruleset"]}, "devices:"),
        ({"devices": ["averyveryverylong0"]}, "devices:"),
        ({"devices": [""]}, "devices:"),
        ({"devices": ["eth/0"]}, "devices:"),
        ({"devices": ["eth 0"]}, "devices:"),
        ({"devices": ["eth:0"]}, "devices:"),
        ({"devices": ["eth'0"]}, "devices:"),
        ({"devices": ["{eth0}"]}, "devices:"),
        ({"devices": ["$lan"]}, "devices:"),
        ({"devices": ["@ft"]}, "devices:"),
        ({"devices": []}, "devices:"),
        ({"devices": ["eth0"], "backend": "fw4"}, "devices:"),
        ({"protocols": ["icmp"]}, "protocols:"),
        ({"protocols": []}, "protocols:"),
    ],
)
def test_bad_input_names_option(params, option):
    with pytest.raises(FlowOffloadError) as err:
        desired(**params)
    assert err.value.msg.startswith(option)


def test_absent_needs_no_devices():
    assert F.desired_state({"state": "absent"})["devices"] == []


def test_fw4_without_devices_is_fine():
    assert F.desired_state({"backend": "fw4"})["backend"] == "fw4"


def test_missing_devices_fail_names_them():
    with pytest.raises(FlowOffloadError) as err:
        F.select_devices(desired(), lambda dev: dev == "lan0")
    assert err.value.msg.startswith("devices:") and "wan0" in err.value.msg


def test_missing_devices_skip():
    assert F.select_devices(desired(missing_devices="skip"), lambda dev: dev == "lan0") == (["lan0"], ["wan0"])


def test_missing_devices_skip_all_is_an_error():
    with pytest.raises(FlowOffloadError) as err:
        F.select_devices(desired(missing_devices="skip"), lambda dev: False)
    assert "offloads nothing" in err.value.msg


# --- render ----------------------------------------------------------------------------
def test_add_flowtable_repeats_flags_and_counter_and_quotes_devices():
    line = F.add_flowtable(flowtable(offload=True), ["eth2"])
    assert line == ('add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "eth2" }; '
                    "flags offload; counter; }")


def test_rule_single_protocol():
    assert F.rule_expr("ft", ["tcp"]) == f"meta l4proto tcp flow add @ft {TAG}"


def test_render_text_one_statement_per_line():
    text = F.render_text("inet", "flowoffload", [flowtable()], {"ft": ["tcp", "udp"]})
    lines = text.splitlines()
    assert lines[0] == "table inet flowoffload {" and lines[-1] == "}"
    assert '\tcomment "managed by flowoffload.nft"' in lines
    # the flowtable's closing brace is on its own line, never followed by the table's
    assert lines.count("\t}") == 2
    assert f"\t\tmeta l4proto {{ tcp, udp }} flow add @ft {TAG}" in lines


# --- plan: owned table -----------------------------------------------------------------
def test_plan_create_owned_table():
    lines = run_plan(ABSENT, desired())
    assert lines == [
        'add table inet flowoffload { comment "managed by flowoffload.nft"; }',
        'add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "lan0", "wan0" }; counter; }',
        "add chain inet flowoffload forward { type filter hook forward priority 10; policy accept; }",
        f"add rule inet flowoffload forward meta l4proto {{ tcp, udp }} flow add @ft {TAG}",
    ]


def test_plan_noop():
    assert run_plan(owned([flowtable()], [offload_rule()]), desired()) == []


def test_plan_noop_with_keyword_priority_and_unsorted_devices():
    assert run_plan(owned([flowtable()], [offload_rule()]), desired(priority="filter", devices=["wan0", "lan0"])) == []


def test_plan_add_device_in_place():
    lines = run_plan(owned([flowtable()], [offload_rule()]), desired(devices=["lan0", "wan0", "eth2"]))
    assert lines == ['add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "eth2" }; counter; }']


@pytest.mark.parametrize(
    "change, offload",
    [({"devices": ["lan0"]}, False), ({"priority": 5}, False), ({}, True), ({"counter": False}, False)],
)
def test_plan_recreates_flowtable_and_rule(change, offload):
    lines = run_plan(owned([flowtable()], [offload_rule(handle=9)]), desired(**change), offload)
    assert lines[0] == "delete rule inet flowoffload forward handle 9"
    assert lines[1] == "delete flowtable inet flowoffload ft"
    assert lines[2].startswith("add flowtable inet flowoffload ft {")
    assert lines[3] == f"add rule inet flowoffload forward meta l4proto {{ tcp, udp }} flow add @ft {TAG}"
    assert len(lines) == 4


def test_plan_protocols_change_replaces_rule_only():
    lines = run_plan(owned([flowtable()], [offload_rule(handle=9)]), desired(protocols=["udp"]))
    assert lines == ["delete rule inet flowoffload forward handle 9",
                     f"add rule inet flowoffload forward meta l4proto udp flow add @ft {TAG}"]


def test_plan_second_flowtable_shares_owned_table():
    lines = run_plan(owned([flowtable()], [offload_rule()]), desired(name="ft2", devices=["eth2"]))
    assert lines == [
        'add flowtable inet flowoffload ft2 { hook ingress priority 0; devices = { "eth2" }; counter; }',
        'add rule inet flowoffload forward meta l4proto { tcp, udp } flow add @ft2 comment "flowoffload.nft:ft2"',
    ]


def test_plan_absent_last_flowtable_deletes_table():
    assert run_plan(owned([flowtable()], [offload_rule()]), desired(state="absent")) == ["delete table inet flowoffload"]


def test_plan_absent_keeps_other_flowtables():
    current = owned([flowtable(), flowtable(name="ft2", devices=["eth2"])],
                    [offload_rule(handle=4), offload_rule("ft2", handle=5)])
    result = F.plan(current, desired(state="absent"), None)
    assert result["commands"] == ["delete rule inet flowoffload forward handle 4", "delete flowtable inet flowoffload ft"]
    assert "@ft2" in result["after"] and "@ft " not in result["after"]


def test_plan_absent_when_table_missing_is_noop():
    assert run_plan(ABSENT, desired(state="absent")) == []


def test_plan_refuses_unmarked_table():
    current = F.parse_owned(fixture(f"{HOST}-chain-forward.json"), "table inet filter {\n}\n", "inet", "filter")
    with pytest.raises(FlowOffloadError) as err:
        run_plan(current, desired(table="filter"))
    assert err.value.msg.startswith("table:") and "not managed by flowoffload.nft" in err.value.msg


def test_plan_rebuilds_owned_table_when_chain_was_changed():
    current = owned([flowtable()], [offload_rule()])
    current["chains"][0]["priority"] = 0
    lines = run_plan(current, desired())
    assert lines[0] == "delete table inet flowoffload"
    assert lines[1].startswith("add table inet flowoffload")
    assert lines[-1].startswith("add rule inet flowoffload forward")


def test_plan_adds_missing_owned_chain():
    current = owned([flowtable()], [])
    current["chains"] = []
    lines = run_plan(current, desired())
    assert lines == [F.owned_chain_stmt("inet", "flowoffload"),
                     f"add rule inet flowoffload forward meta l4proto {{ tcp, udp }} flow add @ft {TAG}"]


def test_plan_diff_texts():
    result = F.plan(owned([flowtable()], [offload_rule()]), desired(priority=-5),
                    F.wanted_flowtable(desired(priority=-5), ["lan0", "wan0"], False))
    assert "hook ingress priority 0" in result["before"] and "hook ingress priority -5" in result["after"]


# --- plan: chain mode ------------------------------------------------------------------
def chain_state(ft: t.Optional[t.Dict[str, t.Any]] = None, pair: t.Optional[t.Tuple[str, str]] = None,
                want: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
    want = want or desired(table="filter", chain="forward")
    state = F.parse_chain_mode(fixture(f"{HOST}-chain-forward.json"), pair, want)
    if ft:
        state["flowtables"] = [ft]
    return state


def test_chain_mode_insert():
    want = desired(table="filter", chain="forward")
    lines = run_plan(chain_state(want=want), want)
    assert lines == [
        'add flowtable inet filter ft { hook ingress priority 0; devices = { "lan0", "wan0" }; counter; }',
        f"insert rule inet filter forward meta l4proto {{ tcp, udp }} flow add @ft {TAG}",
    ]


def test_chain_mode_noop_and_remove():
    want = desired(table="filter", chain="forward")
    state = chain_state(flowtable(table="filter"), want=want)
    state["rules"].insert(0, dict(offload_rule(handle=12), table="filter"))
    assert run_plan(state, want) == []
    gone = desired(table="filter", chain="forward", state="absent")
    assert run_plan(state, gone) == ["delete rule inet filter forward handle 12", "delete flowtable inet filter ft"]


def test_chain_mode_refuses_foreign_flowtable():
    want = desired(table="filter", chain="forward")
    with pytest.raises(FlowOffloadError) as err:
        run_plan(chain_state(flowtable(table="filter"), want=want), want)
    assert err.value.msg.startswith("name:")


def test_chain_mode_ignores_untagged_rules():
    want = desired(table="filter", chain="forward")
    state = chain_state(want=want)
    assert F.current_rules_model(state["rules"], False) == {}
    assert len(state["rules"]) == 2


@pytest.mark.parametrize("listing", [f"{HOST}-chain-helper.json", f"{HOST}-chain-input.json"])
def test_chain_mode_rejects_non_forward_chain(listing):
    want = desired(table="filter", chain=listing.split("-")[-1].split(".")[0])
    with pytest.raises(FlowOffloadError) as err:
        F.parse_chain_mode(fixture(listing), None, want)
    assert err.value.msg.startswith("chain:") and "not a forward base chain" in err.value.msg


def test_chain_mode_missing_chain():
    with pytest.raises(FlowOffloadError) as err:
        F.parse_chain_mode(None, None, desired(table="filter", chain="nosuch"))
    assert err.value.msg.startswith("chain:") and "does not exist" in err.value.msg

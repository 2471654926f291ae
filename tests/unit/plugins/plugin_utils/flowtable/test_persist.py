# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    model as F,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    persist as P,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    plan as PL,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import (
    DEVICE_TAG,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    params,
)

NFT = "/usr/sbin/nft"


def want(**kw: t.Any) -> F.Desired:
    return F.desired_state(params(**kw))


def ft(**kw: t.Any) -> F.FlowtableModel:
    d = want(**kw)
    return d.flowtable(d.devices, False)


def test_paths():
    d = want()
    assert P.nft_path(d, False) == "/etc/flowoffload/inet-flowoffload.nft"
    assert P.nft_path(d, True) == "/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"
    assert P.unit_path(d) == "/etc/systemd/system/flowoffload-inet-flowoffload.service"


def plan_of(d: F.Desired, devices=None, current=None) -> PL.Plan:
    new = d.flowtable(d.devices if devices is None else devices, False) if d.state == "present" else None
    return (PL.plan_owned if d.chain is None else PL.plan_chain)(current or PL.Current(), d, new)


def test_owned_file_is_idempotent_on_its_own_and_uses_the_one_renderer():
    d = want()
    content = P.owned_file(d, [ft()], {"ft": ("tcp", "udp")}, {"ft": ["wan0", "lan0"]})
    lines = content.splitlines()
    assert lines[1:4] == ["table inet flowoffload {", "}", "delete table inet flowoffload"]
    assert lines[4] == "table inet flowoffload {"
    # the flowtable is defined without devices: an absent device never makes the load fail
    assert F.render_flowtable(ft().replace(devices=()), "block") in content
    assert lines[-2:] == [DEVICE_TAG + "lan0 " + F.render_flowtable(ft().replace(devices=("lan0",))),
                          DEVICE_TAG + "wan0 " + F.render_flowtable(ft().replace(devices=("wan0",)))]
    assert lines[-1].endswith('{ hook ingress priority 0; devices = { "wan0" }; counter; }')


def test_device_lines_repeat_flags_and_counter():
    hw = F.FlowtableModel("inet", "t", "f", "ingress", -100, ("a",), True, True)
    assert P.device_lines(hw, ["eth1"]) == ('# flowoffload.nft:device=eth1 add flowtable inet t f { hook ingress priority -100; '
                                            'devices = { "eth1" }; flags offload; counter; }\n')
    assert P.file_devices(P.device_lines(hw, ["eth1", "eth0"]) + "# other\n") == {"f": {"eth0", "eth1"}}


def test_unit_owned_mode_runs_the_loader():
    d = want()
    unit = P.unit_text(d, P.nft_path(d, False))
    # issue 19: the start right after an apply and a reload when the table survived leave
    # the loaded table alone (--table): the same command for both
    for line in ("Type=oneshot", "RemainAfterExit=yes", "After=nftables.service", "PartOf=nftables.service",
                 "ReloadPropagatedFrom=nftables.service", "WantedBy=multi-user.target nftables.service",
                 "ExecStart=/bin/sh /etc/flowoffload/flowoffload-load --table inet flowoffload "
                 "/etc/flowoffload/inet-flowoffload.nft",
                 "ExecReload=/bin/sh /etc/flowoffload/flowoffload-load --table inet flowoffload "
                 "/etc/flowoffload/inet-flowoffload.nft"):
        assert line in unit.splitlines()


@pytest.mark.parametrize("units, active", [
    ({"nftables.service": "active", "nftables.service.enabled": "enabled"}, True),
    ({"nftables.service": "active", "nftables.service.enabled": "disabled"}, True),  # started by hand
    ({"nftables.service": "inactive", "nftables.service.enabled": ""}, True),       # not installed
    ({}, True),                                                                     # not read
    ({"nftables.service": "inactive", "nftables.service.enabled": "disabled"}, False),
    ({"nftables.service": "inactive", "nftables.service.enabled": "enabled"}, False),  # stopped
])
def test_the_unit_belongs_active_unless_nftables_is_installed_and_not_running(units, active):
    """Started while nftables.service is inactive, the unit would stay active through a later
    'systemctl start nftables' (which flushes the ruleset): left to that start instead."""
    assert P.should_be_active(units) is active


def test_unit_chain_mode_guards_against_duplicate_rule():
    d = want(table="filter", chain="forward")
    unit = P.unit_text(d, P.nft_path(d, False))
    assert ("ExecStart=/bin/sh /etc/flowoffload/flowoffload-load --chain inet filter forward "
            "/etc/flowoffload/inet-filter.nft") in unit.splitlines()


def test_chain_sections_merge_and_drop():
    d = want(table="filter", chain="forward")
    one = P.merge_sections(None, "ft", P.chain_section(d, ft(table="filter"), d.devices))
    assert one.count("insert rule inet filter forward") == 1
    assert "add flowtable inet filter ft { hook ingress priority 0; counter; }\n" in one
    assert one.count(DEVICE_TAG) == 2
    d2 = want(table="filter", chain="forward", name="ft2", devices=["eth2"])
    two = P.merge_sections(one, "ft2", P.chain_section(d2, d2.flowtable(["eth2"], False), ["eth2"]))
    assert "begin" in two and two.count("insert rule") == 2 and two.count(DEVICE_TAG) == 3
    assert P.merge_sections(two, "ft", P.chain_section(d, ft(table="filter"), d.devices)) == two
    assert P.merge_sections(P.merge_sections(two, "ft", None), "ft2", None) == ""


def test_file_plan_idempotent_and_removal():
    d = want()
    entries = P.file_plan(d, plan_of(d), None, None, False, True)
    files = {e["path"]: e["after"] for e in entries}
    assert len(files) == 2
    before = (files[P.nft_path(d, False)], files[P.unit_path(d)])
    assert P.file_plan(d, plan_of(d), *before, False, True) == []
    gone = P.file_plan(want(persist=False), plan_of(d), *before, False, True)
    assert [e["after"] for e in gone] == ["", ""]


def test_skipped_devices_stay_configured_in_the_file():
    """missing_devices=skip: the live flowtable has the present devices, the file all of them."""
    d = want(missing_devices="skip")
    entries = P.file_plan(d, plan_of(d, devices=["lan0"]), None, None, False, True)
    content = entries[0]["after"]
    assert P.file_devices(content) == {"ft": {"lan0", "wan0"}}
    # once wan0 appeared (udev added it), the next run keeps the same file: idempotent
    assert P.file_plan(d, plan_of(d), content, entries[1]["after"], False, True) == []


def test_other_flowtables_keep_their_configured_devices():
    """ft2's eth2 is absent (not live) but listed in the file: a run for ft keeps it."""
    d2 = want(name="ft2", devices=["eth2"])
    first = P.file_plan(d2, plan_of(d2), None, None, False, True)[0]["after"]
    live_ft2 = d2.flowtable((), False)  # eth2 vanished: the kernel dropped it from ft2
    chain = {"name": "forward", "type": "filter", "hook": "forward", "priority": 10, "policy": "accept"}
    current = PL.Current(exists=True, owned=True, flowtables=[live_ft2], chains=[chain],
                         rules=[(("ft2", ("tcp", "udp")), 1, "")])
    d = want()
    content = P.file_plan(d, plan_of(d, current=current), first, None, False, True)[0]["after"]
    assert P.file_devices(content) == {"ft": {"lan0", "wan0"}, "ft2": {"eth2"}}


def test_openwrt_and_hosts_without_systemd_have_no_unit():
    d = want()
    entries = P.file_plan(d, plan_of(d), None, None, True, False)
    assert [e["path"] for e in entries] == ["/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"]
    entries = P.file_plan(d, plan_of(d), None, None, False, False)
    assert [e["path"] for e in entries] == ["/etc/flowoffload/inet-flowoffload.nft"]

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gateway_conflicts software and exclude (issue 18 item 2): the decisions (pure), then the
profile on the lab VM's HostRoot with shaping qdiscs in tc's answers, and on the OpenWrt
router (fw4)."""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import rules
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    shaping,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.inputs import (
    validate_inputs,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    lab_root,
    params,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.sections import (
    openwrt_router,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.test_rules import (
    facts,
)

CAKE = {"kind": "qdisc", "device": "eth0", "trigger": "cake qdisc", "detail": "cake qdisc (root, handle 8001:) shapes eth0"}
IFB = {"kind": "qdisc", "device": "eth1", "trigger": "ingress redirected to ifb0 (cake)",
       "detail": "ingress of eth1 is redirected to ifb0 (cake there)"}
IPSEC = {"kind": "ipsec", "device": "", "trigger": "IPsec (xfrm) policies", "detail": "2 IPsec (xfrm) policies"}
OTHER = {"kind": "qdisc", "device": "eth7", "trigger": "htb qdisc", "detail": "htb qdisc (root, handle 1:) shapes eth7"}


def decide(params: dict[str, t.Any], conflicts: list[dict[str, str]], **changes: t.Any) -> rules.Decision:
    return rules.decide(validate_inputs(params), facts(conflicts=conflicts, **changes), {"lo", "eth0", "eth1"})


# --- decisions ------------------------------------------------------------------------------------
def test_software_makes_auto_software_only_and_says_which_device() -> None:
    dec = decide({"conflicts": "software"}, [CAKE, IPSEC])
    assert dec.flowtable is not None and dec.flowtable["offload"] is False
    assert dec.flowtable["devices"] == ["eth0", "eth1"]
    assert dec.report == ["eth0: cake qdisc -> software offload"]
    assert dec.fallback.startswith("gateway_conflicts=software: software offload because of shaping (eth0: cake qdisc)")
    # IPsec keeps warn's meaning
    assert dec.warnings == ["offloaded packets bypass ipsec: 2 IPsec (xfrm) policies"]


def test_software_without_shaping_leaves_the_profile_alone() -> None:
    dec = decide({"conflicts": "software"}, [IPSEC, OTHER])  # eth7 is not offloaded
    assert dec.flowtable is not None and dec.flowtable["offload"] == "auto" and dec.report == [] and dec.fallback == ""
    assert len(dec.warnings) == 2


def test_software_downgrades_hardware_with_a_warning_naming_the_device() -> None:
    # eth0 cannot offload in hardware: without shaping the profile would refuse; the downgrade
    # makes that question moot
    dec = decide({"conflicts": "software", "profile": "hardware"}, [IFB])
    assert dec.flowtable is not None and dec.flowtable["offload"] is False
    assert dec.report == ["eth1: ingress redirected to ifb0 (cake) -> software offload"]
    assert dec.warnings[0].startswith("gateway_profile=hardware downgraded to software offload by "
                                      "gateway_conflicts=software: eth1: ingress redirected to ifb0 (cake)")
    with pytest.raises(FlowOffloadError, match="gateway_profile=hardware needs hardware offload"):
        decide({"conflicts": "software", "profile": "hardware"}, [OTHER])


def test_software_with_profile_software_reports_without_a_fallback() -> None:
    dec = decide({"conflicts": "software", "profile": "software"}, [CAKE])
    assert dec.flowtable is not None and dec.flowtable["offload"] is False
    assert dec.report == ["eth0: cake qdisc -> software offload"] and dec.fallback == "" and dec.warnings == []


def test_exclude_leaves_shaped_devices_out() -> None:
    dec = decide({"conflicts": "exclude", "profile": "hardware"}, [CAKE, IPSEC])
    # eth1 alone can offload in hardware: with eth0 left out, hardware goes through
    assert dec.devices == ["eth1"] and dec.flowtable is not None
    assert dec.flowtable["devices"] == ["eth1"] and dec.flowtable["offload"] is True
    assert dec.report == ["eth0: cake qdisc -> left out of the flowtable"]
    assert dec.warnings[0] == "offloaded packets bypass ipsec: 2 IPsec (xfrm) policies"


def test_exclude_of_every_device_sets_up_no_flowtable() -> None:
    dec = decide({"conflicts": "exclude"}, [CAKE, IFB])
    assert dec.devices == [] and dec.flowtable is not None and dec.flowtable["state"] == "absent"
    assert dec.kmod is None
    assert dec.report[:2] == ["eth0: cake qdisc -> left out of the flowtable",
                              "eth1: ingress redirected to ifb0 (cake) -> left out of the flowtable"]
    assert dec.report[2].startswith("no flowtable: gateway_conflicts=exclude left out every device (eth0: cake qdisc; "
                                    "eth1: ingress redirected to ifb0 (cake))")
    assert dec.fallback.startswith("no flowtable:")
    missing = {name: {"state": "missing"} for name in rules.MODULES}
    lacking = decide({"conflicts": "exclude"}, [CAKE, IFB], kernel__modules=missing,
                     kernel__software_offload={"supported": False, "message": "ENOENT"},
                     platform={"os_family": "OpenWrt", "distribution": "OpenWrt", "package_manager": "opkg",
                               "firewall": "nftables"})
    assert lacking.install is None and lacking.kmod is None and lacking.flowtable["state"] == "absent"  # type: ignore[index]


def test_exclude_is_refused_with_fw4_before_anything() -> None:
    with pytest.raises(FlowOffloadError) as err:
        decide({"conflicts": "exclude"}, [], platform={"os_family": "OpenWrt", "firewall": "fw4"})
    assert "gateway_conflicts=exclude cannot work with the fw4 backend" in err.value.msg
    assert "Set gateway_conflicts=software" in err.value.msg and err.value.msg.endswith("Nothing was changed")
    assert decide({"conflicts": "exclude", "profile": "off"}, [], platform={"firewall": "fw4"}).flowtable


def test_warn_and_fail_keep_their_meaning() -> None:
    assert decide({}, [CAKE]).warnings == ["offloaded packets bypass qdisc on eth0: cake qdisc (root, handle 8001:) shapes eth0"]
    assert decide({}, [CAKE]).flowtable["offload"] == "auto"  # type: ignore[index]
    with pytest.raises(FlowOffloadError, match="gateway_conflicts=fail stops here"):
        decide({"conflicts": "fail"}, [CAKE])
    with pytest.raises(FlowOffloadError, match="gateway_conflicts=fail stops here"):
        decide({"conflicts": "fail"}, [IPSEC])


def test_facts_without_a_trigger_are_named_by_their_detail() -> None:
    old = {"kind": "qdisc", "device": "eth0", "detail": "cake qdisc (root): offloaded packets bypass it"}
    assert shaping.trigger(old) == "cake qdisc (root)"


# --- the lab VM (HostRoot): tc answers with shaping on lan0 and an ifb redirect on wan0 --------------
def _qdiscs() -> str:
    listing = json.loads(fixture("1.0.6-bookworm-vm-capture-tc-qdisc.json"))
    listing = [q for q in listing if q["dev"] not in ("lan0", "wan0")]
    listing += [
        {"kind": "cake", "handle": "8001:", "dev": "lan0", "root": True, "refcnt": 2,
         "options": {"bandwidth": 12500000, "diffserv": "diffserv3", "flowmode": "triple-isolate"}},
        {"kind": "noqueue", "handle": "0:", "dev": "wan0", "root": True, "refcnt": 2, "options": {}},
        {"kind": "ingress", "handle": "ffff:", "dev": "wan0", "parent": "ffff:fff1", "options": {}},
    ]
    return json.dumps(listing, separators=(",", ":")) + "\n"


def shaped_lab(path: pathlib.Path, ifb: bool = True) -> t.Any:
    host = lab_root(path, modules_loaded=True, boot_list=True)
    host.write("/var/lib/doubles/tc/-j qdisc show", _qdiscs())
    host.write("/var/lib/doubles/tc/qdisc show", "qdisc cake 8001: dev lan0 root refcnt 2 bandwidth 100Mbit\n"
               "qdisc ingress ffff: dev wan0 parent ffff:fff1 ----------------\n")
    redirect = fixture("1.0.6-bookworm-vm-facts-ns-tc-filter-dummy2-ingress.json")
    host.write("/var/lib/doubles/tc/-j filter show dev wan0 ingress", redirect if ifb else "[]\n")
    return host


def test_exclude_on_the_lab_vm_offloads_the_unshaped_device(tmp_path: pathlib.Path) -> None:
    host = shaped_lab(tmp_path, ifb=False)
    out = P.run_profile(host, params(devices="lan0,wan0", conflicts="exclude"), False)
    assert out["changed"] is True and out["devices"] == ["wan0"], out
    assert "devices = { wan0 }" in host.ruleset()
    assert out["report"][0] == "lan0: cake qdisc -> left out of the flowtable"
    again = P.run_profile(host, params(devices="lan0,wan0", conflicts="exclude"), False)
    assert again["changed"] is False and again["devices"] == ["wan0"]


def test_exclude_of_both_lab_devices_removes_the_flowtable(tmp_path: pathlib.Path) -> None:
    host = shaped_lab(tmp_path)
    first = P.run_profile(host, params(devices="lan0,wan0"), False)  # warn: both offloaded
    assert first["devices"] == ["lan0", "wan0"] and "flowtable ft" in host.ruleset()
    assert any("ingress of wan0 is redirected to ifb0" in w for w in first["warnings"])
    out = P.run_profile(host, params(devices="lan0,wan0", conflicts="exclude"), False)
    assert out["changed"] is True and out["devices"] == [] and "flowtable ft" not in host.ruleset()
    assert out["report"][1].startswith("wan0: ingress redirected to ifb0")
    assert out["fallback_reason"].startswith("no flowtable: gateway_conflicts=exclude left out every device")


def test_software_on_the_lab_vm_says_why(tmp_path: pathlib.Path) -> None:
    host = shaped_lab(tmp_path)
    out = P.run_profile(host, params(devices="lan0,wan0", conflicts="software"), False)
    assert out["devices"] == ["lan0", "wan0"] and out["hardware_offload"] is False
    assert "flags offload" not in host.ruleset()
    assert out["report"][:2] == ["lan0: cake qdisc -> software offload",
                                 "wan0: ingress redirected to ifb0 -> software offload"]
    assert out["fallback_reason"].startswith("gateway_conflicts=software: software offload because of shaping")
    assert not any("offloaded packets bypass" in w for w in out["warnings"])


# --- the OpenWrt router (fw4) ---------------------------------------------------------------------
def _fw4_with_cake() -> dict[str, t.Any]:
    """The router of the captures with tc, a kernel that accepts flowtables, fw4's offloading on
    in hardware, and cake on wan0."""
    qdisc = '[{"kind":"cake","handle":"8001:","dev":"wan0","root":true,"refcnt":2,"options":{"bandwidth":12500000}}]\n'
    router = openwrt_router("opkg", **{fr.K_QDISC: sec(qdisc), "probe:sw": sec(""),
                                       "fw4:flow_offloading": sec("1\n"), "fw4:flow_offloading_hw": sec("1\n")})
    router["host:tools"] = sec(router["host:tools"].out + "tc=/usr/sbin/tc\n")
    return router


def test_fw4_software_turns_hardware_offloading_off() -> None:
    target = FakeTarget(_fw4_with_cake())
    out = P.run_profile(target, params(conflicts="software"), True)
    assert [(c["device"], c["trigger"]) for c in out["ansible_facts"]["flowoffload"]["conflicts"]] == [
        ("wan0", "cake qdisc")]
    assert out["backend"] == "fw4" and out["report"][0] == "wan0: cake qdisc -> software offload"
    # flow_offloading_hw off (fw4's default when unset); flow_offloading stays 1
    assert out["parts"]["flowtable"]["commands"][0] == "uci -q delete 'firewall.@defaults[0].flow_offloading_hw'"
    assert not any("flow_offloading=" in c or "flow_offloading'" in c for c in out["parts"]["flowtable"]["commands"])
    assert out["fallback_reason"].startswith("gateway_conflicts=software: software offload because of shaping")
    warned = P.run_profile(FakeTarget(_fw4_with_cake()), params(), True)  # warn: hardware stays on
    assert not any("flow_offloading_hw" in c for c in warned["parts"]["flowtable"]["commands"])
    assert any("offloaded packets bypass qdisc on wan0" in w for w in warned["warnings"])


def test_fw4_exclude_is_refused_before_any_change() -> None:
    target = FakeTarget(_fw4_with_cake())
    with pytest.raises(FlowOffloadError, match="gateway_conflicts=exclude cannot work with the fw4 backend"):
        P.run_profile(target, params(conflicts="exclude"), False)
    assert not target.applies and target.round_trips == 1

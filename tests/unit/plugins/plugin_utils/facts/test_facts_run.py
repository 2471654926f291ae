# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_facts on the controller: facts built from captured read snapshots, one round
trip with the fake target, and the real read script under busybox ash and dash against
this machine's /sys and /proc (read-only)."""
from __future__ import annotations

import os
import pathlib
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import run as _facts
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
    Snapshot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    SW_EPERM,
    eth_section,
    netns_sections,
    openwrt_sections,
    vm_ns_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    SHELLS,
    lab_root,
)

ALL_KEYS = {"platform", "kernel", "sysctl", "package", "nft", "interfaces", "candidate_devices",
            "flowtables", "flows", "conflicts", "shaping"}
DOUBLES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "doubles", "facts"))


def run(sections: t.Mapping[str, Section], subsets: t.Any = ("all",)) -> tuple[dict[str, t.Any], FakeTarget]:
    target = FakeTarget(sections)
    result = _facts.run_facts(target, {"gather_subset": list(subsets)}, False)
    return result, target


# --- the netns on this development host (kernel without flowtables) ---------------------------
def test_all_subsets_from_the_netns_capture_in_one_round_trip():
    result, target = run(netns_sections())
    assert target.round_trips == 1 and target.applies == []
    assert result["changed"] is False and "warnings" not in result
    facts = result["ansible_facts"]["flowoffload"]
    assert set(facts) == ALL_KEYS
    assert list(facts) == ["platform", "kernel", "sysctl", "package", "nft", "interfaces", "candidate_devices",
                           "flowtables", "flows", "conflicts", "shaping"]
    assert facts["platform"] == {
        "os_family": "Debian", "distribution": "debian", "distribution_version": "12",
        "kernel": "6.18.44-fc-v657", "package_manager": "apt", "firewall": "none", "init": "other",
    }
    kernel = facts["kernel"]
    assert set(kernel) == {"modules", "config", "software_offload", "persistence"}
    assert kernel["software_offload"]["supported"] is False and "ENOENT" in kernel["software_offload"]["message"]
    assert {m["state"] for m in kernel["modules"].values()} == {"missing"}
    assert list(kernel["modules"]) == ["nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"]
    assert kernel["config"] == {"file": None}
    assert kernel["persistence"] == {"file": "/etc/modules", "present": False, "modules": []}
    assert facts["sysctl"] == {"nf_flowtable_tcp_timeout": None, "nf_flowtable_udp_timeout": None,
                               "ip_forward": 0, "ipv6_forwarding": 0}
    assert facts["package"]["installed"] is False and facts["package"]["manager"] == "apt"
    assert facts["nft"] == {"path": "/usr/sbin/nft", "version": "1.0.6", "json": True}
    assert facts["flowtables"] == []
    assert facts["flows"] == {"total": 0, "offload": 0, "hw_offload": 0}
    assert facts["candidate_devices"] == ["veth0", "veth1"]
    veth = facts["interfaces"]["veth0"]
    assert veth == {"kind": "veth", "driver": "veth", "operstate": "up", "lower": [], "hw_tc_offload": False,
                    "hardware_offload": "unknown",
                    "hardware_offload_reason": "the kernel has no flowtable support (see kernel.software_offload)"}
    assert facts["interfaces"]["br0"]["lower"] == ["veth0"]
    assert facts["interfaces"]["lo"]["driver"] is None and facts["interfaces"]["lo"]["hw_tc_offload"] is None
    assert sorted((c["kind"], c["device"]) for c in facts["conflicts"]) == [("qdisc", "veth1"), ("qdisc", "veth1")]


def test_bad_subset_fails_before_any_script_runs():
    target = FakeTarget(netns_sections())
    with pytest.raises(FlowOffloadError) as err:
        _facts.run_facts(target, {"gather_subset": ["interfaces", "bogus"]}, False)
    assert "gather_subset" in err.value.msg and target.round_trips == 0


def test_check_mode_reads_the_same_once():
    normal, _target = run(netns_sections())
    target = FakeTarget(netns_sections())
    assert _facts.run_facts(target, {"gather_subset": ["all"]}, True) == normal
    assert target.round_trips == 1 and target.scripts[0].startswith("#!/bin/sh\n# flowoffload.nft: read")
    plan = _facts.FactsPart().plan(Snapshot(netns_sections()), {"gather_subset": ["all"]}, False)
    assert not plan.spec.changes() and _facts.FactsPart().finish(plan, None) == normal  # read-only: never applies


@pytest.mark.parametrize("subsets,keys", [
    (["kernel"], {"kernel", "sysctl"}),
    (["interfaces"], {"interfaces", "candidate_devices"}),
    (["!all", "nft", "flows"], {"nft", "flows"}),
    (["!interfaces", "!conflicts", "!kernel"], {"platform", "package", "nft", "flowtables", "flows"}),
    (["!all"], set()),
])
def test_only_the_requested_subsets(subsets, keys):
    result, target = run(netns_sections(), subsets)
    assert set(result["ansible_facts"]["flowoffload"]) == keys and target.round_trips == 1


def test_a_snapshot_with_other_sections_gives_the_same_facts():
    other = {"ft:owned": sec("table inet flowoffload {}\n"), "kmod:dep:br_netfilter": sec(""),
             "fw4:uci": sec("firewall.@defaults[0]=defaults\n")}
    alone = _facts.build_facts(Snapshot(netns_sections()), ["all"])
    assert _facts.build_facts(Snapshot({**netns_sections(), **other}), ["all"]) == alone


def test_script_that_printed_nothing_names_the_shell():
    class NoShell:
        round_trips = 0

        def run_script(self, script):
            self.round_trips += 1
            return 127, "", "/bin/sh: not found\n"

    with pytest.raises(FlowOffloadError) as err:
        _facts.run_facts(NoShell(), {"gather_subset": ["nft"]}, False)
    assert "/bin/sh" in err.value.msg and err.value.details["rc"] == 127


def test_probe_reason_when_nft_cannot_run():
    facts = run(netns_sections(software=Section(1, "", SW_EPERM)), ["interfaces"])[0]["ansible_facts"]["flowoffload"]
    veth = facts["interfaces"]["veth0"]
    assert veth["hardware_offload"] == "unknown"
    assert "not probed" in veth["hardware_offload_reason"] and "CAP_NET_ADMIN" in veth["hardware_offload_reason"]


def test_missing_nft_reports_nulls_and_warns():
    sections = netns_sections()
    sections["host:tools"] = sec("ip=/usr/sbin/ip\ntc=/usr/sbin/tc\n")
    sections["probe:sw"] = Section(127, "", "sh: nft: not found\n")
    result = run(sections, ["nft", "flowtables", "kernel", "interfaces"])[0]
    facts = result["ansible_facts"]["flowoffload"]
    assert facts["nft"] == {"path": None, "version": None, "json": None}
    assert facts["flowtables"] == []
    assert any("nft binary was not found" in w for w in result["warnings"])
    assert facts["kernel"]["software_offload"]["supported"] is None
    assert facts["interfaces"]["veth0"]["hardware_offload"] == "unknown"


def test_nft_listing_errors():
    sections = netns_sections()
    sections[fr.K_FT_JSON] = Section(1, "", "netlink: Error: cache initialization failed: Operation not permitted\n")
    sections[fr.K_NFT_JSON] = Section(1, "", "Operation not permitted\n")
    result = run(sections, ["flowtables", "nft"])[0]
    assert result["ansible_facts"]["flowoffload"]["flowtables"] == []
    assert result["ansible_facts"]["flowoffload"]["nft"]["json"] is False
    assert len(result["warnings"]) == 1 and "CAP_NET_ADMIN" in result["warnings"][0]
    sections[fr.K_FT_JSON] = Section(1, "", fixture("1.0.6-bookworm-ctr-capture-flowtable-enoent.stderr"))
    assert "warnings" not in run(sections, ["flowtables"])[0]  # ENOENT: a kernel without flowtables lists none
    sections[fr.K_FT_JSON] = sec("{garbage")
    assert "cannot parse nft JSON" in run(sections, ["flowtables"])[0]["warnings"][0]


def test_flows_absent_and_conntrack_failed():
    sections = netns_sections()
    sections[fr.K_FLOWS] = Section(2, "", "no /proc/net/nf_conntrack and no conntrack binary\n")
    assert run(sections, ["flows"])[0]["ansible_facts"]["flowoffload"]["flows"] is None
    sections[fr.K_FLOWS] = sec("source=conntrack -L\ntotal=0\noffload=0\nhw_offload=0\nrc=1\n")
    assert run(sections, ["flows"])[0]["ansible_facts"]["flowoffload"]["flows"] is None


SQM = """
config queue 'eth1'
\toption enabled '1'
\toption interface 'eth1'
\toption qdisc 'cake'
\toption script 'piece_of_cake.qos'

config queue 'spare'
\toption enabled '0'
\toption interface 'eth2'
"""
# qosify's shipped /etc/config/qosify (openwrt.git package/network/config/qosify/files/qosify.conf)
QOSIFY_SHIPPED = """config defaults
\tlist defaults /etc/qosify/*.conf
\toption dscp_prio CS5

config interface wan
\toption name wan
\toption disabled 1
\toption bandwidth_up 100mbit

config device wandev
\toption disabled 1
\toption name wan
"""


def test_conflicts_without_tc_and_without_shaping_say_so_without_a_warning():
    """Issue 16 point 4: a stock OpenWrt image has no tc; a warning on every healthy router
    trains operators to ignore warnings."""
    sections = netns_sections()
    sections["host:tools"] = sec("nft=/usr/sbin/nft\nip=/usr/sbin/ip\n")
    sections[fr.K_QDISC] = Section(127, "", "sh: tc: not found\n")
    sections[fr.K_XFRM] = sec("src 192.0.2.0/24 dst 198.51.100.0/24 \n\tdir out priority 0 ptype main \n")
    sections[fr.K_NFQUEUE] = sec("table inet t {\n\tchain c {\n\t\tmeta l4proto tcp queue to 3 bypass\n")
    sections[fr.K_SHAPING] = sec(f"@file /etc/config/qosify\n{QOSIFY_SHIPPED}\n")
    result = run(sections, ["conflicts"])[0]
    assert "warnings" not in result
    facts = result["ansible_facts"]["flowoffload"]
    assert facts["shaping"] == {"tool": None, "checked": False, "configured": [],
                                "message": "no qdisc tool; no shaping configured"}
    assert [c["kind"] for c in facts["conflicts"]] == ["ipsec", "nfqueue"]


@pytest.mark.parametrize("section, found", [
    (f"@file /etc/config/sqm\n{SQM}\n", "SQM (sqm-scripts) shapes eth1 (sqm.eth1: qdisc cake, script piece_of_cake.qos)"),
    (f"@file /etc/config/qosify\n{QOSIFY_SHIPPED.replace('disabled 1', 'disabled 0', 1)}\n",
     "qosify shapes interface wan (qosify.wan)"),
    ("@bpf qosify_data\n@bpf qosify_prog\n", "BPF objects are pinned under /sys/fs/bpf (qosify_data, qosify_prog)"),
])
def test_conflicts_without_tc_but_with_shaping_configured_warn(section, found):
    sections = netns_sections()
    sections["host:tools"] = sec("nft=/usr/sbin/nft\nip=/usr/sbin/ip\n")
    sections[fr.K_QDISC] = Section(127, "", "sh: tc: not found\n")
    sections[fr.K_SHAPING] = sec(section)
    result = run(sections, ["conflicts"])[0]
    shaping = result["ansible_facts"]["flowoffload"]["shaping"]
    assert shaping["configured"][0].startswith(found) and shaping["checked"] is False
    assert shaping["message"].startswith("no qdisc tool, but shaping is configured: ")
    assert result["warnings"] == [f"conflicts: tc is not installed on the target, but {shaping['configured'][0]}: "
                                  "shaping qdiscs could not be checked, and offloaded packets bypass them; install "
                                  "tc (opkg install tc-tiny, or tc-full) so the facts can check"]


def test_conflicts_with_tc_busybox_warn():
    sections = netns_sections()
    sections["host:tools"] = sec("nft=/usr/sbin/nft\nip=/usr/sbin/ip\ntc=/sbin/tc\n")
    sections[fr.K_QDISC] = Section(1, "", "BusyBox v1.35.0 (Debian 1:1.35.0-4+deb12u1+b1) multi-call binary.\n")
    assert "has no -j" in run(sections, ["conflicts"])[0]["warnings"][0]


# --- the lab VM's netns (kernel with flowtables) -----------------------------------------------
def test_vm_namespace_all_but_package():
    result, target = run(vm_ns_sections(), ["all", "!package"])
    assert target.round_trips == 1 and "warnings" not in result
    facts = result["ansible_facts"]["flowoffload"]
    kernel = facts["kernel"]
    assert kernel["software_offload"]["supported"] is True
    assert kernel["config"]["file"] == "/boot/config-6.1.0-56-amd64"
    assert kernel["config"]["CONFIG_NFT_FLOW_OFFLOAD"] == "m" and kernel["config"]["CONFIG_NF_FLOW_TABLE_IPV4"] is None
    assert set(kernel["config"]) == {"file", "CONFIG_NF_FLOW_TABLE", "CONFIG_NF_FLOW_TABLE_INET", "CONFIG_NFT_FLOW_OFFLOAD",
                                     "CONFIG_NF_FLOW_TABLE_IPV4", "CONFIG_NF_FLOW_TABLE_IPV6"}
    assert kernel["modules"]["nf_flow_table"]["state"] == "loaded"
    assert facts["sysctl"] == {"nf_flowtable_tcp_timeout": 30, "nf_flowtable_udp_timeout": 30,
                               "ip_forward": 1, "ipv6_forwarding": 1}
    assert facts["platform"]["init"] == "systemd" and facts["platform"]["firewall"] == "nftables.service"
    assert facts["candidate_devices"] == ["bond0", "dummy0", "dummy2", "veth-a"]
    ifaces = facts["interfaces"]
    assert ifaces["veth-a"]["hardware_offload"] == "unsupported"
    assert "Operation not supported" in ifaces["veth-a"]["hardware_offload_reason"]
    assert ifaces["dummy0"]["hw_tc_offload"] is False
    assert ifaces["bond0"]["driver"] == "bonding"  # no bus device: the driver ethtool -i names
    assert ifaces["wg0"]["hardware_offload"] == "unsupported" and ifaces["br-lan"]["lower"] == ["dummy0.10", "veth-a"]
    assert ifaces["gre1"]["hw_tc_offload"] is None  # ethtool did not run on it in this capture
    assert facts["flows"] == {"total": 4, "offload": 2, "hw_offload": 0}
    by_name = {ft["name"]: ft for ft in facts["flowtables"]}
    assert by_name["ft"]["devices"] == ["dummy0", "veth-a"] and by_name["ft"]["counter"] is True
    assert by_name["ft2"]["priority"] == 10 and by_name["ft2"]["family"] == "ip"
    assert sorted(c["kind"] for c in facts["conflicts"]) == ["ipsec", "nfqueue", "nfqueue", "qdisc", "qdisc"]


def test_vm_package_from_dpkg():
    facts = run(vm_ns_sections(), ["package"])[0]["ansible_facts"]["flowoffload"]
    assert facts["package"]["name"] == "linux-image-6.1.0-56-amd64" and facts["package"]["installed"] is True


def test_hardware_verdicts_from_the_probe_sections():
    sections = vm_ns_sections()
    sections["facts:dev:dummy0"] = sec("type=1\noperstate=up\ndevice=1\ndriver=mtk_soc_eth\n")
    sections["facts:eth:dummy0"] = eth_section("mtk_soc_eth", "hw-tc-offload: on\n")
    sections["probe:hw:dummy0"] = sec("")
    del sections["probe:hw:dummy2"]
    ifaces = run(sections, ["interfaces"])[0]["ansible_facts"]["flowoffload"]["interfaces"]
    assert ifaces["dummy0"]["hardware_offload"] == "supported" and ifaces["dummy0"]["driver"] == "mtk_soc_eth"
    assert ifaces["dummy2"]["hardware_offload"] == "unknown"
    assert "did not exist when the probes ran" in ifaces["dummy2"]["hardware_offload_reason"]


def test_dsa_ports_and_mlx5_representors_judged_by_ethtool_driver():
    raw = ('[{"ifname":"eth0","link_type":"ether","operstate":"UP"},'
           '{"ifname":"lan1","link":"eth0","link_type":"ether","operstate":"UP"},'
           '{"ifname":"pf0vf0","link_type":"ether","operstate":"UP"}]')
    sections = vm_ns_sections()
    sections[fr.K_IP_LINK] = sec(raw)
    on = "hw-tc-offload: on\n"
    for name, bus, eth in (("eth0", "mtk_soc_eth", "mtk_soc_eth"), ("lan1", "mt7530-mdio", "dsa"),
                           ("pf0vf0", "mlx5_core", "mlx5e_rep")):
        sections[f"facts:dev:{name}"] = sec(f"type=1\noperstate=up\ndevice=1\ndriver={bus}\n")
        sections[f"facts:eth:{name}"] = eth_section(eth, on)
        sections[f"probe:hw:{name}"] = sec("")
    ifaces = run(sections, ["interfaces"])[0]["ansible_facts"]["flowoffload"]["interfaces"]
    assert ifaces["lan1"]["driver"] == "mt7530-mdio" and ifaces["lan1"]["kind"] == "dsa"
    assert ifaces["lan1"]["lower"] == ["eth0"] and ifaces["lan1"]["hardware_offload"] == "supported"
    assert ifaces["pf0vf0"]["driver"] == "mlx5_core" and ifaces["pf0vf0"]["hardware_offload"] == "supported"
    assert "mlx5e_rep" in ifaces["pf0vf0"]["hardware_offload_reason"]


# --- OpenWrt (../shared/openwrt/captures) ---------------------------------------------------------
@pytest.mark.parametrize("manager", ["opkg", "apk"])
def test_openwrt_router_busybox_ip_no_ethtool_no_tc(manager):
    result, target = run(openwrt_sections(manager))
    assert target.round_trips == 1
    facts = result["ansible_facts"]["flowoffload"]
    assert facts["platform"] == {
        "os_family": "OpenWrt", "distribution": "OpenWrt", "distribution_version": "24.10.2",
        "kernel": "6.18.44-fc-v657", "package_manager": manager, "firewall": "fw4", "init": "procd",
    }
    assert facts["package"]["name"] == "kmod-nft-offload" and facts["package"]["installed"] is False
    assert facts["kernel"]["persistence"]["present"] is False
    ifaces = facts["interfaces"]
    assert ifaces["br-lan"]["kind"] == "bridge" and ifaces["br-lan"]["lower"] == ["lan0", "lan1"]
    assert ifaces["lan0"] == {
        "kind": "physical", "driver": "mtk_soc_eth", "operstate": "up", "lower": [], "hw_tc_offload": None,
        "hardware_offload": "unknown",
        "hardware_offload_reason": "the kernel has no flowtable support (see kernel.software_offload); "
                                   "hw-tc-offload could not be read (ethtool is not installed on the target)"}
    assert facts["candidate_devices"] == ["lan0", "lan1", "wan0"]  # from /proc/net routes
    assert facts["flowtables"] == [] and facts["flows"] is None and facts["conflicts"] == []
    # no tc, no SQM or qosify in UCI, nothing pinned: no warning (issue 16 point 4)
    assert "warnings" not in result and facts["shaping"]["message"] == "no qdisc tool; no shaping configured"


def test_openwrt_reason_says_the_probe_proves_nothing():
    sections = openwrt_sections()
    sections["probe:sw"] = sec("")
    sections["probe:hw:lan0"] = sec("")  # patch 701: OpenWrt accepts 'flags offload' everywhere
    lan0 = run(sections, ["interfaces"])[0]["ansible_facts"]["flowoffload"]["interfaces"]["lan0"]
    assert lan0["hardware_offload"] == "supported" and "patch 701" in lan0["hardware_offload_reason"]
    assert "ethtool is not installed" in lan0["hardware_offload_reason"]


# --- the real read script, read-only, on the lab VM (HostRoot) --------------------------------------
@pytest.mark.parametrize("shell", SHELLS)
def test_read_script_on_the_lab_vm_changes_nothing(tmp_path: pathlib.Path, shell: str) -> None:
    """The whole read under busybox ash and dash, on a root seeded from the lab VM's captures
    (its ip, tc and ethtool answers from the doubles): one round trip, nothing changed."""
    host = lab_root(tmp_path, shell)
    before = host.snapshot()
    result = _facts.run_facts(host, {"gather_subset": ["all"]}, True)
    assert host.round_trips == 1 and host.snapshot() == before
    facts = result["ansible_facts"]["flowoffload"]
    assert set(facts) == ALL_KEYS
    assert set(facts["interfaces"]) == {"eth0", "lan0", "lo", "wan0"}
    assert facts["interfaces"]["lo"]["kind"] == "loopback" and facts["interfaces"]["lo"]["hardware_offload"] == "unsupported"
    assert facts["interfaces"]["eth0"]["driver"] == "virtio_net"
    assert set(facts["candidate_devices"]) <= set(facts["interfaces"]) - {"lo"}
    assert facts["sysctl"]["ip_forward"] == 1 and facts["platform"]["kernel"] == "6.1.0-56-amd64"
    assert facts["kernel"]["software_offload"]["supported"] is True  # the nft double accepts flowtables

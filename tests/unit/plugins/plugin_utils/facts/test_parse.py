# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import links as fl
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.parse import (
    parse_kernel_config,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    count_like_target,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)

NETNS = "1.0.6-bookworm-facts-netns-"


def _netns_links():
    return fl.parse_ip_link(fixture(NETNS + "ip-link.json"))


# --- gather_subset ---------------------------------------------------------------------
@pytest.mark.parametrize("value,expected", [
    (None, list(fp.SUBSETS)),
    (["all"], list(fp.SUBSETS)),
    (["flows", "nft"], ["nft", "flows"]),
    (["!flows"], [s for s in fp.SUBSETS if s != "flows"]),
    (["!flows", "!conflicts"], [s for s in fp.SUBSETS if s not in ("flows", "conflicts")]),
    (["!all", "kernel"], ["kernel"]),
    (["all", "!interfaces"], [s for s in fp.SUBSETS if s != "interfaces"]),
    ([" kernel ", "kernel"], ["kernel"]),
    (["!all"], []),
    (["all", "!all", "nft"], ["nft"]),
    (["!all", "!nft"], []),
])
def test_gather_subset(value, expected):
    assert fp.parse_gather_subset(value) == expected


@pytest.mark.parametrize("bad", [["hardware"], ["!nope"], ["all", "Kernel"], [""]])
def test_gather_subset_unknown_names_the_option_and_valid_names(bad):
    with pytest.raises(FlowOffloadError) as err:
        fp.parse_gather_subset(bad)
    assert err.value.msg.startswith("gather_subset: unknown subset")
    for name in fp.SUBSETS:
        assert name in err.value.msg


# --- small formats --------------------------------------------------------------------
def test_parse_int():
    assert fp.parse_int("30\n") == 30 and fp.parse_int(None) is None and fp.parse_int("x") is None


@pytest.mark.parametrize("comm,run_systemd,openrc,expected", [
    ("systemd\n", True, False, "systemd"),
    ("init\n", True, False, "systemd"),
    ("procd\n", False, False, "procd"),
    ("init\n", False, True, "openrc"),
    ("openrc-init\n", False, False, "openrc"),
    ("Process_api\n", False, False, "other"),
])
def test_init_system(comm, run_systemd, openrc, expected):
    assert fp.init_system(comm, run_systemd, openrc) == expected


@pytest.mark.parametrize("args,expected", [
    (("OpenWrt", True, True, False, False), "fw4"),
    (("OpenWrt", False, True, False, False), "fw3"),
    (("OpenWrt", False, False, False, False), "none"),
    (("RedHat", False, False, True, True), "firewalld"),
    (("Debian", True, False, False, True), "nftables.service"),
    (("Debian", False, False, False, False), "none"),
])
def test_firewall_in_charge(args, expected):
    assert fp.firewall_in_charge(*args) == expected


def test_kernel_config_values_from_host_without_flowtables():
    values = fp.kernel_config_values(parse_kernel_config(fixture("1.0.6-bookworm-facts-host-kernel-config.txt")))
    assert values["CONFIG_NF_FLOW_TABLE"] == "n"
    assert values["CONFIG_NFT_FLOW_OFFLOAD"] is None
    assert set(values) == set(fp.CONFIG_SYMBOLS)


def test_flows_section_counted_on_the_target():
    text = "source=/proc/net/nf_conntrack\n" + count_like_target(fixture(NETNS + "nf-conntrack-empty.txt"))
    assert fp.parse_flows_section(text) == {"total": 0, "offload": 0, "hw_offload": 0}
    assert fp.parse_flows_section("source=conntrack -L\ntotal=0\noffload=0\nhw_offload=0\nrc=1\n") is None
    assert fp.parse_flows_section(None) is None and fp.parse_flows_section("") is None


def test_parse_pairs_first_equal_splits():
    assert fp.parse_pairs("a=1\nb=x=y\nnoise\n a = 2 \n") == {"a": "2", "b": "x=y"}


def test_pppoe_sessions_handmade():
    text = fixture("1.0.8-openwrt23.05-handmade-facts-proc-net-pppoe.txt")
    assert fl.parse_pppoe_sessions(text) == ["wan"]
    assert fl.parse_pppoe_sessions("Id       Address              Device\n") == []


def test_load_json_list_tolerates_garbage():
    assert fl.load_json_list("") == [] and fl.load_json_list("{") == [] and fl.load_json_list('{"a": 1}') == []


# --- links ---------------------------------------------------------------------------
def test_parse_ip_link_netns_kinds_and_lowers():
    links = _netns_links()
    kinds = {name: link["kind"] for name, link in links.items()}
    assert kinds == {"lo": "loopback", "br0": "bridge", "veth0": "veth", "veth1": "veth",
                     "mv0": "macvlan", "tun0": "tun", "ifb0": "ifb"}
    assert links["br0"]["lower"] == ["veth0"]
    assert links["veth0"]["master"] == "br0" and links["veth0"]["lower"] == []
    assert links["veth1"]["lower"] == []  # a veth's peer is not a lower device
    assert links["mv0"]["lower"] == ["veth1"]
    assert links["tun0"]["operstate"] == "down" and links["br0"]["operstate"] == "up"


def test_parse_ip_link_host():
    links = fl.parse_ip_link(fixture("1.0.6-bookworm-facts-host-ip-link.json"))
    assert links["eth0"]["kind"] == "physical" and links["lo"]["kind"] == "loopback"


def test_parse_ip_link_ppp_and_tap():
    raw = json.dumps([
        {"ifname": "pppoe-wan", "link_type": "ppp", "operstate": "UNKNOWN"},
        {"ifname": "wan", "link_type": "ether", "operstate": "UP"},
        {"ifname": "tap0", "link_type": "ether", "operstate": "DOWN",
         "linkinfo": {"info_kind": "tun", "info_data": {"type": "tap"}}},
    ])
    links = fl.parse_ip_link(raw, ["wan", "gone0"])
    assert links["pppoe-wan"]["kind"] == "pppoe" and links["pppoe-wan"]["lower"] == ["wan"]
    assert links["tap0"]["kind"] == "tap"
    assert fl.parse_ip_link(raw)["pppoe-wan"]["kind"] == "ppp"


def test_parse_dev_section_and_link_from_sysfs():
    bridge_dev = fl.parse_dev_section("type=1\noperstate=up\ndevtype=bridge\nlower=veth0\nlower=veth0\n")
    assert bridge_dev == {"type": "1", "operstate": "up", "devtype": "bridge", "device": False, "driver": None,
                          "master": None, "lower": ["veth0"]}
    bridge = fl.link_from_sysfs(bridge_dev, False)
    assert bridge["kind"] == "bridge" and bridge["operstate"] == "up" and bridge["parent"] is None
    lo = fl.link_from_sysfs(fl.parse_dev_section("type=772\noperstate=unknown\n"), False)
    assert lo["kind"] == "loopback"
    eth_dev = fl.parse_dev_section("type=1\noperstate=up\ndevice=1\ndriver=e1000e\nmaster=br0\n")
    eth = fl.link_from_sysfs(eth_dev, False)
    assert eth["kind"] == "physical" and eth["master"] == "br0" and eth_dev["driver"] == "e1000e"
    assert fl.link_from_sysfs(fl.parse_dev_section("type=512\n"), True)["kind"] == "pppoe"
    assert fl.link_from_sysfs(fl.parse_dev_section("type=512\n"), False)["kind"] == "ppp"
    vlan = fl.link_from_sysfs(fl.parse_dev_section("type=1\ndevtype=vlan\nlower=eth0\n"), False)
    assert vlan["parent"] == "eth0"
    other = fl.link_from_sysfs(fl.parse_dev_section("type=1\n"), False)
    assert other["kind"] == "other" and other["operstate"] == "unknown"
    # sysfs alone cannot tell a veth: ethtool's driver name does
    assert fl.link_from_sysfs(fl.parse_dev_section("type=1\n"), False, "veth")["kind"] == "veth"
    assert fl.link_from_sysfs(fl.parse_dev_section("type=1\n"), False, "bonding")["kind"] == "bond"
    links = fl.add_lowers({"br0": bridge, "eth0": eth})
    assert links["br0"]["lower"] == ["eth0"]


def test_proc_routes_of_this_host():
    text = ("# route\n" + "".join(fixture("1.0.6-bookworm-facts-host-proc-net-route.txt").splitlines(True)[1:])
            + "# ipv6_route\n" + fixture("1.0.6-bookworm-facts-host-proc-net-ipv6-route.txt"))
    # default route and 192.0.2.0/24 on eth0, 10.88.0.0/16 on podman0; fd00::/64 on eth0;
    # fe80::/64, ff00::/8, /128 host entries and the unreachable default on lo left out
    assert fl.proc_route_devices(text) == ["eth0", "podman0"]


def test_proc_routes_handmade_openwrt_and_rejects():
    text = fixture("1.0.6-openwrt2410-facts-handmade-proc-routes.txt")
    assert fl.proc_route_devices(text) == ["br-lan", "wan0"]
    rejected = ("# route\n*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\n"
                "eth9\t0A000001\t00000000\t0005\t0\t0\t0\tFFFFFFFF\n"
                "eth8\t00000000\t00000000\t0000\t0\t0\t0\t00000000\nbad\tline\n")
    assert fl.proc_route_devices(rejected) == []  # unreachable, host route, route not up
    assert fl.resolve_candidates({"br-lan": {"kind": "bridge", "lower": ["lan0", "lan1"]},
                                  "lan0": {"kind": "physical"}, "lan1": {"kind": "physical"},
                                  "wan0": {"kind": "physical"}}, ["br-lan", "wan0", "gone"]) == ["lan0", "lan1", "wan0"]


# --- candidates ----------------------------------------------------------------------
def test_candidates_from_netns_capture():
    links = _netns_links()
    routes = fl.load_json_list(fixture(NETNS + "ip-route4-default.json")) + fl.load_json_list(
        fixture(NETNS + "ip-route6-default.json"))
    addrs = fl.load_json_list(fixture(NETNS + "ip-addr.json"))
    assert fl.route_devices(routes) == ["veth1"]
    assert "br0" in fl.address_devices(addrs) and "lo" not in fl.address_devices(addrs)
    # br0 resolves to its port veth0; tun0 (a /32 on a tun) is skipped
    assert fl.candidate_devices(links, routes, addrs) == ["veth0", "veth1"]


def test_route_devices_multipath_and_unreachable():
    routes = [
        {"dst": "default", "nexthops": [{"dev": "wan1"}, {"dev": "wan2"}]},
        {"dst": "default", "type": "unreachable", "dev": "lo"},
        {"dst": "192.0.2.0/24", "dev": "lan"},
        {"dst": "default", "dev": "wan1"},
    ]
    assert fl.route_devices(routes) == ["wan1", "wan2"]


def _link(kind, master=None, parent=None):
    return {"kind": kind, "operstate": "up", "master": master, "parent": parent}


def test_resolution_bridge_vlan_pppoe_wireguard():
    links = fl.add_lowers({
        "br-lan": _link("bridge"),
        "lan1": _link("dsa", master="br-lan", parent="eth0"),
        "lan2.20": _link("vlan", master="br-lan", parent="lan2"),
        "lan2": _link("physical"),
        "eth0": _link("physical"),
        "wan": _link("physical"),
        "wan.7": _link("vlan", parent="wan"),
        "pppoe-wan": _link("pppoe"),
        "wg0": _link("wireguard"),
        "lo": _link("loopback"),
    }, ["wan.7"])
    assert links["pppoe-wan"]["lower"] == ["wan.7"]
    routes = [{"dst": "default", "dev": "pppoe-wan"}, {"dst": "default", "dev": "wg0"},
              {"dst": "default", "dev": "missing0"}]
    addrs = [
        {"ifname": "br-lan", "addr_info": [{"family": "inet", "local": "192.0.2.1", "prefixlen": 24, "scope": "global"}]},
        {"ifname": "wg0", "addr_info": [{"family": "inet6", "local": "2001:db8:9::1", "prefixlen": 64, "scope": "global"}]},
        {"ifname": "lo", "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host"}]},
        {"ifname": "eth0", "addr_info": [{"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]},
    ]
    assert fl.candidate_devices(links, routes, addrs) == ["lan1", "lan2", "wan"]


def test_resolution_survives_loops():
    links = fl.add_lowers({"a": _link("bridge", master="b"), "b": _link("bridge", master="a")})
    assert fl.resolve_lower("a", links) == []


# --- hardware classification ----------------------------------------------------------
@pytest.mark.parametrize("kind", ["loopback", "wireguard", "tun", "ifb"])
def test_hardware_never_for_loopback_and_tunnels(kind):
    status, reason = fp.classify_hardware(kind, None, None, True, None, "", False)
    assert status == "unsupported" and kind in reason


@pytest.mark.parametrize("kind", ["bridge", "vlan", "pppoe", "bond"])
def test_hardware_stacked_devices_point_to_lowers(kind):
    status, reason = fp.classify_hardware(kind, None, False, True, None, "", False)
    assert status == "unsupported" and "lower devices" in reason


def test_hardware_kernel_without_flowtables_is_unknown():
    status, reason = fp.classify_hardware("physical", "virtio_net", False, False, None, "", False)
    assert status == "unknown" and "no flowtable support" in reason


def test_hardware_veth_probe_not_supported():
    msg = "the kernel refused 'flags offload' on veth0: Could not process rule: Not supported"
    status, reason = fp.classify_hardware("veth", "veth", False, True, False, msg, False)
    assert status == "unsupported" and "Not supported" in reason


def test_hardware_probe_could_not_run_is_unknown():
    status, reason = fp.classify_hardware("physical", "e1000e", False, True, None, "nft needs CAP_NET_ADMIN", False)
    assert status == "unknown" and "CAP_NET_ADMIN" in reason


def test_hardware_supported_needs_known_driver_feature_and_probe():
    status, reason = fp.classify_hardware("physical", "mtk_soc_eth", True, True, True, "ok", False)
    assert status == "supported" and "mtk_soc_eth" in reason
    status, reason = fp.classify_hardware("physical", "mlx5e_rep", False, True, True, "ok", False)
    assert status == "unsupported" and "hw-tc-offload on" in reason


def test_hardware_tc_feature_alone_is_not_sufficient():
    status, reason = fp.classify_hardware("physical", "bnxt_en", True, True, True, "ok", False)
    assert status == "unknown" and "not for flowtables" in reason and "[HW_OFFLOAD]" in reason
    status, reason = fp.classify_hardware("physical", "igb", None, True, True, "ok", False)
    assert status == "unknown" and "could not be read" in reason


def test_hardware_reason_says_why_the_feature_was_not_read():
    why = "ethtool is not installed on the target"
    status, reason = fp.classify_hardware("physical", "igb", None, True, True, "ok", False, None, why)
    assert status == "unknown" and f"hw-tc-offload could not be read ({why})" in reason
    for software, probe in ((False, None), (True, None)):
        reason = fp.classify_hardware("physical", "igb", None, software, probe, "not probed", False, None, why)[1]
        assert reason.endswith(f"hw-tc-offload could not be read ({why})")
    assert why not in fp.classify_hardware("physical", "igb", False, False, None, "", False, None, why)[1]
    assert why not in fp.classify_hardware("veth", "veth", None, True, False, "refused", False, None, why)[1]


def test_hardware_dsa_uses_conduit_driver():
    status, reason = fp.classify_hardware("dsa", "dsa", True, True, True, "ok", False, "mtk_soc_eth")
    assert status == "supported" and "conduit driver mtk_soc_eth" in reason
    status = fp.classify_hardware("dsa", "dsa", True, True, True, "ok", False, "fec")[0]
    assert status == "unknown"
    status = fp.classify_hardware("dsa", "dsa", True, True, True, "ok", False, None)[0]
    assert status == "supported"


def test_hardware_openwrt_probe_proves_nothing():
    status, reason = fp.classify_hardware("dsa", "dsa", True, True, True, "ok", True, "mtk_soc_eth")
    assert status == "supported" and "patch 701" in reason and "[HW_OFFLOAD]" in reason
    status, reason = fp.classify_hardware("physical", "stmmaceth", True, True, True, "ok", True)
    assert status == "unknown" and "patch 701" in reason
    status, reason = fp.classify_hardware("physical", "r8169", False, True, True, "ok", True)
    assert status == "unsupported" and "patch 701" in reason
    status, reason = fp.classify_hardware("physical", "mtk_soc_eth", False, True, True, "ok", True)
    assert status == "unsupported" and "hw-tc-offload on" in reason


# --- captured in the lab VM (Debian 6.1 kernel, nft 1.0.6), netns "factsx" ------------
VM = "1.0.6-bookworm-vm-facts-"


def _vm_links():
    return fl.parse_ip_link(fixture(VM + "ns-ip-link.json"))


def test_vm_link_kinds_and_lowers():
    links = _vm_links()
    kinds = {name: link["kind"] for name, link in links.items()}
    assert kinds["dummy0"] == "dummy" and kinds["br-lan"] == "bridge" and kinds["wan.7"] == "vlan"
    assert kinds["bond0"] == "bond" and kinds["wg0"] == "wireguard" and kinds["gre1"] == "gre"
    assert kinds["mv0"] == "macvlan" and kinds["ifb0"] == "ifb" and kinds["veth-a"] == "veth"
    assert links["br-lan"]["lower"] == ["dummy0.10", "veth-a"]
    assert links["dummy0.10"]["lower"] == ["dummy0"]
    assert links["bond0"]["lower"] == ["dummy1"]
    assert links["mv0"]["lower"] == ["dummy3"]


def test_vm_candidates_bridge_vlan_bond_and_wireguard_skipped():
    links = _vm_links()
    routes = fl.load_json_list(fixture(VM + "ns-ip-route4-default.json")) + fl.load_json_list(
        fixture(VM + "ns-ip-route6-default.json"))
    addrs = fl.load_json_list(fixture(VM + "ns-ip-addr.json"))
    assert fl.route_devices(routes) == ["wan.7", "wg0"]
    # br-lan -> veth-a + dummy0 (under dummy0.10); wan.7 -> dummy2; wg0 and gre1 skipped
    assert fl.candidate_devices(links, routes, addrs) == ["bond0", "dummy0", "dummy2", "veth-a"]


def test_vm_kernel_config_values():
    values = fp.kernel_config_values(parse_kernel_config(fixture(VM + "kernel-config.txt")))
    assert values == {"CONFIG_NF_FLOW_TABLE": "m", "CONFIG_NF_FLOW_TABLE_INET": "m", "CONFIG_NFT_FLOW_OFFLOAD": "m",
                      "CONFIG_NF_FLOW_TABLE_IPV4": None, "CONFIG_NF_FLOW_TABLE_IPV6": None}

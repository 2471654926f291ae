# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import gzip
import typing as t

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _ethtool
from ansible_collections.flowoffload.nft.plugins.module_utils import _facts
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.facts_fake import (
    FakeRunner,
    fixture,
)

H = "1.0.6-bookworm-facts-host-"
N = "1.0.6-bookworm-facts-netns-"
OW = "1.0.8-openwrt23.05-handmade-facts-"
ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
NOT_SUPPORTED = "/dev/stdin:2:13-14: Error: Could not process rule: Not supported\n"
VETH_FEATURES = _ethtool.parse_ethtool_k(fixture(N + "ethtool-k-veth0.txt"))


class FakeEthtool:
    """Stands in for the _ethtool module: answers like the ioctl did on the netns veths."""

    EthtoolError = _ethtool.EthtoolError

    def __init__(self, drivers: t.Dict[str, str], features: t.Optional[t.Dict[str, t.Any]] = None) -> None:
        self.drivers = drivers
        self.features = features or {}

    def read_drvinfo(self, name: str) -> t.Dict[str, str]:
        if name not in self.drivers:
            raise _ethtool.EthtoolError(f"SIOCETHTOOL on {name}: Operation not supported")
        return {"driver": self.drivers[name]}

    def read_features(self, name: str) -> t.Dict[str, t.Any]:
        if name not in self.features:
            raise _ethtool.EthtoolError(f"SIOCETHTOOL on {name}: No such device")
        return self.features[name]


NETNS_ETHTOOL = FakeEthtool(
    {"br0": "bridge", "veth0": "veth", "veth1": "veth", "mv0": "macvlan", "tun0": "tun", "ifb0": "ifb"},
    {name: VETH_FEATURES for name in ("br0", "veth0", "veth1", "mv0", "tun0", "ifb0")},
)


def netns_runner(software_ok: bool = False, **extra: t.Any) -> FakeRunner:
    """The captured netns topology on this host (nft 1.0.6, kernel without flowtables)."""
    commands = {
        ("nft", "--version"): (0, fixture(H + "nft-version.txt"), ""),
        ("nft", "-j", "list", "tables"): (0, fixture(H + "nft-j-list-tables.json"), ""),
        ("nft", "-j", "list", "flowtables"): (0, fixture(H + "nft-j-list-flowtables.json"), ""),
        ("nft", "list", "flowtables"): (0, fixture(H + "nft-list-flowtables.txt"), ""),
        ("nft", "list", "ruleset"): (0, "", ""),
        ("ip", "-j", "-d", "link", "show"): (0, fixture(N + "ip-link.json"), ""),
        ("ip", "-j", "-4", "route", "show", "default"): (0, fixture(N + "ip-route4-default.json"), ""),
        ("ip", "-j", "-6", "route", "show", "default"): (0, fixture(N + "ip-route6-default.json"), ""),
        ("ip", "-j", "addr", "show"): (0, fixture(N + "ip-addr.json"), ""),
        ("ip", "xfrm", "policy", "show"): (0, fixture(N + "xfrm-policy-empty.txt"), ""),
        ("tc", "-j", "qdisc", "show"): (0, fixture(N + "tc-qdisc.json"), ""),
        ("tc", "-j", "filter", "show", "dev", "veth1", "ingress"): (0, fixture(N + "tc-filter-veth1-ingress.json"), ""),
    }
    by_stdin = {"flags offload": (1, "", NOT_SUPPORTED)}
    by_stdin["hook ingress"] = (0, "", "") if software_ok else (1, "", ENOENT)
    files = {
        "/etc/os-release": fixture(H + "os-release.txt"),
        "/proc/sys/kernel/osrelease": "6.18.44-fc-v657\n",
        "/proc/1/comm": "Process_api\n",
        "/proc/sys/net/ipv4/ip_forward": "0\n",
        "/proc/sys/net/ipv6/conf/all/forwarding": "0\n",
        "/proc/net/nf_conntrack": fixture(N + "nf-conntrack-empty.txt"),
    }
    files.update(extra.pop("files", {}))
    bins = {b: f"/usr/sbin/{b}" for b in ("nft", "ip", "tc", "dpkg", "apt-get")}
    bins.update(extra.pop("bins", {}))
    return FakeRunner(bins={k: v for k, v in bins.items() if v}, commands=commands, files=files,
                      by_stdin=by_stdin, **extra)


@pytest.fixture(autouse=True)
def _isolate_other_libraries(monkeypatch):
    """kernel.modules / persistence / package belong to _kmod and _packages: record calls."""
    calls: t.Dict[str, t.Any] = {}

    def module_states(runner, names):
        calls["modules"] = list(names)
        return {n: {"state": "missing", "path": None, "evidence": "test"} for n in names}

    def read_persistence(runner):
        return {"file": "/etc/modules", "present": False, "modules": []}

    def offload_package(runner, platform):
        calls["package_platform"] = dict(platform)
        return {"name": "linux-image-x", "installed": False, "version": "", "manager": "apt", "evidence": "test"}

    monkeypatch.setattr(_facts._kmod, "module_states", module_states)
    monkeypatch.setattr(_facts._kmod, "read_persistence", read_persistence)
    monkeypatch.setattr(_facts._packages, "offload_package", offload_package)
    return calls


def test_bad_subset_fails_before_reading_anything():
    runner = netns_runner()
    with pytest.raises(FlowOffloadError) as err:
        _facts.gather(runner, ["interfaces", "bogus"], NETNS_ETHTOOL)
    assert "gather_subset" in err.value.msg and runner.calls == []


def test_full_gather_on_host_capture(_isolate_other_libraries):
    facts, warnings = _facts.gather(netns_runner(), ["all"], NETNS_ETHTOOL)
    assert warnings == []
    assert set(facts) == {"platform", "kernel", "sysctl", "package", "nft", "interfaces",
                          "candidate_devices", "flowtables", "flows", "conflicts"}
    assert facts["platform"] == {
        "os_family": "Debian", "distribution": "debian", "distribution_version": "12",
        "kernel": "6.18.44-fc-v657", "package_manager": "apt", "firewall": "none", "init": "other",
    }
    assert _isolate_other_libraries["modules"] == ["nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"]
    assert _isolate_other_libraries["package_platform"]["os_family"] == "Debian"
    assert facts["kernel"]["software_offload"]["supported"] is False
    assert "nf_flow_table" in facts["kernel"]["software_offload"]["message"]
    assert facts["kernel"]["config"] == {"file": None}
    assert facts["sysctl"] == {"nf_flowtable_tcp_timeout": None, "nf_flowtable_udp_timeout": None,
                               "ip_forward": 0, "ipv6_forwarding": 0}
    assert facts["nft"] == {"path": "/usr/sbin/nft", "version": "1.0.6", "json": True}
    assert facts["flowtables"] == []
    assert facts["flows"] == {"total": 0, "offload": 0, "hw_offload": 0}
    assert facts["candidate_devices"] == ["veth0", "veth1"]
    veth = facts["interfaces"]["veth0"]
    assert veth["kind"] == "veth" and veth["driver"] == "veth" and veth["hw_tc_offload"] is False
    assert veth["hardware_offload"] == "unknown"  # no flowtables in this kernel: no probe
    assert facts["interfaces"]["br0"]["lower"] == ["veth0"]
    assert facts["interfaces"]["lo"]["driver"] is None and facts["interfaces"]["lo"]["hw_tc_offload"] is None
    kinds = sorted((c["kind"], c["device"]) for c in facts["conflicts"])
    assert kinds == [("qdisc", "veth1"), ("qdisc", "veth1")]


def test_hardware_probe_runs_per_device_when_kernel_has_flowtables():
    runner = netns_runner(software_ok=True)
    facts = _facts.gather(runner, ["interfaces"], NETNS_ETHTOOL)[0]
    assert set(facts) == {"interfaces", "candidate_devices"}
    veth = facts["interfaces"]["veth1"]
    assert veth["hardware_offload"] == "unsupported" and "Not supported" in veth["hardware_offload_reason"]
    probed = [data for argv, data in runner.calls if argv[1:] == ["-c", "-f", "-"] and "flags offload" in data]
    probed_devices = sorted(d.split('devices = { "')[1].split('"')[0] for d in probed)
    # never loopback, tunnels, ifb or stacked devices
    assert probed_devices == ["mv0", "veth0", "veth1"]
    assert facts["interfaces"]["br0"]["hardware_offload"] == "unsupported"
    assert facts["interfaces"]["tun0"]["hardware_offload_reason"].startswith("tun device")


def test_missing_nft_reports_nulls_and_warns():
    runner = netns_runner(bins={"nft": ""})
    facts, warnings = _facts.gather(runner, ["nft", "flowtables", "kernel", "interfaces"], NETNS_ETHTOOL)
    assert facts["nft"] == {"path": None, "version": None, "json": None}
    assert facts["flowtables"] == []
    assert any("nft binary was not found" in w for w in warnings)
    assert facts["kernel"]["software_offload"]["supported"] is None
    assert facts["interfaces"]["veth0"]["hardware_offload"] == "unknown"


def test_nft_listing_error_is_a_warning_not_a_failure():
    runner = netns_runner()
    runner.commands[("nft", "-j", "list", "flowtables")] = (
        1, "", "netlink: Error: cache initialization failed: Operation not permitted\n")
    facts, warnings = _facts.gather(runner, ["flowtables", "nft"], NETNS_ETHTOOL)
    assert facts["flowtables"] == [] and warnings and "flowtables:" in warnings[0]
    runner.commands[("nft", "-j", "list", "tables")] = (1, "", "Operation not permitted")
    assert _facts.gather(runner, ["nft"], NETNS_ETHTOOL)[0]["nft"]["json"] is False


def test_flows_fallback_to_conntrack_then_null():
    lines = ("tcp      6 src=192.0.2.2 dst=198.51.100.2 [OFFLOAD] mark=0 use=2\n"
             "udp      17 src=192.0.2.2 dst=198.51.100.2 [HW_OFFLOAD] mark=0 use=2\n")
    runner = netns_runner(bins={"conntrack": "/usr/sbin/conntrack"})
    del runner.files["/proc/net/nf_conntrack"]
    runner.commands[("conntrack", "-L")] = (0, lines, "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n")
    assert _facts.gather(runner, ["flows"], NETNS_ETHTOOL)[0]["flows"] == {"total": 2, "offload": 1, "hw_offload": 1}
    runner = netns_runner()
    del runner.files["/proc/net/nf_conntrack"]
    assert _facts.gather(runner, ["flows"], NETNS_ETHTOOL)[0]["flows"] is None


def test_kernel_config_sources():
    config = fixture(H + "kernel-config.txt")
    runner = netns_runner(blobs={"/proc/config.gz": gzip.compress(config.encode())})
    got = _facts.gather(runner, ["kernel"], NETNS_ETHTOOL)[0]["kernel"]["config"]
    assert got["file"] == "/proc/config.gz" and got["CONFIG_NF_FLOW_TABLE"] == "n"
    runner = netns_runner(files={"/boot/config-6.18.44-fc-v657": "CONFIG_NF_FLOW_TABLE=m\nCONFIG_NFT_FLOW_OFFLOAD=m\n"})
    got = _facts.gather(runner, ["kernel"], NETNS_ETHTOOL)[0]["kernel"]["config"]
    assert got["file"] == "/boot/config-6.18.44-fc-v657" and got["CONFIG_NFT_FLOW_OFFLOAD"] == "m"
    runner = netns_runner(blobs={"/proc/config.gz": b"not gzip"})
    assert _facts.gather(runner, ["kernel"], NETNS_ETHTOOL)[0]["kernel"]["config"] == {"file": None}


def test_release_from_uname_when_proc_is_missing():
    runner = netns_runner(bins={"uname": "/bin/uname"})
    del runner.files["/proc/sys/kernel/osrelease"]
    runner.commands[("uname", "-r")] = (0, "6.1.0-56-amd64\n", "")
    assert _facts.gather(runner, ["platform"], NETNS_ETHTOOL)[0]["platform"]["kernel"] == "6.1.0-56-amd64"


def test_openwrt_platform_and_reason():
    files = {
        "/etc/openwrt_release": fixture(OW + "openwrt-release.txt"),
        "/etc/os-release": fixture(OW + "os-release.txt"),
        "/proc/1/comm": "procd\n",
        "/sbin/fw4": "#!/usr/bin/ucode\n",
    }
    runner = netns_runner(software_ok=True, files=files, bins={"opkg": "/bin/opkg", "dpkg": "", "apt-get": ""})
    runner.by_stdin["flags offload"] = (0, "", "")  # patch 701: OpenWrt accepts it everywhere
    eth = FakeEthtool(dict(NETNS_ETHTOOL.drivers, veth1="mtk_soc_eth"),
                      dict(NETNS_ETHTOOL.features, veth1={"hw-tc-offload": {"active": True}}))
    facts = _facts.gather(runner, ["platform", "interfaces"], eth)[0]
    assert facts["platform"] == {
        "os_family": "OpenWrt", "distribution": "OpenWrt", "distribution_version": "23.05.3",
        "kernel": "6.18.44-fc-v657", "package_manager": "opkg", "firewall": "fw4", "init": "procd",
    }
    assert facts["interfaces"]["veth1"]["hardware_offload"] == "supported"
    veth0 = facts["interfaces"]["veth0"]
    assert veth0["hardware_offload"] == "unsupported" and "patch 701" in veth0["hardware_offload_reason"]


def test_systemd_firewall_detection():
    runner = netns_runner(bins={"systemctl": "/bin/systemctl"}, dirs={"/run/systemd/system": []})
    runner.files["/proc/1/comm"] = "systemd\n"
    runner.commands[("systemctl", "is-active", "firewalld.service")] = (3, "inactive\n", "")
    runner.commands[("systemctl", "is-enabled", "nftables.service")] = (0, "enabled\n", "")
    runner.commands[("systemctl", "is-active", "nftables.service")] = (3, "inactive\n", "")
    platform = _facts.gather(runner, ["platform"], NETNS_ETHTOOL)[0]["platform"]
    assert platform["init"] == "systemd" and platform["firewall"] == "nftables.service"
    runner.commands[("systemctl", "is-active", "firewalld.service")] = (0, "active\n", "")
    assert _facts.gather(runner, ["platform"], NETNS_ETHTOOL)[0]["platform"]["firewall"] == "firewalld"


def test_firewall_cmd_without_systemd():
    runner = netns_runner(bins={"firewall-cmd": "/usr/bin/firewall-cmd"})
    runner.commands[("firewall-cmd", "--state")] = (0, "running\n", "")
    assert _facts.gather(runner, ["platform"], NETNS_ETHTOOL)[0]["platform"]["firewall"] == "firewalld"


def test_sysfs_fallback_without_ip_and_ethtool_binary_fallback():
    sysfs = "/sys/class/net"
    files = {
        f"{sysfs}/lo/uevent": "INTERFACE=lo\nIFINDEX=1\n", f"{sysfs}/lo/type": "772\n", f"{sysfs}/lo/operstate": "unknown\n",
        f"{sysfs}/eth0/uevent": "INTERFACE=eth0\nIFINDEX=2\n", f"{sysfs}/eth0/type": "1\n", f"{sysfs}/eth0/operstate": "up\n",
        f"{sysfs}/br0/uevent": "DEVTYPE=bridge\nINTERFACE=br0\n", f"{sysfs}/br0/type": "1\n", f"{sysfs}/br0/operstate": "up\n",
    }
    dirs = {sysfs: ["lo", "eth0", "br0"], f"{sysfs}/eth0": ["device", "master", "uevent"],
            f"{sysfs}/br0": ["bridge", "brif", "lower_eth0", "uevent"], f"{sysfs}/lo": ["uevent"]}
    links = {f"{sysfs}/eth0/master": "../br0", f"{sysfs}/eth0/device/driver": "../../../bus/pci/drivers/e1000e"}
    runner = netns_runner(files=files, dirs=dirs, links=links, bins={"ip": "", "ethtool": "/sbin/ethtool"})
    runner.commands[("ethtool", "-k", "eth0")] = (0, fixture(H + "ethtool-k-eth0.txt"), "")
    runner.commands[("ethtool", "-k", "br0")] = (0, fixture(N + "ethtool-k-veth0.txt"), "")
    runner.commands[("ethtool", "-i", "br0")] = (0, "driver: bridge\nversion: 2.3\n", "")
    facts = _facts.gather(runner, ["interfaces"], FakeEthtool({}))[0]
    ifaces = facts["interfaces"]
    assert ifaces["eth0"]["driver"] == "e1000e" and ifaces["eth0"]["hw_tc_offload"] is False
    assert ifaces["br0"] == dict(ifaces["br0"], kind="bridge", driver="bridge", lower=["eth0"])
    assert ifaces["lo"]["kind"] == "loopback" and ifaces["lo"]["hw_tc_offload"] is None
    assert facts["candidate_devices"] == []  # no ip binary: no routes or addresses known


def test_dsa_port_detected_from_driver_and_conduit():
    raw = ('[{"ifname":"eth0","link_type":"ether","operstate":"UP"},'
           '{"ifname":"lan1","link":"eth0","link_type":"ether","operstate":"UP"}]')
    runner = netns_runner(software_ok=True)
    runner.commands[("ip", "-j", "-d", "link", "show")] = (0, raw, "")
    runner.by_stdin["flags offload"] = (0, "", "")
    runner.links["/sys/class/net/eth0/device/driver"] = "../../../bus/platform/drivers/mtk_soc_eth"
    eth = FakeEthtool({"lan1": "dsa"}, {n: {"hw-tc-offload": {"active": True}} for n in ("eth0", "lan1")})
    ifaces = _facts.gather(runner, ["interfaces"], eth)[0]["interfaces"]
    assert ifaces["lan1"]["kind"] == "dsa" and ifaces["lan1"]["lower"] == ["eth0"]
    assert ifaces["lan1"]["hardware_offload"] == "supported"
    assert ifaces["eth0"]["hardware_offload"] == "supported"


def test_conflicts_without_tc_warns_and_reads_xfrm_and_ruleset():
    runner = netns_runner(bins={"tc": ""})
    runner.commands[("ip", "xfrm", "policy", "show")] = (
        0, "src 192.0.2.0/24 dst 198.51.100.0/24 \n\tdir out priority 0 ptype main \n", "")
    runner.commands[("nft", "list", "ruleset")] = (
        0, "table inet t {\n\tchain c {\n\t\ttype filter hook forward priority filter; policy accept;\n"
           "\t\tmeta l4proto tcp queue to 3 bypass\n\t}\n}\n", "")
    facts, warnings = _facts.gather(runner, ["conflicts"], NETNS_ETHTOOL)
    assert any("tc is missing" in w for w in warnings)
    assert [c["kind"] for c in facts["conflicts"]] == ["ipsec", "nfqueue"]


def vm_runner() -> FakeRunner:
    """The lab VM's netns "factsx" (Debian 6.1 kernel with flowtables, nft 1.0.6)."""
    vm = "1.0.6-bookworm-vm-facts-"
    commands = {
        ("nft", "--version"): (0, fixture(vm + "nft-version.txt"), ""),
        ("nft", "-j", "list", "tables"): (0, fixture(vm + "nft-j-list-tables.json"), ""),
        ("nft", "-j", "list", "flowtables"): (0, fixture(vm + "ns-nft-j-list-flowtables.json"), ""),
        ("nft", "list", "flowtables"): (0, fixture(vm + "ns-nft-list-flowtables.txt"), ""),
        ("nft", "list", "ruleset"): (0, fixture(vm + "ns-nft-list-ruleset.txt"), ""),
        ("ip", "-j", "-d", "link", "show"): (0, fixture(vm + "ns-ip-link.json"), ""),
        ("ip", "-j", "-4", "route", "show", "default"): (0, fixture(vm + "ns-ip-route4-default.json"), ""),
        ("ip", "-j", "-6", "route", "show", "default"): (0, fixture(vm + "ns-ip-route6-default.json"), ""),
        ("ip", "-j", "addr", "show"): (0, fixture(vm + "ns-ip-addr.json"), ""),
        ("ip", "xfrm", "policy", "show"): (0, fixture(vm + "ns-xfrm-policy.txt"), ""),
        ("tc", "-j", "qdisc", "show"): (0, fixture(vm + "ns-tc-qdisc.json"), ""),
        ("tc", "-j", "filter", "show", "dev", "dummy2", "ingress"): (0, fixture(vm + "ns-tc-filter-dummy2-ingress.json"), ""),
        ("ethtool", "-k", "dummy0"): (0, fixture(vm + "ns-ethtool-k-dummy0.txt"), ""),
        ("ethtool", "-i", "bond0"): (0, fixture(vm + "ns-ethtool-i-bond0.txt"), ""),
    }
    by_stdin = {"flags offload": (1, "", fixture(vm + "probe-hardware-veth-eopnotsupp.stderr")),
                "hook ingress": (0, "", fixture(vm + "probe-software-ok.stderr"))}
    files = {
        "/etc/os-release": fixture(vm + "os-release.txt"),
        "/proc/sys/kernel/osrelease": "6.1.0-56-amd64\n",
        "/proc/1/comm": "systemd\n",
        "/proc/net/nf_conntrack": fixture(vm + "nf-conntrack-offload.txt"),
        "/boot/config-6.1.0-56-amd64": fixture(vm + "kernel-config.txt"),
        "/proc/sys/net/netfilter/nf_flowtable_tcp_timeout": "30\n",
        "/proc/sys/net/netfilter/nf_flowtable_udp_timeout": "30\n",
        "/proc/sys/net/ipv4/ip_forward": "1\n",
        "/proc/sys/net/ipv6/conf/all/forwarding": "1\n",
    }
    bins = {b: f"/usr/sbin/{b}" for b in ("nft", "ip", "tc", "ethtool", "dpkg", "systemctl")}
    runner = FakeRunner(bins=bins, commands=commands, files=files, by_stdin=by_stdin,
                        dirs={"/run/systemd/system": []}, default=(1, "", "not captured"))
    return runner


def test_vm_namespace_gather():
    facts, warnings = _facts.gather(vm_runner(), ["all", "!package"], FakeEthtool({"veth-a": "veth", "veth-b": "veth"}))
    assert warnings == []
    assert facts["kernel"]["software_offload"]["supported"] is True
    assert facts["kernel"]["config"]["file"] == "/boot/config-6.1.0-56-amd64"
    assert facts["kernel"]["config"]["CONFIG_NFT_FLOW_OFFLOAD"] == "m"
    assert facts["sysctl"] == {"nf_flowtable_tcp_timeout": 30, "nf_flowtable_udp_timeout": 30,
                               "ip_forward": 1, "ipv6_forwarding": 1}
    assert facts["platform"]["init"] == "systemd" and facts["platform"]["os_family"] == "Debian"
    assert facts["candidate_devices"] == ["bond0", "dummy0", "dummy2", "veth-a"]
    ifaces = facts["interfaces"]
    assert ifaces["veth-a"]["hardware_offload"] == "unsupported"
    assert "Operation not supported" in ifaces["veth-a"]["hardware_offload_reason"]
    assert ifaces["dummy0"]["hw_tc_offload"] is False  # from the ethtool -k fallback
    assert ifaces["bond0"]["driver"] == "bonding"  # from the ethtool -i fallback
    assert ifaces["wg0"]["hardware_offload"] == "unsupported" and ifaces["br-lan"]["lower"] == ["dummy0.10", "veth-a"]
    assert facts["flows"] == {"total": 4, "offload": 2, "hw_offload": 0}
    by_name = {ft["name"]: ft for ft in facts["flowtables"]}
    assert by_name["ft"]["devices"] == ["dummy0", "veth-a"] and by_name["ft"]["counter"] is True
    assert by_name["ft2"]["priority"] == 10 and by_name["ft2"]["family"] == "ip"
    kinds = sorted(c["kind"] for c in facts["conflicts"])
    assert kinds == ["ipsec", "nfqueue", "nfqueue", "qdisc", "qdisc"]


def test_probe_reason_when_nft_cannot_run():
    runner = netns_runner()
    runner.by_stdin["hook ingress"] = (1, "", fixture("1.0.6-bookworm-facts-probe-software-eperm.stderr"))
    veth = _facts.gather(runner, ["interfaces"], NETNS_ETHTOOL)[0]["interfaces"]["veth0"]
    assert veth["hardware_offload"] == "unknown"
    assert "not probed" in veth["hardware_offload_reason"] and "CAP_NET_ADMIN" in veth["hardware_offload_reason"]
    assert not [data for _argv, data in runner.calls if data and "flags offload" in data]


def test_ethtool_driver_decides_for_dsa_ports_and_mlx5_representors():
    raw = ('[{"ifname":"eth0","link_type":"ether","operstate":"UP"},'
           '{"ifname":"lan1","link":"eth0","link_type":"ether","operstate":"UP"},'
           '{"ifname":"pf0vf0","link_type":"ether","operstate":"UP"}]')
    runner = netns_runner(software_ok=True)
    runner.commands[("ip", "-j", "-d", "link", "show")] = (0, raw, "")
    runner.by_stdin["flags offload"] = (0, "", "")
    runner.links.update({
        "/sys/class/net/eth0/device/driver": "../../../bus/platform/drivers/mtk_soc_eth",
        "/sys/class/net/lan1/device/driver": "../../../../bus/mdio_bus/drivers/mt7530-mdio",
        "/sys/class/net/pf0vf0/device/driver": "../../../bus/pci/drivers/mlx5_core",
    })
    eth = FakeEthtool({"lan1": "dsa", "pf0vf0": "mlx5e_rep", "eth0": "mtk_soc_eth"},
                      {n: {"hw-tc-offload": {"active": True}} for n in ("eth0", "lan1", "pf0vf0")})
    ifaces = _facts.gather(runner, ["interfaces"], eth)[0]["interfaces"]
    assert ifaces["lan1"]["driver"] == "mt7530-mdio" and ifaces["lan1"]["kind"] == "dsa"
    assert ifaces["lan1"]["hardware_offload"] == "supported"
    assert ifaces["pf0vf0"]["driver"] == "mlx5_core" and ifaces["pf0vf0"]["hardware_offload"] == "supported"
    assert "mlx5e_rep" in ifaces["pf0vf0"]["hardware_offload_reason"]

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for offload_facts: read snapshots as the real read script prints them,
built from captured output (tests/unit/fixtures, with its copy of the OpenWrt captures).

Each ``*_sections`` function returns ``{key: Section}`` for ``FakeTarget`` or ``Snapshot``.
Where the read script filters on the target (ruleset, xfrm policies, conntrack counts),
the same filter is applied here in Python; test__facts.py runs the real sh filters under
busybox on the same captures and checks that both agree. The ``facts:dev:`` sysfs sections
are derived from the captured ``ip -j -d link`` (sysfs itself was not captured).
"""
from __future__ import annotations

import json
import os
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    probe as _probe,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    SHARED_CAPTURES,
    fixture,
    sec,
)

H = "1.0.6-bookworm-facts-host-"
N = "1.0.6-bookworm-facts-netns-"
NS = "1.0.6-bookworm-vm-facts-"
VMC = "1.0.6-bookworm-vm-capture-"
KV = "1.0.6-bookworm-kmod-vm-"
SW_ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
SW_EPERM = fixture("1.0.6-bookworm-facts-probe-software-eperm.stderr")
HW_ENOENT = fixture("1.0.6-bookworm-facts-probe-hardware-lo-enoent.stderr")
HW_EOPNOTSUPP = fixture("1.0.6-bookworm-vm-facts-probe-hardware-veth-eopnotsupp.stderr")
ABSENT = Section(2, "", "absent\n")


def capture(manager: str, case: str, part: str = "out") -> str:
    """A file of the OpenWrt captures (tests/unit/fixtures/openwrt/<manager>/<case>.<part>)."""
    with open(os.path.join(SHARED_CAPTURES, manager, f"{case}.{part}"), encoding="utf-8") as handle:
        return handle.read()


# --- what the read script's filters do (checked against the real sh in test__facts.py) ----
def count_like_target(text: str, rc: int = 0) -> str:
    """The facts:flows section for conntrack lines (the awk of the read script)."""
    lines = [line for line in text.splitlines() if line.strip() and "flow entries have been shown" not in line]
    return (f"total={len(lines)}\noffload={sum('[OFFLOAD]' in line for line in lines)}\n"
            f"hw_offload={sum('[HW_OFFLOAD]' in line for line in lines)}\nrc={rc}\n")


def grep_like_target(text: str, pattern: str) -> str:
    regex = re.compile(pattern)
    return "".join(line + "\n" for line in text.splitlines() if regex.search(line))


def nfqueue_like_target(ruleset: str) -> str:
    return grep_like_target(ruleset, r"^table |^\s*chain |queue")


def xfrm_like_target(text: str) -> str:
    return grep_like_target(text, r"^src |^\s+(dir|socket) ")


# --- sections ---------------------------------------------------------------------------------
def host_sections(os_release: str, *, release: str, pid1: str = "systemd",
                  tools: t.Iterable[str] = ("nft", "ip", "tc"), paths: t.Iterable[str] = (),
                  openwrt_release: str | None = None, units: str = "") -> dict[str, Section]:
    return {
        "host:os-release": sec(os_release),
        "host:openwrt_release": sec(openwrt_release) if openwrt_release is not None else Section(2, "", "absent\n"),
        "host:osrelease": sec(release + "\n"),
        "host:pid1": sec(pid1 + "\n"),
        "host:tools": sec("".join(f"{name}=/usr/sbin/{name}\n" for name in tools)),
        "host:paths": sec("".join(f"{path}\n" for path in paths)),
        "host:systemd-units": sec(units),
    }


def dev_sections(ip_link_json: str, drivers: t.Mapping[str, str] | None = None,
                 devtypes: t.Mapping[str, str] | None = None) -> dict[str, Section]:
    """facts:dev:<name> as sysfs would show the devices of a captured ``ip -j -d link``."""
    drivers, devtypes = drivers or {}, devtypes or {}
    entries = json.loads(ip_link_json)
    kinds = {e["ifname"]: (e.get("linkinfo") or {}).get("info_kind") for e in entries}
    out = {}
    for entry in entries:
        name = entry["ifname"]
        kind = kinds[name]
        link_type = {"loopback": "772", "none": "65534"}.get(entry.get("link_type"), "1")
        lines = [f"type={link_type}",
                 f"operstate={str(entry.get('operstate', 'unknown')).lower()}"]
        devtype = devtypes.get(name) or {"bridge": "bridge", "vlan": "vlan", "bond": "bond",
                                         "wireguard": "wireguard"}.get(kind or "", "")
        if devtype:
            lines.append(f"devtype={devtype}")
        if name in drivers:
            lines += ["device=1", f"driver={drivers[name]}"]
        if entry.get("master"):
            lines.append(f"master={entry['master']}")
        lowers = sorted({e["ifname"] for e in entries if e.get("master") == name})
        if entry.get("link") and kind != "veth":
            lowers.append(entry["link"])
        lines += [f"lower={lower}" for lower in lowers]
        out[fr.DEV_PREFIX + name] = sec("\n".join(lines) + "\n")
    return out


def eth_section(driver: str, ethtool_k: str) -> Section:
    """facts:eth:<name>: the driver line of ethtool -i and the hw-tc-offload line of -k."""
    return sec(f"driver: {driver}\n" + grep_like_target(ethtool_k, r"^hw-tc-offload:"))


def kmod_sections(release: str, proc: str | None, config: str | None = None,
                  builtin: str = "", dep: str = "", etc_modules: str | None = None) -> dict[str, Section]:
    """The kmod: sections offload_facts' kernel subset reads (filtered like the script)."""
    alt = _kmod.FLOW_NAMES_RE
    return {
        "kmod:proc-modules": sec(proc) if proc is not None else Section(
            1, "", "cat: can't open '/proc/modules': No such file or directory\n"),
        "kmod:builtin": sec(grep_like_target(builtin, rf"(^|/)({alt})\.ko")) if builtin else ABSENT,
        "kmod:dep": sec(grep_like_target(dep, rf"^([^:]*/)?({alt})\.ko")) if dep else ABSENT,
        "kmod:ls": ABSENT,
        "kmod:config": sec(f"# source: /boot/config-{release}\n" + grep_like_target(config, _kmod.CONFIG_RE))
        if config is not None else Section(2, "", f"no /proc/config.gz, no /boot/config-{release}\n"),
        "kmod:sys": sec(""),
        "kmod:modinfo": Section(127, "", "modinfo not found\n"),
        "kmod:etc-modules": sec(etc_modules) if etc_modules is not None else ABSENT,
        "kmod:modules-load": ABSENT,
    }


def sysctl_section(values: t.Mapping[str, int]) -> Section:
    return sec("".join(f"{fr.SYSCTLS[key]}={value}\n" for key, value in values.items()))


def netns_sections(software: Section = Section(1, "", SW_ENOENT)) -> dict[str, Section]:
    """This Debian 12 development host (kernel without flowtables, nft 1.0.6): a netns with
    bridge/veth/macvlan/tun/ifb and an htb + ifb redirect on veth1."""
    link = fixture(N + "ip-link.json")
    veth_k = fixture(N + "ethtool-k-veth0.txt")
    names = [e["ifname"] for e in json.loads(link)]
    drivers = {"br0": "bridge", "veth0": "veth", "veth1": "veth", "mv0": "macvlan", "tun0": "tun", "ifb0": "ifb"}
    out = {
        **host_sections(fixture(H + "os-release.txt"), release="6.18.44-fc-v657", pid1="Process_api",
                        tools=("nft", "ip", "tc", "ethtool", "dpkg", "apt-get")),
        **kmod_sections("6.18.44-fc-v657", None),
        "kmod:pkg-db": sec(""), "kmod:pkg-files": sec(""),
        "kmod:pkg-owner": sec("modinfo=modinfo: ERROR: Module nf_flow_table not found.\npath=\n"),
        "probe:sw": software,
        **{f"probe:hw:{n}": Section(1, "", HW_ENOENT) for n in names if n != "lo"},
        fr.K_SYSCTL: sysctl_section({"ip_forward": 0, "ipv6_forwarding": 0}),
        fr.K_NFT_VERSION: sec(fixture(H + "nft-version.txt")),
        fr.K_NFT_JSON: sec(fixture(H + "nft-j-list-tables.json")),
        fr.K_FT_JSON: sec(fixture(H + "nft-j-list-flowtables.json")),
        fr.K_FT_TEXT: sec(fixture(H + "nft-list-flowtables.txt")),
        fr.K_IP_LINK: sec(link),
        fr.K_PPPOE: sec(""),
        fr.K_ROUTE4: sec(fixture(N + "ip-route4-default.json")),
        fr.K_ROUTE6: sec(fixture(N + "ip-route6-default.json")),
        fr.K_ADDR: sec(fixture(N + "ip-addr.json")),
        fr.K_PROC_ROUTES: sec(""),
        fr.K_FLOWS: sec("source=/proc/net/nf_conntrack\n" + count_like_target(fixture(N + "nf-conntrack-empty.txt"))),
        fr.K_QDISC: sec(fixture(N + "tc-qdisc.json")),
        fr.FILTER_PREFIX + "veth1": sec(fixture(N + "tc-filter-veth1-ingress.json")),
        fr.K_XFRM: sec(xfrm_like_target(fixture(N + "xfrm-policy-empty.txt"))),
        fr.K_NFQUEUE: sec(""),
        **dev_sections(link),
    }
    out.update({fr.ETH_PREFIX + n: eth_section(d, veth_k) for n, d in drivers.items()})
    return out


def vm_ns_sections() -> dict[str, Section]:
    """The lab VM's netns "factsx" (Debian 6.1 kernel with flowtables, nft 1.0.6): vlan,
    bond, wireguard, gre, dummy, cake on ifb, xfrm policies, nfqueue rules, offloaded flows."""
    link = fixture(NS + "ns-ip-link.json")
    release = "6.1.0-56-amd64"
    names = [e["ifname"] for e in json.loads(link)]
    out = {
        **host_sections(fixture(NS + "os-release.txt"), release=release, paths=("/run/systemd/system",),
                        tools=("nft", "ip", "tc", "ethtool", "dpkg", "systemctl"),
                        units="Id=firewalld.service\nActiveState=inactive\nUnitFileState=\n\nId=nftables.service\nActiveState=active\nUnitFileState=enabled\n"),
        **kmod_sections(release, fixture(KV + "proc-modules-loaded.txt"), fixture(NS + "kernel-config.txt"),
                        fixture(KV + "modules-builtin.txt"), fixture(KV + "modules-dep-netfilter.txt"),
                        fixture(KV + "etc-modules.txt")),
        "kmod:pkg-db": sec(""), "kmod:pkg-files": sec(""),
        "kmod:pkg-owner": sec(f"modinfo={fixture(KV + 'modinfo-n-nf_flow_table.txt').strip()}\n"
                              f"path={fixture(KV + 'modinfo-n-nf_flow_table.txt').strip()}\ntool=dpkg\nrc=0\n"
                              f"> {fixture(KV + 'dpkg-S.txt').strip()}\n"
                              f"version={fixture(KV + 'dpkg-query-version.txt').strip()}\n"),
        "probe:sw": Section(0, "", fixture(NS + "probe-software-ok.stderr")),
        **{f"probe:hw:{n}": Section(1, "", HW_EOPNOTSUPP.replace("veth", n)) for n in names if n != "lo"},
        fr.K_SYSCTL: sysctl_section({"nf_flowtable_tcp_timeout": 30, "nf_flowtable_udp_timeout": 30,
                                     "ip_forward": 1, "ipv6_forwarding": 1}),
        fr.K_NFT_VERSION: sec(fixture(NS + "nft-version.txt")),
        fr.K_NFT_JSON: sec(fixture(NS + "nft-j-list-tables.json")),
        fr.K_FT_JSON: sec(fixture(NS + "ns-nft-j-list-flowtables.json")),
        fr.K_FT_TEXT: sec(fixture(NS + "ns-nft-list-flowtables.txt")),
        fr.K_IP_LINK: sec(link),
        fr.K_PPPOE: sec(""),
        fr.K_ROUTE4: sec(fixture(NS + "ns-ip-route4-default.json")),
        fr.K_ROUTE6: sec(fixture(NS + "ns-ip-route6-default.json")),
        fr.K_ADDR: sec(fixture(NS + "ns-ip-addr.json")),
        fr.K_PROC_ROUTES: sec(""),
        fr.K_FLOWS: sec("source=/proc/net/nf_conntrack\n" + count_like_target(fixture(NS + "nf-conntrack-offload.txt"))),
        fr.K_QDISC: sec(fixture(NS + "ns-tc-qdisc.json")),
        fr.FILTER_PREFIX + "dummy2": sec(fixture(NS + "ns-tc-filter-dummy2-ingress.json")),
        fr.K_XFRM: sec(xfrm_like_target(fixture(NS + "ns-xfrm-policy.txt"))),
        fr.K_NFQUEUE: sec(nfqueue_like_target(fixture(NS + "ns-nft-list-ruleset.txt"))),
        **dev_sections(link),
        fr.ETH_PREFIX + "dummy0": eth_section("dummy", fixture(NS + "ns-ethtool-k-dummy0.txt")),
        fr.ETH_PREFIX + "bond0": eth_section("bonding", fixture(NS + "ns-ethtool-k-dummy0.txt")),
        fr.ETH_PREFIX + "br-lan": eth_section("bridge", fixture(NS + "ns-ethtool-k-br-lan.txt")),
        fr.ETH_PREFIX + "wg0": eth_section("wireguard", fixture(NS + "ns-ethtool-k-dummy0.txt")),
        fr.ETH_PREFIX + "veth-a": eth_section("veth", fixture(VMC + "ethtool-k-lan0.txt")),
    }
    return out


def openwrt_sections(manager: str = "opkg") -> dict[str, Section]:
    """The OpenWrt router of ../shared/openwrt/captures (24.10 userland, busybox sh and ip,
    no ethtool, no tc, kernel without flowtables or loadable modules): br-lan over lan0 and
    lan1, wan0; sysfs and /proc/net routes hand-made from its ubus interface dump."""
    tools = ("nft", "uci", "fw4", "ubus", "ip", manager)
    out = {
        **host_sections(capture(manager, "33-os-release"), release="6.18.44-fc-v657", pid1="procd",
                        tools=tools, paths=("/sbin/fw4", "/usr/share/firewall4", "/etc/openwrt_release"),
                        openwrt_release=capture(manager, "32-openwrt-release")),
        **kmod_sections("6.18.44-fc-v657", None),
        "kmod:pkg-db": sec("@ opkg /usr/lib/opkg/status\n" + capture("opkg", "27-opkg-status-file-head"))
        if manager == "opkg" else sec("@ apk apk info -e\n"),
        "kmod:pkg-files": sec(""),
        "kmod:pkg-owner": sec(""),
        "probe:sw": Section(1, "", SW_ENOENT),
        fr.K_SYSCTL: sysctl_section({"ip_forward": 1, "ipv6_forwarding": 1}),
        fr.K_NFT_VERSION: sec(fixture(H + "nft-version.txt")),
        fr.K_NFT_JSON: sec('{"nftables": [{"metainfo": {"version": "1.0.6"}}, '
                           '{"table": {"family": "inet", "name": "fw4", "handle": 1}}]}\n'),
        fr.K_FT_JSON: sec('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}\n'),
        fr.K_FT_TEXT: sec(capture(manager, "13-nft-list-flowtables-after-failed-reload")),
        fr.K_IP_LINK: Section(1, "", "ip: invalid argument '-j' to 'ip'\n"),
        fr.K_PPPOE: sec(""),
        fr.K_ROUTE4: Section(1, "", "ip: invalid argument '-j' to 'ip'\n"),
        fr.K_ROUTE6: Section(1, "", "ip: invalid argument '-j' to 'ip'\n"),
        fr.K_ADDR: Section(1, "", "ip: invalid argument '-j' to 'ip'\n"),
        fr.K_PROC_ROUTES: sec(fixture("1.0.6-openwrt2410-facts-handmade-proc-routes.txt")),
        fr.K_FLOWS: Section(2, "", "no /proc/net/nf_conntrack and no conntrack binary\n"),
        fr.K_QDISC: Section(127, "", "sh: tc: not found\n"),
        fr.K_XFRM: Section(1, "", "ip: invalid argument 'xfrm' to 'ip'\n"),
        fr.K_NFQUEUE: sec(nfqueue_like_target(capture(manager, "06-nft-list-ruleset-fw4-default"))),
        fr.DEV_PREFIX + "lo": sec("type=772\noperstate=unknown\n"),
        fr.DEV_PREFIX + "br-lan": sec("type=1\noperstate=up\ndevtype=bridge\nlower=lan0\nlower=lan1\n"),
        fr.DEV_PREFIX + "lan0": sec("type=1\noperstate=up\ndevice=1\ndriver=mtk_soc_eth\nmaster=br-lan\n"),
        fr.DEV_PREFIX + "lan1": sec("type=1\noperstate=up\ndevice=1\ndriver=mtk_soc_eth\nmaster=br-lan\n"),
        fr.DEV_PREFIX + "wan0": sec("type=1\noperstate=up\ndevice=1\ndriver=mtk_soc_eth\n"),
    }
    return out


def probe_batch_section(software_error: str | None, devices: t.Mapping[str, str | None]) -> Section:
    """``probe:batch`` as the read script prints it on a host where the software probe fails
    with software_error (None: accepted) and each device's hardware probe with its error (a
    kernel message such as "Operation not supported"; None: accepted). A kernel without
    flowtables refuses every block with the software probe's error."""
    sw_lines, hw_lines = _probe.block_lines(False), _probe.block_lines(True)
    out, err, line = ["1 -"], [], sw_lines + 1
    if software_error:
        err += [f"/tmp/fo/probe.nft:2:1-60: Error: Could not process rule: {software_error}",
                "add flowtable inet flowoffload_probe_1_0 ft { hook ingress priority 0; }"]
    for index, (dev, error) in enumerate(sorted(devices.items()), start=1):
        out.append(f"{line} {dev}")
        error = software_error or error
        if error:
            err += [f"/tmp/fo/probe.nft:{line + 1}:1-95: Error: Could not process rule: {error}",
                    f"add flowtable inet flowoffload_probe_1_{index} ft {{ hook ingress priority 0; "
                    f"devices = {{ \"{dev}\" }}; flags offload; }}"]
        line += hw_lines
    return Section(1 if err else 0, "\n".join(out) + "\n", "\n".join(err) + ("\n" if err else ""))

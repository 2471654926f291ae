# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab VM as a HostRoot: Debian 12, kernel 6.1.0-56-amd64 with flowtables as modules,
nft 1.0.6, systemd with nftables.service enabled and active; eth0 (virtio_net) and the veth
pair lan0/wan0, none of which offloads to hardware (the nft double refuses ``flags offload``
on them with EOPNOTSUPP, as the VM's kernel did). Every file comes from the VM's captures
(tests/unit/fixtures/1.0.6-bookworm-*); the reads and the applies run for real on it.
"""
from __future__ import annotations

import json
import pathlib
import typing as t

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import (
    ARGUMENT_SPEC,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)

REL = "6.1.0-56-amd64"
VMC = "1.0.6-bookworm-vm-capture-"
KV = "1.0.6-bookworm-kmod-vm-"
ONE = "1.0.6-bookworm-handmade-ft-owned-one"  # table flowoffload, ft on lan0 + wan0, software
DEVICES = ("eth0", "lan0", "lo", "wan0")
DRIVERS = {"eth0": "virtio_net"}
TIMEOUT = "net.netfilter.nf_flowtable_tcp_timeout"
LAN_WAN = {"devices": "lan0,wan0"}
SHELLS = ("busybox", "dash")


def params(**changes: t.Any) -> dict[str, t.Any]:
    """offload_profile's params as the action gets them (argspec defaults filled)."""
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(changes)
    assert not result.error_messages
    return dict(result.validated_parameters)


def _netdevs(host: HostRoot) -> None:
    """/sys/class/net as the VM's sysfs shows the devices of its ``ip -j -d link``."""
    for entry in json.loads(fixture(VMC + "ip-link.json")):
        name = entry["ifname"]
        base = f"/sys/class/net/{name}"
        host.write(f"{base}/type", {"loopback": "772\n"}.get(entry.get("link_type"), "1\n"))
        host.write(f"{base}/operstate", str(entry.get("operstate", "unknown")).lower() + "\n")
        host.write(f"{base}/uevent", f"INTERFACE={name}\nIFINDEX={entry['ifindex']}\n")
        if name in DRIVERS:
            host.write(f"/sys/bus/virtio/drivers/{DRIVERS[name]}/bind", "")
            host.link(f"{base}/device/driver", f"/sys/bus/virtio/drivers/{DRIVERS[name]}")


def lab_root(path: pathlib.Path, shell: str = "busybox", *, modules_loaded: bool = False,
             boot_list: bool = False, table: str | None = None) -> HostRoot:
    """The lab VM before any run of the profile (defaults), or with the modules loaded, their
    boot list written and the owned table ``table`` (a listing fixture) in the ruleset."""
    host = HostRoot(path, shell, env={"NFT_REFUSE_OFFLOAD": "eth0 lan0 wan0"})
    host.seed({
        "/etc/os-release": fixture(KV + "os-release.txt"),
        "/etc/modules": fixture(KV + "etc-modules.txt"),
        "/proc/sys/kernel/osrelease": REL + "\n",
        "/proc/1/comm": "systemd\n",
        "/proc/modules": fixture(KV + ("proc-modules-loaded.txt" if modules_loaded else "proc-modules-fresh.txt")),
        "/proc/sys/net/ipv4/ip_forward": "1\n",
        "/proc/sys/net/ipv6/conf/all/forwarding": "1\n",
        "/proc/net/nf_conntrack": fixture(VMC + "nf-conntrack.txt"),
        f"/lib/modules/{REL}/modules.dep": fixture(KV + "modules-dep-netfilter.txt"),
        f"/lib/modules/{REL}/modules.builtin": fixture(KV + "modules-builtin.txt"),
        f"/boot/config-{REL}": fixture("1.0.6-bookworm-kmod-host-config.txt"),
        "/lib/systemd/system/nftables.service": "[Unit]\nDescription=nftables\n\n[Install]\nWantedBy=sysinit.target\n",
        # the tools' answers (tests/unit/doubles/host/answer)
        "/var/lib/doubles/ip/-j -d addr show": fixture(VMC + "ip-addr.json"),
        "/var/lib/doubles/ip/-j -4 route show default": "[]\n",
        "/var/lib/doubles/ip/-j -6 route show default": "[]\n",
        "/var/lib/doubles/ip/xfrm policy show": "",
        "/var/lib/doubles/tc/-j qdisc show": fixture(VMC + "tc-qdisc.json"),
    })
    for dev in ("eth0", "lan0", "wan0"):
        host.write(f"/var/lib/doubles/ethtool/-i {dev}", fixture(f"{VMC}ethtool-i-{dev}.txt"))
        host.write(f"/var/lib/doubles/ethtool/-k {dev}", fixture(f"{VMC}ethtool-k-{dev}.txt"))
    for folder in ("/run/systemd/system", "/run/systemd/units", f"/lib/modules/{REL}/kernel"):
        host.path(folder).mkdir(parents=True, exist_ok=True)
    host.link("/etc/systemd/system/sysinit.target.wants/nftables.service", "/lib/systemd/system/nftables.service")
    host.link("/run/systemd/units/invocation:nftables.service", "0123456789abcdef0123456789abcdef")
    _netdevs(host)
    if modules_loaded:
        for name in ("nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"):
            host.write(f"/sys/module/{name}/initstate", "live\n")
            host.write(f"/sys/module/{name}/refcnt", "0\n")
            host.path(f"/sys/module/{name}/holders").mkdir(parents=True, exist_ok=True)
        host.write("/proc/sys/net/netfilter/nf_flowtable_tcp_timeout", "30\n")
        host.write("/proc/sys/net/netfilter/nf_flowtable_udp_timeout", "30\n")
    if boot_list:
        host.write("/etc/modules-load.d/flowoffload.conf", "nf_flow_table\nnf_flow_table_inet\nnft_flow_offload\n")
    if table is not None:
        host.seed_ruleset(fixture(table + ".txt"))
    return host


@pytest.fixture(params=SHELLS)
def shell(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs under busybox ash and under dash."""
    return str(request.param)

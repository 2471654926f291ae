# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Captured snapshots of whole profiles, for the tests that need an answer no script run here
can give (FakeTarget): the OpenWrt router's package managers and fw4, and the action tests.

Snapshots of whole profiles come from the lab VM's captures (Debian 12, kernel
6.1.0-56-amd64 with flowtables, nft 1.0.6; lan0/wan0 are veth, eth0 virtio_net) and the
OpenWrt captures: host, facts, modules, flowtable and sysctl sections as the one read
script of ``offload_profile`` prints them (``lab_vm``, built with the other planners' test
helpers; test_offload_profile.py uses it too).
"""
from __future__ import annotations

import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import (
    ARGUMENT_SPEC,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import run as R
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    parts,
    rules,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    sysctl as ps,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.inputs import (
    validate_inputs,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
    Snapshot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import (
    facts_fake as ff,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import (
    ft_helpers as fh,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import (
    kmod_fake as kf,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
    sec,
)

VMC = "1.0.6-bookworm-vm-capture-"
KV = "1.0.6-bookworm-kmod-vm-"
EOPNOTSUPP = fixture("1.0.6-bookworm-vm-facts-probe-hardware-veth-eopnotsupp.stderr")
SW_ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
TOOLS = ("nft", "ip", "tc", "ethtool", "modprobe", "rmmod", "modinfo", "apt-get", "dpkg", "systemctl")
DEVICES = ("eth0", "lan0", "lo", "wan0")
ONE = "1.0.6-bookworm-handmade-ft-owned-one"  # table flowoffload, ft on lan0 + wan0, software

NO_ERROR = Section(0, "", "")


def sysctl_sections(file: str | None, running: t.Mapping[str, int]) -> dict[str, Section]:
    return {ps.FILE_KEY: sec("absent\n" if file is None else "present\n" + file),
            ps.RUNNING_KEY: sec("".join(f"{name}={value}\n" for name, value in running.items()))}


def lab_vm(*, modules_loaded: bool = True, boot_list: bool = True, table: str | None = ONE,
           ft_files: t.Mapping[str, str] | None = None, sysctl_file: str | None = None,
           running: t.Mapping[str, int] | None = None, software: Section = NO_ERROR) -> dict[str, Section]:
    """The lab VM. ``table``: the owned table's listing fixture (None: no table);
    ``ft_files``: the flowtable's persistence files ({"file": ..., "unit": ...})."""
    link = fixture(VMC + "ip-link.json")
    out: dict[str, Section] = {}
    out.update(kf.host_sections(tools=TOOLS))
    out["host:netdevs"] = sec("".join(d + "\n" for d in DEVICES))
    out["host:systemd-units"] = sec("Id=firewalld.service\nActiveState=inactive\nUnitFileState=\n\n"
                                    "Id=nftables.service\nActiveState=active\nUnitFileState=enabled\n")
    out.update(kf.kmod_sections(
        proc=fixture(KV + ("proc-modules-loaded.txt" if modules_loaded else "proc-modules-fresh.txt")),
        dep=fixture(KV + "modules-dep-netfilter.txt"), builtin=fixture(KV + "modules-builtin.txt"),
        listing=["build", "kernel", "modules.dep", "modules.builtin", "modules.alias"], modinfo={},
        etc_modules=fixture(KV + "etc-modules.txt"),
        modules_load=_kmod.render_file(list(_kmod.DEFAULT_MODULES)) if boot_list else None))
    out.update({"kmod:pkg-db": sec(""), "kmod:pkg-files": sec(""), "kmod:pkg-owner": sec(""),
                "kmod:pkg-size": sec(""), "facts:shaping": sec("")})
    out.update(ff.dev_sections(link, drivers={"eth0": "virtio_net"}))
    out.update({
        fr.ETH_PREFIX + "eth0": ff.eth_section("virtio_net", fixture(VMC + "ethtool-k-eth0.txt")),
        fr.ETH_PREFIX + "lan0": ff.eth_section("veth", fixture(VMC + "ethtool-k-lan0.txt")),
        fr.ETH_PREFIX + "wan0": ff.eth_section("veth", fixture(VMC + "ethtool-k-wan0.txt")),
        fr.K_SYSCTL: ff.sysctl_section({"nf_flowtable_tcp_timeout": 30, "nf_flowtable_udp_timeout": 30,
                                        "ip_forward": 1, "ipv6_forwarding": 1}),
        fr.K_NFT_VERSION: sec(fixture(VMC + "nft-version.txt")),
        fr.K_IP_LINK: sec(link),
        fr.K_PPPOE: sec(""),
        fr.K_ROUTE4: sec("[]\n"),
        fr.K_ROUTE6: sec("[]\n"),
        fr.K_ADDR: sec(fixture(VMC + "ip-addr.json")),
        fr.K_PROC_ROUTES: sec(""),
        fr.K_FLOWS: sec("source=/proc/net/nf_conntrack\n" + ff.count_like_target(fixture(VMC + "nf-conntrack.txt"))),
        fr.K_QDISC: sec(fixture(VMC + "tc-qdisc.json")),
        fr.K_XFRM: sec(""),
        fr.K_NFQUEUE: sec(ff.nfqueue_like_target(fixture(VMC + "list-ruleset.txt"))),
        "probe:batch": ff.probe_batch_section(
            software.err.split("Error: Could not process rule: ", 1)[-1].splitlines()[0] if software.rc else None,
            {dev: "Operation not supported" for dev in DEVICES if dev != "lo"}),
    })
    json_sec, text_sec = fh.listing(table)
    files = dict(ft_files or {})
    out.update({
        "ft:table-json": json_sec, "ft:table-text": text_sec,
        **fh.file_sections(files),
        "ft:unit-enabled": sec("enabled\n") if "unit" in files else sec("disabled\n", 1),
    })
    running = dict(running if running is not None else {
        "net.netfilter.nf_flowtable_tcp_timeout": 30, "net.netfilter.nf_flowtable_udp_timeout": 30,
        "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1})
    if not modules_loaded:
        running = {k: v for k, v in running.items() if "nf_flowtable" not in k}
    out.update(sysctl_sections(sysctl_file, running))
    return out


# --- helpers ------------------------------------------------------------------------------------
TIMEOUT = "net.netfilter.nf_flowtable_tcp_timeout"


def params(**changes: t.Any) -> dict[str, t.Any]:
    """offload_profile's params as the action gets them (argspec defaults filled)."""
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(changes)
    assert not result.error_messages
    return dict(result.validated_parameters)


def ft_files(**changes: t.Any) -> dict[str, str]:
    """The persistence files a first run writes for the profile's flowtable."""
    inputs = validate_inputs(params(**changes))
    ft_params = parts.filled("flowtable", rules.flowtable_params(inputs, "nft", list(inputs.devices or ())))
    plan = R.plan_flowtable(Snapshot(lab_vm(table=None)), ft_params, False)
    return fh.written(plan.spec)


def configured(sysctl: t.Mapping[str, int] | None = None, **changes: t.Any) -> dict[str, Section]:
    """The lab VM after a run of the profile (modules, boot list, table, files, sysctl file)."""
    running = {TIMEOUT: 30, "net.netfilter.nf_flowtable_udp_timeout": 30, "net.ipv4.ip_forward": 1,
               "net.ipv6.conf.all.forwarding": 1}
    running.update(sysctl or {})
    return lab_vm(ft_files=ft_files(**changes), sysctl_file=ps.render_file(dict(sysctl or {})), running=running)


def readback(state: t.Mapping[str, Section], table: str | None = ONE) -> dict[str, Section]:
    """What an apply script's read-back prints on a host in ``state``."""
    json_sec, text_sec = fh.listing(table)
    return dict(state, **{"ft:after-json": json_sec, "ft:after-text": text_sec})


LAN_WAN = {"devices": "lan0,wan0"}
PRISTINE = {"modules_loaded": False, "boot_list": False, "table": None}  # the lab VM before any run (or after off)


# --- the OpenWrt router of the captures (issue 16) ----------------------------------------------------
FW4_FT_JSON = ('{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"flowtable": {"family": "inet", "name": "ft", '
               '"table": "fw4", "handle": 1, "hook": "ingress", "prio": 0, "dev": ["br-lan", "wan0"]}}]}\n')
# ../shared/openwrt/captures/real-kernel/40: fw4's flowtable as nft lists it
FW4_FT_TEXT = "table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { br-lan, wan0 }\n\t\tcounter\n\t}\n}\n"


def capture(manager: str, case: str) -> Section:
    """A case of the OpenWrt captures as a section (stdout, rc, stderr)."""
    parts = [fixture(f"openwrt/{manager}/{case}.{ext}") for ext in ("out", "rc", "err")]
    return Section(int(parts[1]), parts[0], parts[2])


def openwrt_router(manager: str = "opkg", *, module_support: bool = True, **over: Section) -> dict[str, Section]:
    """The captured router (fw4 started, offloading unset, no kmod-nft-offload, the kernel
    without flowtables), with fw4's reads. ``module_support``: the kernel could load the
    package's modules (a stock OpenWrt kernel; the captures' own kernel could not)."""
    out = dict(ff.openwrt_sections(manager))
    out.update({
        "fw4:flow_offloading": capture(manager, "02-uci-get-flow_offloading-unset"),
        "fw4:flow_offloading_hw": capture(manager, "02-uci-get-flow_offloading-unset"),
        "fw4:defaults": capture(manager, "03-uci-get-defaults-name"), "fw4:changes": sec(""),
        "fw4:config": capture(manager, "01-uci-show-firewall-default"),
        "fw4:interfaces": capture(manager, "04-ubus-network-interface-dump"),
        "fw4:ft-json": sec('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}\n'),
        "fw4:ft-text": capture(manager, "13-nft-list-flowtables-after-failed-reload"),
        "kmod:pkg-size": sec("@ " + manager + "\n"),
        "ft:table-json": Section(1, "", "Error: No such file or directory\n"), "ft:table-text": Section(1, "", ""),
    })
    if not module_support:
        out["kmod:config"] = sec("# source: /proc/config.gz\n# CONFIG_MODULES is not set\n")
    out.update(over)
    return out

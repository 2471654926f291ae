# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What offload_facts reads on the target: sections of the one read script (private).

``facts_reads(subsets)`` lists the ``Read``s the requested subsets need (and nothing
else); the shared readers (host, kernel modules, persistence, package, probes) come from
their own packages. Every section of this file has a key starting with ``facts:``.
The sh programs are the ``read_*.sh`` files beside this one (rendered by ``target/sh.py``,
each path they read an input); they keep the output small: the ruleset is filtered to
table/chain heads and ``queue`` lines, conntrack entries are counted on the target, routes
are filtered before they are printed.

Nothing here changes the host: the only kernel requests are reads of /sys and /proc,
``ip``/``tc``/``ethtool`` queries and the ``nft -c`` probes of ``flowtable/probe.py``
(never committed).
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import probe as _probe
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import packages as _packages
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import host_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    proc_sys_code,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import (
    path_of,
    render,
)

PREFIX = "facts:"
K_SYSCTL = PREFIX + "sysctl"
K_NFT_VERSION = PREFIX + "nft-version"
K_NFT_JSON = PREFIX + "nft-json"
K_FT_JSON = PREFIX + "ft-json"
K_FT_TEXT = PREFIX + "ft-text"
K_IP_LINK = PREFIX + "ip-link"
K_PPPOE = PREFIX + "pppoe"
K_ROUTE4 = PREFIX + "ip-route4"
K_ROUTE6 = PREFIX + "ip-route6"
K_ADDR = PREFIX + "ip-addr"
K_PROC_ROUTES = PREFIX + "proc-routes"
K_FLOWS = PREFIX + "flows"
K_QDISC = PREFIX + "tc-qdisc"
K_XFRM = PREFIX + "xfrm"
K_NFQUEUE = PREFIX + "nfqueue"
K_SHAPING = PREFIX + "shaping"
DEV_PREFIX = PREFIX + "dev:"          # one section per device: sysfs
ETH_PREFIX = PREFIX + "eth:"          # one section per device: ethtool -i / -k (when ethtool exists)
FILTER_PREFIX = PREFIX + "tc-filter:"  # one section per device with an ingress/clsact qdisc

SYSCTLS = {
    "nf_flowtable_tcp_timeout": "net/netfilter/nf_flowtable_tcp_timeout",
    "nf_flowtable_udp_timeout": "net/netfilter/nf_flowtable_udp_timeout",
    "ip_forward": "net/ipv4/ip_forward",
    "ipv6_forwarding": "net/ipv6/conf/all/forwarding",
}

_SYSCTL_CODE = proc_sys_code(SYSCTLS.values(), dotted=False)

# Where the scripts look (inputs of the .sh files, so the unit tests can point them at a
# temporary tree).
SYS_NET = "/sys/class/net"
PROC_NET = "/proc/net"
CONNTRACK_PROC = "/proc/net/nf_conntrack"
NFQUEUE_PROC = "/proc/net/netfilter/nfnetlink_queue"
UCI_DIR = "/etc/config"
BPF_DIR = "/sys/fs/bpf"

# Routes without iproute2's JSON (busybox ip): when ``ip -j -4 route`` fails it leaves
# "$fo_t/nojson", which makes read_proc_routes.sh print the filtered /proc/net routes.
_ROUTE4_CODE = 'ip -j -4 route show default || { fo_x=$?; : >"$fo_t/nojson"; fo_rc "$fo_x"; }'


def script(name: str, **values: object) -> str:
    """The sh of ``read_NAME.sh`` (beside this file) with its inputs assigned through shq."""
    return render(path_of(__file__, f"read_{name}.sh"), values)


def dev_code(sysnet: str = SYS_NET) -> str:
    """Every device of /sys/class/net: type, operstate, DEVTYPE, the bus driver, master and
    lower devices; one section facts:dev:<name> each."""
    return script("dev", fo_dev_prefix=DEV_PREFIX, fo_sysnet=sysnet)


def eth_code(sysnet: str = SYS_NET) -> str:
    """ethtool -i and -k of every device but lo, where ethtool exists; facts:eth:<name>."""
    return script("eth", fo_eth_prefix=ETH_PREFIX, fo_sysnet=sysnet)


def proc_routes_code(procnet: str = PROC_NET) -> str:
    return script("proc_routes", fo_procnet=procnet)


def flows_code(conntrack: str = CONNTRACK_PROC) -> str:
    """The conntrack entries counted on the target (total, offload, hw_offload, rc)."""
    return script("flows", fo_conntrack=conntrack)


def shaping_code(uci_dir: str = UCI_DIR, bpf_dir: str = BPF_DIR) -> str:
    """Only where tc is missing: the SQM/qosify UCI files and pinned BPF objects."""
    return script("shaping", fo_uci_dir=uci_dir, fo_bpf_dir=bpf_dir)


def nfqueue_code(proc: str = NFQUEUE_PROC) -> str:
    """Table and chain heads and queue lines of the ruleset, only when a queue is bound."""
    return script("nfqueue", fo_nfq_proc=proc)


def sysctl_read() -> Read:
    return Read(K_SYSCTL, _SYSCTL_CODE)


def _links_and_addresses(section: Section) -> dict[str, Section]:
    return {K_IP_LINK: section, K_ADDR: section}


def link_reads() -> list[Read]:
    """What the device list and its upper/lower relations need (interfaces, conflicts)."""
    return host_reads() + [
        # One process for the links and their addresses: with -d, ``ip addr show`` prints
        # what ``ip -d link show`` prints (less linkmode and inet6_addr_gen_mode, which no
        # parser reads) plus each device's addr_info; both sections are that listing.
        Read(K_IP_LINK, "ip -j -d addr show", expand=_links_and_addresses),
        Read(K_PPPOE, "if [ -r /proc/net/pppoe ]; then fo_rd /proc/net/pppoe; fi"),
        Read(DEV_PREFIX, dev_code(), dynamic=True),
        Read(K_ROUTE4, _ROUTE4_CODE),
        Read(K_ROUTE6, "ip -j -6 route show default"),
        Read(K_PROC_ROUTES, proc_routes_code()),
    ]


def _subset_reads(subset: str) -> list[Read]:
    if subset == "platform":
        return host_reads()
    if subset == "kernel":
        return (_kmod.module_reads(_kmod.DEFAULT_MODULES) + _kmod.persistence_reads()
                + [_probe.probe_read(), sysctl_read()])
    if subset == "package":
        return _packages.package_reads()
    if subset == "nft":
        return host_reads() + [Read(K_NFT_VERSION, "nft --version"), Read(K_NFT_JSON, "nft -j list tables")]
    if subset == "interfaces":
        return link_reads() + [Read(ETH_PREFIX, eth_code(), dynamic=True), _probe.probe_read()]
    if subset == "flowtables":
        return host_reads() + [Read(K_FT_JSON, "nft -j list flowtables"), Read(K_FT_TEXT, "nft list flowtables")]
    if subset == "flows":
        return [Read(K_FLOWS, flows_code())]
    if subset == "conflicts":
        return link_reads() + [Read(K_QDISC, script("qdisc")),
                               Read(FILTER_PREFIX, script("tc_filter", fo_filter_prefix=FILTER_PREFIX), dynamic=True),
                               Read(K_SHAPING, shaping_code()), Read(K_XFRM, script("xfrm")),
                               Read(K_NFQUEUE, nfqueue_code())]
    raise ValueError(subset)  # pragma: no cover - parse_gather_subset gives only known names


def facts_reads(subsets: t.Sequence[t.Any] | None) -> list[Read]:
    """The reads the requested subsets need (``gather_subset`` values: names, ``all``,
    ``!name``), each key once. Raises FlowOffloadError for an unknown name."""
    reads: dict[str, Read] = {}
    for subset in fp.parse_gather_subset(subsets):
        for read in _subset_reads(subset):
            reads.setdefault(read.key, read)
    return list(reads.values())

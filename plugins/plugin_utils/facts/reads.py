# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What offload_facts reads on the target: sections of the one read script (private).

``facts_reads(subsets)`` lists the ``Read``s the requested subsets need (and nothing
else); the shared readers (host, kernel modules, persistence, package, probes) come from
their own module_utils. Every section of this file has a key starting with ``facts:``.
The sh keeps the output small: the ruleset is filtered to table/chain heads and
``queue`` lines, conntrack entries are counted on the target, routes are filtered
before they are printed.

Nothing here changes the host: the only kernel requests are reads of /sys and /proc,
``ip``/``tc``/``ethtool`` queries and the ``nft -c`` probes of ``_probe`` (never committed).
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import packages as _packages
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import probe as _probe
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import host_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    proc_sys_code,
    shq,
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

# Every device of /sys/class/net: type, operstate, DEVTYPE, the bus driver (absent for
# virtual devices), the upper (master) and lower devices. Key facts:dev:<name>.
_DEV_CODE = f"""\
# Builtins only (read, cd -P, globs): no process per device.
fo_facts_dev() {{
  fo_fd=/sys/class/net/$1
  fo_val "$fo_fd/type"; echo "type=$fo_v"
  fo_val "$fo_fd/operstate"; echo "operstate=$fo_v"
  if [ -r "$fo_fd/uevent" ]; then
    while IFS= read -r fo_fv; do
      case $fo_fv in DEVTYPE=*) echo "devtype=${{fo_fv#DEVTYPE=}}" ;; esac
    done <"$fo_fd/uevent"
  fi
  if [ -e "$fo_fd/device" ]; then echo device=1; fi
  if [ -e "$fo_fd/device/driver" ] && cd -P "$fo_fd/device/driver" 2>/dev/null; then echo "driver=${{PWD##*/}}"; cd /; fi
  if [ -e "$fo_fd/master" ] && cd -P "$fo_fd/master" 2>/dev/null; then echo "master=${{PWD##*/}}"; cd /; fi
  for fo_fx in "$fo_fd"/lower_* "$fo_fd"/brif/*; do
    [ -e "$fo_fx" ] || [ -L "$fo_fx" ] || continue
    case $fo_fx in
      */brif/*) echo "lower=${{fo_fx##*/}}" ;;
      *) echo "lower=${{fo_fx##*/lower_}}" ;;
    esac
  done
  return 0
}}
for fo_fp in /sys/class/net/*; do
  [ -e "$fo_fp" ] || continue
  fo_cap "{DEV_PREFIX}${{fo_fp##*/}}" fo_facts_dev "${{fo_fp##*/}}"
done
"""

# ethtool -i and ethtool -k, where ethtool exists (no section at all without it: host tools
# tell); the parsers take the driver line and the hw-tc-offload line. rc = that of ethtool -k.
# Not for lo: its kind (loopback) is never offloaded and has no driver or features to read.
_ETH_CODE = f"""\
fo_facts_eth() {{
  ethtool -i "$1" 2>/dev/null
  ethtool -k "$1"
}}
if command -v ethtool >/dev/null 2>&1; then
  for fo_fp in /sys/class/net/*; do
    case $fo_fp in */lo) continue ;; esac
    [ -e "$fo_fp" ] || continue
    fo_cap "{ETH_PREFIX}${{fo_fp##*/}}" fo_facts_eth "${{fo_fp##*/}}"
  done
fi
"""

# Routes without iproute2's JSON (busybox ip): default routes and routes without a
# gateway (connected subnets), filtered on the target so a full table stays small.
# (Only when the section before, ``ip -j -4 route``, failed: it leaves "$fo_t/nojson".)
_ROUTE4_CODE = 'ip -j -4 route show default || { fo_x=$?; : >"$fo_t/nojson"; fo_rc "$fo_x"; }'
_PROC_ROUTES_CODE = """\
if [ -e "$fo_t/nojson" ]; then
  echo '# route'
  awk 'NR > 1 && ($2 == "00000000" || $3 == "00000000")' /proc/net/route 2>/dev/null
  echo '# ipv6_route'
  awk '$2 == "00" || ($5 ~ /^0+$/ && $2 != "80")' /proc/net/ipv6_route 2>/dev/null
fi
true"""

# Conntrack entries counted on the target in one pass (the table may hold 100k entries).
_COUNT = ("awk '/^rc=[0-9]+$/ {rc = substr($0, 4); next} "
          "NF && !/flow entries have been shown/ {n++} "
          "/\\[HW_OFFLOAD\\]/ {h++} /\\[OFFLOAD\\]/ {o++} "
          "END {printf \"total=%d\\noffload=%d\\nhw_offload=%d\\nrc=%d\\n\", n, o, h, rc}'")
_FLOWS_CODE = f"""\
if [ -r /proc/net/nf_conntrack ]; then
  echo source=/proc/net/nf_conntrack
  {{ cat /proc/net/nf_conntrack; echo "rc=$?"; }} | {_COUNT}
elif command -v conntrack >/dev/null 2>&1; then
  echo 'source=conntrack -L'
  {{ conntrack -L 2>/dev/null; echo "rc=$?"; }} | {_COUNT}
else
  echo 'no /proc/net/nf_conntrack and no conntrack binary' >&2
  exit 2
fi"""

# The qdisc listing, kept in "$fo_t/qdisc" for the filter loop below.
_QDISC_CODE = """\
if tc -j qdisc show >"$fo_t/qdisc"; then fo_rd "$fo_t/qdisc"
else fo_x=$?; fo_rd "$fo_t/qdisc"; fo_rc "$fo_x"; fi"""

# tc filters of the devices with an ingress/clsact qdisc (ifb redirects for SQM). When the
# JSON listing above (one line) names neither kind, no tc runs again; without that listing
# (an old tc) the text listing is read.
_FILTER_CODE = f"""\
fo_q=''
if [ -s "$fo_t/qdisc" ]; then read -r fo_q <"$fo_t/qdisc" || :; fi
case $fo_q in
  '['*'"kind":"ingress"'*|'['*'"kind":"clsact"'*|'') fo_x=1 ;;
  '['*) fo_x=0 ;;
  *) fo_x=1 ;;
esac
if [ "$fo_x" = 1 ] && command -v tc >/dev/null 2>&1; then
  tc qdisc show 2>/dev/null | while read -r fo_f1 fo_fk _ fo_f4 fo_fv _; do
    [ "$fo_f1 $fo_f4" = "qdisc dev" ] || continue
    case $fo_fk in ingress|clsact) ;; *) continue ;; esac
    case $fo_fv in ''|*[!A-Za-z0-9_.@+-]*) continue ;; esac
    fo_cap "{FILTER_PREFIX}$fo_fv" tc -j filter show dev "$fo_fv" ingress
  done
fi
"""

# Only where tc is missing (a stock OpenWrt image): what else could shape. sqm-scripts and
# qosify keep their config in UCI files (read without uci: builtins only); a tc-bpf loader
# pins its objects under /sys/fs/bpf (a glob: no process).
_SHAPING_CODE = """\
if ! command -v tc >/dev/null 2>&1; then
  for fo_x in /etc/config/sqm /etc/config/qosify; do
    if [ -r "$fo_x" ]; then echo "@file $fo_x"; fo_rd "$fo_x"; echo; fi
  done
  for fo_x in /sys/fs/bpf/*; do
    if [ -e "$fo_x" ]; then echo "@bpf ${fo_x##*/}"; fi
  done
fi"""

_XFRM_CODE = """\
if ip xfrm policy show >"$fo_t/facts-xfrm"; then
  if [ -s "$fo_t/facts-xfrm" ]; then grep -E '^src |^[[:space:]]+(dir|socket) ' "$fo_t/facts-xfrm" || :; fi
else fo_rc $?; fi"""

# Not the whole ruleset: table and chain heads (the context) and the lines saying queue; and
# only when a program listens on a queue (nfnetlink_queue lists the bound queues): the full
# listing costs seconds beside a large ruleset, and a queue without a listener sees nothing.
NFQUEUE_PROC = "/proc/net/netfilter/nfnetlink_queue"


def nfqueue_code(proc: str = NFQUEUE_PROC) -> str:
    return f"""\
if fo_val {shq(proc)} && [ -n "$fo_v" ]; then
  if nft list ruleset >"$fo_t/facts-rs"; then
    grep -E '^table |^[[:space:]]*chain |queue' "$fo_t/facts-rs" || :
  else fo_rc $?; fi
else
  echo '# no queue is bound ({proc}): the ruleset was not listed'
fi"""


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
        Read(DEV_PREFIX, _DEV_CODE, dynamic=True),
        Read(K_ROUTE4, _ROUTE4_CODE),
        Read(K_ROUTE6, "ip -j -6 route show default"),
        Read(K_PROC_ROUTES, _PROC_ROUTES_CODE),
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
        return link_reads() + [Read(ETH_PREFIX, _ETH_CODE, dynamic=True), _probe.probe_read()]
    if subset == "flowtables":
        return host_reads() + [Read(K_FT_JSON, "nft -j list flowtables"), Read(K_FT_TEXT, "nft list flowtables")]
    if subset == "flows":
        return [Read(K_FLOWS, _FLOWS_CODE)]
    if subset == "conflicts":
        return link_reads() + [Read(K_QDISC, _QDISC_CODE), Read(FILTER_PREFIX, _FILTER_CODE, dynamic=True),
                               Read(K_SHAPING, _SHAPING_CODE), Read(K_XFRM, _XFRM_CODE),
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

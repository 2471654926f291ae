# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers and classifiers for flowoffload.nft.offload_facts (private).

Every function takes text or data and returns data: no Runner, no host access. The
gatherers in ``_facts.py`` feed them what they read.
"""
from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)

SUBSETS = ("platform", "kernel", "package", "nft", "interfaces", "flowtables", "flows", "conflicts")

CONFIG_SYMBOLS = (
    "CONFIG_NF_FLOW_TABLE",
    "CONFIG_NF_FLOW_TABLE_INET",
    "CONFIG_NFT_FLOW_OFFLOAD",
    "CONFIG_NF_FLOW_TABLE_IPV4",
    "CONFIG_NF_FLOW_TABLE_IPV6",
)

# Devices the flowtable cannot fast-path: layer-3 tunnels, userspace tunnels, ifb.
NOT_FAST_PATHED = frozenset((
    "wireguard", "tun", "gre", "ipip", "sit", "ip6tnl", "ip6gre", "vti", "vti6", "xfrm", "ifb",
    "ppp", "erspan", "ip6erspan",
))
# Upper devices the kernel (>= 5.13) resolves to their lower devices in a flowtable.
STACKED = frozenset(("bridge", "vlan", "pppoe"))

# Drivers known to implement TC_SETUP_FT (hardware flowtable offload), see the guide.
FT_DRIVERS = frozenset(("mtk_soc_eth", "airoha_eth", "dsa", "mlx5e_rep"))
# Drivers exposing hw-tc-offload without flowtable support (feature is not sufficient).
TC_ONLY_DRIVERS = frozenset((
    "stmmaceth", "st_gmac", "stmmac", "nfp", "hns3", "bnxt_en", "fsl_enetc", "enetc",
    "lan966x-switch", "lan966x", "netdevsim", "ice",
))
OPENWRT_NOTE = (
    "OpenWrt's kernel accepts 'flags offload' on every device (generic patch 701 ignores "
    "EOPNOTSUPP), so the nft -c probe proves nothing there; the proof is conntrack "
    "entries marked [HW_OFFLOAD] (flows.hw_offload)"
)

Link = t.Dict[str, t.Any]


# --- gather_subset -----------------------------------------------------------------------
def parse_gather_subset(values: t.Optional[t.Sequence[t.Any]]) -> t.List[str]:
    """Subsets to gather, in canonical order, from ``all``, names and ``!name``.

    As with Ansible's setup module: a list of only exclusions gathers everything else;
    ``!all`` drops the implicit everything, so ``[!all, kernel]`` gathers ``kernel``.
    """
    valid = ("all",) + SUBSETS
    named: t.Set[str] = set()
    excluded: t.Set[str] = set()
    want_all = exclude_all = False
    for raw in values if values is not None else ["all"]:
        item = str(raw).strip()
        negate = item.startswith("!")
        name = item[1:].strip() if negate else item
        if name not in valid:
            raise FlowOffloadError(
                f"gather_subset: unknown subset {item!r}; valid names are "
                f"{', '.join(valid)} (prefix a name with '!' to exclude it)"
            )
        if name == "all":
            exclude_all, want_all = (True, want_all) if negate else (exclude_all, True)
        else:
            (excluded if negate else named).add(name)
    if want_all and not exclude_all or not (want_all or named or exclude_all):
        named = set(SUBSETS)
    return [name for name in SUBSETS if name in named and name not in excluded]


# --- small file formats ------------------------------------------------------------------
def parse_int(text: t.Optional[str]) -> t.Optional[int]:
    value = (text or "").strip()
    return int(value) if re.match(r"^-?\d+$", value) else None


def init_system(pid1_comm: str, has_run_systemd: bool, has_openrc: bool) -> str:
    comm = (pid1_comm or "").strip()
    if comm == "systemd" or has_run_systemd:
        return "systemd"
    if comm == "procd":
        return "procd"
    if comm == "openrc-init" or has_openrc:
        return "openrc"
    return "other"


def firewall_in_charge(os_family: str, fw4: bool, fw3: bool, firewalld: bool, nftables_service: bool) -> str:
    """fw4, fw3, firewalld, nftables.service or none (the first that applies)."""
    if os_family == "OpenWrt":
        if fw4:
            return "fw4"
        if fw3:
            return "fw3"
    if firewalld:
        return "firewalld"
    if nftables_service:
        return "nftables.service"
    return "none"


def kernel_config_values(config: t.Mapping[str, str]) -> t.Dict[str, t.Optional[str]]:
    """The flowtable symbols (y, m, n; None where the config does not mention them)."""
    return {symbol: config.get(symbol) for symbol in CONFIG_SYMBOLS}


def count_flows(text: str) -> t.Dict[str, int]:
    """Count entries of /proc/net/nf_conntrack or ``conntrack -L`` stdout."""
    total = offload = hw_offload = 0
    for line in (text or "").splitlines():
        if not line.strip() or "flow entries have been shown" in line:
            continue
        total += 1
        if "[HW_OFFLOAD]" in line:
            hw_offload += 1
        elif "[OFFLOAD]" in line:
            offload += 1
    return {"total": total, "offload": offload, "hw_offload": hw_offload}


def parse_pppoe_sessions(text: str) -> t.List[str]:
    """Ethernet devices carrying PPPoE sessions, from /proc/net/pppoe (Id Address Device)."""
    devices: t.List[str] = []
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[2] not in devices:
            devices.append(fields[2])
    return devices


# --- links -------------------------------------------------------------------------------
def load_json_list(text: str) -> t.List[t.Dict[str, t.Any]]:
    """A JSON list from iproute2 output ([] for empty output or garbage)."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _kind_from_ip(entry: t.Mapping[str, t.Any], pppoe: bool) -> str:
    info = entry.get("linkinfo") or {}
    kind = str(info.get("info_kind") or "")
    link_type = str(entry.get("link_type") or "")
    if kind == "tun":
        return "tap" if (info.get("info_data") or {}).get("type") == "tap" else "tun"
    if kind == "ppp" or link_type == "ppp":
        return "pppoe" if pppoe else "ppp"
    if kind:
        return kind
    if link_type == "loopback":
        return "loopback"
    if link_type == "none":
        return "tun"
    return "physical"


def parse_ip_link(text: str, pppoe_devices: t.Sequence[str] = ()) -> t.Dict[str, Link]:
    """``ip -j -d link show`` -> name -> {kind, operstate, master, parent, lower}.

    ``parent`` is the device a vlan/macvlan/ipvlan/dsa port or tunnel sits on (``link``;
    a veth's ``link`` is its peer and is not a parent). ``lower`` is filled by
    :func:`add_lowers`.
    """
    links: t.Dict[str, Link] = {}
    for entry in load_json_list(text):
        name = entry.get("ifname")
        if not name:
            continue
        kind = _kind_from_ip(entry, bool(pppoe_devices))
        # a veth's "link" is its peer; elsewhere it is the device this one sits on
        parent = None if kind == "veth" or entry.get("link_netnsid") is not None else entry.get("link")
        links[name] = {
            "kind": kind,
            "operstate": str(entry.get("operstate") or "UNKNOWN").lower(),
            "master": entry.get("master"),
            "parent": parent,
        }
    return add_lowers(links, pppoe_devices)


_SYSFS_TYPES = {"772": "loopback", "65534": "tun", "512": "ppp", "65535": "tun"}


def parse_sysfs_link(name: str, uevent: str, type_text: str, operstate: str,
                     entries: t.Sequence[str], has_device: bool, master: t.Optional[str],
                     pppoe: bool) -> Link:
    """One link from /sys/class/net/NAME (uevent DEVTYPE, type, operstate, lower_* links)."""
    devtype = ""
    for line in (uevent or "").splitlines():
        if line.startswith("DEVTYPE="):
            devtype = line.split("=", 1)[1].strip()
    kind = devtype or _SYSFS_TYPES.get((type_text or "").strip(), "")
    if kind == "ppp":
        kind = "pppoe" if pppoe else "ppp"
    if not kind:
        kind = "physical" if has_device else "other"
    lowers = sorted(entry[len("lower_"):] for entry in entries if entry.startswith("lower_"))
    return {
        "kind": kind,
        "operstate": (operstate or "unknown").strip().lower(),
        "master": master,
        "parent": lowers[0] if lowers else None,
    }


def add_lowers(links: t.Dict[str, Link], pppoe_devices: t.Sequence[str] = ()) -> t.Dict[str, Link]:
    """Fill ``lower``: bridge/bond ports, the parent of a vlan, the device under PPPoE."""
    for name, link in links.items():
        kind = link["kind"]
        if kind in ("bridge", "bond", "team"):
            lower = [n for n, other in links.items() if other.get("master") == name]
        elif kind == "pppoe":
            lower = [d for d in pppoe_devices if d in links]
        elif link.get("parent"):
            lower = [link["parent"]]
        else:
            lower = []
        link["lower"] = sorted(lower)
    return links


# --- candidate devices ----------------------------------------------------------------------
def route_devices(routes: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """Egress devices of default routes (``ip -j route show default``), multipath too."""
    devices: t.List[str] = []
    for route in routes:
        if route.get("dst") not in ("default", "0.0.0.0/0", "::/0"):
            continue
        if route.get("type") in ("unreachable", "blackhole", "prohibit"):
            continue
        hops = route.get("nexthops") or [route]
        for hop in hops:
            dev = hop.get("dev")
            if dev and dev not in devices:
                devices.append(dev)
    return devices


def address_devices(addrs: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """Devices with a global address of a connected subnet (``ip -j addr show``)."""
    devices: t.List[str] = []
    for entry in addrs:
        name = entry.get("ifname")
        for info in entry.get("addr_info") or []:
            if info.get("scope") != "global":
                continue
            prefix = info.get("prefixlen")
            host_route = prefix == (32 if info.get("family") == "inet" else 128)
            if host_route and not info.get("address") and not info.get("peer"):
                continue  # a lone /32 or /128 connects no subnet
            if name and name not in devices:
                devices.append(name)
    return devices


def resolve_lower(name: str, links: t.Mapping[str, Link], seen: t.Optional[t.Set[str]] = None) -> t.List[str]:
    """The devices a flowtable should list for ``name`` (recursive through stacks)."""
    seen = set() if seen is None else seen
    if name in seen or name not in links:
        return []
    seen.add(name)
    link = links[name]
    kind = link["kind"]
    if kind == "loopback" or kind in NOT_FAST_PATHED:
        return []
    if kind in STACKED:
        result: t.List[str] = []
        for lower in link.get("lower") or []:
            result.extend(resolve_lower(lower, links, seen))
        return result
    return [name]


def candidate_devices(links: t.Mapping[str, Link], routes: t.Sequence[t.Mapping[str, t.Any]],
                      addrs: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """Sorted unique lower devices of the forwarding devices (routes + connected subnets)."""
    result: t.Set[str] = set()
    for name in route_devices(routes) + address_devices(addrs):
        result.update(resolve_lower(name, links))
    return sorted(result)


# --- hardware offload ------------------------------------------------------------------------
def classify_hardware(kind: str, driver: t.Optional[str], hw_tc: t.Optional[bool],
                      software: t.Optional[bool], probe: t.Optional[bool], probe_msg: str,
                      openwrt: bool, conduit_driver: t.Optional[str] = None) -> t.Tuple[str, str]:
    """(supported|unsupported|unknown, reason) for one device.

    Capability = driver known to implement TC_SETUP_FT + hw-tc-offload on + probe ok;
    ``hw-tc-offload`` alone proves nothing; on OpenWrt the probe proves nothing.
    """
    if kind == "loopback":
        return "unsupported", "loopback device: never forwarded, never offloaded"
    if kind in NOT_FAST_PATHED:
        return "unsupported", f"{kind} device: the flowtable cannot fast-path it"
    if kind in STACKED or kind == "bond":
        return "unsupported", (
            f"{kind} device: not offloaded itself; list its lower devices in the flowtable "
            "(their own hardware_offload applies)"
        )
    if software is False:
        return "unknown", "the kernel has no flowtable support (see kernel.software_offload)"
    if probe is None:
        return "unknown", probe_msg or "the hardware probe could not run"
    if probe is False:
        return "unsupported", probe_msg
    effective = conduit_driver if kind == "dsa" else driver
    known = kind == "dsa" and conduit_driver in FT_DRIVERS or effective in FT_DRIVERS
    if kind == "dsa" and not known:
        known = conduit_driver is None  # conduit not found: the dsa layer itself is known
    label = f"dsa port (conduit driver {conduit_driver})" if kind == "dsa" else f"driver {driver or 'unknown'}"
    feature = {True: "hw-tc-offload is on", False: "hw-tc-offload is off",
               None: "hw-tc-offload could not be read"}[hw_tc]
    if openwrt:
        if not known:
            status = "unsupported" if hw_tc is False else "unknown"
            return status, f"{label} is not known to implement flowtable offload (TC_SETUP_FT); {feature}; {OPENWRT_NOTE}"
        if hw_tc is False:
            return "unsupported", f"{label} can offload flows but {feature} (ethtool -K DEV hw-tc-offload on); {OPENWRT_NOTE}"
        return "supported", f"{label} implements flowtable offload and {feature}; {OPENWRT_NOTE}"
    if not known:
        extra = " (it exposes hw-tc-offload for tc, not for flowtables)" if effective in TC_ONLY_DRIVERS else ""
        return "unknown", (
            f"the kernel accepted 'flags offload' but {label} is not known to implement "
            f"flowtable offload (TC_SETUP_FT){extra}; {feature}; only [HW_OFFLOAD] conntrack "
            "entries prove it"
        )
    if hw_tc is False:
        return "unsupported", f"{label} can offload flows but {feature}: ethtool -K DEV hw-tc-offload on"
    return "supported", f"{label} implements flowtable offload, {feature} and the nft -c probe passed"


# --- conflicts ------------------------------------------------------------------------------
SHAPERS = frozenset(("cake", "htb", "hfsc", "tbf"))


def qdisc_conflicts(qdiscs: t.Sequence[t.Mapping[str, t.Any]], devices: t.Sequence[str]) -> t.List[t.Dict[str, str]]:
    """Shaping qdiscs on candidate devices (``tc -j qdisc show``)."""
    result = []
    for q in qdiscs:
        dev, kind = q.get("dev"), q.get("kind")
        if dev in devices and kind in SHAPERS:
            where = "root" if q.get("root") else f"parent {q.get('parent', '?')}"
            result.append({"kind": "qdisc", "device": dev, "detail": (
                f"{kind} qdisc ({where}, handle {q.get('handle', '?')}) shapes {dev}: "
                "offloaded packets bypass it"
            )})
    return result


def mirred_targets(filters: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[str]:
    """Devices that tc filters (``tc -j filter show``) redirect or mirror packets to."""
    targets: t.List[str] = []
    for entry in filters:
        for action in (entry.get("options") or {}).get("actions") or []:
            if action.get("kind") == "mirred" and action.get("to_dev") and action["to_dev"] not in targets:
                targets.append(action["to_dev"])
    return targets


def ifb_conflict(device: str, targets: t.Sequence[str], links: t.Mapping[str, Link],
                 qdiscs: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, str]]:
    result = []
    for target in targets:
        if links.get(target, {}).get("kind") != "ifb" and not target.startswith("ifb"):
            continue
        shaping = sorted({q.get("kind", "") for q in qdiscs if q.get("dev") == target and q.get("kind") in SHAPERS})
        result.append({"kind": "qdisc", "device": device, "detail": (
            f"ingress of {device} is redirected to {target}"
            + (f" ({', '.join(shaping)} there)" if shaping else "")
            + ": offloaded packets skip the ifb (ingress shaping / SQM)"
        )})
    return result


_XFRM_START = re.compile(r"^src\s+(\S+)\s+dst\s+(\S+)")


def xfrm_conflicts(text: str) -> t.List[t.Dict[str, str]]:
    """``ip xfrm policy``: one conflict when real (non-socket) policies exist."""
    policies: t.List[t.Tuple[str, str, str]] = []
    current: t.Optional[t.List[str]] = None
    for line in (text or "").splitlines():
        start = _XFRM_START.match(line)
        if start:
            current = [start.group(1), start.group(2), ""]
            policies.append(current)  # type: ignore[arg-type]
        elif current is not None:
            direction = re.match(r"^\s+dir\s+(\w+)", line)
            socket_pol = re.match(r"^\s+socket\s+(\w+)", line)
            if direction:
                current[2] = direction.group(1)
            elif socket_pol:
                current[2] = "socket"
    real = [p for p in policies if p[2] and p[2] != "socket"]
    if not real:
        return []
    src, dst, direction = real[0]
    return [{"kind": "ipsec", "device": "", "detail": (
        f"{len(real)} IPsec (xfrm) polic{'y' if len(real) == 1 else 'ies'}, e.g. src {src} "
        f"dst {dst} dir {direction}: offloaded flows bypass them"
    )}]


_QUEUE_STMT = re.compile(r"(?:^|\s)queue(?:\s|$)")


def nfqueue_conflicts(ruleset: str) -> t.List[t.Dict[str, str]]:
    """``queue`` statements in ``nft list ruleset`` text (one conflict per rule)."""
    result = []
    table = chain = ""
    for line in (ruleset or "").splitlines():
        stripped = line.strip()
        head = re.match(r"^table\s+(\S+\s+\S+)\s*\{", stripped)
        if head:
            table = head.group(1)
            continue
        chain_head = re.match(r"^chain\s+(\S+)\s*\{", stripped)
        if chain_head:
            chain = chain_head.group(1)
            continue
        if stripped.startswith(("type ", "comment ", "policy ", "#")):
            continue
        unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', stripped)  # comments may say "queue"
        if _QUEUE_STMT.search(unquoted) and not stripped.startswith(("set ", "map ", "elements ")):
            result.append({"kind": "nfqueue", "device": "", "detail": (
                f"table {table} chain {chain}: '{stripped}': packets of offloaded flows skip "
                "this rule and are no longer queued to userspace"
            )})
    return result

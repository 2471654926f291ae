# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's network devices for offload_facts (private): pure parsers and rules.

Links and their kinds from ``ip -j -d link`` (or sysfs where busybox ``ip`` has no JSON),
their upper/lower stacks, the forwarding devices (default routes and connected subnets,
from ``ip -j`` or ``/proc/net``) and the lower devices a flowtable should list for them
(``candidate_devices``). Every function takes text or data and returns data.
"""
from __future__ import annotations

import json
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
)

# Devices the flowtable cannot fast-path: layer-3 tunnels, userspace tunnels, ifb.
NOT_FAST_PATHED = frozenset((
    "wireguard", "tun", "gre", "ipip", "sit", "ip6tnl", "ip6gre", "vti", "vti6", "xfrm", "ifb",
    "ppp", "erspan", "ip6erspan",
))
# Upper devices the kernel (>= 5.13) resolves to their lower devices in a flowtable.
STACKED = frozenset(("bridge", "vlan", "pppoe"))


# Parsed iproute2 JSON (``ip -j``): untyped data from the target, read with .get().
JsonObject = t.Mapping[str, t.Any]


class Link(t.TypedDict):
    """One network device: its kind, state, the device it is enslaved to (master), the one
    it sits on (parent) and the devices under it (lower, filled by add_lowers)."""

    kind: str
    operstate: str
    master: str | None
    parent: str | None
    lower: t.NotRequired[list[str]]


class Dev(t.TypedDict):
    """One ``facts:dev:<name>`` section of read_dev.sh (sysfs)."""

    type: str
    operstate: str
    devtype: str
    device: bool
    driver: str | None
    master: str | None
    lower: list[str]


def parse_pppoe_sessions(text: str) -> list[str]:
    """Ethernet devices carrying PPPoE sessions, from /proc/net/pppoe (Id Address Device)."""
    devices: list[str] = []
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 3 and fields[2] not in devices:
            devices.append(fields[2])
    return devices


# --- links -------------------------------------------------------------------------------
def load_json_list(text: str) -> list[dict[str, t.Any]]:  # JSON from the target
    """A JSON list from iproute2 output ([] for empty output or garbage)."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return []
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def _kind_from_ip(entry: JsonObject, pppoe: bool) -> str:
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


def parse_ip_link(text: str, pppoe_devices: t.Sequence[str] = ()) -> dict[str, Link]:
    """``ip -j -d link show`` -> name -> {kind, operstate, master, parent, lower}.

    ``parent`` is the device a vlan/macvlan/ipvlan/dsa port or tunnel sits on (``link``;
    a veth's ``link`` is its peer and is not a parent). ``lower`` is filled by
    :func:`add_lowers`.
    """
    links: dict[str, Link] = {}
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
# ethtool -i driver names of virtual devices -> kind (sysfs alone cannot tell a veth).
_VIRTUAL_DRIVERS = {
    "veth": "veth", "tun": "tun", "dummy": "dummy", "bridge": "bridge", "bonding": "bond",
    "macvlan": "macvlan", "ipvlan": "ipvlan", "vxlan": "vxlan", "ifb": "ifb", "wireguard": "wireguard",
    "ip_gre": "gre", "ipip": "ipip", "sit": "sit", "ip6_tunnel": "ip6tnl", "ip6_gre": "ip6gre",
    "ip_vti": "vti", "ip6_vti": "vti6", "802.1Q VLAN Support": "vlan", "team": "team",
}


def parse_dev_section(text: str) -> Dev:
    """One ``facts:dev:<name>`` section (``key=value`` lines the read prints from sysfs)."""
    dev: Dev = {"type": "", "operstate": "", "devtype": "", "device": False, "driver": None, "master": None,
                "lower": []}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        value = value.strip()
        if not sep:
            continue
        if key == "lower":
            if value and value not in dev["lower"]:
                dev["lower"].append(value)
        elif key == "device":
            dev["device"] = value == "1"
        elif key == "driver":
            dev["driver"] = value or None
        elif key == "master":
            dev["master"] = value or None
        elif key == "type":
            dev["type"] = value
        elif key == "operstate":
            dev["operstate"] = value
        elif key == "devtype":
            dev["devtype"] = value
    dev["lower"].sort()
    return dev


def link_from_sysfs(dev: Dev, pppoe: bool, ethtool_driver: str | None = None) -> Link:
    """One link from its parsed sysfs section (where ``ip -j link`` is not available).

    kind: uevent DEVTYPE, else the device type (loopback, tun, ppp), else physical when a
    bus device sits behind it, else what ethtool's driver name says (veth, dummy, ...).
    """
    kind = dev.get("devtype") or _SYSFS_TYPES.get(str(dev.get("type") or "").strip(), "")
    if kind == "ppp":
        kind = "pppoe" if pppoe else "ppp"
    if not kind:
        kind = "physical" if dev.get("device") else _VIRTUAL_DRIVERS.get(ethtool_driver or "", "other")
    lowers = list(dev.get("lower") or [])
    return {
        "kind": kind,
        "operstate": (dev.get("operstate") or "unknown").strip().lower(),
        "master": dev.get("master"),
        "parent": lowers[0] if lowers and kind not in ("bridge", "bond", "team") else None,
    }


def add_lowers(links: dict[str, Link], pppoe_devices: t.Sequence[str] = ()) -> dict[str, Link]:
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
        link["lower"] = list(normalize_devices(lower))
    return links


# --- candidate devices ----------------------------------------------------------------------
def route_devices(routes: t.Sequence[JsonObject]) -> list[str]:
    """Egress devices of default routes (``ip -j route show default``), multipath too."""
    devices: list[str] = []
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


def address_devices(addrs: t.Sequence[JsonObject]) -> list[str]:
    """Devices with a global address of a connected subnet (``ip -j addr show``)."""
    devices: list[str] = []
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


def resolve_lower(name: str, links: t.Mapping[str, Link], seen: set[str] | None = None) -> list[str]:
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
        result: list[str] = []
        for lower in link.get("lower") or []:
            result.extend(resolve_lower(lower, links, seen))
        return result
    return [name]


def resolve_candidates(links: t.Mapping[str, Link], names: t.Iterable[str]) -> list[str]:
    """The lower devices of the given forwarding devices (a normalized device list)."""
    return list(normalize_devices(dev for name in names for dev in resolve_lower(name, links)))


def candidate_devices(links: t.Mapping[str, Link], routes: t.Sequence[JsonObject],
                      addrs: t.Sequence[JsonObject]) -> list[str]:
    """Sorted unique lower devices of the forwarding devices (routes + connected subnets)."""
    return resolve_candidates(links, route_devices(routes) + address_devices(addrs))


RTF_UP, RTF_GATEWAY, RTF_REJECT = 0x1, 0x2, 0x200


def _hex(value: str) -> int:
    try:
        return int(value, 16)
    except ValueError:
        return -1


def proc_route_devices(text: str) -> list[str]:
    """Forwarding devices from /proc/net/route and /proc/net/ipv6_route lines (the read
    prints them under ``# route`` / ``# ipv6_route``): egress of default routes and devices
    with a connected (gateway-less) subnet; unreachable routes, host routes, link-local and
    multicast prefixes and ``lo`` left out."""
    devices: list[str] = []
    part = ""
    for line in (text or "").splitlines():
        if line.startswith("# "):
            part = line[2:].strip()
            continue
        fields = line.split()
        if part == "route" and len(fields) >= 8:
            dev, dest, gateway, flags, mask = fields[0], fields[1], fields[2], _hex(fields[3]), fields[7]
            if flags < 0 or not flags & RTF_UP or flags & RTF_REJECT or dev in ("*", "lo"):
                continue
            wanted = (dest == "00000000" and mask == "00000000") or (
                gateway == "00000000" and mask.upper() != "FFFFFFFF")
        elif part == "ipv6_route" and len(fields) >= 10:
            dest, plen, nexthop, flags, dev = fields[0], _hex(fields[1]), fields[4], _hex(fields[8]), fields[9]
            if flags < 0 or not flags & RTF_UP or flags & RTF_REJECT or dev == "lo":
                continue
            default = plen == 0 and _hex(dest) == 0
            connected = (_hex(nexthop) == 0 and 0 < plen < 128
                         and not dest.lower().startswith(("fe8", "fe9", "fea", "feb", "ff")))
            wanted = default or connected
        else:
            continue
        if wanted and dev not in devices:
            devices.append(dev)
    return devices

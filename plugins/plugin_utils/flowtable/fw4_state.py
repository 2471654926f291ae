# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fw4 backend's pure readers: UCI values, fw4's flowtable, netifd's devices (private).

Text and sections in, data out; ``fw4.py`` plans and finishes with them.
"""
from __future__ import annotations

import json
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import (
    parse_flowtables,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    host as _host,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Snapshot,
)

PREFIX = "fw4:"
OPTIONS = ("flow_offloading", "flow_offloading_hw")
SECTION = "firewall.@defaults[0]"
FAMILY, TABLE, NAME = "inet", "fw4", "ft"
_ON = ("1", "yes", "on", "true", "enabled")


def uci_value(snapshot: Snapshot, option: str) -> str | None:
    """The option's value, None when unset (``uci -q get``: rc 1, no output)."""
    sec = snapshot.get(PREFIX + option)
    if sec is None or sec.rc != 0:
        return None
    return sec.out.rstrip("\n")


def is_on(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _ON


def fw4_flowtable(snapshot: Snapshot) -> dict[str, t.Any]:
    """Flowtable ft of table inet fw4 as listed, normalized ({} when there is none)."""
    json_text = snapshot.out(PREFIX + "ft-json")
    text = snapshot.out(PREFIX + "ft-text") or ""
    if json_text is None:
        return {}
    for ft in parse_flowtables(json_text, text):
        if (ft["family"], ft["table"], ft["name"]) == (FAMILY, TABLE, NAME):
            return ft
    return {}


def zone_networks(uci_show: str) -> list[str]:
    """The networks of the firewall zones in ``uci show firewall`` output."""
    types: dict[str, str] = {}
    networks: dict[str, list[str]] = {}
    for line in (uci_show or "").splitlines():
        path, sep, value = line.partition("=")
        if not sep:
            continue
        parts = path.split(".")
        if len(parts) == 2:
            types[parts[1]] = value.strip()
        elif len(parts) == 3 and parts[2] == "network":
            words = [w.strip("'\"") for w in value.replace("' '", "'\n'").split("\n")]
            networks.setdefault(parts[1], []).extend(n for w in words for n in w.split())
    out: list[str] = []
    for section, nets in networks.items():
        if types.get(section) == "zone":
            out += [n for n in nets if n not in out]
    return out


def interface_devices(dump: str) -> dict[str, str]:
    """netifd interface -> its device, from ``ubus call network.interface dump``."""
    try:
        data = json.loads(dump or "{}")
    except ValueError:
        return {}
    out = {}
    for item in data.get("interface", []) if isinstance(data, dict) else []:
        if isinstance(item, dict) and item.get("interface"):
            device = item.get("device") or item.get("l3_device")
            if device:
                out[str(item["interface"])] = str(device)
    return out


def predicted_devices(snapshot: Snapshot) -> list[str]:
    """The devices fw4 puts in its flowtable: each zone network's netifd device, when it exists."""
    devices = interface_devices(snapshot.out(PREFIX + "interfaces") or "")
    present = _host.netdevs(snapshot)
    found = {devices[n] for n in zone_networks(snapshot.out(PREFIX + "config") or "") if n in devices}
    return list(normalize_devices(d for d in found if not present or d in present))

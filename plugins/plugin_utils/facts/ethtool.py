# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers of ``ethtool -k`` and ``ethtool -i`` text (private).

offload_facts runs ``ethtool`` on the target (where it is installed) inside its read
script and parses the lines it prints here, on the controller.
"""
from __future__ import annotations

import re

Features = dict[str, dict[str, bool]]

_FEATURE_LINE = re.compile(r"^\s*([a-z0-9][a-z0-9-]*):\s+(on|off)(\s+\[(fixed|requested \w+)\])?\s*$")


def parse_ethtool_k(text: str) -> Features:
    """``ethtool -k DEV`` -> feature name -> {active, available (changeable), requested}."""
    result: Features = {}
    for line in (text or "").splitlines():
        match = _FEATURE_LINE.match(line)
        if not match:
            continue
        active = match.group(2) == "on"
        note = match.group(4) or ""
        requested = active
        if note.startswith("requested"):
            requested = note.split()[1] == "on"
        result[match.group(1)] = {
            "active": active,
            "available": note != "fixed",
            "requested": requested,
        }
    return result


def parse_ethtool_i(text: str) -> dict[str, str]:
    """Parse ``ethtool -i DEV`` (driver, version, firmware-version, bus-info)."""
    keys = {"driver": "driver", "version": "version", "firmware-version": "firmware_version",
            "bus-info": "bus_info"}
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in keys:
            result[keys[key.strip()]] = value.strip()
    return result

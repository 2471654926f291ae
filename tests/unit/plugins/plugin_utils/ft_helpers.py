# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers for the flowtable tests: read snapshots built from captured fixtures."""
from __future__ import annotations

import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    hotplug as _hotplug,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    run as _run,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplySpec,
    Section,
    Snapshot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FIXTURES,
    fixture,
    sec,
)

VM = "1.0.6-bookworm-vm-ft"
MISSING = fixture("1.0.6-bookworm-host-ft-list-table-missing.stderr")
ABSENT = sec("", 2, "absent\n")

PARAMS: dict[str, t.Any] = dict(
    name="ft", family="inet", table="flowoffload", chain=None, devices=["lan0", "wan0"], priority="filter",
    offload=False, counter=True, protocols=["tcp", "udp"], missing_devices="fail", state="present",
    persist=True, backend="nft",
)


def params(**changes: t.Any) -> dict[str, t.Any]:
    return dict(PARAMS, **changes)


def host(devices: t.Iterable[str] = ("lo", "lan0", "wan0"), openwrt: bool = False,
         systemd: bool = True, udev: bool = True, booted: bool | None = None) -> dict[str, Section]:
    """systemd: systemctl installed; booted: systemd is PID 1 (default: as installed)."""
    booted = systemd and not openwrt if booted is None else booted
    tools = "nft=/usr/sbin/nft\n" + ("systemctl=/usr/bin/systemctl\n" if systemd else "")
    tools += "udevadm=/usr/bin/udevadm\n" if udev and not openwrt else ""
    out = {"host:netdevs": sec("\n".join(devices) + "\n"), "host:tools": sec(tools),
           "host:os-release": sec(fixture("1.0.6-bookworm-kmod-vm-os-release.txt")),
           "host:pid1": sec("systemd\n" if booted else "procd\n" if openwrt else "sh\n"),
           "host:paths": sec("/run/systemd/system\n" if booted else "")}
    if openwrt:
        out["host:openwrt_release"] = sec("DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='24.10.0'\n")
    return out


def listing(prefix: str | None) -> tuple[Section, Section]:
    """(json, text) sections of an owned table from PREFIX.json/.txt; None: the table is missing."""
    if prefix is None:
        return sec("", 1, MISSING), sec("", 1, MISSING)
    txt = os.path.join(FIXTURES, f"{prefix}.txt")
    return sec(fixture(f"{prefix}.json")), sec(fixture(f"{prefix}.txt") if os.path.exists(txt) else "")


HP_KEYS = {_hotplug.LOADER_PATH: "hp:loader", _hotplug.UDEV_RULE_PATH: "hp:udev",
           _hotplug.OPENWRT_NET_PATH: "hp:net", _hotplug.OPENWRT_IFACE_PATH: "hp:iface"}


def file_key(path: str) -> str:
    """The read key (without ft:) of a file the flowtable planner writes."""
    if path in HP_KEYS:
        return HP_KEYS[path]
    if path.startswith("/etc/systemd/system/"):
        return "unit"
    return "file-openwrt" if path.startswith("/usr/share/nftables.d/") else "file"


def written(spec: ApplySpec, before: t.Mapping[str, str] | None = None) -> dict[str, str]:
    """{key: content} of the files on the host after spec is applied over ``before``
    (keys as file_sections takes them)."""
    files = dict(before or {})
    for change in spec.files:
        key = file_key(change.path)
        if change.content is None:
            files.pop(key, None)
        else:
            files[key] = change.content
            if key in ("file", "file-openwrt"):
                files["path:" + key] = change.path
    return files


def file_sections(files: t.Mapping[str, str] | None = None) -> dict[str, Section]:
    """The ft:* file sections of a read: file, file-openwrt, unit, hp:loader, hp:udev,
    hp:net, hp:iface (absent unless given), hp:persisted (from the nft files given) and
    hp:dir (the collection's folder holding the given files that live there)."""
    files = dict(files or {})
    out = {f"ft:{key}": sec(files[key]) if key in files else ABSENT
           for key in ("file", "file-openwrt", "unit", "hp:loader", "hp:udev", "hp:net", "hp:iface")}
    paths = [files.get("path:" + key, "/etc/flowoffload/inet-flowoffload.nft" if key == "file" else
                       "/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft")
             for key in ("file", "file-openwrt") if key in files]
    out["ft:hp:persisted"] = sec("".join(f"{path}\n" for path in paths))
    # the collection's folder as the hp:dir read lists it (nothing when no file is in it)
    inside = sorted([path for path in paths if path.startswith(_hotplug.COLLECTION_DIR + "/")]
                    + ([_hotplug.LOADER_PATH] if "hp:loader" in files else []))
    out["ft:hp:dir"] = sec(f"{_hotplug.COLLECTION_DIR}/\n" + "".join(f"{path}\n" for path in inside) if inside else "")
    return out


def unit_section(enabled: bool = True, active: bool | None = None) -> Section:
    """The ft:unit-enabled read: ``enabled``/``disabled`` and, unless active is None (a
    host without /run/systemd/units), ``active``/``inactive``."""
    words = ("enabled" if enabled else "disabled") + ("" if active is None else " active" if active else " inactive")
    return sec(words + "\n", 0 if enabled else 1)


def owned(prefix: str | None = None, files: t.Mapping[str, str] | None = None, enabled: bool = True,
          active: bool | None = None, **extra: Section) -> dict[str, Section]:
    """Sections of a read in owned mode: host, table listing, files, unit state, probes."""
    json_sec, text_sec = listing(prefix)
    out = dict(host())
    out.update({"ft:table-json": json_sec, "ft:table-text": text_sec})
    out.update(file_sections(files))
    out.update({
        "ft:unit-enabled": unit_section(enabled, active),
        "probe:sw": sec(""),
    })
    out.update(extra)
    return out


def snap(sections: t.Mapping[str, Section]) -> Snapshot:
    return Snapshot(sections)


ONE_TABLE = "1.0.6-bookworm-handmade-ft-owned-one"


def persisted(prefix: str = ONE_TABLE, **changes: t.Any) -> dict[str, Section]:
    """Sections of a host where a first run already wrote the files and enabled the unit."""
    plan = _run.plan_flowtable(snap(owned(None)), params(**changes), False)
    return owned(prefix, files=written(plan.spec))

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helpers for the flowtable tests: read snapshots built from captured fixtures."""
from __future__ import annotations

import os
import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._target import Section, Snapshot
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.fake_target import (
    FIXTURES,
    fixture,
    sec,
)

VM = "1.0.6-bookworm-vm-ft"
MISSING = fixture("1.0.6-bookworm-host-ft-list-table-missing.stderr")
ABSENT = sec("", 2, "absent\n")

PARAMS: t.Dict[str, t.Any] = dict(
    name="ft", family="inet", table="flowoffload", chain=None, devices=["lan0", "wan0"], priority="filter",
    offload=False, counter=True, protocols=["tcp", "udp"], missing_devices="fail", state="present",
    persist=True, backend="nft",
)


def params(**changes: t.Any) -> t.Dict[str, t.Any]:
    return dict(PARAMS, **changes)


def host(devices: t.Iterable[str] = ("lo", "lan0", "wan0"), openwrt: bool = False,
         systemd: bool = True) -> t.Dict[str, Section]:
    tools = "nft=/usr/sbin/nft\n" + ("systemctl=/usr/bin/systemctl\n" if systemd else "")
    out = {"host:netdevs": sec("\n".join(devices) + "\n"), "host:tools": sec(tools),
           "host:os-release": sec(fixture("1.0.6-bookworm-kmod-vm-os-release.txt"))}
    if openwrt:
        out["host:openwrt_release"] = sec("DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='24.10.0'\n")
    return out


def listing(prefix: t.Optional[str]) -> t.Tuple[Section, Section]:
    """(json, text) sections of an owned table from PREFIX.json/.txt; None: the table is missing."""
    if prefix is None:
        return sec("", 1, MISSING), sec("", 1, MISSING)
    txt = os.path.join(FIXTURES, f"{prefix}.txt")
    return sec(fixture(f"{prefix}.json")), sec(fixture(f"{prefix}.txt") if os.path.exists(txt) else "")


def owned(prefix: t.Optional[str] = None, files: t.Optional[t.Mapping[str, str]] = None, enabled: bool = True,
          **extra: Section) -> t.Dict[str, Section]:
    """Sections of a read in owned mode: host, table listing, files, unit state, probes."""
    json_sec, text_sec = listing(prefix)
    files = dict(files or {})
    out = dict(host())
    out.update({
        "ft:table-json": json_sec, "ft:table-text": text_sec,
        "ft:file": sec(files["file"]) if "file" in files else ABSENT,
        "ft:file-openwrt": sec(files["file-openwrt"]) if "file-openwrt" in files else ABSENT,
        "ft:unit": sec(files["unit"]) if "unit" in files else ABSENT,
        "ft:unit-enabled": sec("enabled\n") if enabled else sec("disabled\n", 1),
        "probe:sw": sec(""),
    })
    out.update(extra)
    return out


def snap(sections: t.Mapping[str, Section]) -> Snapshot:
    return Snapshot(sections)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one host-facts reader: platform, kernel release, tools present (private).

Every planner that needs to know what the host is (OpenWrt or not, init system, package
manager, which binaries exist) adds ``host_reads()`` to its read script and calls
``host_from(snapshot)``: the kernel release and the platform are read one way only.

The kernel release is read once, by ``release_read()`` (``release.sh``, section
``host:osrelease``), and known from it by ``kernel_release(snapshot)``. The read also keeps
it in the shell variable ``$fo_kr`` (``RELEASE_VAR``) for the sections after it: the kmod
reads that look in ``/lib/modules/RELEASE`` come after ``host_reads()`` in every list that
holds them. An apply step that needs it is given the release the plan read.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    packages as _packages,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    pkg_parse as _pkg_parse,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Snapshot,
    file_code,
)

# Binaries whose presence the planners need (``command -v``); order does not matter.
TOOLS = ("nft", "systemctl", "uci", "fw4", "opkg", "apk", "apt-get", "dpkg", "dnf", "yum", "rpm",
         "modprobe", "rmmod", "ip", "tc", "ethtool", "conntrack", "sysctl", "flock", "lock",
         "firewall-cmd", "ubus", "udevadm")
PREFIX = "host:"
RELEASE_KEY = PREFIX + "osrelease"
RELEASE_VAR = "fo_kr"

# Paths whose presence tells the init system and the firewall (``paths``).
MARKS = ("/run/systemd/system", "/run/openrc", "/sbin/openrc", "/sbin/fw4", "/usr/share/firewall4", "/sbin/fw3",
         "/etc/init.d/firewall", "/etc/openwrt_release")
# The units whose states ``units_code`` reads (host_units.sh says how).
_UNITS = ("firewalld.service", "nftables.service")
_sh = sh.here(__file__)


def exist_code(paths: t.Iterable[str]) -> str:
    """sh printing the paths that exist, one a line, without a process (host_exist.sh)."""
    return _sh("host_exist.sh", {"fo_paths": sh.words(paths)})


def units_code(root: str = "") -> str:
    """The systemd-units section's sh (root: a folder standing for / in the tests)."""
    return _sh("host_units.sh", {"fo_root": root, "fo_units": sh.words(_UNITS)})


def release_read() -> Read:
    """The one read of the running kernel's release (see the module docstring)."""
    return Read(RELEASE_KEY, _sh("release.sh", {}))


def kernel_release(snapshot: Snapshot) -> str | None:
    """The running kernel's release as ``release_read`` read it (None when it could not)."""
    return (snapshot.out(RELEASE_KEY) or "").strip() or None


def host_reads() -> list[Read]:
    """The reads ``host_from`` needs (deduplicated by key when several planners add them)."""
    return [
        Read(PREFIX + "os-release", "fo_rd /etc/os-release 2>/dev/null || fo_rd /usr/lib/os-release"),
        Read(PREFIX + "openwrt_release", file_code("/etc/openwrt_release")),
        release_read(),
        Read(PREFIX + "pid1", "fo_rd /proc/1/comm"),
        Read(PREFIX + "tools", _sh("host_tools.sh", {"fo_tools": sh.words(TOOLS)})),
        Read(PREFIX + "paths", exist_code(MARKS)),
        Read(PREFIX + "netdevs", _sh("host_netdevs.sh", {})),
        Read(PREFIX + "systemd-units", units_code()),
    ]


def tools(snapshot: Snapshot) -> dict[str, str]:
    """binary name -> path, for the TOOLS found on the host."""
    return fp.parse_pairs(snapshot.text(PREFIX + "tools"))


def paths(snapshot: Snapshot) -> set[str]:
    return set(snapshot.text(PREFIX + "paths").split())


def netdevs(snapshot: Snapshot) -> set[str]:
    """Names of the network devices that exist (``/sys/class/net``)."""
    return set(snapshot.text(PREFIX + "netdevs").split())


def parse_units(text: str) -> dict[str, str]:
    """The systemd-units section (``systemctl show``): ``UNIT`` -> ActiveState,
    ``UNIT.enabled`` -> UnitFileState (empty for a unit that is not installed)."""
    out: dict[str, str] = {}
    for block in re.split(r"\n\s*\n", text or ""):
        props = fp.parse_pairs(block)
        unit = props.get("Id")
        if unit:
            out[unit] = props.get("ActiveState", "")
            out[unit + ".enabled"] = props.get("UnitFileState", "")
    return out


def host_from(snapshot: Snapshot) -> dict[str, t.Any]:
    """Platform of the host, same keys as offload_facts' ``platform`` plus ``openwrt`` and
    ``tools`` (name -> path)."""
    found = tools(snapshot)
    present = paths(snapshot)
    openwrt_text = snapshot.out(PREFIX + "openwrt_release")
    openwrt = openwrt_text is not None
    os_release = _pkg_parse.parse_os_release(snapshot.out(PREFIX + "os-release") or "")
    family = _pkg_parse.os_family(os_release, openwrt)
    distribution = os_release.get("ID", "")
    version = os_release.get("VERSION_ID", "")
    if openwrt:
        owrt = _pkg_parse.parse_os_release(openwrt_text or "")
        distribution = owrt.get("DISTRIB_ID", "") or "OpenWrt"
        version = owrt.get("DISTRIB_RELEASE", "") or version
    init = fp.init_system(
        snapshot.text(PREFIX + "pid1"),
        "/run/systemd/system" in present,
        "/run/openrc" in present or "/sbin/openrc" in present,
    )
    units = parse_units(snapshot.text(PREFIX + "systemd-units"))
    enabled, active = units.get("nftables.service.enabled", ""), units.get("nftables.service", "")
    firewall = fp.firewall_in_charge(
        family,
        "/sbin/fw4" in present or "/usr/share/firewall4" in present or "fw4" in found,
        "/sbin/fw3" in present,
        units.get("firewalld.service") == "active",
        enabled == "enabled" or active == "active",
    )
    release = kernel_release(snapshot)
    manager = "none"
    for binary, name in _packages.MANAGERS:
        if binary in found:
            manager = name
            break
    return {
        "os_family": family,
        "distribution": distribution,
        "distribution_version": version,
        "kernel": release,
        "package_manager": manager,
        "firewall": firewall,
        "init": init,
        "openwrt": openwrt,
        "tools": found,
    }

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

_HOST_CODE = """\
for fo_x in {tools}; do
  if command -v "$fo_x" >/dev/null 2>&1; then printf '%s=' "$fo_x"; command -v "$fo_x"; fi
done"""

_FILES_CODE = """\
for fo_x in /run/systemd/system /run/openrc /sbin/openrc /sbin/fw4 /usr/share/firewall4 /sbin/fw3 \\
    /etc/init.d/firewall /etc/openwrt_release; do
  if [ -e "$fo_x" ]; then echo "$fo_x"; fi
done"""


# The units' states without a process where systemd keeps them in files (each systemctl
# costs a process and D-Bus calls: the most expensive read on a small router): the unit is
# active while PID 1 keeps /run/systemd/units/invocation:UNIT (removed when it stops or
# fails), enabled when a .wants/.requires folder of /etc/systemd/system links it, and
# installed when its unit file exists. Printed as ``systemctl show`` would, one block per
# unit; ``systemctl show`` itself only where systemd runs without /run/systemd/units.
_UNITS = ("firewalld.service", "nftables.service")


def units_code(root: str = "") -> str:
    """The systemd-units section's sh (root: a folder standing for / in the tests)."""
    etc, run = f"{root}/etc/systemd/system", f"{root}/run/systemd"
    unit_dirs = " ".join(f"{root}{d}" for d in (
        "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
        "/usr/lib/systemd/system", "/lib/systemd/system"))
    return f"""\
if [ -d {run}/system ] && [ -d {run}/units ]; then
  for fo_u in {" ".join(_UNITS)}; do
    fo_a=inactive fo_s=''
    if [ -L "{run}/units/invocation:$fo_u" ]; then fo_a=active; fi
    for fo_x in {unit_dirs}; do
      if [ -e "$fo_x/$fo_u" ]; then fo_s=disabled; break; fi
    done
    for fo_x in {etc}/*.wants/"$fo_u" {etc}/*.requires/"$fo_u"; do
      if [ -n "$fo_s" ] && [ -e "$fo_x" ]; then fo_s=enabled; fi
    done
    printf 'Id=%s\\nActiveState=%s\\nUnitFileState=%s\\n\\n' "$fo_u" "$fo_a" "$fo_s"
  done
elif command -v systemctl >/dev/null 2>&1; then
  systemctl show --property=Id,ActiveState,UnitFileState {" ".join(_UNITS)} 2>/dev/null
fi
true"""


def release_read() -> Read:
    """The one read of the running kernel's release (see the module docstring)."""
    return Read(RELEASE_KEY, sh.render(sh.path_of(__file__, "release.sh"), {}))


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
        Read(PREFIX + "tools", _HOST_CODE.format(tools=" ".join(TOOLS))),
        Read(PREFIX + "paths", _FILES_CODE),
        Read(PREFIX + "netdevs", "for fo_x in /sys/class/net/*; do\n  if [ -e \"$fo_x\" ]; then echo \"${fo_x##*/}\"; fi\ndone"),
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

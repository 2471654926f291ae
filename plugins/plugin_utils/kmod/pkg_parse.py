# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers of what package managers and release files say (private): text in, data
out. ``kmod.packages`` reads them; ``target.host`` gets the platform from os-release.
"""
from __future__ import annotations

import re
import typing as t

# The OpenWrt package that ships the flow offload modules.
OPENWRT_PACKAGE = "kmod-nft-offload"


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value lines of /etc/os-release (quotes removed)."""
    result: dict[str, str] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        result[key.strip()] = value.strip().strip("'\"")
    return result


def os_family(os_release: dict[str, str], openwrt: bool) -> str:
    """OpenWrt, Debian, RedHat, Alpine or other, from /etc/os-release data."""
    if openwrt or os_release.get("ID", "").lower() == "openwrt":
        return "OpenWrt"
    ids = [os_release.get("ID", "").lower()] + os_release.get("ID_LIKE", "").lower().split()
    if "alpine" in ids:
        return "Alpine"
    if "debian" in ids or "ubuntu" in ids:
        return "Debian"
    if {"rhel", "fedora", "centos"} & set(ids):
        return "RedHat"
    return "other"


def parse_stanzas(text: str) -> list[dict[str, str]]:
    """RFC822-like stanzas separated by blank lines (opkg status; apk's ``X:`` lines).

    Continuation lines (starting with a space) are appended to the previous field.
    """
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in (text or "").splitlines():
        if not line.strip():
            if current:
                stanzas.append(current)
            current, last = {}, ""
            continue
        if line[0] in " \t" and last:
            current[last] += "\n" + line.strip()
            continue
        if ":" not in line:
            continue
        key, value = line.split(":", 1)
        last = key.strip()
        current[last] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def parse_opkg_status(text: str) -> dict[str, dict[str, str]]:
    """Installed packages from /usr/lib/opkg/status: name -> {version, status, depends}."""
    result: dict[str, dict[str, str]] = {}
    for stanza in parse_stanzas(text):
        name = stanza.get("Package")
        status = stanza.get("Status", "").split()
        # "install user installed": the third word is the state; "not-installed" is not
        if not name or len(status) < 3 or status[2] != "installed":
            continue
        result[name] = {
            "version": stanza.get("Version", ""),
            "status": " ".join(status),
            "depends": stanza.get("Depends", ""),
        }
    return result


def parse_apk_installed(text: str) -> dict[str, dict[str, str]]:
    """Installed packages from apk's database (``P:`` name, ``V:`` version, ``D:`` deps)."""
    result: dict[str, dict[str, str]] = {}
    for stanza in parse_stanzas(text):
        name = stanza.get("P")
        if name:
            result[name] = {"version": stanza.get("V", ""), "depends": stanza.get("D", "")}
    return result


def parse_dpkg_search(stdout: str) -> str | None:
    """Package from ``dpkg -S PATH`` ("linux-image-6.1.0-56-amd64: /lib/...")."""
    for line in (stdout or "").splitlines():
        if ": " in line and not line.startswith(("diversion by", "dpkg-query")):
            return line.split(": ", 1)[0].split(",")[0].split(":")[0].strip() or None
    return None


def parse_rpm_query(stdout: str) -> tuple[str, str] | None:
    """(name, version-release) from ``rpm -qf --qf '%{NAME} %{VERSION}-%{RELEASE}\\n'``."""
    for line in (stdout or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and "not owned" not in line:
            return parts[0], parts[1]
    return None


_APK_OWNER = re.compile(r"is owned by (\S+)")


def split_apk_nameversion(value: str) -> tuple[str, str]:
    """("linux-lts", "6.6.58-r0") from "linux-lts-6.6.58-r0" (apk's name-version form)."""
    match = re.match(r"^(.+?)-(\d[^-]*-r\d+)$", value.strip())
    if match:
        return match.group(1), match.group(2)
    return value.strip(), ""


def parse_apk_who_owns(stdout: str) -> tuple[str, str] | None:
    """(name, version) from ``apk info --who-owns PATH`` ("... is owned by linux-lts-6.6.58-r0")."""
    match = _APK_OWNER.search(stdout or "")
    return split_apk_nameversion(match.group(1)) if match else None


def parse_opkg_info(text: str, package: str = OPENWRT_PACKAGE) -> dict[str, str]:
    """The fields of package's stanza in ``opkg info PACKAGE`` (the control format of
    /usr/lib/opkg/status: ``Field: value`` lines); {} when opkg knows no such package."""
    for stanza in parse_stanzas(text):
        if stanza.get("Package") == package:
            return stanza
    return {}


def parse_owner_section(text: str) -> dict[str, t.Any]:
    """{modinfo, path, tool, rc, out, version} from the owner section's lines."""
    result: dict[str, t.Any] = {"modinfo": "", "path": "", "tool": "", "rc": None, "out": "", "version": ""}
    out: list[str] = []
    for line in (text or "").splitlines():
        if line.startswith("> "):
            out.append(line[2:])
        elif line == ">":
            out.append("")
        else:
            key, sep, value = line.partition("=")
            if sep and key in result:
                result[key] = int(value) if key == "rc" and value.lstrip("-").isdigit() else value
    result["out"] = "\n".join(out).strip()
    return result

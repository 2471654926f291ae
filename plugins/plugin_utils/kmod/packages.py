# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package managers and the package that ships the flow offload modules (private).

The parsers are pure (``kmod.pkg_parse``). ``package_reads`` are the read script's sections
``package_from`` turns into offload_facts' ``package``; ``install_code`` is the sh of
offload_kmod's install step and ``install_failure_message`` explains its failure.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.pkg_parse import (
    OPENWRT_PACKAGE,
    parse_apk_installed,
    parse_apk_who_owns,
    parse_dpkg_search,
    parse_opkg_info,
    parse_opkg_status,
    parse_owner_section,
    parse_rpm_query,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    host as _host,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Snapshot,
    argv,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.text import clip

OPENWRT_RELEASE = "/etc/openwrt_release"
OPKG_STATUS = "/usr/lib/opkg/status"
OPKG_CONF = "/etc/opkg.conf"
APK_INSTALLED = "/lib/apk/db/installed"
OPENWRT_DEPENDENCIES = ["kmod-nf-flow"]
# The file whose owner is "the" package elsewhere (and what its owner query looks for).
ANCHOR_MODULE = "nf_flow_table"

# (binary, manager) in detection order; opkg/apk first so OpenWrt wins over apt leftovers
MANAGERS = (
    ("opkg", "opkg"),
    ("apk", "apk"),
    ("apt-get", "apt"),
    ("dpkg", "apt"),
    ("dnf", "dnf"),
    ("yum", "yum"),
)


def provider_candidates(platform: t.Mapping[str, t.Any]) -> list[str]:
    """Packages that would provide the modules for this platform's running kernel."""
    family = str(platform.get("os_family") or "")
    distro = str(platform.get("distribution") or "").lower()
    release = str(platform.get("kernel") or "")
    if family == "OpenWrt":
        return [OPENWRT_PACKAGE]
    if distro == "ubuntu":
        return [f"linux-modules-{release}", f"linux-modules-extra-{release}"]
    if family == "Debian":
        return [f"linux-image-{release}"]
    if family == "RedHat":
        return ["kernel-modules-core", "kernel-modules"]
    if family == "Alpine":
        flavor = release.rsplit("-", 1)[-1] if "-" in release else "lts"
        return [f"linux-{flavor}"]
    return []


def install_candidates(platform: t.Mapping[str, t.Any]) -> list[str]:
    """The packages to install where the running kernel's modules are missing: those the facts
    name, where they are the running kernel's own package (pinned to its release). OpenWrt:
    kmod-nft-offload. Alpine's linux-<flavour> is not pinned to a release (it would install
    another kernel, not the running one's modules): none."""
    family = str(platform.get("os_family") or "")
    distro = str(platform.get("distribution") or "").lower()
    release = str(platform.get("kernel") or "")
    if family == "OpenWrt":
        return [OPENWRT_PACKAGE]
    if not release:
        return []
    if distro == "ubuntu":
        return [f"linux-modules-{release}", f"linux-modules-extra-{release}"]
    if family == "Debian":
        return [f"linux-image-{release}"]
    if family == "RedHat":
        # kernel-modules-REL pulls kernel-modules-core-REL where the split exists (RHEL 9.2+)
        return [f"kernel-modules-{release}"]
    return []


# --- the read script (snapshot) --------------------------------------------------------
# The sections are script files beside this one (read_pkg_*.sh); they find the running
# kernel's folder through $fo_kr, which the host reads before them set (target/host.py).
PREFIX = "kmod:pkg-"
SIZE_KEY = PREFIX + "size"
_sh = sh.here(__file__)


def size_read() -> Read:
    """``kmod:pkg-size`` (read_pkg_size.sh: what opkg says of the package's size before an
    install, only where the modules are missing); ``size_from`` reads it."""
    return Read(SIZE_KEY, _sh("read_pkg_size.sh", {"fo_kowrt": OPENWRT_RELEASE, "fo_kpkg": OPENWRT_PACKAGE}))


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def size_from(snapshot: Snapshot, manager: str, package: str = OPENWRT_PACKAGE) -> dict[str, t.Any]:
    """{installed_size, download_size (bytes or None), note} before an install.

    opkg's ``Installed-Size`` and ``Size`` are bytes (opkg compares ``(installed_size + 1023) /
    1024`` with the free kilobytes of the overlay before it installs)."""
    text = snapshot.text(SIZE_KEY)
    head, _sep, body = text.partition("\n")
    if manager == "opkg" or head == "@ opkg":
        info = parse_opkg_info(body, package)
        if info:
            return {"installed_size": _int(info.get("Installed-Size")), "download_size": _int(info.get("Size")),
                    "note": f"opkg info {package} (package lists on the router)"}
        return {"installed_size": None, "download_size": None,
                "note": (f"unknown before the install: opkg has no package list naming {package} on the router "
                         f"(the lists are in RAM until 'opkg update'; 'opkg update; opkg info {package}' tells "
                         "Size and Installed-Size)")}
    if manager == "apk":
        return {"installed_size": None, "download_size": None,
                "note": (f"unknown before the install: this collection does not ask apk ('apk info -s {package}' "
                         "prints it); the installed size is read from apk's database after the install")}
    return {"installed_size": None, "download_size": None, "note": f"{manager or 'the package manager'} was not asked"}


def parse_install_sizes(out: str) -> dict[str, dict[str, t.Any]]:
    """package -> {installed_size, download_size, note} from the install step's ``fo: size``
    lines (see install_code)."""
    result: dict[str, dict[str, t.Any]] = {}
    for line in (out or "").splitlines():
        if not line.startswith("fo: size "):
            continue
        parts = line.split(" ", 4)
        if len(parts) < 5:
            continue
        _fo, _size, package, field, value = parts
        entry = result.setdefault(package, {"installed_size": None, "download_size": None, "note": ""})
        if field in ("Installed-Size", "I"):
            entry["installed_size"] = _int(value)
        elif field == "Size":
            entry["download_size"] = _int(value)
        entry["note"] = ("opkg info after the install" if field in ("Installed-Size", "Size")
                         else f"{APK_INSTALLED} (I:) after the install")
    return result


def package_reads() -> list[Read]:
    """Reads for ``package_from`` (and the host reads it needs for the platform)."""
    names = sh.words([OPENWRT_PACKAGE, *OPENWRT_DEPENDENCIES])
    return _host.host_reads() + [
        Read(PREFIX + "db", _sh("read_pkg_db.sh", {"fo_kowrt": OPENWRT_RELEASE, "fo_kopkg": OPKG_STATUS,
                                                   "fo_kapk": APK_INSTALLED, "fo_kpkgs": names})),
        Read(PREFIX + "files", _sh("read_pkg_files.sh", {"fo_kowrt": OPENWRT_RELEASE})),
        Read(PREFIX + "owner", _sh("read_pkg_owner.sh", {"fo_kowrt": OPENWRT_RELEASE, "fo_kanchor": ANCHOR_MODULE})),
    ]


def _openwrt_package_from(snapshot: Snapshot, manager: str) -> dict[str, t.Any]:
    names = [OPENWRT_PACKAGE] + OPENWRT_DEPENDENCIES
    text = snapshot.text(PREFIX + "db")
    head, _sep, body = text.partition("\n")
    words = head.split(" ", 2)
    kind = words[1] if head.startswith("@ ") and len(words) > 1 else "none"
    db: dict[str, dict[str, str]] | None = None
    evidence = ""
    if kind == "opkg":
        db, evidence, manager = parse_opkg_status(body), OPKG_STATUS, "opkg"
    elif kind == "apk":
        db, evidence, manager = parse_apk_installed(body), words[2] if len(words) > 2 else APK_INSTALLED, "apk"
    if db is not None:
        found = [{"name": n, "installed": n in db, "version": db.get(n, {}).get("version", "")}
                 for n in names]
    else:
        # Images built with CLEAN_IPKG carry no database: the module files are the proof.
        files = (snapshot.out(PREFIX + "files") or "").split()
        present = {f.split(".ko")[0] for f in files}
        found = [
            {"name": OPENWRT_PACKAGE, "installed": bool({"nf_flow_table_inet", "nft_flow_offload"} & present),
             "version": ""},
            {"name": "kmod-nf-flow", "installed": "nf_flow_table" in present, "version": ""},
        ]
        evidence = (
            f"no package database ({OPKG_STATUS} and {APK_INSTALLED} absent, image built "
            f"without one); judged from module files: {', '.join(files) or 'none found'}"
        )
    main = found[0]
    return {"name": OPENWRT_PACKAGE, "installed": main["installed"], "version": main["version"],
            "manager": manager, "evidence": evidence, "dependencies": found[1:]}


def package_from(snapshot: Snapshot, platform: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """{name, installed, version, manager, evidence} for the package shipping the modules
    (offload_facts' ``package``); platform = ``_host.host_from(snapshot)``.

    OpenWrt: kmod-nft-offload (plus ``dependencies``: kmod-nf-flow). Elsewhere the owner
    of nf_flow_table.ko, or (when the file is absent) the first package that would
    provide it with ``installed: false``.
    """
    manager = str(platform.get("package_manager") or "none")
    if platform.get("openwrt") or platform.get("os_family") == "OpenWrt":
        return _openwrt_package_from(snapshot, manager)
    owner = parse_owner_section(snapshot.text(PREFIX + "owner"))
    candidates = provider_candidates(platform)
    modinfo_text = owner["modinfo"] or "modinfo not found"
    if modinfo_text.endswith("(builtin)"):
        return {"name": "", "installed": True, "version": "", "manager": manager,
                "evidence": f"{ANCHOR_MODULE} is built into the kernel (modinfo: (builtin))"}
    path = owner["path"]
    if not path:
        return {"name": candidates[0] if candidates else "", "installed": False, "version": "",
                "manager": manager,
                "evidence": f"modinfo -n {ANCHOR_MODULE}: {modinfo_text}; would be provided by "
                            f"{' or '.join(candidates) or 'no known package for this platform'}"}
    tool, rc, out = owner["tool"], owner["rc"], owner["out"]
    name: str | None = None
    version = ""
    if tool == "dpkg":
        name = parse_dpkg_search(out) if rc == 0 else None
        version = owner["version"] if name else ""
        evidence = f"dpkg -S {path}: {out}"
    elif tool == "rpm":
        parsed = parse_rpm_query(out) if rc == 0 else None
        name, version = parsed if parsed else (None, "")
        evidence = f"rpm -qf {path}: {out}"
    elif tool == "apk":
        parsed = parse_apk_who_owns(out) if rc == 0 else None
        name, version = parsed if parsed else (None, "")
        evidence = f"apk info --who-owns {path}: {out}"
    else:
        evidence = f"no package manager to ask who owns {path}"
    return {"name": name or "", "installed": bool(name), "version": version, "manager": manager,
            "evidence": evidence if name else f"{evidence} (file {path} present but not owned by a package)"}


# --- changing the host -----------------------------------------------------------------
_MISSING_LISTS = re.compile(r"Unknown package|unable to select packages|no such package",
                            re.IGNORECASE)
MISSING_LISTS_ERE = "Unknown package|unable to select packages|no such package"
# Where OpenWrt and Alpine keep their feed lists (named in the error when none is reachable).
FEED_FILES = ("/etc/opkg/distfeeds.conf", "/etc/opkg/customfeeds.conf", "/etc/apk/repositories",
              "/etc/apk/repositories.d/distfeeds.list", "/etc/apk/repositories.d/customfeeds.list")


def install_command(manager: str, packages: t.Sequence[str]) -> list[str]:
    """Non-interactive install argv for manager (never a shell string)."""
    pkgs = list(packages)
    if manager == "apt":
        return ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
                "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold"] + pkgs
    if manager in ("dnf", "yum"):
        return [manager, "install", "-y", "-q"] + pkgs
    if manager == "apk":
        return ["apk", "add"] + pkgs
    if manager == "opkg":
        return ["opkg", "install"] + pkgs
    raise FlowOffloadError(
        f"no supported package manager found to install {', '.join(pkgs)} "
        "(looked for opkg, apk, apt-get, dnf, yum); install it by other means"
    )


def update_command(manager: str) -> list[str] | None:
    """Command refreshing package lists, for managers whose install needs them."""
    return {"opkg": ["opkg", "update"], "apk": ["apk", "update"]}.get(manager)


def install_code(manager: str, packages: t.Sequence[str]) -> str:
    """sh of the install step: the install command where the manager needs no package lists,
    else install.sh (opkg/apk refresh their lists first when they have none, or when the
    install fails for lack of them, once; then the sizes; ``fo: update-failed RC`` /
    ``fo: install-failed RC`` and ``fo: feed LINE`` for ``install_failure_message``)."""
    command = install_command(manager, packages)
    update = update_command(manager)
    if not update:
        return argv(*command)
    return _sh("install.sh", {"fo_kmgr": manager, "fo_kinstall": sh.words(command), "fo_kupdate": sh.words(update),
                              "fo_kpkgs": sh.words(packages), "fo_kfeeds": sh.words(FEED_FILES),
                              "fo_kopkgconf": OPKG_CONF, "fo_kapkdb": APK_INSTALLED, "fo_kmissing": MISSING_LISTS_ERE})


_URL = re.compile(r"(?:https?|ftp)://[^\s,'\"]+")


def install_failure_message(manager: str, packages: t.Sequence[str], out: str, err: str, rc: int) -> str:
    """The error of a failed install step (output of ``install_code``): the cause first (the
    package, that no feed is reachable or offers it), the feeds tried, the package manager's
    own words (cut at a line boundary; the whole output stays in the result's stdout and
    stderr), then the fix."""
    pkgs = ", ".join(packages)
    lines = (out or "").splitlines()
    feeds = [line[len("fo: feed "):] for line in lines if line.startswith("fo: feed ")]
    said = [line.strip() for line in lines + (err or "").splitlines()
            if line.strip() and not line.startswith("fo: ") and not line.startswith("Downloading ")]
    words = clip("\n".join(dict.fromkeys(said)), 600).replace("\n", " / ") or "no message"
    stop = "" if words.endswith((".", "]")) else "."
    urls = list(dict.fromkeys(_URL.findall(out + "\n" + err)))
    feed_text = "; ".join(feeds) or ", ".join(urls) or "no feed configured"
    update = " ".join(update_command(manager) or [])
    if any(line.startswith("fo: update-failed") for line in lines):
        return (f"installing {pkgs} with {manager} failed: '{update}' could not fetch the package lists "
                f"(rc={rc}), so no feed is reachable (feeds: {feed_text}). {manager} said: {words}{stop} Give the "
                f"host access to that feed (network, DNS, proxy) or point {manager} at a reachable or local "
                f"feed, or build {pkgs} into the image")
    if _MISSING_LISTS.search(out + "\n" + err):
        return (f"installing {pkgs} with {manager} failed: no feed offers {pkgs} (rc={rc}, feeds: {feed_text}). "
                f"{manager} said: {words}{stop} Add a feed that carries {pkgs} for this release and target, or "
                "build it into the image")
    return f"installing {pkgs} with {manager} failed (rc={rc}): {words}"

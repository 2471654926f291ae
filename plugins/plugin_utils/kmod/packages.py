# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package managers and the package that ships the flow offload modules (private).

Parsers are pure (text in, data out). ``package_reads`` are the read script's sections
``package_from`` turns into offload_facts' ``package``; ``install_code`` is the sh of
offload_kmod's install step and ``install_failure_message`` explains its failure.
"""
from __future__ import annotations

import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Read, Snapshot, argv, clip, shq

OPENWRT_RELEASE = "/etc/openwrt_release"
OPKG_STATUS = "/usr/lib/opkg/status"
OPKG_CONF = "/etc/opkg.conf"
APK_INSTALLED = "/lib/apk/db/installed"
OPENWRT_PACKAGE = "kmod-nft-offload"
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


# --- pure parsers ----------------------------------------------------------------------
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
PREFIX = "kmod:pkg-"
_RELEASE = "fo_r=$(cat /proc/sys/kernel/osrelease 2>/dev/null || uname -r)"
_OPENWRT_ONLY = f"[ -e {OPENWRT_RELEASE} ] || exit 0"
_FLOW_FILES = r"^(nf_flow_table[a-z0-9_]*|nft_flow_offload)\.ko(\.(xz|gz|zst))?$"
_PKG_DB_CODE = f"""\
{_OPENWRT_ONLY}
if [ -e {OPKG_STATUS} ]; then
  echo '@ opkg {OPKG_STATUS}'
  awk '/^Package: /{{k=($2=="{OPENWRT_PACKAGE}"||$2=="kmod-nf-flow")}} k && /^(Package|Version|Status|Depends):|^$/' {OPKG_STATUS}
elif [ -e {APK_INSTALLED} ]; then
  echo '@ apk {APK_INSTALLED}'
  awk 'function f(){{if(k)printf "%s\\n",b; b="";k=0}} /^$/{{f();next}} /^[PVD]:/{{b=b $0 "\\n"}}
       /^P:({OPENWRT_PACKAGE}|kmod-nf-flow)$/{{k=1}} END{{f()}}' {APK_INSTALLED}
elif command -v apk >/dev/null 2>&1; then
  echo '@ apk apk info -e'
  for fo_x in {OPENWRT_PACKAGE} kmod-nf-flow; do
    apk info -e "$fo_x" >/dev/null 2>&1 && printf 'P:%s\\n\\n' "$fo_x"
  done
else
  echo '@ none'
fi
exit 0"""
_PKG_FILES_CODE = f"""\
{_OPENWRT_ONLY}
{_RELEASE}
for fo_x in "/lib/modules/$fo_r"/*; do printf '%s\\n' "${{fo_x##*/}}"; done | grep -E '{_FLOW_FILES}'
exit 0"""
_PKG_OWNER_CODE = f"""\
[ -e {OPENWRT_RELEASE} ] && exit 0
{_RELEASE}
fo_p=''
if command -v modinfo >/dev/null 2>&1; then
  fo_p=$(modinfo -n {ANCHOR_MODULE} 2>&1 | head -n 1)
  printf 'modinfo=%s\\n' "$fo_p"
else
  echo 'modinfo=modinfo not found'
fi
case $fo_p in
  /*) ;;
  *) fo_d=$(grep -E '^([^:]*/)?{ANCHOR_MODULE}\\.ko(\\.(xz|gz|zst))?:' "/lib/modules/$fo_r/modules.dep" 2>/dev/null | head -n 1 | cut -d: -f1)
     fo_p=''; [ -n "$fo_d" ] && fo_p="/lib/modules/$fo_r/$fo_d" ;;
esac
printf 'path=%s\\n' "$fo_p"
[ -n "$fo_p" ] || exit 0
if command -v dpkg >/dev/null 2>&1; then
  echo 'tool=dpkg'
  fo_o=$(dpkg -S "$fo_p" 2>&1); fo_c=$?
  # merged /usr (Debian 13): /lib is a link to usr/lib and dpkg knows only the path it
  # installed, /usr/lib/modules/...
  case $fo_p in /lib/*) fo_u="/usr$fo_p" ;; *) fo_u='' ;; esac
  if [ "$fo_c" -ne 0 ] && [ -n "$fo_u" ] && fo_ou=$(dpkg -S "$fo_u" 2>&1); then
    fo_o=$fo_ou; fo_c=0; printf 'path=%s\\n' "$fo_u"
  fi
  echo "rc=$fo_c"
  printf '%s\\n' "$fo_o" | sed 's/^/> /'
  fo_pn=$(printf '%s\\n' "$fo_o" | grep -v '^diversion by' | grep ': ' | head -n 1 | cut -d: -f1 | cut -d, -f1)
  [ -z "$fo_pn" ] || printf 'version=%s\\n' "$(dpkg-query -W -f='${{Version}}' "$fo_pn" 2>/dev/null)"
elif command -v rpm >/dev/null 2>&1; then
  echo 'tool=rpm'
  fo_o=$(rpm -qf --qf '%{{NAME}} %{{VERSION}}-%{{RELEASE}}\\n' "$fo_p" 2>&1); echo "rc=$?"
  printf '%s\\n' "$fo_o" | sed 's/^/> /'
elif command -v apk >/dev/null 2>&1; then
  echo 'tool=apk'
  fo_o=$(apk info --who-owns "$fo_p" 2>&1); echo "rc=$?"
  printf '%s\\n' "$fo_o" | sed 's/^/> /'
fi
exit 0"""


SIZE_KEY = PREFIX + "size"
# What the package manager says about the size of kmod-nft-offload before it is installed:
# only read on OpenWrt where the modules are missing (else no process runs). opkg answers
# from the package lists of its last ``opkg update`` (none after a reboot: /var/opkg-lists
# is in RAM); apk prints its sizes in a form no capture of this collection shows, so it is
# not asked (its database tells the installed size after the install, see install_code).
# No exit: the section runs in the read script's own shell, without a subshell's fork.
_SIZE_CODE = f"""\
if [ -e {OPENWRT_RELEASE} ]; then
  if fo_val /proc/sys/kernel/osrelease; then fo_r=$fo_v; else fo_r=$(uname -r); fi
  fo_x=''
  for fo_y in "/lib/modules/$fo_r"/nft_flow_offload.ko*; do [ -e "$fo_y" ] && fo_x=1; done
  if [ -z "$fo_x" ] && command -v opkg >/dev/null 2>&1; then
    echo '@ opkg'
    opkg info {OPENWRT_PACKAGE} 2>/dev/null | grep -E '^(Package|Version|Size|Installed-Size):' || :
  elif [ -z "$fo_x" ] && command -v apk >/dev/null 2>&1; then
    echo '@ apk'
  fi
fi"""


def size_read() -> Read:
    """``kmod:pkg-size``: see ``_SIZE_CODE``; ``size_from`` reads it."""
    return Read(SIZE_KEY, _SIZE_CODE)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def parse_opkg_info(text: str, package: str = OPENWRT_PACKAGE) -> dict[str, str]:
    """The fields of package's stanza in ``opkg info PACKAGE`` (the control format of
    /usr/lib/opkg/status: ``Field: value`` lines); {} when opkg knows no such package."""
    for stanza in parse_stanzas(text):
        if stanza.get("Package") == package:
            return stanza
    return {}


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
    return _host.host_reads() + [
        Read(PREFIX + "db", _PKG_DB_CODE),
        Read(PREFIX + "files", _PKG_FILES_CODE),
        Read(PREFIX + "owner", _PKG_OWNER_CODE),
    ]


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
    """sh of the install step: opkg/apk refresh their lists first when they have none
    (opkg's lists_dir empty) or when the install fails for lack of them, once.

    Prints ``fo: update-failed RC`` / ``fo: install-failed RC`` and ``fo: feed LINE``
    for ``install_failure_message``; exits with the failing command's status.
    """
    cmd = argv(*install_command(manager, packages))
    update = update_command(manager)
    if not update:
        return cmd
    up = argv(*update)
    feeds = " ".join(shq(f) for f in FEED_FILES)
    code = [
        "fo_feeds() {",
        f"  for fo_x in {feeds}; do",
        "    [ -r \"$fo_x\" ] && grep -v '^[[:space:]]*#' \"$fo_x\" | grep . | sed 's/^/fo: feed /'",
        "  done",
        "  return 0",
        "}",
        f"fo_update() {{ echo 'fo: {' '.join(update)}'; {up} || {{ fo_c=$?; echo \"fo: update-failed $fo_c\"; fo_feeds; exit \"$fo_c\"; }}; }}",
        "fo_u=0",
    ]
    if manager == "opkg":
        code += [
            f"fo_ld=$(sed -n 's/^lists_dir [^ ]* //p' {shq(OPKG_CONF)} 2>/dev/null | head -n 1)",
            "[ -n \"$fo_ld\" ] || fo_ld=/var/opkg-lists",
            "fo_have=''",
            "for fo_x in \"$fo_ld\"/*; do [ -e \"$fo_x\" ] && fo_have=1; done",
            "if [ -z \"$fo_have\" ]; then fo_update; fo_u=1; fi",
        ]
    code.append(_sizes_code(manager, packages))
    code += [
        f"fo_o=$({cmd} 2>&1); fo_c=$?",
        "printf '%s\\n' \"$fo_o\"",
        "[ \"$fo_c\" -eq 0 ] && fo_sizes",
        f"if [ \"$fo_u\" -eq 0 ] && printf '%s\\n' \"$fo_o\" | grep -qiE {shq(MISSING_LISTS_ERE)}; then",
        "  fo_update",
        f"  fo_o=$({cmd} 2>&1); fo_c=$?",
        "  printf '%s\\n' \"$fo_o\"",
        "  [ \"$fo_c\" -eq 0 ] && fo_sizes",
        "fi",
        "echo \"fo: install-failed $fo_c\"",
        "fo_feeds",
        "exit \"$fo_c\"",
    ]
    return "\n".join(code)


def _sizes_code(manager: str, packages: t.Sequence[str]) -> str:
    """sh function ``fo_sizes``: after a successful install, the sizes the package manager
    records (``fo: size PKG FIELD VALUE`` lines), then exit 0. opkg: ``Installed-Size`` and
    ``Size`` of ``opkg info``; apk: the ``I:`` (installed size) line of its database."""
    body = []
    for package in packages:
        if manager == "opkg":
            body.append(f"  opkg info {shq(package)} 2>/dev/null | awk -v p={shq(package)} "
                        "'$1 == \"Package:\" { k = ($2 == p) } k && ($1 == \"Size:\" || $1 == \"Installed-Size:\") "
                        "{ sub(/:$/, \"\", $1); print \"fo: size \" p \" \" $1 \" \" $2 }'")
        else:
            body.append(f"  awk -v p={shq(package)} '$0 == \"P:\" p {{ k = 1; next }} /^P:/ {{ k = 0 }} "
                        f"k && /^I:/ {{ print \"fo: size \" p \" I \" substr($0, 3) }}' {shq(APK_INSTALLED)} 2>/dev/null")
    return "fo_sizes() {\n" + "\n".join(body) + "\n  exit 0\n}"


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

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    packages as _packages,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    pkg_parse as _pkg_parse,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import (
    host_from,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
    Snapshot,
    parse_sections,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    ShellTarget,
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.kmod_fake import (
    capture,
    host_sections,
)

OPKG_STATUS = fixture("1.1.1-openwrt2410-kmod-handmade-opkg-status.txt")
OPKG_MISSING = fixture("1.1.1-openwrt2410-kmod-handmade-opkg-status-missing.txt")
APK_DB = fixture("1.1.1-openwrt2512-kmod-handmade-apk-installed.txt")
OPKG_UNKNOWN = fixture("1.1.1-openwrt2410-kmod-handmade-opkg-install-unknown.stderr")
APK_NOSUCH = fixture("1.1.1-openwrt2512-kmod-handmade-apk-add-nosuch.stderr")
HOST_OS = fixture("1.0.6-bookworm-kmod-host-os-release.txt")
HOST_MODINFO = fixture("1.0.6-bookworm-kmod-host-modinfo-n-nf_flow_table.stderr")
HOST_DPKG_MISSING = fixture("1.0.6-bookworm-kmod-host-dpkg-S-missing.stderr")
VM_MODINFO = fixture("1.0.6-bookworm-kmod-vm-modinfo-n-nf_flow_table.txt")
VM_DPKG = fixture("1.0.6-bookworm-kmod-vm-dpkg-S.txt")
VM_DPKG_VERSION = fixture("1.0.6-bookworm-kmod-vm-dpkg-query-version.txt")
OPENWRT = {"os_family": "OpenWrt", "package_manager": "opkg", "kernel": "6.6.86"}
DEBIAN = {"os_family": "Debian", "distribution": "debian", "kernel": "6.1.0-56-amd64",
          "package_manager": "apt"}


# --- parsers ---------------------------------------------------------------------------
def test_opkg_status_installed_packages_with_versions():
    db = _pkg_parse.parse_opkg_status(OPKG_STATUS)
    assert db["kmod-nft-offload"]["version"] == "6.6.86-r1"
    assert "kmod-nf-flow" in db["kmod-nft-offload"]["depends"]
    assert db["kmod-nf-flow"]["status"] == "install ok installed"
    # continuation lines (Conffiles) belong to their field, not to a new package
    assert set(db) == {"kmod-nf-conntrack", "kmod-nf-flow", "kmod-nft-offload", "firewall4"}


def test_opkg_status_skips_not_installed():
    db = _pkg_parse.parse_opkg_status(OPKG_MISSING)
    assert "kmod-nft-offload" not in db
    assert "kmod-nf-flow" in db


def test_apk_installed_db_names_versions():
    db = _pkg_parse.parse_apk_installed(APK_DB)
    assert db["kmod-nft-offload"]["version"] == "6.12.57-r1"
    assert db["kmod-nf-flow"]["version"] == "6.12.57-r1"
    # "p:" (provides, lower case) must not be read as "P:" (name)
    assert "nftables=1.1.1-r1" not in db and "nftables-json" in db


def test_dpkg_search_parses_captured_output():
    assert _pkg_parse.parse_dpkg_search(VM_DPKG) == "linux-image-6.1.0-56-amd64"
    assert _pkg_parse.parse_dpkg_search("") is None
    assert _pkg_parse.parse_dpkg_search(HOST_DPKG_MISSING) is None


@pytest.mark.parametrize("text, expected", [
    ("kernel-modules-core 5.14.0-427.13.1.el9_4\n", ("kernel-modules-core", "5.14.0-427.13.1.el9_4")),
    ("file /lib/modules/x/nf_flow_table.ko.xz is not owned by any package\n", None),
])
def test_rpm_query(text, expected):
    assert _pkg_parse.parse_rpm_query(text) == expected


def test_apk_who_owns():
    out = "/lib/modules/6.6.58-0-lts/kernel/net/netfilter/nf_flow_table.ko.gz is owned by linux-lts-6.6.58-r0\n"
    assert _pkg_parse.parse_apk_who_owns(out) == ("linux-lts", "6.6.58-r0")
    assert _pkg_parse.parse_apk_who_owns("ERROR: x: Could not find owner package\n") is None


def test_os_release_and_family():
    data = _pkg_parse.parse_os_release(HOST_OS)
    assert data["ID"] == "debian" and data["VERSION_ID"] == "12"
    assert _pkg_parse.os_family(data, False) == "Debian"
    assert _pkg_parse.os_family(data, True) == "OpenWrt"
    assert _pkg_parse.os_family({"ID": "ubuntu", "ID_LIKE": "debian"}, False) == "Debian"
    assert _pkg_parse.os_family({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, False) == "RedHat"
    assert _pkg_parse.os_family({"ID": "alpine"}, False) == "Alpine"
    assert _pkg_parse.os_family({"ID": "arch"}, False) == "other"


@pytest.mark.parametrize("platform, expected", [
    (DEBIAN, ["linux-image-6.1.0-56-amd64"]),
    ({"os_family": "Debian", "distribution": "ubuntu", "kernel": "6.8.0-45-generic"},
     ["linux-modules-6.8.0-45-generic", "linux-modules-extra-6.8.0-45-generic"]),
    ({"os_family": "RedHat", "kernel": "5.14.0-427.el9.x86_64"}, ["kernel-modules-core", "kernel-modules"]),
    ({"os_family": "Alpine", "kernel": "6.6.58-0-virt"}, ["linux-virt"]),
    ({"os_family": "Alpine", "kernel": "6.6.58-0-lts"}, ["linux-lts"]),
    (OPENWRT, ["kmod-nft-offload"]),
    ({"os_family": "other", "kernel": "6.1"}, []),
])
def test_provider_candidates(platform, expected):
    assert _packages.provider_candidates(platform) == expected


# --- package_from over read snapshots ------------------------------------------------
SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}


def _run_db_code(tmp_path, files, shell="busybox"):
    """The db/files read sections for real in shell, with the fixed paths moved to tmp_path."""
    code = {r.key: r.code for r in _packages.package_reads()}
    script, nonce = read_script([r for r in _packages.package_reads() if r.key.startswith("kmod:")])
    script = script.replace(_packages.OPENWRT_RELEASE, str(tmp_path / "openwrt_release"))
    (tmp_path / "openwrt_release").write_text(capture("opkg", "32-openwrt-release"))
    for path, content in files.items():
        script = script.replace(path, str(tmp_path / path.strip("/").replace("/", "_")))
        (tmp_path / path.strip("/").replace("/", "_")).write_text(content)
    assert code
    proc = subprocess.run([*SHELLS[shell], "-c", script], capture_output=True, text=True, check=False)
    return parse_sections(proc.stdout, nonce)[0]


def openwrt_snap(db_sections):
    return Snapshot({**host_sections("6.6.86", openwrt=True, tools=("opkg",)), **db_sections})


@pytest.mark.parametrize("shell", SHELLS)
def test_opkg_status_read_for_real_keeps_only_our_stanzas(tmp_path, shell):
    snapshot = _run_db_code(tmp_path, {_packages.OPKG_STATUS: OPKG_STATUS}, shell)
    text = snapshot.out("kmod:pkg-db")
    assert text.startswith(f"@ opkg {tmp_path}") and "firewall4" not in text
    pkg = _packages.package_from(openwrt_snap({"kmod:pkg-db": sec(text)}), {"os_family": "OpenWrt",
                                                                            "package_manager": "opkg"})
    assert pkg == {"name": "kmod-nft-offload", "installed": True, "version": "6.6.86-r1", "manager": "opkg",
                   "evidence": _packages.OPKG_STATUS,
                   "dependencies": [{"name": "kmod-nf-flow", "installed": True, "version": "6.6.86-r1"}]}


@pytest.mark.parametrize("shell", SHELLS)
def test_apk_db_read_for_real(tmp_path, shell):
    snapshot = _run_db_code(tmp_path, {_packages.APK_INSTALLED: APK_DB}, shell)
    text = snapshot.out("kmod:pkg-db")
    assert "nftables-json" not in text and "R:" not in text
    pkg = _packages.package_from(Snapshot({"kmod:pkg-db": sec(text)}), {"openwrt": True, "package_manager": "apk"})
    assert (pkg["installed"], pkg["version"], pkg["manager"]) == (True, "6.12.57-r1", "apk")


def test_captured_openwrt_databases_list_no_kmod():
    """The shared captures: the opkg status file and the (empty) apk database hold no kmod-*."""
    head = capture("opkg", "27-opkg-status-file-head")
    pkg = _packages.package_from(openwrt_snap({"kmod:pkg-db": sec(f"@ opkg {_packages.OPKG_STATUS}\n" + head)}),
                                 {"os_family": "OpenWrt", "package_manager": "opkg"})
    assert pkg["installed"] is False and pkg["dependencies"][0]["installed"] is False
    db = sec(f"@ apk {_packages.APK_INSTALLED}\n" + capture("apk", "26-apk-db-installed-head"))
    apk = _packages.package_from(Snapshot({"kmod:pkg-db": db}), {"openwrt": True, "package_manager": "apk"})
    assert (apk["installed"], apk["manager"]) == (False, "apk")
    info = _packages.package_from(Snapshot({"kmod:pkg-db": sec("@ apk apk info -e\nP:kmod-nf-flow\n\n")}),
                                  {"openwrt": True, "package_manager": "apk"})
    assert info["installed"] is False and info["dependencies"][0]["installed"] is True
    assert info["evidence"] == "apk info -e"


def test_openwrt_without_database_judges_from_module_files():
    snapshot = Snapshot({"kmod:pkg-db": sec("@ none\n"),
                         "kmod:pkg-files": sec("nf_flow_table.ko\nnft_flow_offload.ko\n")})
    pkg = _packages.package_from(snapshot, {"os_family": "OpenWrt", "package_manager": "opkg"})
    assert pkg["installed"] is True and "judged from module files: nf_flow_table.ko" in pkg["evidence"]
    empty = _packages.package_from(Snapshot({"kmod:pkg-db": sec("@ none\n"), "kmod:pkg-files": sec("")}),
                                   {"os_family": "OpenWrt"})
    assert empty["installed"] is False and "none found" in empty["evidence"]


def test_debian_vm_owner_from_dpkg():
    path = VM_MODINFO.strip()
    owner = f"modinfo={path}\npath={path}\ntool=dpkg\nrc=0\n> {VM_DPKG.strip()}\nversion={VM_DPKG_VERSION.strip()}\n"
    pkg = _packages.package_from(Snapshot({"kmod:pkg-owner": sec(owner)}), DEBIAN)
    assert pkg == {"name": "linux-image-6.1.0-56-amd64", "installed": True, "version": "6.1.192-2",
                   "manager": "apt", "evidence": f"dpkg -S {path}: {VM_DPKG.strip()}"}


def test_debian_host_without_modules_names_the_provider():
    owner = f"modinfo={HOST_MODINFO.strip()}\npath=\n"
    pkg = _packages.package_from(Snapshot({"kmod:pkg-owner": sec(owner)}), DEBIAN)
    assert pkg["installed"] is False and pkg["name"] == "linux-image-6.1.0-56-amd64"
    assert "Module nf_flow_table not found" in pkg["evidence"]
    builtin = _packages.package_from(Snapshot({"kmod:pkg-owner": sec("modinfo=(builtin)\npath=\n")}), DEBIAN)
    assert builtin["installed"] is True and "built into the kernel" in builtin["evidence"]


def test_rpm_and_apk_owners_and_a_file_not_owned():
    path = "/lib/modules/5.14.0/kernel/net/netfilter/nf_flow_table.ko.xz"
    rpm = f"modinfo={path}\npath={path}\ntool=rpm\nrc=0\n> kernel-modules-core 5.14.0-427.el9\n"
    got = _packages.package_from(Snapshot({"kmod:pkg-owner": sec(rpm)}), {"os_family": "RedHat", "package_manager": "dnf"})
    assert (got["name"], got["version"]) == ("kernel-modules-core", "5.14.0-427.el9")
    apk = f"path={path}\ntool=apk\nrc=0\n> {path} is owned by linux-lts-6.6.58-r0\n"
    got = _packages.package_from(Snapshot({"kmod:pkg-owner": sec(apk)}), {"os_family": "Alpine", "package_manager": "apk"})
    assert (got["name"], got["version"]) == ("linux-lts", "6.6.58-r0")
    orphan = f"path={path}\ntool=dpkg\nrc=1\n> {HOST_DPKG_MISSING.strip()}\n"
    got = _packages.package_from(Snapshot({"kmod:pkg-owner": sec(orphan)}), DEBIAN)
    assert got["installed"] is False and "not owned by a package" in got["evidence"]


def test_package_read_on_this_host_and_shellcheck():
    script, nonce = read_script(_packages.package_reads())
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
    shell = [shutil.which("busybox"), "sh"]
    out = subprocess.run([*shell, "-c", script], capture_output=True, text=True, check=False).stdout
    snapshot = parse_sections(out, nonce)[0]
    assert isinstance(snapshot.get("kmod:pkg-owner"), Section)
    pkg = _packages.package_from(snapshot, host_from(snapshot))
    assert set(pkg) >= {"name", "installed", "version", "manager", "evidence"}


# --- install ---------------------------------------------------------------------------
@pytest.mark.parametrize("manager, expected", [
    ("apt", ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
             "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold", "p"]),
    ("dnf", ["dnf", "install", "-y", "-q", "p"]),
    ("yum", ["yum", "install", "-y", "-q", "p"]),
    ("apk", ["apk", "add", "p"]),
    ("opkg", ["opkg", "install", "p"]),
])
def test_install_command_is_an_argv_list(manager, expected):
    assert _packages.install_command(manager, ["p"]) == expected


def test_install_command_without_manager_fails():
    with pytest.raises(FlowOffloadError, match="no supported package manager"):
        _packages.install_command("none", ["p"])


def test_install_code_for_apt_is_one_quoted_command():
    assert _packages.install_code("apt", ["linux-image-6.1.0-56-amd64"]) == (
        "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
        "-o Dpkg::Options::=--force-confold linux-image-6.1.0-56-amd64")


def test_install_code_for_opkg_updates_when_lists_are_missing_or_unknown():
    code = _packages.install_code("opkg", ["kmod-nft-offload"])
    assert "fo_update; fo_u=1" in code and "fo_kinstall='opkg install kmod-nft-offload'\n" in code
    assert f"fo_kmissing='{_packages.MISSING_LISTS_ERE}'\n" in code and "fo_kmgr=opkg\n" in code
    assert "fo_kinstall='apk add kmod-nft-offload'\n" in _packages.install_code("apk", ["kmod-nft-offload"])
    with pytest.raises(ValueError, match="single words"):  # validate_package refuses such names first
        _packages.install_code("opkg", ["a b"])


def test_install_failure_message_from_the_apk_capture():
    err = capture("apk", "25-apk-add-kmod-nft-offload-no-feed", "err")
    msg = _packages.install_failure_message("apk", ["kmod-nft-offload"], "fo: install-failed 1\nfo: feed https://x/y\n", err, 1)
    assert msg.startswith("installing kmod-nft-offload with apk failed: no feed offers kmod-nft-offload (rc=1, feeds: https://x/y)")
    assert APK_NOSUCH.splitlines()[0].strip() in msg or "unable to select packages" in msg
    assert OPKG_UNKNOWN


def test_install_failure_message_from_the_opkg_captures_keeps_the_start():
    """Captures 22 (install, no feed: rc 255) and 23 (update, no network: rc 3), as the install
    step prints them: the message starts with the cause, names the feeds and opkg's own words,
    cut at a line (issue 16: the last 800 characters began mid-word)."""
    update_out = capture("opkg", "23-opkg-update-no-network")
    update_err = capture("opkg", "23-opkg-update-no-network", "err")
    feed = "src/gz openwrt_core https://downloads.openwrt.org/releases/24.10.2/targets/x86/64/packages"
    out = f"fo: opkg update\n{update_out}fo: update-failed 3\nfo: feed {feed}\n"
    msg = _packages.install_failure_message("opkg", ["kmod-nft-offload"], out, update_err, 3)
    assert msg.startswith("installing kmod-nft-offload with opkg failed: 'opkg update' could not fetch the "
                          f"package lists (rc=3), so no feed is reachable (feeds: {feed}). opkg said: *** Failed")
    assert "wget: bad address 'downloads.openwrt.org'" in msg and "more characters in the result's stdout" in msg
    said = msg.split("opkg said: ", 1)[1].split(" [... ", 1)[0]
    assert all(part.strip() in (update_out + update_err) for part in said.split(" / "))  # whole lines only
    assert msg.endswith("or build kmod-nft-offload into the image")
    install_out = capture("opkg", "22-opkg-install-kmod-nft-offload-no-feed")
    install_err = capture("opkg", "22-opkg-install-kmod-nft-offload-no-feed", "err")
    msg = _packages.install_failure_message("opkg", ["kmod-nft-offload"], install_out + "fo: install-failed 255\n",
                                            install_err, 255)
    assert msg == ("installing kmod-nft-offload with opkg failed: no feed offers kmod-nft-offload (rc=255, feeds: no "
                   "feed configured). opkg said: Unknown package 'kmod-nft-offload'. / Collected errors: / * "
                   "opkg_install_cmd: Cannot install package kmod-nft-offload. Add a feed that carries "
                   "kmod-nft-offload for this release and target, or build it into the image")


def test_sizes_before_and_after_the_install():
    info = ("Package: kmod-nft-offload\nVersion: 6.6.86-r1\nDepends: kmod-nf-flow, kmod-nft-nat\n"
            "Status: unknown ok not-installed\nInstalled-Size: 20480\nSize: 8473\n")
    snap = Snapshot({_packages.SIZE_KEY: sec("@ opkg\n" + info)})
    assert _packages.size_from(snap, "opkg") == {"installed_size": 20480, "download_size": 8473,
                                                 "note": "opkg info kmod-nft-offload (package lists on the router)"}
    unknown = _packages.size_from(Snapshot({_packages.SIZE_KEY: sec("@ opkg\n")}), "opkg")
    assert unknown["installed_size"] is None and "opkg update" in unknown["note"]
    assert "apk info -s" in _packages.size_from(Snapshot({}), "apk")["note"]
    out = ("Installing kmod-nft-offload (6.6.86-r1) to root...\nfo: size kmod-nft-offload Installed-Size 20480\n"
           "fo: size kmod-nft-offload Size 8473\nfo: size kmod-nf-flow I 16384\n")
    assert _packages.parse_install_sizes(out) == {
        "kmod-nft-offload": {"installed_size": 20480, "download_size": 8473, "note": "opkg info after the install"},
        "kmod-nf-flow": {"installed_size": 16384, "download_size": None,
                         "note": "/lib/apk/db/installed (I:) after the install"}}


@pytest.mark.parametrize("platform,expected", [
    (OPENWRT, ["kmod-nft-offload"]),
    (DEBIAN, ["linux-image-6.1.0-56-amd64"]),
    ({"os_family": "Debian", "distribution": "ubuntu", "kernel": "6.8.0-45-generic"},
     ["linux-modules-6.8.0-45-generic", "linux-modules-extra-6.8.0-45-generic"]),
    ({"os_family": "RedHat", "kernel": "5.14.0-427.el9.x86_64"}, ["kernel-modules-5.14.0-427.el9.x86_64"]),
    ({"os_family": "Alpine", "kernel": "6.6.58-0-lts"}, []),
    ({"os_family": "Debian", "kernel": ""}, []),
])
def test_install_candidates_are_the_running_kernels_packages(platform, expected):
    assert _packages.install_candidates(platform) == expected


# dpkg 1.22 on the trixie lab VM (merged /usr): the kernel package recorded /usr/lib/modules/...,
# and dpkg -S of the /lib/modules/... path modinfo prints finds nothing (rc 1).
_TRIXIE_DPKG = """\
modinfo() { echo /lib/modules/6.12.117+deb13-amd64/kernel/net/netfilter/nf_flow_table.ko.xz; }
dpkg() {
  case $2 in
    /usr/lib/*) echo "linux-image-6.12.117+deb13-amd64: $2" ;;
    *) echo "dpkg-query: no path found matching pattern $2" >&2; return 1 ;;
  esac
}
"""


@pytest.mark.parametrize("shell", SHELLS)
def test_owner_on_merged_usr_is_found_under_usr(shell):
    read = next(r for r in _packages.package_reads() if r.key == "kmod:pkg-owner")
    script, nonce = read_script([read])
    script = script.replace("#!/bin/sh\n", "#!/bin/sh\n" + _TRIXIE_DPKG, 1)
    rc, out, err = ShellTarget(shell=SHELLS[shell]).run_script(script)
    assert rc == 0, err
    owner = _pkg_parse.parse_owner_section(parse_sections(out, nonce)[0].text("kmod:pkg-owner"))
    assert owner["rc"] == 0 and owner["path"].startswith("/usr/lib/modules/6.12.117+deb13-amd64/")
    assert _pkg_parse.parse_dpkg_search(owner["out"]) == "linux-image-6.12.117+deb13-amd64"


@pytest.mark.parametrize("shell", SHELLS)
def test_size_read_runs_no_process_off_openwrt_and_passes_shellcheck(tmp_path, shell):
    script, nonce = read_script([_packages.size_read()])
    assert "(\n" not in script.split("fo_head kmod:pkg-size", 1)[1]  # a brace group: no subshell fork
    rc, out, _err = ShellTarget(shell=SHELLS[shell]).run_script(script)
    assert rc == 0 and parse_sections(out, nonce)[0].get("kmod:pkg-size") == Section(0, "", "")
    path = tmp_path / "read.sh"
    path.write_text(script)
    proc = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout

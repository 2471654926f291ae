# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _packages
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.kmod_fake import (
    KmodHost,
    fixture,
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
    db = _packages.parse_opkg_status(OPKG_STATUS)
    assert db["kmod-nft-offload"]["version"] == "6.6.86-r1"
    assert "kmod-nf-flow" in db["kmod-nft-offload"]["depends"]
    assert db["kmod-nf-flow"]["status"] == "install ok installed"
    # continuation lines (Conffiles) belong to their field, not to a new package
    assert set(db) == {"kmod-nf-conntrack", "kmod-nf-flow", "kmod-nft-offload", "firewall4"}


def test_opkg_status_skips_not_installed():
    db = _packages.parse_opkg_status(OPKG_MISSING)
    assert "kmod-nft-offload" not in db
    assert "kmod-nf-flow" in db


def test_apk_installed_db_names_versions():
    db = _packages.parse_apk_installed(APK_DB)
    assert db["kmod-nft-offload"]["version"] == "6.12.57-r1"
    assert db["kmod-nf-flow"]["version"] == "6.12.57-r1"
    # "p:" (provides, lower case) must not be read as "P:" (name)
    assert "nftables=1.1.1-r1" not in db and "nftables-json" in db


def test_dpkg_search_parses_captured_output():
    assert _packages.parse_dpkg_search(VM_DPKG) == "linux-image-6.1.0-56-amd64"
    assert _packages.parse_dpkg_search("") is None
    assert _packages.parse_dpkg_search(HOST_DPKG_MISSING) is None


@pytest.mark.parametrize("text, expected", [
    ("kernel-modules-core 5.14.0-427.13.1.el9_4\n", ("kernel-modules-core", "5.14.0-427.13.1.el9_4")),
    ("file /lib/modules/x/nf_flow_table.ko.xz is not owned by any package\n", None),
])
def test_rpm_query(text, expected):
    assert _packages.parse_rpm_query(text) == expected


def test_apk_who_owns():
    out = "/lib/modules/6.6.58-0-lts/kernel/net/netfilter/nf_flow_table.ko.gz is owned by linux-lts-6.6.58-r0\n"
    assert _packages.parse_apk_who_owns(out) == ("linux-lts", "6.6.58-r0")
    assert _packages.parse_apk_who_owns("ERROR: x: Could not find owner package\n") is None


def test_os_release_and_family():
    data = _packages.parse_os_release(HOST_OS)
    assert data["ID"] == "debian" and data["VERSION_ID"] == "12"
    assert _packages.os_family(data, False) == "Debian"
    assert _packages.os_family(data, True) == "OpenWrt"
    assert _packages.os_family({"ID": "ubuntu", "ID_LIKE": "debian"}, False) == "Debian"
    assert _packages.os_family({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}, False) == "RedHat"
    assert _packages.os_family({"ID": "alpine"}, False) == "Alpine"
    assert _packages.os_family({"ID": "arch"}, False) == "other"


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


# --- host readers ----------------------------------------------------------------------
@pytest.mark.parametrize("bins, expected", [
    (["opkg", "dpkg"], "opkg"), (["apk"], "apk"), (["dpkg", "apt-get"], "apt"),
    (["dnf", "yum"], "dnf"), (["yum"], "yum"), ([], "none"),
])
def test_detect_package_manager(bins, expected):
    assert _packages.detect_package_manager(KmodHost(bins=bins)) == expected


def test_platform_info_from_captured_host_files():
    host = KmodHost(bins=["dpkg", "apt-get"], files={
        "/etc/os-release": HOST_OS,
        "/proc/sys/kernel/osrelease": fixture("1.0.6-bookworm-kmod-host-osrelease.txt")})
    info = _packages.platform_info(host)
    assert info == {"os_family": "Debian", "distribution": "debian", "distribution_version": "12",
                    "kernel": "6.18.44-fc-v657", "package_manager": "apt", "init": "other"}


def test_platform_info_openwrt_systemd_less_and_uname_fallback():
    host = KmodHost(bins=["opkg", "uname"], files={"/etc/openwrt_release": "DISTRIB_ID='OpenWrt'\n"},
                    commands={("uname", "-r"): (0, "6.6.86\n", "")})
    info = _packages.platform_info(host)
    assert info["os_family"] == "OpenWrt" and info["kernel"] == "6.6.86"
    assert info["distribution"] == "openwrt" and info["package_manager"] == "opkg"


def test_offload_package_openwrt_opkg():
    host = KmodHost(bins=["opkg"], files={_packages.OPKG_STATUS: OPKG_STATUS})
    pkg = _packages.offload_package(host, OPENWRT)
    assert pkg["name"] == "kmod-nft-offload" and pkg["installed"] is True
    assert pkg["version"] == "6.6.86-r1" and pkg["manager"] == "opkg"
    assert pkg["evidence"] == "/usr/lib/opkg/status"
    assert pkg["dependencies"] == [{"name": "kmod-nf-flow", "installed": True, "version": "6.6.86-r1"}]


def test_offload_package_openwrt_opkg_missing():
    host = KmodHost(bins=["opkg"], files={_packages.OPKG_STATUS: OPKG_MISSING})
    pkg = _packages.offload_package(host, OPENWRT)
    assert pkg["installed"] is False and pkg["version"] == ""
    assert pkg["dependencies"][0]["installed"] is True


def test_offload_package_openwrt_apk_db():
    host = KmodHost(bins=["apk"], files={_packages.APK_INSTALLED: APK_DB, "/etc/openwrt_release": ""})
    pkg = _packages.offload_package(host, {"os_family": "", "package_manager": "apk"})
    assert (pkg["installed"], pkg["version"], pkg["manager"]) == (True, "6.12.57-r1", "apk")


def test_offload_package_openwrt_apk_info_when_db_unreadable():
    host = KmodHost(bins=["apk"], commands={
        ("apk", "info", "-e", "kmod-nft-offload"): (0, "kmod-nft-offload\n", ""),
        ("apk", "info", "-e", "kmod-nf-flow"): (1, "", "")})
    pkg = _packages.offload_package(host, dict(OPENWRT, package_manager="apk"))
    assert pkg["installed"] is True and pkg["evidence"] == "apk info -e"
    assert pkg["dependencies"][0]["installed"] is False


def test_offload_package_openwrt_without_database_uses_module_files():
    listing = fixture("0.9.2-openwrt1907-kmod-handmade-lib-modules-ls.txt").split()
    host = KmodHost(bins=["opkg"], files={"/proc/sys/kernel/osrelease": "4.14.180\n"},
                    dirs={"/lib/modules/4.14.180": listing})
    pkg = _packages.offload_package(host, OPENWRT)
    assert pkg["installed"] is True and pkg["dependencies"][0]["installed"] is True
    assert "no package database" in pkg["evidence"]
    assert "/lib/modules/4.14.180/nf_flow_table_ipv4.ko" in pkg["evidence"]
    assert "x_tables" not in pkg["evidence"]


def test_offload_package_openwrt_without_database_or_files():
    host = KmodHost(bins=["opkg"], files={"/proc/sys/kernel/osrelease": "6.6.86\n"})
    pkg = _packages.offload_package(host, OPENWRT)
    assert pkg["installed"] is False and "none found" in pkg["evidence"]


def test_offload_package_debian_vm_owner():
    path = VM_MODINFO.strip()
    host = KmodHost(bins=["modinfo", "dpkg", "apt-get"], commands={
        ("modinfo", "-n", "nf_flow_table"): (0, VM_MODINFO, ""),
        ("dpkg", "-S", path): (0, VM_DPKG, ""),
        ("dpkg-query", "-W", "-f=${Version}", "linux-image-6.1.0-56-amd64"): (0, VM_DPKG_VERSION, "")})
    pkg = _packages.offload_package(host, DEBIAN)
    assert pkg["name"] == "linux-image-6.1.0-56-amd64" and pkg["installed"] is True
    assert pkg["version"] == VM_DPKG_VERSION.strip() and pkg["manager"] == "apt"
    assert pkg["evidence"].startswith(f"dpkg -S {path}: linux-image-6.1.0-56-amd64")


def test_offload_package_debian_host_without_modules_names_provider():
    host = KmodHost(bins=["modinfo", "dpkg"], commands={
        ("modinfo", "-n", "nf_flow_table"): (1, "", HOST_MODINFO)})
    pkg = _packages.offload_package(host, dict(DEBIAN, kernel="6.18.44-fc-v657"))
    assert pkg["installed"] is False and pkg["name"] == "linux-image-6.18.44-fc-v657"
    assert "Module nf_flow_table not found" in pkg["evidence"]


def test_offload_package_builtin():
    host = KmodHost(bins=["modinfo"], commands={("modinfo", "-n", "nf_flow_table"): (0, "(builtin)\n", "")})
    pkg = _packages.offload_package(host, DEBIAN)
    assert pkg["installed"] is True and "built into the kernel" in pkg["evidence"]


def test_offload_package_rpm_and_apk_owner():
    path = "/lib/modules/5.14.0-427.el9.x86_64/kernel/net/netfilter/nf_flow_table.ko.xz"
    rhel = KmodHost(bins=["modinfo", "rpm", "dnf"], commands={
        ("modinfo", "-n", "nf_flow_table"): (0, path + "\n", ""),
        ("rpm", "-qf", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", path):
            (0, "kernel-modules-core 5.14.0-427.el9\n", "")})
    pkg = _packages.offload_package(rhel, {"os_family": "RedHat", "package_manager": "dnf"})
    assert (pkg["name"], pkg["version"]) == ("kernel-modules-core", "5.14.0-427.el9")
    apath = "/lib/modules/6.6.58-0-lts/kernel/net/netfilter/nf_flow_table.ko.gz"
    alpine = KmodHost(bins=["modinfo", "apk"], commands={
        ("modinfo", "-n", "nf_flow_table"): (0, apath + "\n", ""),
        ("apk", "info", "--who-owns", apath): (0, f"{apath} is owned by linux-lts-6.6.58-r0\n", "")})
    pkg = _packages.offload_package(alpine, {"os_family": "Alpine", "package_manager": "apk"})
    assert (pkg["name"], pkg["version"], pkg["installed"]) == ("linux-lts", "6.6.58-r0", True)


def test_offload_package_file_not_owned():
    path = "/lib/modules/6.1.0-56-amd64/updates/nf_flow_table.ko"
    host = KmodHost(bins=["modinfo", "dpkg"], commands={
        ("modinfo", "-n", "nf_flow_table"): (0, path + "\n", ""),
        ("dpkg", "-S", path): (1, "", f"dpkg-query: no path found matching pattern {path}\n")})
    pkg = _packages.offload_package(host, DEBIAN)
    assert pkg["installed"] is False and "not owned by a package" in pkg["evidence"]


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


def test_opkg_install_updates_lists_once_when_unknown():
    answers = iter([(255, "", OPKG_UNKNOWN), (0, "Installing kmod-nft-offload\n", "")])
    host = KmodHost(bins=["opkg"], commands={
        ("opkg", "install", "kmod-nft-offload"): lambda h, c: next(answers),
        ("opkg", "update"): (0, "Downloading ...\n", "")})
    results = _packages.install(host, "opkg", ["kmod-nft-offload"])
    assert [c[1] for c in host.calls] == ["install", "update", "install"]
    assert results[-1].rc == 0 and len(results) == 3


def test_apk_install_failure_after_update_is_reported():
    host = KmodHost(bins=["apk"], commands={
        ("apk", "add", "kmod-nft-offload"): (1, "", APK_NOSUCH),
        ("apk", "update"): (0, "OK\n", "")})
    with pytest.raises(FlowOffloadError, match="no such package") as err:
        _packages.install(host, "apk", ["kmod-nft-offload"])
    assert err.value.details["rc"] == 1
    assert [c[1] for c in host.calls] == ["add", "update", "add"]


def test_install_without_update_when_failure_is_not_missing_lists():
    host = KmodHost(bins=["opkg"], commands={
        ("opkg", "install", "kmod-nft-offload"): (255, "", " * wfopen: /tmp/x: No space left on device\n")})
    with pytest.raises(FlowOffloadError, match="No space left"):
        _packages.install(host, "opkg", ["kmod-nft-offload"])
    assert [c[1] for c in host.calls] == ["install"]


def test_apt_install_success_runs_once():
    host = KmodHost(bins=["env"], commands={
        tuple(_packages.install_command("apt", ["linux-image-6.1.0-56-amd64"])): (0, "ok\n", "")})
    results = _packages.install(host, "apt", ["linux-image-6.1.0-56-amd64"])
    assert len(results) == 1 and results[0].rc == 0

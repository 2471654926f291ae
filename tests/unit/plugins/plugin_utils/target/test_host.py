# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host reads (host_*.sh, release.sh) run for real under busybox ash and dash: on a
HostRoot, and host_units.sh on a temporary tree (its root is an input)."""
from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    host as _host,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Snapshot,
    parse_sections,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    SHELLS,
    HostRoot,
)


@pytest.fixture(params=list(SHELLS), name="shell")
def _shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _read(host: HostRoot) -> Snapshot:
    script, nonce = read_script(_host.host_reads())
    rc, out, err = host.run_script(script)
    assert rc == 0, err
    return parse_sections(out, nonce)[0]


def test_units_from_one_systemctl_show() -> None:
    # systemctl show of a unit that is not installed: ActiveState=inactive, UnitFileState empty
    text = ("ActiveState=inactive\nUnitFileState=\nId=firewalld.service\n\n"
            "Id=nftables.service\nUnitFileState=enabled\nActiveState=active\n")
    assert _host.parse_units(text) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                       "nftables.service": "active", "nftables.service.enabled": "enabled"}
    assert not _host.parse_units("")


def test_units_code_runs_no_process_where_systemd_keeps_files() -> None:
    code = next(r.code for r in _host.host_reads() if r.key == "host:systemd-units")
    assert "$(" not in code and code.count("systemctl show") == 1  # only without /run/systemd/units


def test_an_openwrt_like_host_read_for_real(tmp_path: pathlib.Path, shell: str) -> None:
    host = HostRoot(tmp_path, shell, tools={"nft": "nft/nft", "uci": "openwrt/uci"})
    host.seed({"/etc/openwrt_release": "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='24.10.0'\n",
               "/etc/os-release": "ID=\"openwrt\"\nVERSION_ID=\"24.10.0\"\n", "/proc/1/comm": "procd\n",
               "/proc/sys/kernel/osrelease": "6.6.73\n", "/usr/share/firewall4/main.uc": "",
               "/sys/class/net/br-lan/type": "1\n", "/sys/class/net/lo/type": "772\n"})
    host.write("/etc/init.d/firewall", "#!/bin/sh /etc/rc.common\n", 0o755)  # (/sbin is the toolbox's here)
    snap = _read(host)
    assert _host.netdevs(snap) == {"br-lan", "lo"}
    assert _host.paths(snap) == {"/etc/init.d/firewall", "/usr/share/firewall4", "/etc/openwrt_release"}
    found = _host.tools(snap)
    assert {"nft", "uci"} <= set(found) and not {"apt-get", "systemctl", "opkg"} & set(found)  # shims, applets
    assert snap.text("host:systemd-units") == ""  # no systemd, no systemctl: nothing, no error
    platform = _host.host_from(snap)
    assert platform["openwrt"] is True and platform["kernel"] == "6.6.73" and platform["init"] == "procd"
    assert platform["distribution"] == "OpenWrt" and platform["distribution_version"] == "24.10.0"


def test_a_systemd_host_read_for_real(tmp_path: pathlib.Path, shell: str) -> None:
    host = HostRoot(tmp_path, shell, tools={"nft": "nft/nft"})
    host.seed({"/etc/os-release": "ID=debian\nVERSION_ID=\"12\"\n", "/proc/1/comm": "systemd\n",
               "/run/systemd/system/.keep": "", "/run/systemd/units/.keep": "",
               "/proc/sys/kernel/osrelease": "6.1.0-56-amd64\n",
               "/lib/systemd/system/nftables.service": "[Unit]\n"})
    host.link("/etc/systemd/system/sysinit.target.wants/nftables.service", "/lib/systemd/system/nftables.service")
    host.link("/run/systemd/units/invocation:nftables.service", "0123456789abcdef")
    snap = _read(host)
    assert _host.paths(snap) == {"/run/systemd/system"} and _host.netdevs(snap) == set()
    assert _host.parse_units(snap.text("host:systemd-units")) == {
        "firewalld.service": "inactive", "firewalld.service.enabled": "",
        "nftables.service": "active", "nftables.service.enabled": "enabled"}
    platform = _host.host_from(snap)
    assert platform["init"] == "systemd" and platform["firewall"] == "nftables.service" and platform["openwrt"] is False


def test_exist_code_prints_only_the_paths_that_exist(tmp_path: pathlib.Path, shell: str) -> None:
    (tmp_path / "a").write_text("")
    (tmp_path / "d").mkdir()
    code = _host.exist_code([str(tmp_path / n) for n in ("a", "b", "d")])
    out = subprocess.run([*SHELLS[shell], "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == f"{tmp_path}/a\n{tmp_path}/d\n"
    with pytest.raises(ValueError, match="glob"):
        _host.exist_code(["/run/*"])


def _units_root(tmp_path: pathlib.Path, active: tuple[str, ...] = (), enabled: tuple[str, ...] = (),
                installed: tuple[str, ...] = ()) -> str:
    (tmp_path / "run/systemd/system").mkdir(parents=True)
    (tmp_path / "run/systemd/units").mkdir(parents=True)
    (tmp_path / "lib/systemd/system").mkdir(parents=True)
    wants = tmp_path / "etc/systemd/system/sysinit.target.wants"
    wants.mkdir(parents=True)
    for unit in installed:
        (tmp_path / "lib/systemd/system" / unit).write_text("[Unit]\n")
    for unit in active:  # PID 1's link: named after the unit, pointing at the invocation id
        (tmp_path / "run/systemd/units" / f"invocation:{unit}").symlink_to("0123456789abcdef")
    for unit in enabled:
        (wants / unit).symlink_to(tmp_path / "lib/systemd/system" / unit)
    return str(tmp_path)


def _run_units(shell: str, root: str) -> dict[str, str]:
    proc = subprocess.run([*SHELLS[shell], "-c", _host.units_code(root)], capture_output=True, text=True, check=True)
    return _host.parse_units(proc.stdout)


def test_units_from_systemd_files_as_systemctl_show_says(tmp_path: pathlib.Path, shell: str) -> None:
    # Debian's nftables package: installed, disabled, started by hand
    root = _units_root(tmp_path, active=("nftables.service",), installed=("nftables.service",))
    assert _run_units(shell, root) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                       "nftables.service": "active", "nftables.service.enabled": "disabled"}


def test_units_enabled_and_stopped_and_not_installed(tmp_path: pathlib.Path, shell: str) -> None:
    root = _units_root(tmp_path, enabled=("nftables.service",), installed=("nftables.service",))
    assert _run_units(shell, root) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                       "nftables.service": "inactive", "nftables.service.enabled": "enabled"}


def test_units_without_systemd_print_nothing_and_run_nothing(tmp_path: pathlib.Path, shell: str) -> None:
    # no /run/systemd/system: the root folder of a host without systemd (no systemctl on PATH)
    argv = [shutil.which(SHELLS[shell][0]) or SHELLS[shell][0], *SHELLS[shell][1:]]
    proc = subprocess.run([*argv, "-c", _host.units_code(str(tmp_path))], capture_output=True, text=True,
                          check=True, env={"PATH": str(tmp_path)})
    assert proc.stdout == ""

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import subprocess

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host


def test_units_from_one_systemctl_show():
    # systemctl show of a unit that is not installed: ActiveState=inactive, UnitFileState empty
    text = ("ActiveState=inactive\nUnitFileState=\nId=firewalld.service\n\n"
            "Id=nftables.service\nUnitFileState=enabled\nActiveState=active\n")
    assert _host.parse_units(text) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                       "nftables.service": "active", "nftables.service.enabled": "enabled"}
    assert not _host.parse_units("")


def test_units_code_runs_no_process_where_systemd_keeps_files():
    code = next(r.code for r in _host.host_reads() if r.key == "host:systemd-units")
    assert "$(" not in code and code.count("systemctl show") == 1  # only without /run/systemd/units


def _units_root(tmp_path, active=(), enabled=(), installed=()):
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


def _run_units(root):
    proc = subprocess.run(["/bin/sh", "-c", _host.units_code(root)], capture_output=True, text=True, check=True)
    return _host.parse_units(proc.stdout)


def test_units_from_systemd_files_as_systemctl_show_says(tmp_path):
    # Debian's nftables package: installed, disabled, started by hand
    root = _units_root(tmp_path, active=["nftables.service"], installed=["nftables.service"])
    assert _run_units(root) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                "nftables.service": "active", "nftables.service.enabled": "disabled"}


def test_units_enabled_and_stopped_and_not_installed(tmp_path):
    root = _units_root(tmp_path, enabled=["nftables.service"], installed=["nftables.service"])
    assert _run_units(root) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                "nftables.service": "inactive", "nftables.service.enabled": "enabled"}


def test_units_without_systemd_print_nothing_and_run_nothing(tmp_path):
    # no /run/systemd/system: the root folder of a host without systemd (no systemctl on PATH)
    proc = subprocess.run(["/bin/sh", "-c", _host.units_code(str(tmp_path))], capture_output=True, text=True,
                          check=True, env={"PATH": str(tmp_path)})
    assert proc.stdout == ""

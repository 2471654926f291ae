# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OpenWrt test doubles replay ../shared/openwrt/captures exactly (stdout, stderr, rc).

Each capture's command runs through busybox sh with the scenario's doubles
(extensions/molecule/openwrt/files/doubles) first on PATH and the unit-test nft double
(tests/unit/doubles/openwrt/nft, a kernel without flowtables) behind them, in the
captures' order on one router, as they were recorded.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import typing as t

import pytest

from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import SHARED_CAPTURES

HERE = os.path.dirname(os.path.realpath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DOUBLES = os.path.join(ROOT, "extensions", "molecule", "openwrt", "files", "doubles")
NFT_DOUBLE = os.path.join(HERE, "doubles", "openwrt")
FIREWALL_CONFIG = os.path.join(ROOT, "extensions", "molecule", "openwrt", "files", "firewall.config")
NETDEVS = ("br-lan", "lan0", "lan1", "wan0", "lo")
BUSYBOX = shutil.which("busybox")

# Cases replayed in order on one router (the captures' own sequence); the others depend
# on what is not modelled (the real nft listing, fw4's state file format, package lists).
FW4_CASES = ["01-uci-show-firewall-default", "02-uci-get-flow_offloading-unset", "03-uci-get-defaults-name",
             "04-ubus-network-interface-dump", "05-ubus-network-device-status-br-lan",
             "07-uci-set-flow_offloading", "08-uci-changes", "09-uci-commit", "10-fw4-print-flow_offloading",
             "11-fw4-check-flow_offloading-no-kernel-support", "12-fw4-reload-flow_offloading-no-kernel-support",
             "13-nft-list-flowtables-after-failed-reload", "15-uci-set-flow_offloading_hw",
             "16-fw4-print-flow_offloading_hw-veth", "17-fw4-reload-flow_offloading_hw-veth",
             "18-uci-delete-flow_offloading", "19-fw4-reload-clean", "34-uci-get-missing-section",
             "35-uci-set-bad-path", "36-fw4-reload-without-start"]
PKG_CASES = {"opkg": ["21-opkg-status-kmod-nft-offload", "22-opkg-install-kmod-nft-offload-no-feed",
                      "23-opkg-update-no-network"],
             "apk": ["24-apk-info", "25-apk-add-kmod-nft-offload-no-feed"]}

# The Molecule scenario is not shipped in the collection artifact (ansible-test's copy).
pytestmark = pytest.mark.skipif(BUSYBOX is None or not os.path.isdir(SHARED_CAPTURES) or not os.path.isdir(DOUBLES),
                                reason="needs busybox, the OpenWrt captures and extensions/molecule/openwrt")


def capture(manager: str, case: str) -> dict[str, t.Any]:
    base = os.path.join(SHARED_CAPTURES, manager, case)
    out = {}
    for ext in ("cmd", "out", "err", "rc"):
        with open(f"{base}.{ext}", encoding="utf-8") as handle:
            out[ext] = handle.read()
    out["rc"] = int(out["rc"].strip())
    out["cmd"] = out["cmd"].strip()
    return out


def router(tmp: str, manager: str) -> dict[str, str]:
    """A router's files under tmp; returns the environment the doubles run with."""
    for sub in ("config", "uci", "net", "nft", "ubus", "root/etc"):
        os.makedirs(os.path.join(tmp, sub), exist_ok=True)
    shutil.copy(FIREWALL_CONFIG, os.path.join(tmp, "config", "firewall"))
    for dev in NETDEVS:
        open(os.path.join(tmp, "net", dev), "w", encoding="utf-8").close()
    for case, name in (("04-ubus-network-interface-dump", "network.interface.dump"),
                       ("05-ubus-network-device-status-br-lan", "network.device.status.br-lan")):
        shutil.copy(os.path.join(SHARED_CAPTURES, manager, case + ".out"), os.path.join(tmp, "ubus", name))
    shutil.copy(os.path.join(SHARED_CAPTURES, manager, "32-openwrt-release.out"),
                os.path.join(tmp, "root", "etc", "openwrt_release"))
    return doubles_env(tmp)


def doubles_env(tmp: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PATH=f"{DOUBLES}:{NFT_DOUBLE}:{env.get('PATH', '/usr/bin:/bin')}",
        UCI_CONFDIR=os.path.join(tmp, "config"), UCI_SAVEDIR=os.path.join(tmp, "uci"),
        FW4_DOUBLE_DIR=DOUBLES, FW4_STATE=os.path.join(tmp, "fw4.state"), FW4_SYSFS_NET=os.path.join(tmp, "net"),
        UBUS_DOUBLE_DIR=os.path.join(tmp, "ubus"), NFT_DOUBLE_STATE=os.path.join(tmp, "nft"),
        PKG_DOUBLE_ROOT=os.path.join(tmp, "root"), PKG_DOUBLE_LIB=os.path.join(DOUBLES, "pkg-double.sh"),
        TMPDIR=tmp,
    )
    return env


def sh(cmd: str, env: t.Mapping[str, str]) -> tuple[str, str, int]:
    cmd = cmd.replace("/var/run/fw4.state", env["FW4_STATE"])
    proc = subprocess.run([t.cast(str, BUSYBOX), "sh", "-c", cmd], capture_output=True, text=True, env=dict(env), check=False)
    return proc.stdout, proc.stderr, proc.returncode


@pytest.mark.parametrize("manager", ["opkg", "apk"])
def test_uci_fw4_ubus_doubles_replay_the_captures(manager: str, tmp_path: t.Any) -> None:
    env = router(str(tmp_path), manager)
    assert sh("fw4 start", env)[2] == 0  # as before the captures
    for case in FW4_CASES:
        cap = capture(manager, case)
        out, err, rc = sh(cap["cmd"], env)
        assert (case, out, err, rc) == (case, cap["out"], cap["err"], cap["rc"])


@pytest.mark.parametrize("manager", ["opkg", "apk"])
def test_package_manager_doubles_replay_the_captures(manager: str, tmp_path: t.Any) -> None:
    env = router(str(tmp_path), manager)
    for case in PKG_CASES[manager]:
        cap = capture(manager, case)
        out, err, rc = sh(cap["cmd"], env)
        assert (case, out, err, rc) == (case, cap["out"], cap["err"], cap["rc"])


def test_fw4_reload_exits_0_when_the_kernel_refuses_and_keeps_the_old_ruleset(tmp_path: t.Any) -> None:
    env = router(str(tmp_path), "opkg")
    sh("fw4 start", env)
    sh("uci set firewall.@defaults[0].flow_offloading=1 && uci commit firewall", env)
    out, err, rc = sh("fw4 reload", env)
    assert rc == 0 and "No such file or directory" in err
    assert sh("nft list flowtable inet fw4 ft", env)[2] == 1


def test_fw4_builds_the_flowtable_on_a_kernel_with_flowtables(tmp_path: t.Any) -> None:
    env = router(str(tmp_path), "opkg")
    open(os.path.join(env["NFT_DOUBLE_STATE"], "flowtables"), "w", encoding="utf-8").close()
    sh("fw4 start", env)
    sh("uci set firewall.@defaults[0].flow_offloading=1 && uci commit firewall && fw4 reload", env)
    out, _err, rc = sh("nft list flowtable inet fw4 ft", env)
    assert rc == 0 and "devices = { br-lan, wan0 }" in out and "flags offload" not in out
    # a zone network whose device does not exist is left out, as fw4 does
    os.remove(os.path.join(env["FW4_SYSFS_NET"], "wan0"))
    assert '"br-lan" }' in sh("fw4 print", env)[0]


def test_uci_stages_until_commit_and_reverts(tmp_path: t.Any) -> None:
    env = router(str(tmp_path), "opkg")
    sh("uci set firewall.@defaults[0].flow_offloading=1", env)
    with open(env["UCI_CONFDIR"] + "/firewall", encoding="utf-8") as handle:
        assert "flow_offloading" not in handle.read()
    assert sh("uci get firewall.@defaults[0].flow_offloading", env)[0] == "1\n"
    sh("uci revert firewall", env)
    assert sh("uci -q get firewall.@defaults[0].flow_offloading", env) == ("", "", 1)
    assert sh("uci changes firewall", env) == ("", "", 0)


@pytest.mark.parametrize("case", ["28-lsmod-kmodloader-no-proc-modules", "29-modprobe-kmodloader-nf_flow_table"])
def test_kmodloader_double_replays_the_captures(case: str, tmp_path: t.Any) -> None:
    env = router(str(tmp_path), "opkg")
    env["KMODLOADER_PROC_MODULES"] = str(tmp_path / "no-proc-modules")
    cap = capture("opkg", case)
    name = cap["cmd"].split()[0]
    os.symlink(os.path.join(DOUBLES, "kmodloader"), str(tmp_path / name))
    # by path: the host's busybox-static prefers its own lsmod/modprobe applets
    out, err, rc = sh(f"{tmp_path}/{cap['cmd']}", env)
    assert (out, err, rc) == (cap["out"], cap["err"], cap["rc"])

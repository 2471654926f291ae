# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OpenWrt test doubles replay ../shared/openwrt/captures exactly (stdout, stderr, rc).

Each capture's command runs through busybox sh with the OpenWrt doubles
(tests/unit/doubles/openwrt, which the Molecule scenario extensions/molecule/openwrt also
installs) first on PATH and the unit-test nft double (tests/unit/doubles/nft/nft, here
a kernel without flowtables) behind them, in the captures' order on one router, as they
were recorded.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import typing as t

import pytest
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    SHARED_CAPTURES,
)

HERE = os.path.dirname(os.path.realpath(__file__))
DOUBLES = os.path.join(HERE, "doubles", "openwrt")
NFT_DOUBLE = os.path.join(HERE, "doubles", "nft")
FIREWALL_CONFIG = os.path.join(DOUBLES, "firewall.config")
NETDEVS = ("br-lan", "lan0", "lan1", "wan0", "lo")
BUSYBOX = shutil.which("busybox") or "busybox"  # conftest fails the suite without it

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
    # the captured router's kernel has no flowtables (a test writes nft/flowtables to give it them)
    open(os.path.join(tmp, "nft", "no-flowtables"), "w", encoding="utf-8").close()
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
    proc = subprocess.run([BUSYBOX, "sh", "-c", cmd], capture_output=True, text=True, env=dict(env), check=False)
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
    _out, err, rc = sh("fw4 reload", env)
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


# --- the scenario's router with a feed and a kernel that can load modules (issue 16) ----------------
def feed(env: t.Mapping[str, str]) -> str:
    """The double feed of the scenario (prepare.yml writes the same): kmod-nft-offload needs
    kmod-nf-flow; each ships its modules into the flat /lib/modules/RELEASE folder."""
    base = os.path.join(env["PKG_DOUBLE_ROOT"], "usr", "share", "pkg-double", "feed")
    release = os.uname().release
    for name, deps, size, files in (("kmod-nf-flow", "kernel", 26624, ["nf_flow_table"]),
                                    ("kmod-nft-offload", "kernel, kmod-nf-flow, kmod-nft-nat", 12288,
                                     ["nf_flow_table_inet", "nft_flow_offload"])):
        root = os.path.join(base, name, "root", "lib", "modules", release)
        os.makedirs(root)
        for module in files:
            open(os.path.join(root, module + ".ko"), "w", encoding="utf-8").close()
        with open(os.path.join(base, name, "control"), "w", encoding="utf-8") as handle:
            handle.write(f"Package: {name}\nVersion: 6.6.73-r1\nDepends: {deps}\nArchitecture: x86_64\n"
                         f"Installed-Size: {size}\nSize: {size // 3}\nDescription: double of {name}\n")
    return os.path.join(env["PKG_DOUBLE_ROOT"], "lib", "modules", release)


def test_opkg_with_a_feed_installs_the_dependency_first_and_tells_the_sizes(tmp_path: t.Any) -> None:
    env = router(str(tmp_path), "opkg")
    os.makedirs(os.path.join(env["PKG_DOUBLE_ROOT"], "usr", "lib", "opkg"))
    shutil.copy(os.path.join(DOUBLES, "db", "opkg-status"),
                os.path.join(env["PKG_DOUBLE_ROOT"], "usr", "lib", "opkg", "status"))
    modules = feed(env)
    assert sh("opkg info kmod-nft-offload", env) == ("", "", 0)  # no lists yet: opkg knows nothing
    assert sh("opkg install kmod-nft-offload", env)[2] == 255  # as captured (case 22) until the lists exist
    assert sh("opkg update", env)[2] == 0
    info = sh("opkg info kmod-nft-offload", env)[0]
    assert "Status: unknown ok not-installed\n" in info and "Installed-Size: 12288\n" in info and "Size: 4096\n" in info
    out, _err, rc = sh("opkg install kmod-nft-offload", env)
    assert rc == 0 and out.index("Installing kmod-nf-flow") < out.index("Installing kmod-nft-offload")
    assert sorted(os.listdir(modules)) == ["nf_flow_table.ko", "nf_flow_table_inet.ko", "nft_flow_offload.ko"]
    assert "Status: install user installed\n" in sh("opkg info kmod-nft-offload", env)[0]
    assert "kmod-nft-offload - 6.6.73-r1" in sh("opkg list-installed", env)[0]


def test_apk_with_a_feed_records_the_installed_size(tmp_path: t.Any) -> None:
    env = router(str(tmp_path), "apk")
    os.makedirs(os.path.join(env["PKG_DOUBLE_ROOT"], "lib", "apk", "db"))
    os.makedirs(os.path.join(env["PKG_DOUBLE_ROOT"], "etc", "apk"))
    shutil.copy(os.path.join(DOUBLES, "db", "apk-installed"),
                os.path.join(env["PKG_DOUBLE_ROOT"], "lib", "apk", "db", "installed"))
    feed(env)
    assert sh("apk update", env)[2] == 0
    out, _err, rc = sh("apk add kmod-nft-offload", env)
    assert rc == 0 and "(1/2) Installing kmod-nf-flow" in out and "(2/2) Installing kmod-nft-offload" in out
    with open(os.path.join(env["PKG_DOUBLE_ROOT"], "lib", "apk", "db", "installed"), encoding="utf-8") as handle:
        stanza = handle.read().split("P:kmod-nft-offload\n", 1)[1].split("\n\n", 1)[0]
    assert "\nI:12288\n" in stanza and "\nS:4096\n" in stanza


def kernel_double(tmp_path: t.Any, env: dict[str, str]) -> dict[str, str]:
    """The kernel double: /sys/module on a folder, the nft wrapper first on PATH before the
    unit-test nft double (which stands for the real nft: a kernel without flowtables)."""
    bindir = tmp_path / "kernel-bin"
    bindir.mkdir()
    os.symlink(os.path.join(DOUBLES, "nft-kernel.sh"), bindir / "nft")
    for name in ("modprobe", "lsmod"):
        os.symlink(os.path.join(DOUBLES, "kmodloader"), bindir / name)
    sysmod = tmp_path / "sys-module"
    sysmod.mkdir()
    (sysmod / ".kernel-double").write_text("")
    env = dict(env, PATH=f"{bindir}:{env['PATH']}", KMODLOADER_SYS_MODULE=str(sysmod),
               KMODLOADER_MODULES_DIR=os.path.join(env["PKG_DOUBLE_ROOT"], "lib", "modules", os.uname().release),
               NFT_DOUBLE_REAL=os.path.join(NFT_DOUBLE, "nft"), NFT_DOUBLE_KERNEL_STATE=str(tmp_path / "kernel"),
               NFT_DOUBLE_SYSFS_NET=env["FW4_SYSFS_NET"])
    return env


def test_the_kernel_double_gains_flowtables_once_the_modules_load(tmp_path: t.Any) -> None:
    env = kernel_double(tmp_path, router(str(tmp_path), "opkg"))
    modules = feed(env)
    probe = "add table inet p\nadd flowtable inet p ft { hook ingress priority 0; devices = { \"wan0\" }; flags offload; }\n"
    (tmp_path / "probe.nft").write_text(probe)
    refused = sh(f"nft -c -f {tmp_path}/probe.nft", env)
    assert refused[2] == 1 and "No such file or directory" in refused[1]  # no modules yet: ENOENT
    assert sh(f"{tmp_path}/kernel-bin/modprobe nf_flow_table", env)[2] == 255  # no module file yet
    assert not os.path.exists(modules)
    sh("opkg update && opkg install kmod-nft-offload", env)
    for module in ("nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"):
        assert sh(f"{tmp_path}/kernel-bin/modprobe {module}", env)[2] == 0
    assert "nft_flow_offload" in sh(f"{tmp_path}/kernel-bin/lsmod", env)[0]
    assert sh(f"nft -c -f {tmp_path}/probe.nft", env)[2] == 0  # accepted now, never stored
    assert sh("nft list flowtables", env)[0] == ""
    # fw4 turns offloading on: nft lists fw4's flowtable as captured on a real kernel (case 40)
    sh("fw4 start && uci set firewall.@defaults[0].flow_offloading=1 && uci commit firewall && fw4 reload", env)
    cap = capture("real-kernel", "40-nft-list-flowtables-flow_offloading")
    assert sh(cap["cmd"], env) == (cap["out"], cap["err"], cap["rc"])
    listed = sh("nft -j list flowtables", env)[0]
    assert '{"flowtable": {"family": "inet", "name": "ft", "table": "fw4"' in listed and '"dev": ["br-lan", "wan0"]' in listed
    assert sh("nft list flowtable inet fw4 ft", env)[2] == 0
    # a flowtable naming a device that does not exist is refused at its line, as the kernel does
    (tmp_path / "bad.nft").write_text("add table inet q\n\nadd flowtable inet q ft { hook ingress priority 0; devices = { \"eth9\" }; }\n")
    _out, err, rc = sh(f"nft -c -f {tmp_path}/bad.nft", env)
    assert rc == 1 and f"{tmp_path}/bad.nft:3:1-1: Error: Could not process rule: No such file or directory" in err
    # offloading off again: fw4 rebuilds its table without the flowtable
    sh("uci delete firewall.@defaults[0].flow_offloading && uci commit firewall && fw4 reload", env)
    assert sh("nft list flowtable inet fw4 ft", env)[2] == 1

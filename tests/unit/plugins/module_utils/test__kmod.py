# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import gzip

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _kmod
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.kmod_fake import (
    KmodHost,
    fixture,
)

VM = "1.0.6-bookworm-kmod-vm"
REL = "6.1.0-56-amd64"
BASE = f"/lib/modules/{REL}"
FRESH = fixture(f"{VM}-proc-modules-fresh.txt")
LOADED = fixture(f"{VM}-proc-modules-loaded.txt")
FLOWTABLE = fixture(f"{VM}-proc-modules-flowtable.txt")
DEP = fixture(f"{VM}-modules-dep-netfilter.txt")
BUILTIN = fixture(f"{VM}-modules-builtin.txt")
VM_ETC_MODULES = fixture(f"{VM}-etc-modules.txt")
HOST_ETC_MODULES = fixture("1.0.6-bookworm-kmod-host-etc-modules.txt")
HOST_CONFIG = fixture("1.0.6-bookworm-kmod-host-config.txt")
HOST_MODINFO = fixture("1.0.6-bookworm-kmod-host-modinfo-n-nf_flow_table.stderr")
OWRT_PROC = fixture("1.1.1-openwrt2410-kmod-handmade-proc-modules.txt")
OWRT_LS = fixture("0.9.2-openwrt1907-kmod-handmade-lib-modules-ls.txt").split()
MODPROBE_MISSING = fixture(f"{VM}-modprobe-missing.stderr")
RMMOD_INUSE = fixture(f"{VM}-rmmod-inuse.stderr")
NAMES = list(_kmod.DEFAULT_MODULES)
DEBIAN = {"os_family": "Debian", "distribution": "debian", "kernel": REL,
          "package_manager": "apt", "init": "systemd", "module_support": True}
OPENWRT = {"os_family": "OpenWrt", "kernel": "6.6.86", "package_manager": "opkg",
           "init": "other", "module_support": True}


def vm_host(proc: str = FRESH, **extra) -> KmodHost:
    files = {"/proc/sys/kernel/osrelease": REL + "\n", "/proc/modules": proc,
             f"{BASE}/modules.dep": DEP, f"{BASE}/modules.builtin": BUILTIN,
             "/run/systemd/system": ""}
    files.update(extra.pop("files", {}))
    return KmodHost(bins=["modprobe", "rmmod", "modinfo"], files=files, **extra)


def desired(**kw) -> dict:
    base = {"state": "present", "persistent": True, "modules": NAMES, "package": None}
    base.update(kw)
    return base


def no_file(path: str = _kmod.SYSTEMD_FILE, kind: str = "file") -> dict:
    return {"file": path, "present": False, "modules": [], "kind": kind, "content": ""}


def states(**by_name) -> dict:
    result = {}
    for name in NAMES:
        state = by_name.get(name, "module")
        result[name] = {"state": state, "path": None, "evidence": "", "refcnt": 0, "users": []}
    return result


# --- parsers ---------------------------------------------------------------------------
def test_proc_modules_loaded_capture():
    mods = _kmod.parse_proc_modules(LOADED)
    assert mods["nf_flow_table"]["refcnt"] == 2
    assert mods["nf_flow_table"]["users"] == ["nft_flow_offload", "nf_flow_table_inet"]
    assert mods["nft_flow_offload"] == {"size": 16384, "refcnt": 0, "users": [], "state": "Live"}
    assert not {"nf_flow_table", "nft_flow_offload"} & set(_kmod.parse_proc_modules(FRESH))


def test_proc_modules_flowtable_capture_holds_inet():
    assert _kmod.parse_proc_modules(FLOWTABLE)["nf_flow_table_inet"]["refcnt"] == 1


def test_modules_builtin_and_dep_captures():
    builtin = _kmod.parse_modules_builtin(BUILTIN)
    assert "amd_uncore" in builtin  # file name amd-uncore.ko: '-' normalized to '_'
    assert "nf_flow_table" not in builtin
    dep = _kmod.parse_modules_dep(DEP)
    assert dep["nf_flow_table"] == "kernel/net/netfilter/nf_flow_table.ko"
    assert dep["nft_flow_offload"] == "kernel/net/netfilter/nft_flow_offload.ko"
    assert _kmod.parse_modules_dep("kernel/x/nf_flow_table.ko.xz: kernel/y.ko.xz\n") == {
        "nf_flow_table": "kernel/x/nf_flow_table.ko.xz"}


def test_kernel_config_capture():
    config = _kmod.parse_kernel_config(HOST_CONFIG)
    assert config["CONFIG_NF_FLOW_TABLE"] == "n" and config["CONFIG_MODULES"] == "n"
    assert config["CONFIG_NF_TABLES"] == "y"
    assert _kmod.config_symbol("nft-flow-offload") == "CONFIG_NFT_FLOW_OFFLOAD"


@pytest.mark.parametrize("bad", [["nf_flow_table; rm -rf /"], ["a b"], ["../x"], ["-r"], ["x/y"],
                                 [""], [5]])
def test_validate_modules_rejects_bad_names(bad):
    with pytest.raises(FlowOffloadError, match="^modules contains invalid"):
        _kmod.validate_modules(bad)


def test_validate_modules_empty_and_duplicates():
    with pytest.raises(FlowOffloadError, match="^modules must be a non-empty list"):
        _kmod.validate_modules([])
    assert _kmod.validate_modules(["nf-flow-table", "nf_flow_table", "x"]) == ["nf-flow-table", "x"]


# --- inspecting the host ---------------------------------------------------------------
def test_vm_fresh_boot_modules_are_available():
    result = _kmod.module_states(vm_host(), NAMES)
    assert result["nf_flow_table"] == {
        "state": "module", "path": f"{BASE}/kernel/net/netfilter/nf_flow_table.ko",
        "evidence": "modules.dep lists kernel/net/netfilter/nf_flow_table.ko"}
    assert {v["state"] for v in result.values()} == {"module"}


def test_vm_loaded_with_refcount_evidence():
    info = _kmod.inspect_modules(vm_host(LOADED), NAMES)
    assert info["nf_flow_table"]["state"] == "loaded"
    assert info["nf_flow_table"]["refcnt"] == 2
    assert info["nf_flow_table"]["evidence"] == (
        "/proc/modules: Live, refcount 2, used by nft_flow_offload, nf_flow_table_inet")
    assert set(_kmod.module_states(vm_host(LOADED), NAMES)["nf_flow_table"]) == {"state", "path", "evidence"}


def test_host_without_module_support_is_missing_with_evidence():
    files = {"/proc/sys/kernel/osrelease": "6.18.44-fc-v657\n",
             "/proc/config.gz": gzip.compress(HOST_CONFIG.encode())}
    host = KmodHost(bins=["modinfo"], files=files,
                    commands={("modinfo", "-n", n): (1, "", HOST_MODINFO.replace("nf_flow_table", n))
                              for n in NAMES})
    result = _kmod.module_states(host, NAMES)
    assert {v["state"] for v in result.values()} == {"missing"}
    ev = result["nf_flow_table"]["evidence"]
    assert "/proc/modules unreadable" in ev and "Module nf_flow_table not found" in ev
    assert "CONFIG_NF_FLOW_TABLE is not set in /proc/config.gz" in ev
    assert _kmod.module_support(host, "6.18.44-fc-v657") is False
    assert _kmod.module_support(vm_host(), REL) is True
    assert _kmod.module_support(KmodHost(), "x") is None


def test_builtin_from_modules_builtin_sys_module_and_config():
    host = vm_host(files={f"{BASE}/modules.builtin": "kernel/net/netfilter/nf_flow_table.ko\n"})
    assert _kmod.module_states(host, ["nf_flow_table"])["nf_flow_table"]["state"] == "builtin"
    sys_host = KmodHost(files={"/proc/sys/kernel/osrelease": "6.6.0\n"},
                        dirs={"/sys/module/nf_flow_table": ["parameters"]})
    got = _kmod.module_states(sys_host, ["nf_flow_table"])["nf_flow_table"]
    assert got["state"] == "builtin" and "without initstate" in got["evidence"]
    cfg_host = KmodHost(files={"/proc/sys/kernel/osrelease": "6.6.0\n",
                               "/boot/config-6.6.0": "CONFIG_NFT_FLOW_OFFLOAD=y\n"})
    got = _kmod.module_states(cfg_host, ["nft_flow_offload"])["nft_flow_offload"]
    assert got == {"state": "builtin", "path": None,
                   "evidence": "CONFIG_NFT_FLOW_OFFLOAD=y in /boot/config-6.6.0"}


def test_loaded_seen_through_sys_module_when_proc_unreadable():
    host = KmodHost(files={"/proc/sys/kernel/osrelease": "6.6.0\n",
                           "/sys/module/nf_flow_table/initstate": "live\n",
                           "/sys/module/nf_flow_table/refcnt": "2\n"},
                    dirs={"/sys/module/nf_flow_table/holders": ["nf_flow_table_inet", "nft_flow_offload"]})
    info = _kmod.inspect_modules(host, ["nf_flow_table"])["nf_flow_table"]
    assert (info["state"], info["refcnt"]) == ("loaded", 2)
    assert info["users"] == ["nf_flow_table_inet", "nft_flow_offload"]


def test_modinfo_path_and_builtin_answers():
    path = "/lib/modules/6.6.0/updates/nf_flow_table.ko"
    host = KmodHost(bins=["modinfo"], files={"/proc/sys/kernel/osrelease": "6.6.0\n", "/proc/modules": ""},
                    commands={("modinfo", "-n", "nf_flow_table"): (0, path + "\n", ""),
                              ("modinfo", "-n", "nft_flow_offload"): (0, "(builtin)\n", "")})
    result = _kmod.module_states(host, ["nf_flow_table", "nft_flow_offload"])
    assert result["nf_flow_table"] == {"state": "module", "path": path, "evidence": f"modinfo -n: {path}"}
    assert result["nft_flow_offload"]["state"] == "builtin"


def test_openwrt_flat_tree_with_old_names():
    host = KmodHost(files={"/proc/sys/kernel/osrelease": "4.14.180\n", "/proc/modules": OWRT_PROC},
                    dirs={"/lib/modules/4.14.180": OWRT_LS})
    names = ["nf_flow_table", "nf_flow_table_ipv4", "nf_flow_table_hw", "nf_flow_table_inet"]
    result = _kmod.module_states(host, names)
    assert result["nf_flow_table"]["state"] == "loaded"
    assert result["nf_flow_table_ipv4"] == {
        "state": "module", "path": "/lib/modules/4.14.180/nf_flow_table_ipv4.ko",
        "evidence": "/lib/modules/4.14.180 lists nf_flow_table_ipv4.ko"}
    assert result["nf_flow_table_hw"]["state"] == "module"
    assert result["nf_flow_table_inet"]["state"] == "loaded"  # handmade OpenWrt 24.10 list


# --- boot-time load list ---------------------------------------------------------------
def test_edit_block_keeps_other_lines_and_is_idempotent():
    edited = _kmod.edit_block(HOST_ETC_MODULES, NAMES)
    assert edited.startswith(HOST_ETC_MODULES)
    assert edited.endswith(f"{_kmod.BLOCK_BEGIN}\nnf_flow_table\nnf_flow_table_inet\nnft_flow_offload\n"
                           f"{_kmod.BLOCK_END}\n")
    assert _kmod.edit_block(edited, NAMES) == edited
    assert _kmod.edit_block(edited, []) == HOST_ETC_MODULES


def test_edit_block_replaces_in_place_and_keeps_later_admin_lines():
    content = f"loop\n{_kmod.BLOCK_BEGIN}\nnf_flow_table\n{_kmod.BLOCK_END}\nbr_netfilter\n"
    assert _kmod.edit_block(content, ["nf_flow_table", "nft_flow_offload"]) == (
        f"loop\n{_kmod.BLOCK_BEGIN}\nnf_flow_table\nnft_flow_offload\n{_kmod.BLOCK_END}\nbr_netfilter\n")
    assert _kmod.edit_block(content, []) == "loop\nbr_netfilter\n"
    assert _kmod.edit_block("", ["x"]) == f"{_kmod.BLOCK_BEGIN}\nx\n{_kmod.BLOCK_END}\n"


def test_persistence_state_per_platform():
    written = _kmod.render_file(NAMES)
    host = KmodHost(files={_kmod.SYSTEMD_FILE: written, "/run/systemd/system": ""})
    assert _kmod.read_persistence(host) == {"file": _kmod.SYSTEMD_FILE, "present": True, "modules": NAMES}
    assert _kmod.read_persistence(KmodHost(files={"/run/systemd/system": ""}))["present"] is False
    sysv = KmodHost(files={"/etc/modules": _kmod.edit_block(VM_ETC_MODULES, ["nf_flow_table"])})
    assert _kmod.read_persistence(sysv) == {"file": "/etc/modules", "present": True, "modules": ["nf_flow_table"]}
    assert _kmod.read_persistence(KmodHost(files={"/etc/modules": VM_ETC_MODULES}))["present"] is False
    owrt = KmodHost(files={"/etc/openwrt_release": ""})
    assert _kmod.read_persistence(owrt) == {"file": "", "present": False, "modules": []}


# --- plan ------------------------------------------------------------------------------
def test_plan_fresh_vm_loads_all_and_writes_file():
    current = _kmod.inspect_modules(vm_host(), NAMES)
    actions = _kmod.plan(current, desired(), no_file(), DEBIAN)
    assert [a.get("module") for a in actions if a["action"] == "load"] == NAMES
    assert actions[-1] == {"action": "write", "file": _kmod.SYSTEMD_FILE, "before": "",
                           "after": _kmod.render_file(NAMES)}
    assert _kmod.predicted_states(current, actions) == {n: "loaded" for n in NAMES}


def test_plan_is_empty_when_loaded_and_persisted():
    current = _kmod.inspect_modules(vm_host(LOADED), NAMES)
    persisted = dict(no_file(), present=True, modules=NAMES, content=_kmod.render_file(NAMES))
    assert _kmod.plan(current, desired(), persisted, DEBIAN) == []


def test_plan_rewrites_a_changed_file_and_block_without_systemd():
    current = states(nf_flow_table="loaded", nf_flow_table_inet="loaded", nft_flow_offload="loaded")
    stale = dict(no_file(), present=True, content=_kmod.render_file(["nf_flow_table"]))
    assert [a["action"] for a in _kmod.plan(current, desired(), stale, DEBIAN)] == ["write"]
    block = dict(no_file("/etc/modules", "block"), content=VM_ETC_MODULES)
    actions = _kmod.plan(current, desired(), block, dict(DEBIAN, init="other"))
    assert actions[0]["after"] == _kmod.edit_block(VM_ETC_MODULES, NAMES)


def test_plan_builtin_needs_nothing_and_is_not_persisted():
    current = states(nf_flow_table="builtin", nf_flow_table_inet="builtin", nft_flow_offload="module")
    actions = _kmod.plan(current, desired(), no_file(), DEBIAN)
    assert actions[0] == {"action": "load", "module": "nft_flow_offload"}
    assert actions[1]["after"] == _kmod.render_file(["nft_flow_offload"])
    all_builtin = states(nf_flow_table="builtin", nf_flow_table_inet="builtin", nft_flow_offload="builtin")
    old = dict(no_file(), present=True, content=_kmod.render_file(NAMES))
    assert [a["action"] for a in _kmod.plan(all_builtin, desired(), old, DEBIAN)] == ["remove"]
    assert _kmod.plan(all_builtin, desired(), no_file(), DEBIAN) == []


def test_plan_not_persistent_removes_earlier_entries():
    current = states(nf_flow_table="loaded", nf_flow_table_inet="loaded", nft_flow_offload="loaded")
    old = dict(no_file(), present=True, content=_kmod.render_file(NAMES))
    actions = _kmod.plan(current, desired(persistent=False), old, DEBIAN)
    assert actions == [{"action": "remove", "file": _kmod.SYSTEMD_FILE,
                        "before": _kmod.render_file(NAMES), "after": ""}]
    block = dict(no_file("/etc/modules", "block"), content=_kmod.edit_block(VM_ETC_MODULES, NAMES))
    actions = _kmod.plan(current, desired(persistent=False), block, DEBIAN)
    assert actions[0]["action"] == "write" and actions[0]["after"] == VM_ETC_MODULES


def test_plan_missing_on_debian_fails_naming_package_and_option():
    current = states(nf_flow_table="missing", nf_flow_table_inet="missing", nft_flow_offload="missing")
    with pytest.raises(FlowOffloadError) as err:
        _kmod.plan(current, desired(), no_file(), DEBIAN)
    assert "provided by linux-image-6.1.0-56-amd64" in err.value.msg
    assert "package: linux-image-6.1.0-56-amd64" in err.value.msg
    assert "check the spelling" not in err.value.msg
    typo = {"nf_flowtable": dict(current["nf_flow_table"])}
    with pytest.raises(FlowOffloadError, match=r"\['nf_flowtable'\] are not flow offload module names"):
        _kmod.plan(typo, desired(modules=["nf_flowtable"]), no_file(), DEBIAN)
    ubuntu = dict(DEBIAN, distribution="ubuntu", kernel="6.8.0-45-generic")
    with pytest.raises(FlowOffloadError, match="linux-modules-6.8.0-45-generic or linux-modules-extra"):
        _kmod.plan(current, desired(), no_file(), ubuntu)
    rhel = dict(DEBIAN, os_family="RedHat", distribution="rocky", package_manager="dnf")
    with pytest.raises(FlowOffloadError, match="kernel-modules-core or kernel-modules"):
        _kmod.plan(current, desired(), no_file(), rhel)
    alpine = dict(DEBIAN, os_family="Alpine", kernel="6.6.58-0-lts", package_manager="apk")
    with pytest.raises(FlowOffloadError, match="provided by linux-lts"):
        _kmod.plan(current, desired(), no_file(), alpine)


def test_plan_missing_without_module_support_fails_even_with_package():
    current = states(nf_flow_table="missing", nf_flow_table_inet="missing", nft_flow_offload="missing")
    with pytest.raises(FlowOffloadError, match="without loadable module support"):
        _kmod.plan(current, desired(package="linux-image-amd64"), no_file(),
                   dict(DEBIAN, module_support=False))


def test_plan_missing_with_package_installs_then_loads():
    current = states(nf_flow_table="missing", nf_flow_table_inet="missing", nft_flow_offload="loaded")
    actions = _kmod.plan(current, desired(package="linux-image-6.1.0-56-amd64"), no_file(), DEBIAN)
    assert actions[0] == {"action": "install", "manager": "apt", "packages": ["linux-image-6.1.0-56-amd64"],
                          "reason": "missing modules: nf_flow_table, nf_flow_table_inet"}
    assert [a["module"] for a in actions if a["action"] == "load"] == ["nf_flow_table", "nf_flow_table_inet"]


def test_plan_openwrt_installs_kmod_nft_offload_and_writes_nothing():
    current = states(nf_flow_table="missing", nf_flow_table_inet="missing", nft_flow_offload="missing")
    none = {"file": "", "present": False, "modules": [], "kind": "none", "content": ""}
    actions = _kmod.plan(current, desired(package="ignored"), none, OPENWRT)
    assert actions[0]["packages"] == ["kmod-nft-offload"] and actions[0]["manager"] == "opkg"
    assert [a["action"] for a in actions] == ["install", "load", "load", "load"]
    with pytest.raises(FlowOffloadError, match="neither opkg nor apk"):
        _kmod.plan(current, desired(), none, dict(OPENWRT, package_manager="none"))


def test_plan_absent_unloads_in_dependency_order_and_removes_file():
    current = _kmod.inspect_modules(vm_host(LOADED), NAMES)
    old = dict(no_file(), present=True, content=_kmod.render_file(NAMES))
    actions = _kmod.plan(current, desired(state="absent"), old, DEBIAN)
    assert actions[0]["action"] == "remove"
    assert [(a["action"], a["module"]) for a in actions[1:]] == [
        ("unload", "nft_flow_offload"), ("unload", "nf_flow_table_inet"), ("unload", "nf_flow_table")]
    assert _kmod.predicted_states(current, actions) == {n: "module" for n in NAMES}


def test_plan_absent_keeps_modules_in_use_by_a_flowtable():
    current = _kmod.inspect_modules(vm_host(FLOWTABLE), NAMES)
    actions = _kmod.plan(current, desired(state="absent"), no_file(), DEBIAN)
    assert [(a["action"], a["module"]) for a in actions] == [
        ("unload", "nft_flow_offload"), ("keep", "nf_flow_table_inet"), ("keep", "nf_flow_table")]
    assert "1 user, held by nftables objects such as a flowtable" in actions[1]["reason"]
    assert "used by nf_flow_table_inet" in actions[2]["reason"]


def test_plan_absent_with_nothing_loaded_or_written_is_empty():
    current = _kmod.inspect_modules(vm_host(), NAMES)
    assert _kmod.plan(current, desired(state="absent"), no_file(), DEBIAN) == []
    builtin = states(nf_flow_table="builtin", nf_flow_table_inet="builtin", nft_flow_offload="builtin")
    assert _kmod.plan(builtin, desired(state="absent"), no_file(), DEBIAN) == []


def test_plan_absent_openwrt_leaves_modules_used_by_other_modules():
    host = KmodHost(files={"/proc/sys/kernel/osrelease": "6.6.86\n", "/proc/modules": OWRT_PROC})
    current = _kmod.inspect_modules(host, NAMES)
    none = {"file": "", "present": False, "modules": [], "kind": "none", "content": ""}
    actions = _kmod.plan(current, desired(state="absent"), none, OPENWRT)
    assert [a["action"] for a in actions] == ["keep", "keep", "keep"]
    assert "2 users" in actions[0]["reason"]


# --- apply -----------------------------------------------------------------------------
def _modprobe_loads(host: KmodHost, cmd):
    name = cmd[-1]
    host.files["/proc/modules"] += f"{name} 16384 0 - Live 0x0000000000000000\n"
    return 0, "", ""


def test_apply_loads_writes_and_installs():
    host = vm_host()
    for name in NAMES:
        host.commands[("modprobe", name)] = _modprobe_loads
    actions = _kmod.plan(_kmod.inspect_modules(host, NAMES), desired(), no_file(), DEBIAN)
    assert _kmod.apply(host, actions, NAMES, REL) == []
    assert [c[1] for c in host.ran("modprobe")] == NAMES
    assert host.writes == [(_kmod.SYSTEMD_FILE, _kmod.render_file(NAMES))]
    assert {v["state"] for v in _kmod.module_states(host, NAMES).values()} == {"loaded"}


def test_apply_uses_insmod_when_modprobe_is_absent():
    host = KmodHost(bins=["insmod"], commands={("insmod", "nf_flow_table"): (0, "", "")})
    _kmod.apply(host, [{"action": "load", "module": "nf_flow_table"}], NAMES, REL)
    assert host.calls == [["/usr/sbin/insmod", "nf_flow_table"]]


def test_apply_reports_the_kernel_error_of_a_failed_load():
    host = vm_host(commands={("modprobe", "nf_flow_table_nosuch"): (1, "", MODPROBE_MISSING)})
    with pytest.raises(FlowOffloadError) as err:
        _kmod.apply(host, [{"action": "load", "module": "nf_flow_table_nosuch"}], NAMES, REL)
    assert "Module nf_flow_table_nosuch not found in directory /lib/modules/6.1.0-56-amd64" in err.value.msg
    assert err.value.details["rc"] == 1 and err.value.details["cmd"][0].endswith("modprobe")


def test_apply_unloads_with_rmmod_and_reports_in_use():
    host = vm_host(commands={("rmmod", "nft_flow_offload"): (0, "", ""),
                             ("rmmod", "nf_flow_table_inet"): (1, "", RMMOD_INUSE)})
    actions = [{"action": "unload", "module": "nft_flow_offload"},
               {"action": "unload", "module": "nf_flow_table_inet"}]
    with pytest.raises(FlowOffloadError, match="Module nf_flow_table_inet is in use"):
        _kmod.apply(host, actions, NAMES, REL)
    assert [c[0] for c in host.calls] == ["/usr/sbin/rmmod", "/usr/sbin/rmmod"]
    assert not host.ran("modprobe")


def test_apply_install_then_recheck():
    host = vm_host()
    host.bins["opkg"] = "/bin/opkg"
    host.files[f"{BASE}/modules.dep"] = ""

    def installs(h, cmd):
        h.files[f"{BASE}/modules.dep"] = DEP
        return 0, "Installing kmod-nft-offload\n", ""

    host.commands[("opkg", "install", "kmod-nft-offload")] = installs
    action = {"action": "install", "manager": "opkg", "packages": ["kmod-nft-offload"]}
    assert _kmod.apply(host, [action], NAMES, REL) == ["kmod-nft-offload"]
    bad = vm_host()
    bad.bins["opkg"] = "/bin/opkg"
    bad.files[f"{BASE}/modules.dep"] = ""
    bad.commands[("opkg", "install", "kmod-nft-offload")] = (0, "", "")
    with pytest.raises(FlowOffloadError, match="still missing for the running kernel"):
        _kmod.apply(bad, [action], NAMES, REL)


def test_apply_removes_file():
    host = vm_host(files={_kmod.SYSTEMD_FILE: "x\n"})
    _kmod.apply(host, [{"action": "remove", "file": _kmod.SYSTEMD_FILE}], NAMES, REL)
    assert _kmod.SYSTEMD_FILE not in host.files and host.removed == [_kmod.SYSTEMD_FILE]


def test_kernel_release_from_proc_then_uname():
    assert _kmod.kernel_release(vm_host()) == REL
    uname = KmodHost(bins=["uname"], commands={("uname", "-r"): (0, "6.6.86\n", "")})
    assert _kmod.kernel_release(uname) == "6.6.86"
    assert _kmod.kernel_release(KmodHost()) == ""

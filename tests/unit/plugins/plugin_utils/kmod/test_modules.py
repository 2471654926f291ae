# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel module readers: parsers, read sections, states, kernel config, boot-time list."""
from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    packages as _packages,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    parse as _kparse,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    plan as _kmod_plan,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import (
    host_from,
    release_read,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    Snapshot,
    read_host,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    ShellTarget,
    fixture,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.kmod_fake import (
    NAMES,
    REL,
    VM,
    host_sections,
    kmod_sections,
    module_tree,
    vm_sections,
)

SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}
BASE = f"/lib/modules/{REL}"
FRESH = fixture(f"{VM}-proc-modules-fresh.txt")
LOADED = fixture(f"{VM}-proc-modules-loaded.txt")
FLOWTABLE = fixture(f"{VM}-proc-modules-flowtable.txt")
DEP = fixture(f"{VM}-modules-dep-netfilter.txt")
BUILTIN = fixture(f"{VM}-modules-builtin.txt")
VM_ETC_MODULES = fixture(f"{VM}-etc-modules.txt")
HOST_ETC_MODULES = fixture("1.0.6-bookworm-kmod-host-etc-modules.txt")
HOST_CONFIG = fixture("1.0.6-bookworm-kmod-host-config.txt")
HOST_MODINFO = fixture("1.0.6-bookworm-kmod-host-modinfo-n-nf_flow_table.stderr").strip()
OWRT_PROC = fixture("1.1.1-openwrt2410-kmod-handmade-proc-modules.txt")
OWRT_LS = fixture("0.9.2-openwrt1907-kmod-handmade-lib-modules-ls.txt").split()


def states(sections, names=None):
    return _kmod.module_states_from(Snapshot(sections), NAMES if names is None else names)


# --- pure parsers ----------------------------------------------------------------------
def test_proc_modules_loaded_capture():
    mods = _kparse.parse_proc_modules(LOADED)
    assert mods["nf_flow_table"]["refcnt"] == 2
    assert mods["nf_flow_table"]["users"] == ["nft_flow_offload", "nf_flow_table_inet"]
    assert mods["nft_flow_offload"] == {"size": 16384, "refcnt": 0, "users": [], "state": "Live"}
    assert not {"nf_flow_table", "nft_flow_offload"} & set(_kparse.parse_proc_modules(FRESH))
    assert _kparse.parse_proc_modules(FLOWTABLE)["nf_flow_table_inet"]["refcnt"] == 1


def test_modules_builtin_and_dep_captures():
    builtin = _kparse.parse_modules_builtin(BUILTIN)
    assert "amd_uncore" in builtin  # file name amd-uncore.ko: '-' normalized to '_'
    assert "nf_flow_table" not in builtin
    dep = _kparse.parse_modules_dep(DEP)
    assert dep["nf_flow_table"] == "kernel/net/netfilter/nf_flow_table.ko"
    assert _kparse.parse_modules_dep("kernel/x/nf_flow_table.ko.xz: kernel/y.ko.xz\n") == {
        "nf_flow_table": "kernel/x/nf_flow_table.ko.xz"}


def test_kernel_config_capture():
    config = _kparse.parse_kernel_config(HOST_CONFIG)
    assert config["CONFIG_NF_FLOW_TABLE"] == "n" and config["CONFIG_MODULES"] == "n"
    assert _kparse.config_symbol("nft-flow-offload") == "CONFIG_NFT_FLOW_OFFLOAD"


def test_sys_and_modinfo_lines():
    assert _kparse.parse_sys_modules("nf_flow_table live 2 nf_flow_table_inet,nft_flow_offload,\nx - - -\n") == {
        "nf_flow_table": {"initstate": "live", "refcnt": 2, "users": ["nf_flow_table_inet", "nft_flow_offload"]},
        "x": {"initstate": None, "refcnt": 0, "users": []}}
    assert _kparse.parse_modinfo_lines(f"nf_flow_table 1 {HOST_MODINFO}\nnft_flow_offload 0 (builtin)\n") == {
        "nf_flow_table": (1, HOST_MODINFO), "nft_flow_offload": (0, "(builtin)")}


@pytest.mark.parametrize("bad", [["nf_flow_table; rm -rf /"], ["a b"], ["../x"], ["-r"], ["x/y"],
                                 [""], [5]])
def test_validate_modules_rejects_bad_names(bad):
    with pytest.raises(FlowOffloadError, match="^modules contains invalid"):
        _kmod.validate_modules(bad)
    with pytest.raises(FlowOffloadError, match="^modules contains invalid"):
        _kmod.module_reads(bad)


def test_validate_modules_empty_and_duplicates():
    with pytest.raises(FlowOffloadError, match="^modules must be a non-empty list"):
        _kmod.validate_modules([])
    assert _kmod.validate_modules(["nf-flow-table", "nf_flow_table", "x"]) == ["nf-flow-table", "x"]


# --- the read sections -----------------------------------------------------------------
def test_reads_share_keys_for_the_flow_modules_and_suffix_others():
    keys = [r.key for r in _kmod.module_reads(NAMES) if r.key.startswith("kmod:")]
    # builtin, dep and config come from one awk run (kmod:files), split on the controller
    assert keys == ["kmod:proc-modules", "kmod:files", "kmod:ls", "kmod:sys", "kmod:modinfo"]
    assert keys == [r.key for r in _kmod.module_reads(["nf_flow_table_ipv4"]) if r.key.startswith("kmod:")]
    other = [r.key for r in _kmod.module_reads(["nf_flow_table", "br-netfilter"]) if r.key.startswith("kmod:")]
    assert other[1:3] == ["kmod:files:br_netfilter", "kmod:ls:br_netfilter"]
    assert [r.key for r in _kmod.persistence_reads() if r.key.startswith("kmod:")] == [
        "kmod:etc-modules", "kmod:modules-load"]
    # the sections find /lib/modules/RELEASE through $fo_kr: the one release read comes first
    for reads in (_kmod.module_reads(), _packages.package_reads(), _kmod_plan.kmod_reads({})):
        keys = [r.key for r in reads]
        assert keys.index("host:osrelease") < min(i for i, k in enumerate(keys) if k.startswith("kmod:"))


def test_read_script_passes_shellcheck():
    script, _nonce = read_script(_kmod.module_reads(["nf_flow_table", "br-netfilter"]) + _kmod.persistence_reads())
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def _tree(tmp_path, monkeypatch, proc=FRESH):
    """A /lib/modules/$(uname -r) of the VM's captures and its /proc/modules, under tmp_path."""
    return module_tree(tmp_path, monkeypatch, DEP, proc, BUILTIN)


@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
def test_read_script_in_both_shells_gives_the_states_of_the_captured_tree(tmp_path, monkeypatch, shell):
    folder = _tree(tmp_path, monkeypatch, proc=LOADED)
    (tmp_path / "etc-modules").write_text(_kmod.edit_block(VM_ETC_MODULES, NAMES))
    target = ShellTarget(doubles=os.path.join(os.path.dirname(__file__), "..", "..", "..", "doubles", "kmod"),
                         shell=SHELLS[shell])
    snapshot = read_host(target, _kmod.module_reads(NAMES + ["nf_conntrack"]) + _kmod.persistence_reads())
    dep = snapshot.out("kmod:dep:nf_conntrack")
    assert dep is not None and all(
        line.split(":")[0].rsplit("/", 1)[-1].startswith(("nf_flow_table", "nft_flow_offload", "nf_conntrack."))
        for line in dep.splitlines())
    got = _kmod.module_states_from(snapshot, NAMES + ["nf_conntrack"])
    assert got["nf_flow_table"]["state"] == "loaded"
    assert got["nf_conntrack"] == {"state": "loaded", "path": f"{folder}/kernel/net/netfilter/nf_conntrack.ko",
                                   "evidence": "/proc/modules: Live, refcount 2, used by nft_flow_offload, nf_flow_table"}
    platform = dict(host_from(snapshot), init="sysv", os_family="Debian")
    assert _kmod.persistence_from(snapshot, platform) == {
        "file": str(tmp_path / "etc-modules"), "present": True, "modules": NAMES}
    assert snapshot.get("kmod:modules-load") == Section(2, "", "absent\n")
    # read_ls.sh: the flow module files and the extra names' (either spelling) in the folder
    for name in ("nf_flow_table.ko", "nf_conntrack.ko.xz", "nf-conntrack.ko", "nf_conntrack_ftp.ko", "x.ko"):
        (folder / name).write_text("")
    listing = read_host(target, _kmod.module_reads(["nf-conntrack"])).out("kmod:ls:nf_conntrack")
    assert sorted(listing.split()) == ["nf-conntrack.ko", "nf_conntrack.ko.xz", "nf_flow_table.ko"]


# --- states ----------------------------------------------------------------------------
def test_vm_fresh_boot_modules_are_available():
    result = states(vm_sections())
    assert result["nf_flow_table"] == {
        "state": "module", "path": f"{BASE}/kernel/net/netfilter/nf_flow_table.ko",
        "evidence": "modules.dep lists kernel/net/netfilter/nf_flow_table.ko"}
    assert {v["state"] for v in result.values()} == {"module"}


def test_vm_loaded_with_refcount_evidence():
    info = _kmod.inspect_from(Snapshot(vm_sections(LOADED)), NAMES)
    assert (info["nf_flow_table"]["state"], info["nf_flow_table"]["refcnt"]) == ("loaded", 2)
    assert info["nf_flow_table"]["evidence"] == (
        "/proc/modules: Live, refcount 2, used by nft_flow_offload, nf_flow_table_inet")
    assert set(states(vm_sections(LOADED))["nf_flow_table"]) == {"state", "path", "evidence"}


def test_host_without_module_support_is_missing_with_evidence():
    sections = {**host_sections("6.18.44-fc-v657"),
                **kmod_sections(config=HOST_CONFIG,
                                modinfo={n: (1, HOST_MODINFO.replace("nf_flow_table", n)) for n in NAMES})}
    result = states(sections)
    assert {v["state"] for v in result.values()} == {"missing"}
    ev = result["nf_flow_table"]["evidence"]
    assert "/proc/modules unreadable" in ev and "modinfo: ERROR: Module nf_flow_table not found." in ev
    assert "CONFIG_NF_FLOW_TABLE is not set in /proc/config.gz" in ev
    assert "no /lib/modules/6.18.44-fc-v657/modules.builtin" in ev
    assert _kmod.module_support_from(Snapshot(sections)) is False
    assert _kmod.kernel_config_from(Snapshot(sections)) == {
        "file": "/proc/config.gz", "CONFIG_MODULES": "n", "CONFIG_NF_FLOW_TABLE": "n"}
    assert _kmod.module_support_from(Snapshot(vm_sections())) is True
    assert _kmod.module_support_from(Snapshot({})) is None
    assert _kmod.kernel_config_from(Snapshot({})) == {"file": None}


def test_builtin_from_modules_builtin_sys_module_config_and_modinfo():
    listed = vm_sections(builtin="kernel/net/netfilter/nf_flow_table.ko\n")
    assert states(listed, ["nf_flow_table"])["nf_flow_table"]["state"] == "builtin"
    sys_only = {**host_sections("6.6.0"), **kmod_sections(sys_lines="nf_flow_table - - -\n")}
    got = states(sys_only, ["nf_flow_table"])["nf_flow_table"]
    assert got["state"] == "builtin" and "without initstate" in got["evidence"]
    cfg = {**host_sections("6.6.0"), **kmod_sections(config="CONFIG_NFT_FLOW_OFFLOAD=y\n",
                                                     config_source="/boot/config-6.6.0")}
    assert states(cfg, ["nft_flow_offload"])["nft_flow_offload"] == {
        "state": "builtin", "path": None, "evidence": "CONFIG_NFT_FLOW_OFFLOAD=y in /boot/config-6.6.0"}
    path = "/lib/modules/6.6.0/updates/nf_flow_table.ko"
    modinfo = {"nf_flow_table": (0, path), "nft_flow_offload": (0, "(builtin)")}
    info = {**host_sections("6.6.0"), **kmod_sections(proc="", modinfo=modinfo)}
    got = states(info, ["nf_flow_table", "nft_flow_offload"])
    assert got["nf_flow_table"] == {"state": "module", "path": path, "evidence": f"modinfo -n: {path}"}
    assert got["nft_flow_offload"]["state"] == "builtin"


def test_loaded_seen_through_sys_module_when_proc_unreadable():
    sections = {**host_sections("6.6.0"),
                **kmod_sections(sys_lines="nf_flow_table live 2 nf_flow_table_inet,nft_flow_offload,\n")}
    info = _kmod.inspect_from(Snapshot(sections), ["nf_flow_table"])["nf_flow_table"]
    assert (info["state"], info["refcnt"]) == ("loaded", 2)
    assert info["users"] == ["nf_flow_table_inet", "nft_flow_offload"]


def test_openwrt_flat_tree_with_old_names():
    sections = {**host_sections("4.14.180", openwrt=True), **kmod_sections(proc=OWRT_PROC, listing=OWRT_LS)}
    names = ["nf_flow_table", "nf_flow_table_ipv4", "nf_flow_table_hw", "nf_flow_table_inet"]
    result = states(sections, names)
    assert result["nf_flow_table"]["state"] == "loaded"
    assert result["nf_flow_table_ipv4"] == {
        "state": "module", "path": "/lib/modules/4.14.180/nf_flow_table_ipv4.ko",
        "evidence": "/lib/modules/4.14.180 lists nf_flow_table_ipv4.ko"}
    assert result["nf_flow_table_hw"]["state"] == "module"


def test_openwrt_without_module_support_kmodloader_tree():
    """The captured rootfs: no /proc/modules (lsmod is kmodloader: rc 255, no output)."""
    sections = {**host_sections("6.6.86", openwrt=True), **kmod_sections(listing=[])}
    result = states(sections)
    assert {v["state"] for v in result.values()} == {"missing"}
    assert _kmod.module_support_from(Snapshot(sections)) is None


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


def test_persistence_from_per_platform():
    systemd = {"os_family": "Debian", "init": "systemd"}
    sysv = {"os_family": "Debian", "init": "sysv"}
    written = Snapshot(kmod_sections(modules_load=_kmod.render_file(NAMES)))
    assert _kmod.persistence_from(written, systemd) == {"file": _kmod.SYSTEMD_FILE, "present": True, "modules": NAMES}
    assert _kmod.persistence_from(Snapshot(kmod_sections()), systemd)["present"] is False
    block = Snapshot(kmod_sections(etc_modules=_kmod.edit_block(VM_ETC_MODULES, ["nf_flow_table"])))
    assert _kmod.persistence_from(block, sysv) == {"file": "/etc/modules", "present": True,
                                                   "modules": ["nf_flow_table"]}
    assert _kmod.persistence_from(Snapshot(kmod_sections(etc_modules=VM_ETC_MODULES)), sysv)["present"] is False
    assert _kmod.persistence_from(written, {"os_family": "OpenWrt", "init": "procd"}) == {
        "file": "", "present": False, "modules": []}
    state = _kmod.persistence_state_from(Snapshot(kmod_sections()), systemd)
    assert (state["exists"], state["content"], state["key"]) == (False, "", "kmod:modules-load")


def test_config_gz_like_the_read_script_prints_it():
    """gzip -dc | grep keeps only the symbols the readers use (the config is 100 KB)."""
    text = gzip.decompress(gzip.compress(HOST_CONFIG.encode())).decode()
    kept = [line for line in text.splitlines() if re.search(_kmod.CONFIG_RE, line)]
    assert "# CONFIG_MODULES is not set" in kept and len(kept) < 10


@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
@pytest.mark.parametrize("config", ["boot", "gz", "none"])
def test_one_awk_prints_what_a_grep_of_each_file_printed(tmp_path, config, shell):
    release = os.uname().release  # what /proc/sys/kernel/osrelease says
    tree = tmp_path / "lib" / "modules" / release
    tree.mkdir(parents=True)
    (tree / "modules.builtin").write_text("kernel/net/core/x.ko\nkernel/net/netfilter/nf_flow_table.ko\n"
                                          "kernel/net/netfilter/nf_flow_table_inetx.ko.zst.bak\n")
    (tree / "modules.dep").write_text(
        "kernel/net/netfilter/nft_flow_offload.ko.xz: kernel/net/netfilter/nf_flow_table.ko.xz\n"
        "kernel/net/sched/act_ct.ko.xz: kernel/net/netfilter/nf_flow_table.ko.xz\n"
        "kernel/net/netfilter/nf_flow_table_inet.ko.xz: kernel/net/netfilter/nf_flow_table.ko.xz\n")
    conf = "CONFIG_MODULES=y\nCONFIG_NF_FLOW_TABLE=m\n# CONFIG_NF_FLOW_TABLE_IPV4 is not set\nCONFIG_NFT=m\n"
    (tmp_path / "boot").mkdir()
    if config == "boot":
        (tmp_path / "boot" / f"config-{release}").write_text(conf)
    elif config == "gz":
        (tmp_path / "config.gz").write_bytes(gzip.compress(conf.encode()))
    builtin_re, dep_re = _kmod.file_res(_kmod.FLOW_NAMES_RE)
    code = (_kmod._files_code(str(tmp_path / "lib" / "modules"), builtin_re, dep_re)
            .replace("/boot/config-", f"{tmp_path}/boot/config-").replace("/proc/config.gz", f"{tmp_path}/config.gz"))
    reads = [release_read(), Read("kmod:files", code, expand=_kmod._split_files(""))]  # $fo_kr: the release read
    snap = read_host(ShellTarget(shell=SHELLS[shell]), reads)

    def grep(regex, path):
        proc = subprocess.run(["grep", "-E", regex, str(path)], capture_output=True, text=True, check=False)
        return proc.stdout
    assert snap.out("kmod:builtin") == grep(builtin_re, tree / "modules.builtin") == "kernel/net/netfilter/nf_flow_table.ko\n"
    assert snap.out("kmod:dep") == grep(dep_re, tree / "modules.dep")
    assert snap.out("kmod:dep").count("\n") == 2  # act_ct depends on it but is not one of them
    if config == "none":
        assert snap.get("kmod:config").rc == 2 and "no /proc/config.gz" in snap.get("kmod:config").err
        assert _kmod.kernel_config_from(snap) == {"file": None}
    else:
        source = f"{tmp_path}/config.gz" if config == "gz" else f"{tmp_path}/boot/config-{release}"
        (tmp_path / "plain").write_text(conf)
        assert snap.out("kmod:config") == f"# source: {source}\n" + grep(_kmod.CONFIG_RE, tmp_path / "plain")
        assert _kmod.kernel_config_from(snap)["CONFIG_NF_FLOW_TABLE"] == "m"
        assert "CONFIG_NFT" not in _kmod.kernel_config_from(snap)
    # a file that is not there fails its own section only, as before (rc 2, absent: PATH)
    (tree / "modules.dep").unlink()
    reads = [release_read(), Read("kmod:files", code, expand=_kmod._split_files(""))]  # $fo_kr: the release read
    snap = read_host(ShellTarget(shell=SHELLS[shell]), reads)
    assert snap.get("kmod:dep").rc == 2 and snap.get("kmod:dep").err == f"absent: {tree}/modules.dep\n"
    assert snap.out("kmod:builtin") == "kernel/net/netfilter/nf_flow_table.ko\n"

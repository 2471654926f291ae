# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_kmod's planning from captured snapshots, its apply spec, finish and run_kmod."""
from __future__ import annotations

import os
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
    plan as _kmod_plan,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import (
    ATTEMPTS,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    Section,
    Snapshot,
    Step,
    apply_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.kmod_fake import (
    NAMES,
    openwrt,
    params,
    plan_of,
    REL,
    VM,
    host_sections,
    kmod_sections,
    vm_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    lab_root,
    shell,
)

FRESH = fixture(f"{VM}-proc-modules-fresh.txt")
LOADED = fixture(f"{VM}-proc-modules-loaded.txt")
FLOWTABLE = fixture(f"{VM}-proc-modules-flowtable.txt")
VM_ETC_MODULES = fixture(f"{VM}-etc-modules.txt")
OWRT_PROC = fixture("1.1.1-openwrt2410-kmod-handmade-proc-modules.txt")
MODPROBE_MISSING = fixture(f"{VM}-modprobe-missing.stderr")
RMMOD_INUSE = fixture(f"{VM}-rmmod-inuse.stderr")
CONF = _kmod.render_file(NAMES)
__all__ = ["shell"]  # the fixture pytest finds through this module


# --- input -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    ({"modules": ["nf_flow_table; flush ruleset"]}, "^modules contains invalid"),
    ({"modules": ["-r"]}, "^modules contains invalid"),
    ({"modules": []}, "^modules must be a non-empty list"),
    ({"package": "--force-yes"}, "^package '--force-yes' is not a package name"),
    ({"package": "a b"}, "^package 'a b' is not a package name"),
])
def test_bad_input_fails_before_any_script(bad, match):
    target = FakeTarget(vm_sections())
    with pytest.raises(FlowOffloadError, match=match):
        _kmod_plan.run_kmod(target, params(**bad), False)
    assert target.round_trips == 0


# --- plan from captured snapshots ------------------------------------------------------
def test_fresh_vm_loads_all_and_writes_the_file():
    plan = plan_of(vm_sections())
    assert plan.result["loaded"] == NAMES and plan.result["changed"] is True
    assert plan.result["modules"] == {n: "loaded" for n in NAMES}
    assert plan.result["persist_file"] == _kmod.SYSTEMD_FILE
    assert plan.result["diff"]["before"] == "" and plan.result["diff"]["after"] == CONF
    spec = plan.spec
    assert [s.key for s in spec.pre] == [f"kmod:load:{n}" for n in NAMES]
    assert [s.code for s in spec.pre] == [f"modprobe {n}" for n in NAMES]
    assert [(f.path, f.content) for f in spec.files] == [(_kmod.SYSTEMD_FILE, CONF)]
    assert [(e.key, e.out) for e in spec.expect] == [("kmod:modules-load", _kmod_plan.ABSENT)]
    assert spec.post == [] and spec.nft == []
    assert {r.key for r in spec.readback} >= {"kmod:proc-modules", "kmod:files"}
    # of the host reads only the release: the read-back's module folder ($fo_kr)
    assert [r.key for r in spec.readback if r.key.startswith("host:")] == ["host:osrelease"]


def test_idempotent_when_loaded_and_persisted():
    plan = plan_of(vm_sections(LOADED, modules_load=CONF))
    assert not plan.spec.changes() and plan.result["changed"] is False
    assert plan.result["loaded"] == [] and plan.result["persist_file"] == _kmod.SYSTEMD_FILE


def test_block_in_etc_modules_without_systemd_keeps_other_lines():
    plan = plan_of(vm_sections(LOADED, systemd=False))
    assert [(f.path, f.content) for f in plan.spec.files] == [
        ("/etc/modules", _kmod.edit_block(VM_ETC_MODULES, NAMES))]
    assert plan.spec.expect[0].out == VM_ETC_MODULES and plan.spec.expect[0].key == "kmod:etc-modules"
    assert plan.result["persist_file"] == "/etc/modules"
    again = plan_of(vm_sections(LOADED, systemd=False, etc_modules=_kmod.edit_block(VM_ETC_MODULES, NAMES)))
    assert not again.spec.changes()


def test_builtin_needs_nothing_and_is_not_persisted():
    sections = vm_sections(builtin="kernel/net/netfilter/nf_flow_table.ko\nkernel/net/netfilter/nf_flow_table_inet.ko\n")
    plan = plan_of(sections)
    assert plan.result["loaded"] == ["nft_flow_offload"]
    assert plan.spec.files[0].content == _kmod.render_file(["nft_flow_offload"])
    all_builtin = vm_sections(builtin="".join(f"kernel/net/netfilter/{n}.ko\n" for n in NAMES), modules_load=CONF)
    plan = plan_of(all_builtin)
    assert [(f.path, f.content) for f in plan.spec.files] == [(_kmod.SYSTEMD_FILE, None)]
    assert plan.result["persist_file"] == ""


def test_not_persistent_removes_earlier_entries_and_leaves_modules():
    plan = plan_of(vm_sections(LOADED, modules_load=CONF), persistent=False)
    assert [(f.path, f.content) for f in plan.spec.files] == [(_kmod.SYSTEMD_FILE, None)]
    assert plan.spec.expect[0].out == CONF and plan.spec.pre == [] and plan.spec.post == []
    assert plan.result["persist_file"] == ""


def test_missing_on_debian_fails_naming_the_package_and_the_option():
    sections = vm_sections(dep="", modinfo={n: (1, f"modinfo: ERROR: Module {n} not found.") for n in NAMES})
    with pytest.raises(FlowOffloadError) as err:
        plan_of(sections)
    assert "provided by linux-image-6.1.0-56-amd64" in err.value.msg
    assert "package: linux-image-6.1.0-56-amd64" in err.value.msg
    assert "modinfo: ERROR: Module nf_flow_table not found." in err.value.details["evidence"]
    with pytest.raises(FlowOffloadError, match=r"\['nf_flowtable'\] are not flow offload module names"):
        plan_of(vm_sections(names=["nf_flowtable"], dep=""), modules=["nf_flowtable"])


def test_missing_without_module_support_fails_even_with_package():
    sections = {**host_sections("6.18.44-fc-v657"),
                **kmod_sections(config=fixture("1.0.6-bookworm-kmod-host-config.txt"))}
    with pytest.raises(FlowOffloadError, match="without loadable module support"):
        plan_of(sections, package="linux-image-amd64")


def test_missing_with_package_installs_checks_then_loads():
    sections = vm_sections(dep=fixture(f"{VM}-modules-dep-netfilter.txt").replace("nf_flow_table_inet", "gone"))
    plan = plan_of(sections, package="linux-image-6.1.0-56-amd64")
    assert plan.result["installed"] == ["linux-image-6.1.0-56-amd64"]
    assert [s.key for s in plan.spec.pre] == ["kmod:install", "kmod:install-check"] + [
        f"kmod:load:{n}" for n in NAMES]
    assert plan.spec.pre[0].code == ("env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                                     "--no-install-recommends -o Dpkg::Options::=--force-confold "
                                     "linux-image-6.1.0-56-amd64")
    assert "nf_flow_table_inet" in plan.spec.pre[1].code and "nft_flow_offload" not in plan.spec.pre[1].code


def test_openwrt_installs_kmod_nft_offload_and_writes_nothing():
    plan = plan_of(openwrt(proc=""), package="ignored")
    assert plan.result["installed"] == ["kmod-nft-offload"] and plan.result["persist_file"] == ""
    assert [s.key for s in plan.spec.pre][:2] == ["kmod:install", "kmod:install-check"]
    assert "opkg install kmod-nft-offload" in plan.spec.pre[0].code
    assert plan.spec.files == [] and plan.spec.expect == []
    with pytest.raises(FlowOffloadError, match="neither opkg nor apk"):
        plan_of(openwrt(proc="", tools=("modprobe",)))


def test_openwrt_already_loaded_is_one_round_trip():
    target = FakeTarget(openwrt(proc=OWRT_PROC))
    result = _kmod_plan.run_kmod(target, params(), False)
    assert result["changed"] is False and target.round_trips == 1
    assert result["modules"] == {n: "loaded" for n in NAMES} and result["persist_file"] == ""


def test_absent_unloads_in_dependency_order_after_removing_the_file():
    plan = plan_of(vm_sections(LOADED, modules_load=CONF), state="absent")
    assert [(f.path, f.content) for f in plan.spec.files] == [(_kmod.SYSTEMD_FILE, None)]
    assert [s.code for s in plan.spec.post] == ["rmmod nft_flow_offload", "rmmod nf_flow_table_inet",
                                                "rmmod nf_flow_table"]
    assert plan.spec.pre == []
    assert plan.result["unloaded"] == ["nft_flow_offload", "nf_flow_table_inet", "nf_flow_table"]
    assert plan.result["modules"] == {n: "module" for n in NAMES}


def test_absent_keeps_modules_in_use_by_a_flowtable_with_a_warning():
    plan = plan_of(vm_sections(FLOWTABLE), state="absent")
    assert [s.code for s in plan.spec.post] == ["rmmod nft_flow_offload"]
    assert len(plan.result["warnings"]) == 2
    assert "1 user, held by nftables objects such as a flowtable" in plan.result["warnings"][0]
    assert "used by nf_flow_table_inet" in plan.result["warnings"][1]


def test_absent_after_our_own_objects_go_unloads_them_best_effort():
    snapshot = Snapshot(vm_sections(FLOWTABLE))
    plan = _kmod_plan.plan_kmod(snapshot, params(state="absent"), False, released=True)
    steps = plan.spec.post
    assert [s.key for s in steps] == ["kmod:unload:nft_flow_offload", "kmod:unload:nf_flow_table_inet",
                                      "kmod:unload:nf_flow_table"]
    assert steps[0].check and not steps[1].check and not steps[2].check
    assert "sleep 1" in steps[1].code and plan.result["warnings"] == []


def test_a_best_effort_unload_that_fails_is_a_warning():
    snapshot = Snapshot(vm_sections(FLOWTABLE))
    plan = _kmod_plan.plan_kmod(snapshot, params(state="absent"), False, released=True)
    after = Snapshot(vm_sections(FLOWTABLE)).sections
    res = ApplyResult("ok", "-", Snapshot({**after, "kmod:unload:nf_flow_table_inet": sec("", 1, "rmmod: ERROR: Module nf_flow_table_inet is in use\n")}),
                      "", "", 0)
    out = _kmod_plan.finish_kmod(plan, res)
    assert "nf_flow_table_inet stays loaded" in out["warnings"][0] and "in use" in out["warnings"][0]


def test_absent_on_openwrt_keeps_everything_used_and_changes_nothing():
    target = FakeTarget(openwrt(proc=OWRT_PROC))
    result = _kmod_plan.run_kmod(target, params(state="absent"), False)
    assert result["changed"] is False and target.round_trips == 1 and len(result["warnings"]) == 3


def test_insmod_when_there_is_no_modprobe():
    sections = {**vm_sections(), **host_sections(tools=("insmod", "rmmod"))}
    assert plan_of(sections).spec.pre[0].code == "insmod nf_flow_table"


# --- run_kmod with the fake target -----------------------------------------------------
def test_change_is_two_round_trips_and_reports_the_read_back(tmp_path, shell):
    target = lab_root(tmp_path, shell)  # the real scripts on the lab VM: the second run re-reads the root
    result = _kmod_plan.run_kmod(target, params(), False)
    assert target.round_trips == 2 and len(target.applies) == 1
    assert result["changed"] is True and result["loaded"] == NAMES
    assert result["modules"] == {n: "loaded" for n in NAMES}
    assert target.read(_kmod.SYSTEMD_FILE) == CONF and all(f"\n{n} " in "\n" + target.read("/proc/modules") for n in NAMES)
    again = _kmod_plan.run_kmod(target, params(), False)
    assert again["changed"] is False and again["loaded"] == [] and target.round_trips == 3


def test_check_mode_is_one_round_trip_and_predicts():
    target = FakeTarget(vm_sections())
    result = _kmod_plan.run_kmod(target, params(), True)
    assert target.round_trips == 1 and result["changed"] is True and result["loaded"] == NAMES


def test_modprobe_exit_0_without_a_loaded_module_is_an_error():
    target = FakeTarget(vm_sections(), apply_sections={"kmod:proc-modules": sec(FRESH)})
    with pytest.raises(FlowOffloadError, match="modprobe exited 0 but"):
        _kmod_plan.run_kmod(target, params(), False)


@pytest.mark.parametrize("result, section, match", [
    ("stale kmod:modules-load", None, "the host changed while planning .* nothing was changed; run again"),
    ("failed stage:/etc/modules-load.d/flowoffload.conf",
     Section(1, "", "printf: write error: No space left on device"),
     "cannot write /etc/modules-load.d/flowoffload.conf: printf: write error: No space left on device; nothing was changed"),
    ("failed kmod:load:nf_flow_table", Section(1, "", MODPROBE_MISSING), "loading kernel module nf_flow_table failed .*not found"),
    ("failed kmod:load:nf_flow_table", Section(255, "", ""), "kmodloader, which fails silently"),
    ("failed lock", Section(1, "", "another flowoffload.nft run holds /run/flowoffload.lock"), "could not take the host lock"),
])
def test_apply_failures_name_the_cause(result, section, match):
    key = result.split(" ", 1)[1]
    sections = {key: section} if section else {}
    target = FakeTarget(vm_sections(), apply_sections=sections, result=result)
    with pytest.raises(FlowOffloadError, match=match):
        _kmod_plan.run_kmod(target, params(), False)
    # a stale apply is read, planned and applied again (the driver's attempts), else one apply
    assert target.round_trips == (2 * ATTEMPTS if result.startswith("stale") else 2)


def test_rmmod_failure_carries_its_message():
    plan = plan_of(vm_sections(LOADED), state="absent")
    res = ApplyResult("failed-after", "kmod:unload:nf_flow_table_inet",
                      Snapshot({"kmod:unload:nf_flow_table_inet": Section(1, "", RMMOD_INUSE)}), "", "", 3)
    with pytest.raises(FlowOffloadError, match="rmmod nf_flow_table_inet, rc=1.*is in use"):
        _kmod_plan.finish_kmod(plan, res)


def test_lost_apply_output():
    plan = plan_of(vm_sections())
    with pytest.raises(FlowOffloadError, match="ended without a result"):
        _kmod_plan.finish_kmod(plan, ApplyResult("lost", "", Snapshot({}), "", "Connection reset", 255))


def test_empty_read_output_is_an_error():
    class Dead:
        round_trips = 0

        def run_script(self, script):
            return 127, "", "/bin/sh: not found"
    with pytest.raises(FlowOffloadError, match="read script printed nothing"):
        _kmod_plan.run_kmod(Dead(), params(), False)


# --- the install step's failures ------------------------------------------------------
def test_install_failure_messages_from_the_captures():
    update_out = ("fo: opkg update\nDownloading https://downloads.openwrt.org/releases/24.10.2/targets/x86/64/packages/Packages.gz\n"
                  "fo: update-failed 3\n")
    msg = _packages.install_failure_message("opkg", ["kmod-nft-offload"], update_out,
                                            "wget: bad address 'downloads.openwrt.org'\n", 3)
    assert msg.startswith("installing kmod-nft-offload with opkg failed: 'opkg update' could not fetch")
    assert "https://downloads.openwrt.org/releases/24.10.2/targets/x86/64/packages/Packages.gz" in msg
    unknown = fixture("1.1.1-openwrt2410-kmod-handmade-opkg-install-unknown.stderr")
    msg = _packages.install_failure_message("opkg", ["kmod-nft-offload"], "fo: install-failed 255\n", unknown, 255)
    assert "no feed offers kmod-nft-offload" in msg
    msg = _packages.install_failure_message("apt", ["x"], "E: boom\nfo: install-failed 100\n", "", 100)
    assert msg == "installing x with apt failed (rc=100): E: boom"


@pytest.mark.parametrize("manager", ["opkg", "apk", "apt", "dnf"])
def test_apply_scripts_pass_shellcheck(manager):
    plan = plan_of(vm_sections(LOADED, modules_load=CONF), state="absent")
    spec = plan.spec
    spec.pre.append(Step("kmod:install", _packages.install_code(manager, ["kmod-nft-offload"])))
    spec.pre.append(Step("kmod:install-check", _kmod_plan._check_installed_code(NAMES, REL)))  # pylint: disable=protected-access
    script, _nonce = apply_script(spec)
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_release_in_paths_comes_from_the_host_reader():
    plan = plan_of(vm_sections())
    assert plan.platform["kernel"] == REL and os.path.basename(plan.result["persist_file"]) == "flowoffload.conf"

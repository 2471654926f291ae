# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's decisions (what roles/gateway/vars/main.yml and its tasks decided in Jinja)."""
from __future__ import annotations

import copy
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import rules
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.inputs import (
    validate_inputs,
)

READY = {"state": "loaded"}
FACTS: dict[str, t.Any] = {
    "platform": {"os_family": "Debian", "distribution": "debian", "firewall": "nftables", "init": "systemd"},
    "kernel": {
        "modules": {"nf_flow_table": READY, "nf_flow_table_inet": READY, "nft_flow_offload": READY},
        "software_offload": {"supported": True, "message": "the kernel accepts flowtables"},
        "persistence": {"file": "/etc/modules-load.d/flowoffload.conf", "present": True,
                        "modules": ["nf_flow_table", "nf_flow_table_inet", "nft_flow_offload"]},
    },
    "interfaces": {
        "eth0": {"hardware_offload": "unsupported", "hardware_offload_reason": "virtio_net has no TC_SETUP_FT"},
        "eth1": {"hardware_offload": "supported", "hardware_offload_reason": "mtk_soc_eth"},
    },
    "candidate_devices": ["eth0", "eth1"],
    "conflicts": [],
}
NETDEVS = {"lo", "eth0", "eth1"}


def facts(**changes: t.Any) -> dict[str, t.Any]:
    out = copy.deepcopy(FACTS)
    for path, value in changes.items():
        node = out
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return out


def decide(params: dict[str, t.Any], fct: dict[str, t.Any] | None = None, netdevs: t.Any = None) -> rules.Decision:
    return rules.decide(validate_inputs(params), FACTS if fct is None else fct, NETDEVS if netdevs is None else netdevs)


# --- the former Jinja programs ----------------------------------------------------------------
@pytest.mark.parametrize("profile, want", [
    ("auto", ["platform", "kernel", "interfaces", "conflicts"]), ("off", ["platform", "kernel"]),
])
def test_subsets(profile: str, want: list) -> None:
    assert rules.subsets_for(validate_inputs({"profile": profile})) == want
    assert rules.subsets_for(validate_inputs({"profile": profile, "verify": True}))[-1] == ("flows" if profile != "off" else "kernel")


@pytest.mark.parametrize("backend, firewall, want", [
    ("auto", "fw4", "fw4"), ("auto", "nftables", "nft"), ("auto", None, "nft"), ("nft", "fw4", "nft"), ("fw4", "nftables", "fw4"),
])
def test_effective_backend(backend: str, firewall: t.Any, want: str) -> None:
    assert rules.effective_backend(backend, {"platform": {"firewall": firewall}}) == want
    assert rules.effective_backend("auto", {}) == "nft"


def test_selected_devices() -> None:
    assert rules.selected_devices(validate_inputs({}), FACTS) == ["eth0", "eth1"]
    assert rules.selected_devices(validate_inputs({}), {}) == []
    assert rules.selected_devices(validate_inputs({"devices": "eth1"}), FACTS) == ["eth1"]


def test_hw_refused_lines() -> None:
    assert rules.hw_refused(["eth0", "eth1", "eth9"], FACTS) == [
        "eth0: unsupported, virtio_net has no TC_SETUP_FT",
        "eth9: unknown, the device was not found on the host",
    ]


def test_conflict_lines() -> None:
    conflicts = [{"kind": "qdisc", "device": "eth0", "detail": "cake shapes egress"},
                 {"kind": "ipsec", "device": "", "detail": "xfrm policy"}, {}]
    assert rules.conflict_lines({"conflicts": conflicts}) == [
        "qdisc on eth0: cake shapes egress", "ipsec: xfrm policy", "conflict: "]


def test_modules_and_persistence() -> None:
    fct = facts(kernel__modules={"nf_flow_table": {"state": "builtin"}, "nf_flow_table_inet": {"state": "module"},
                                 "nft_flow_offload": READY})
    assert rules.modules_not_ready(fct) == ["nf_flow_table_inet"]
    assert rules.modules_loadable(fct) == ["nf_flow_table_inet", "nft_flow_offload"]
    fct["kernel"]["persistence"]["modules"] = ["nf_flow_table_inet", "nft_flow_offload"]
    assert not rules.persistence_missing(fct)  # builtin needs no boot-time line
    fct["kernel"]["persistence"]["modules"] = ["nf_flow_table_inet"]
    assert rules.persistence_missing(fct)
    fct["kernel"]["persistence"]["file"] = ""  # OpenWrt: no list of ours
    assert not rules.persistence_missing(fct)


@pytest.mark.parametrize("platform, package, hint", [
    ({"distribution": "OpenWrt", "os_family": "OpenWrt"}, "kmod-nft-offload", "install kmod-nft-offload"),
    ({"distribution": "debian", "os_family": "Debian"}, None, "linux-image-amd64"),
    ({"distribution": "rocky", "os_family": "RedHat"}, None, "kernel-modules-core"),
    ({"distribution": "arch", "os_family": "Archlinux"}, None, "CONFIG_NF_FLOW_TABLE"),
])
def test_platform_data(platform: dict, package: t.Any, hint: str) -> None:
    data = rules.platform_data(platform)
    assert data["package"] == package and hint in data["hint"]


def test_flows_line() -> None:
    assert rules.flows_line({"total": 5, "offload": 2, "hw_offload": 1}) == \
        "2 software-offloaded and 1 hardware-offloaded of 5 conntrack entries."
    assert "(none offloaded yet" in rules.flows_line(None)


# --- decide: the profiles ------------------------------------------------------------------------
def test_auto_on_a_ready_host_runs_only_the_flowtable_and_sysctl() -> None:
    dec = decide({})
    assert dec.backend == "nft" and dec.devices == ["eth0", "eth1"] and dec.kmod is None and dec.sysctl
    assert dec.flowtable == {
        "name": "ft", "family": "inet", "table": "flowoffload", "chain": None, "backend": "nft", "persist": True,
        "state": "present", "devices": ["eth0", "eth1"], "priority": "filter", "offload": "auto", "counter": True,
        "protocols": ["tcp", "udp"], "missing_devices": "skip"}
    assert dec.warnings == [] and dec.report == []


@pytest.mark.parametrize("profile, offload", [("software", False), ("hardware", True), ("auto", "auto")])
def test_offload_mode_per_profile(profile: str, offload: t.Any) -> None:
    dec = decide({"profile": profile, "devices": ["eth1"]})
    assert dec.flowtable["offload"] == offload and dec.flowtable["missing_devices"] == "fail"


def test_modules_not_loaded_bring_offload_kmod_with_the_package_of_the_platform() -> None:
    fct = facts(kernel__modules={"nf_flow_table": {"state": "module"}, "nf_flow_table_inet": {"state": "missing"},
                                 "nft_flow_offload": READY})
    dec = decide({}, fct)
    assert dec.kmod == {"state": "present", "persistent": True, "modules": rules.MODULES, "package": None}
    assert dec.loading_modules
    fct["platform"] = {"distribution": "OpenWrt", "os_family": "OpenWrt", "firewall": "fw4"}
    dec = decide({}, fct)
    assert dec.kmod["package"] == "kmod-nft-offload" and dec.backend == "fw4" and dec.flowtable["devices"] is None


def test_missing_boot_list_entry_brings_offload_kmod_without_loading() -> None:
    dec = decide({}, facts(kernel__persistence={"file": "/etc/modules", "present": False, "modules": []}))
    assert dec.kmod is not None and not dec.loading_modules


def test_off_removes_flowtable_modules_list_and_sysctl_file() -> None:
    dec = decide({"profile": "off"})
    assert dec.flowtable == {"name": "ft", "family": "inet", "table": "flowoffload", "chain": None,
                             "backend": "nft", "persist": True, "state": "absent"}
    assert dec.kmod == {"state": "absent", "persistent": True, "modules": rules.MODULES, "package": None}
    assert dec.remove_sysctl and dec.sysctl and dec.devices == []
    dec = decide({"profile": "off"}, facts(kernel__persistence={"file": "/etc/modules", "present": False}))
    assert dec.kmod is None


def test_off_ignores_devices_that_do_not_exist() -> None:
    assert decide({"profile": "off", "devices": "eth9"}, netdevs=set()).flowtable["state"] == "absent"


# --- decide: the checks before any change ----------------------------------------------------------
@pytest.mark.parametrize("profile", ["auto", "software", "hardware"])
def test_listed_device_that_does_not_exist_is_refused(profile: str) -> None:
    with pytest.raises(FlowOffloadError) as err:
        decide({"profile": profile, "devices": "eth1,eth9,eth8"})
    assert err.value.msg.startswith("gateway_devices: eth9, eth8 do not exist on this host (devices found: eth0, eth1, lo)")
    assert "Nothing was changed" in err.value.msg


def test_auto_devices_that_vanish_are_left_to_the_flowtable_skip() -> None:
    dec = decide({}, netdevs={"eth0"})
    assert dec.devices == ["eth0", "eth1"] and dec.flowtable["missing_devices"] == "skip"


def test_fw4_ignores_a_device_list_with_a_warning() -> None:
    dec = decide({"devices": ["eth9"], "backend": "fw4"})
    assert dec.flowtable["devices"] is None and "gateway_devices is ignored with the fw4 backend" in dec.warnings[0]


UNSUPPORTED = facts(kernel__software_offload={"supported": False, "message": "the kernel answered ENOENT"})


def test_auto_without_kernel_support_reports_and_changes_nothing() -> None:
    dec = decide({"tcp_timeout": 30}, UNSUPPORTED)
    assert dec.unsupported == "the kernel answered ENOENT"
    assert dec.kmod is None and dec.flowtable is None and not dec.sysctl and dec.devices == []
    assert dec.report == ["no flow offload: the kernel answered ENOENT. Nothing was changed. To enable it: "
                          + rules.PLATFORM_DATA["Debian"]["hint"] + "."]


@pytest.mark.parametrize("params, tail", [
    ({"profile": "software"}, ". Nothing was changed"),
    ({"profile": "hardware"}, ". Nothing was changed"),
    ({"profile": "auto", "fail_unsupported": True}, "; or leave gateway_fail_unsupported false to only report it. Nothing was changed"),
])
def test_kernel_without_support_fails_with_the_install_hint(params: dict, tail: str) -> None:
    with pytest.raises(FlowOffloadError) as err:
        decide(params, UNSUPPORTED)
    msg = err.value.msg
    assert msg.startswith(f"gateway_profile={params['profile']} needs flowtables, but this kernel has none: the kernel answered ENOENT.")
    assert "To fix: boot a Debian/Ubuntu kernel" in msg and msg.endswith(tail)


def test_unknown_kernel_support_goes_on() -> None:
    assert decide({}, facts(kernel__software_offload={"supported": None, "message": "nft missing"})).flowtable


CONFLICTS = facts(conflicts=[{"kind": "qdisc", "device": "eth0", "detail": "cake"}])


def test_conflicts_warn() -> None:
    assert decide({}, CONFLICTS).warnings == ["offloaded packets bypass qdisc on eth0: cake"]


def test_conflicts_fail() -> None:
    with pytest.raises(FlowOffloadError, match="gateway_conflicts=fail stops here: qdisc on eth0: cake"):
        decide({"conflicts": "fail"}, CONFLICTS)


def test_no_devices() -> None:
    with pytest.raises(FlowOffloadError, match=r"no devices to offload: the facts found no forwarding device \(candidate_devices is empty\)"):
        decide({}, facts(candidate_devices=[]))
    with pytest.raises(FlowOffloadError, match="no devices to offload: gateway_devices is empty"):
        decide({"devices": []})
    assert decide({"backend": "fw4"}, facts(candidate_devices=[])).flowtable["backend"] == "fw4"


def test_hardware_refuses_incapable_devices() -> None:
    with pytest.raises(FlowOffloadError) as err:
        decide({"profile": "hardware"})
    assert "these cannot: eth0: unsupported, virtio_net has no TC_SETUP_FT. Use gateway_profile=auto" in err.value.msg
    assert decide({"profile": "hardware", "devices": ["eth1"]}).flowtable["offload"] is True


def test_hardware_on_openwrt_warns_that_acceptance_proves_nothing() -> None:
    fct = facts(platform={"distribution": "OpenWrt", "os_family": "OpenWrt", "firewall": "fw4"})
    dec = decide({"profile": "hardware", "devices": ["eth1"]}, fct)
    assert rules.OPENWRT_HW_WARNING in dec.warnings


# --- a kernel that lacks the modules a package provides (issue 16) ----------------------------------
MISSING = {"state": "missing"}
NO_FT = {"supported": False, "message": "the kernel rejected a flowtable with ENOENT"}


def lacking(platform: dict[str, t.Any], config: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
    return facts(platform=platform, kernel__software_offload=NO_FT, kernel__config=config or {"file": None},
                 kernel__modules={"nf_flow_table": MISSING, "nf_flow_table_inet": MISSING, "nft_flow_offload": MISSING})


OPENWRT = {"os_family": "OpenWrt", "distribution": "OpenWrt", "package_manager": "opkg", "firewall": "fw4",
           "kernel": "6.6.86"}


@pytest.mark.parametrize("platform, support, config, want", [
    (OPENWRT, None, None, ("opkg", ("kmod-nft-offload",))),
    (dict(OPENWRT, package_manager="apk"), True, None, ("apk", ("kmod-nft-offload",))),
    ({"os_family": "Debian", "distribution": "ubuntu", "package_manager": "apt", "kernel": "6.8.0-45-generic"}, True,
     {"CONFIG_NF_FLOW_TABLE": "m"},
     ("apt", ("linux-modules-6.8.0-45-generic", "linux-modules-extra-6.8.0-45-generic"))),
    ({"os_family": "RedHat", "package_manager": "dnf", "kernel": "5.14.0-427.el9.x86_64"}, None, None,
     ("dnf", ("kernel-modules-5.14.0-427.el9.x86_64",))),
])
def test_installable_names_the_manager_and_the_running_kernels_packages(platform, support, config, want) -> None:
    install, why = rules.installable(lacking(platform, config), support)
    assert install is not None and (install.manager, install.packages) == want and why == ""
    assert install.missing == ("nf_flow_table", "nf_flow_table_inet", "nft_flow_offload")


@pytest.mark.parametrize("platform, support, config, why", [
    (OPENWRT, False, None, "without loadable module support"),
    (OPENWRT, None, {"file": "/proc/config.gz", "CONFIG_NF_FLOW_TABLE": "n"}, "built without CONFIG_NF_FLOW_TABLE"),
    (dict(OPENWRT, package_manager="none"), None, None, "opkg or apk was not found"),
    ({"os_family": "Alpine", "package_manager": "apk", "kernel": "6.6.58-0-lts"}, True, None, "no package of"),
])
def test_no_package_can_help(platform, support, config, why) -> None:
    install, reason = rules.installable(lacking(platform, config), support)
    assert install is None and why in reason


def test_a_missing_package_turns_into_the_install_with_the_flowtable_planned() -> None:
    decision = rules.decide(validate_inputs({"profile": "software"}), lacking(OPENWRT), NETDEVS, None)
    assert decision.install is not None and not decision.unsupported
    assert decision.kmod is not None and decision.loading_modules and decision.flowtable is not None


def test_install_turned_off_reports_and_fails_naming_the_variable() -> None:
    decision = rules.decide(validate_inputs({"install_packages": False}), lacking(OPENWRT), NETDEVS, None)
    assert decision.install is None and decision.unsupported
    assert "install kmod-nft-offload (opkg), or set gateway_install_packages: true" in decision.report[0]
    with pytest.raises(FlowOffloadError, match="To fix: install kmod-nft-offload .opkg., or set gateway_install"):
        rules.decide(validate_inputs({"profile": "software", "install_packages": "false"}), lacking(OPENWRT), NETDEVS)


def test_without_module_support_the_hint_says_no_package_helps() -> None:
    decision = rules.decide(validate_inputs({}), lacking(OPENWRT), NETDEVS, False)
    assert decision.install is None and "no package can add the flow offload modules: boot a kernel" in decision.report[0]


def test_hardware_cannot_be_judged_before_the_install() -> None:
    fct = lacking(OPENWRT)
    fct["interfaces"] = {"eth0": {"hardware_offload": "unknown", "hardware_offload_reason": "kernel without flowtables"}}
    with pytest.raises(FlowOffloadError, match="no device can be judged yet: run gateway_profile=auto"):
        rules.decide(validate_inputs({"profile": "hardware", "devices": "eth0", "backend": "nft"}), fct, NETDEVS, None)


def test_install_line_says_would_or_did_with_the_size() -> None:
    install = rules.Install("opkg", ("kmod-nft-offload",), ("nft_flow_offload",))
    sized = [{"name": "kmod-nft-offload", "installed_size": 20480, "download_size": None, "note": "opkg info"}]
    assert rules.install_line(install, sized, done=False).startswith(
        "would install kmod-nft-offload with opkg (modules nft_flow_offload are missing")
    assert "kmod-nft-offload: installed size 20480 bytes (opkg info)" in rules.install_line(install, sized, done=True)
    assert "size unknown" in rules.install_line(install, [], done=True)

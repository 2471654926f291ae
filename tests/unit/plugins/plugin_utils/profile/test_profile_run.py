# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_profile: the gateway role in one read and at most one apply.

Snapshots of whole profiles come from the lab VM's captures (Debian 12, kernel
6.1.0-56-amd64 with flowtables, nft 1.0.6; lan0/wan0 are veth, eth0 virtio_net) and the
OpenWrt captures: host, facts, modules, flowtable and sysctl sections as the one read
script of ``offload_profile`` prints them (``lab_vm``, built with the other planners' test
helpers; test_offload_profile.py uses it too).
"""
from __future__ import annotations

import os
import subprocess
import typing as t

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import run as R
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import rules
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import sysctl as ps
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.inputs import validate_inputs
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Section, Snapshot
from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import facts_fake as ff
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import ft_helpers as fh
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import kmod_fake as kf
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import FakeTarget, fixture, sec

VMC = "1.0.6-bookworm-vm-capture-"
KV = "1.0.6-bookworm-kmod-vm-"
EOPNOTSUPP = fixture("1.0.6-bookworm-vm-facts-probe-hardware-veth-eopnotsupp.stderr")
SW_ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
TOOLS = ("nft", "ip", "tc", "ethtool", "modprobe", "rmmod", "modinfo", "apt-get", "dpkg", "systemctl")
DEVICES = ("eth0", "lan0", "lo", "wan0")
ONE = "1.0.6-bookworm-handmade-ft-owned-one"  # table flowoffload, ft on lan0 + wan0, software


def sysctl_sections(file: str | None, running: t.Mapping[str, int]) -> dict[str, Section]:
    return {ps.FILE_KEY: sec("absent\n" if file is None else "present\n" + file),
            ps.RUNNING_KEY: sec("".join(f"{name}={value}\n" for name, value in running.items()))}


def lab_vm(*, modules_loaded: bool = True, boot_list: bool = True, table: str | None = ONE,
           ft_files: t.Mapping[str, str] | None = None, sysctl_file: str | None = None,
           running: t.Mapping[str, int] | None = None, software: Section = sec("")) -> dict[str, Section]:
    """The lab VM. ``table``: the owned table's listing fixture (None: no table);
    ``ft_files``: the flowtable's persistence files ({"file": ..., "unit": ...})."""
    link = fixture(VMC + "ip-link.json")
    out: dict[str, Section] = {}
    out.update(kf.host_sections(tools=TOOLS))
    out["host:netdevs"] = sec("".join(d + "\n" for d in DEVICES))
    out["host:systemd-units"] = sec("Id=firewalld.service\nActiveState=inactive\nUnitFileState=\n\n"
                                    "Id=nftables.service\nActiveState=active\nUnitFileState=enabled\n")
    out.update(kf.kmod_sections(
        proc=fixture(KV + ("proc-modules-loaded.txt" if modules_loaded else "proc-modules-fresh.txt")),
        dep=fixture(KV + "modules-dep-netfilter.txt"), builtin=fixture(KV + "modules-builtin.txt"),
        listing=["build", "kernel", "modules.dep", "modules.builtin", "modules.alias"], modinfo={},
        etc_modules=fixture(KV + "etc-modules.txt"),
        modules_load=_kmod.render_file(list(_kmod.DEFAULT_MODULES)) if boot_list else None))
    out.update({"kmod:pkg-db": sec(""), "kmod:pkg-files": sec(""), "kmod:pkg-owner": sec(""),
                "kmod:pkg-size": sec(""), "facts:shaping": sec("")})
    out.update(ff.dev_sections(link, drivers={"eth0": "virtio_net"}))
    out.update({
        fr.ETH_PREFIX + "eth0": ff.eth_section("virtio_net", fixture(VMC + "ethtool-k-eth0.txt")),
        fr.ETH_PREFIX + "lan0": ff.eth_section("veth", fixture(VMC + "ethtool-k-lan0.txt")),
        fr.ETH_PREFIX + "wan0": ff.eth_section("veth", fixture(VMC + "ethtool-k-wan0.txt")),
        fr.K_SYSCTL: ff.sysctl_section({"nf_flowtable_tcp_timeout": 30, "nf_flowtable_udp_timeout": 30,
                                        "ip_forward": 1, "ipv6_forwarding": 1}),
        fr.K_NFT_VERSION: sec(fixture(VMC + "nft-version.txt")),
        fr.K_IP_LINK: sec(link),
        fr.K_PPPOE: sec(""),
        fr.K_ROUTE4: sec("[]\n"),
        fr.K_ROUTE6: sec("[]\n"),
        fr.K_ADDR: sec(fixture(VMC + "ip-addr.json")),
        fr.K_PROC_ROUTES: sec(""),
        fr.K_FLOWS: sec("source=/proc/net/nf_conntrack\n" + ff.count_like_target(fixture(VMC + "nf-conntrack.txt"))),
        fr.K_QDISC: sec(fixture(VMC + "tc-qdisc.json")),
        fr.K_XFRM: sec(""),
        fr.K_NFQUEUE: sec(ff.nfqueue_like_target(fixture(VMC + "list-ruleset.txt"))),
        "probe:batch": ff.probe_batch_section(
            software.err.split("Error: Could not process rule: ", 1)[-1].splitlines()[0] if software.rc else None,
            {dev: "Operation not supported" for dev in DEVICES if dev != "lo"}),
    })
    json_sec, text_sec = fh.listing(table)
    files = dict(ft_files or {})
    out.update({
        "ft:table-json": json_sec, "ft:table-text": text_sec,
        **fh.file_sections(files),
        "ft:unit-enabled": sec("enabled\n") if "unit" in files else sec("disabled\n", 1),
    })
    running = dict(running if running is not None else {
        "net.netfilter.nf_flowtable_tcp_timeout": 30, "net.netfilter.nf_flowtable_udp_timeout": 30,
        "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1})
    if not modules_loaded:
        running = {k: v for k, v in running.items() if "nf_flowtable" not in k}
    out.update(sysctl_sections(sysctl_file, running))
    return out


# --- helpers ------------------------------------------------------------------------------------
TIMEOUT = "net.netfilter.nf_flowtable_tcp_timeout"


def params(**changes: t.Any) -> dict[str, t.Any]:
    """offload_profile's params as the action gets them (argspec defaults filled)."""
    result = ArgumentSpecValidator(ARGUMENT_SPEC).validate(changes)
    assert not result.error_messages
    return dict(result.validated_parameters)


def ft_files(**changes: t.Any) -> dict[str, str]:
    """The persistence files a first run writes for the profile's flowtable."""
    inputs = validate_inputs(params(**changes))
    ft_params = P.filled("flowtable", rules.flowtable_params(inputs, "nft", list(inputs.devices or ())))
    plan = R.plan_flowtable(Snapshot(lab_vm(table=None)), ft_params, False)
    return fh.written(plan.spec)


def configured(sysctl: t.Mapping[str, int] | None = None, **changes: t.Any) -> dict[str, Section]:
    """The lab VM after a run of the profile (modules, boot list, table, files, sysctl file)."""
    running = {TIMEOUT: 30, "net.netfilter.nf_flowtable_udp_timeout": 30, "net.ipv4.ip_forward": 1,
               "net.ipv6.conf.all.forwarding": 1}
    running.update(sysctl or {})
    return lab_vm(ft_files=ft_files(**changes), sysctl_file=ps.render_file(dict(sysctl or {})), running=running)


def readback(state: t.Mapping[str, Section], table: str | None = ONE) -> dict[str, Section]:
    """What an apply script's read-back prints on a host in ``state``."""
    json_sec, text_sec = fh.listing(table)
    return dict(state, **{"ft:after-json": json_sec, "ft:after-text": text_sec})


LAN_WAN = {"devices": "lan0,wan0"}
PRISTINE = dict(modules_loaded=False, boot_list=False, table=None)  # the lab VM before any run (or after off)


# --- the read ---------------------------------------------------------------------------------
def test_one_read_script_holds_every_part() -> None:
    inputs = validate_inputs(params(**LAN_WAN))
    reads = P.profile_reads(inputs, P.filled("offload_kmod", {}), rules.flowtable_params(inputs, "nft", ["lan0", "wan0"]))
    keys = {r.key.split(":")[0] for r in reads}
    assert keys == {"host", "facts", "kmod", "ft", "fw4", "probe", "sysctl"}
    target = FakeTarget(configured(**LAN_WAN))
    P.run_profile(target, params(**LAN_WAN), False)
    # every section the read script asks for is answered by the snapshot of the lab VM
    # (a read with expand is answered by the sections it splits into: kmod:files)
    asked = {r.key for r in reads if not r.dynamic and r.expand is None}
    missing = sorted(k for k in asked if k not in target.sections and not k.startswith("fw4:"))
    assert missing == []


def test_read_and_apply_scripts_pass_shellcheck() -> None:
    target = FakeTarget(lab_vm(**PRISTINE), apply_sections=readback(configured(sysctl={TIMEOUT: 60}, **LAN_WAN)))
    P.run_profile(target, params(tcp_timeout=60, **LAN_WAN), False)
    assert len(target.scripts) == 2
    for script in target.scripts:
        proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[:3000]


# --- round trips ------------------------------------------------------------------------------
def test_idempotent_run_is_one_round_trip_and_no_apply() -> None:
    target = FakeTarget(configured(**LAN_WAN))
    out = P.run_profile(target, params(**LAN_WAN), False)
    assert target.round_trips == 1 and not target.applies
    assert {k: out[k] for k in P.RESULT_KEYS} == {
        "profile": "auto", "backend": "nft", "devices": ["lan0", "wan0"], "hardware_offload": False,
        "fallback_reason": out["fallback_reason"], "changed": False, "flows": {}, "installed": []}
    # veth cannot offload to hardware: auto falls back to software and says why
    assert out["fallback_reason"].startswith("the kernel did not accept 'flags offload' on lan0, wan0")
    assert set(out["parts"]) == {"flowtable", "sysctl"} and "diff" not in out


def test_idempotent_run_with_timeouts_and_forwarding() -> None:
    wanted = {TIMEOUT: 45, "net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1}
    target = FakeTarget(configured(sysctl=wanted, **LAN_WAN))
    out = P.run_profile(target, params(tcp_timeout=45, forwarding=True, **LAN_WAN), False)
    assert out["changed"] is False and target.round_trips == 1


def test_changing_run_off_to_auto_is_two_round_trips_with_one_ordered_apply() -> None:
    after = configured(sysctl={TIMEOUT: 60}, **LAN_WAN)
    target = FakeTarget(lab_vm(**PRISTINE), apply_sections=readback(after), after_apply=after)
    out = P.run_profile(target, params(tcp_timeout=60, **LAN_WAN), False)
    assert target.round_trips == 2 and len(target.applies) == 1
    assert out["changed"] is True and out["devices"] == ["lan0", "wan0"] and set(out["parts"]) == {"kmod", "flowtable", "sysctl"}
    facts = out["ansible_facts"]["flowoffload"]  # the facts of the one read, as offload_facts gives them
    assert {"platform", "kernel", "interfaces", "conflicts"} <= set(facts) and "lan0" in facts["interfaces"]
    script = target.applies[0]
    order = [script.index(word) for word in (
        "modprobe nf_flow_table\n",                          # kmod: pre
        "\nadd flowtable inet flowoffload ft",               # flowtable: the nft batch (not the loader lines of the staged file)
        "nft -f \"$fo_t/batch\"",
        "mv -f /etc/modules-load.d/flowoffload.conf.fo-new",  # files moved after the batch
        "mv -f /etc/sysctl.d/90-flowoffload.conf.fo-new",
        "systemctl enable flowoffload-inet-flowoffload.service",  # flowtable: post
        "sysctl -e -p /etc/sysctl.d/90-flowoffload.conf",    # sysctl: post, after the modules
        'fo_head kmod:proc-modules\n',                     # the read-back
    )]
    assert order == sorted(order)
    assert f"{TIMEOUT} = 60" in script
    assert [d["before_header"] for d in out["diff"]][0] == "/etc/modules-load.d/flowoffload.conf"
    # the host as the apply left it: the next run changes nothing in one round trip
    again = FakeTarget(target.sections)
    assert P.run_profile(again, params(tcp_timeout=60, **LAN_WAN), False)["changed"] is False
    assert again.round_trips == 1


def test_check_mode_predicts_in_one_round_trip() -> None:
    target = FakeTarget(lab_vm(**PRISTINE))
    out = P.run_profile(target, params(tcp_timeout=60, **LAN_WAN), True)
    assert out["changed"] is True and target.round_trips == 1 and not target.applies
    assert out["devices"] == ["lan0", "wan0"] and out["diff"]


def test_auto_devices_come_from_the_facts() -> None:
    target = FakeTarget(lab_vm(**PRISTINE))
    out = P.run_profile(target, params(), True)
    assert out["devices"] and set(out["devices"]) <= {"eth0", "lan0", "wan0"}
    assert "for fo_pp in /sys/class/net/*" in target.scripts[0]  # the probes cover every device


# --- issue 9 point 5: the sysctl file is managed ---------------------------------------------------
def test_a_sysctl_file_deleted_by_hand_is_restored() -> None:
    state = configured(sysctl={TIMEOUT: 30}, **LAN_WAN)
    state.update(sysctl_sections(None, {TIMEOUT: 30}))
    after = configured(sysctl={TIMEOUT: 30}, **LAN_WAN)
    target = FakeTarget(state, apply_sections=readback(after))
    out = P.run_profile(target, params(tcp_timeout=30, **LAN_WAN), False)
    assert out["changed"] and set(n for n, r in out["parts"].items() if r["changed"]) == {"sysctl"}
    assert "mv -f /etc/sysctl.d/90-flowoffload.conf.fo-new" in target.applies[0] and "nft -f" not in target.applies[0]


def test_off_removes_everything_and_the_flowtable_goes_before_the_modules() -> None:
    state = configured(sysctl={TIMEOUT: 30}, **LAN_WAN)
    after = lab_vm(**PRISTINE)
    target = FakeTarget(state, apply_sections=readback(after, None), after_apply=after)
    out = P.run_profile(target, params(profile="off"), False)
    assert out["changed"] and out["devices"] == [] and out["profile"] == "off"
    script = target.applies[0]
    assert "delete table inet flowoffload" in script
    assert "rm -f /etc/sysctl.d/90-flowoffload.conf" in script and "rm -f /etc/modules-load.d/flowoffload.conf" in script
    again = FakeTarget(target.sections)
    assert P.run_profile(again, params(profile="off"), False)["changed"] is False and again.round_trips == 1


def test_off_removes_a_sysctl_file_left_alone() -> None:
    state = lab_vm(**PRISTINE, sysctl_file=ps.render_file({TIMEOUT: 30}))
    target = FakeTarget(state, apply_sections=readback(lab_vm(**PRISTINE), None))
    out = P.run_profile(target, params(profile="off"), False)
    assert out["changed"] and target.round_trips == 2 and "rm -f /etc/sysctl.d/90-flowoffload.conf" in target.applies[0]


def test_off_removes_the_lock_file_an_earlier_version_left() -> None:
    """Issue 16 point 5: the lock stayed in /tmp where /run is missing. The apply's own lock is
    gone after every apply now; off also removes what an earlier version left behind."""
    state = dict(lab_vm(**PRISTINE), **{P.LEFTOVERS_KEY: sec("/tmp/flowoffload.lock\n")})
    target = FakeTarget(state, apply_sections={}, after_apply=dict(lab_vm(**PRISTINE), **{P.LEFTOVERS_KEY: sec("")}))
    check = P.run_profile(FakeTarget(state), params(profile="off"), True)
    assert check["changed"] is True and check["parts"]["lock"] == {"changed": True, "removed": ["/tmp/flowoffload.lock"]}
    out = P.run_profile(target, params(profile="off"), False)
    assert out["changed"] is True and target.round_trips == 2
    assert "for fo_x in /tmp/flowoffload.lock; do" in target.applies[0]
    again = P.run_profile(target, params(profile="off"), False)
    assert again["changed"] is False and target.round_trips == 3
    # the read asks for every path a lock can have had (flock files and mkdir directories)
    script = target.scripts[0]
    assert "for fo_x in /run/flowoffload.lock /run/flowoffload.lock.d /tmp/flowoffload.lock /tmp/flowoffload.lock.d" in script


def test_off_leftover_removal_under_busybox_keeps_a_live_holders_directory(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import script as T
    from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import ShellTarget
    run_dir, tmp_dir = tmp_path / "run", tmp_path / "tmp"
    run_dir.mkdir()
    tmp_dir.mkdir()
    monkeypatch.setattr(T, "LOCK_DIRS", (str(run_dir), str(tmp_dir)))
    (tmp_dir / "flowoffload.lock").write_text("")          # flock file of an earlier version
    (tmp_dir / "flowoffload.lock.d").mkdir()                # a mkdir lock whose holder lives (this test)
    (tmp_dir / "flowoffload.lock.d" / "pid").write_text(f"{os.getpid()}\n")
    found = "\n".join(str(p) for p in (tmp_dir / "flowoffload.lock", tmp_dir / "flowoffload.lock.d")) + "\n"
    plan = P.plan_leftovers(Snapshot({P.LEFTOVERS_KEY: sec(found)}))
    script, nonce = T.apply_script(plan.spec)
    res = T.parse_apply(*ShellTarget().run_script(script), nonce)
    assert res.ok, res.stdout
    assert sorted(p.name for p in tmp_dir.iterdir()) == ["flowoffload.lock.d"] and not list(run_dir.iterdir())


# --- issue 9 point 4: nothing changes before every input is checked ----------------------------------
@pytest.mark.parametrize("changes, needle", [
    ({"priority": "sometimes"}, "gateway_priority: 'sometimes'"),
    ({"tcp_timeout": -1}, "gateway_tcp_timeout: -1"),
    ({"udp_timeout": 100000000}, "gateway_udp_timeout: 100000000 is too large"),
    ({"devices": ["eth0; flush ruleset"]}, "gateway_devices: 'eth0; flush ruleset'"),
    ({"table": "flow"}, "gateway_table: 'flow'"),
])
def test_bad_inputs_are_refused_before_any_script(changes: dict, needle: str) -> None:
    target = FakeTarget(lab_vm(**PRISTINE))
    with pytest.raises(FlowOffloadError) as err:
        P.run_profile(target, params(**changes), False)
    assert needle in err.value.msg and target.round_trips == 0


def test_unknown_role_variable_is_refused_before_any_script() -> None:
    target = FakeTarget(lab_vm(**PRISTINE))
    names = ["gateway_profile", "gateway_profle", "inventory_hostname"]
    with pytest.raises(FlowOffloadError, match="gateway_profle .did you mean gateway_profile"):
        P.run_profile(target, params(check_role_vars=True), False, names)
    assert target.round_trips == 0
    # silenced, or not asked for (the module used on its own)
    P.run_profile(FakeTarget(configured(**LAN_WAN)), params(check_role_vars=True, allowed_extra_vars=["gateway_profle"], **LAN_WAN), False, names)
    P.run_profile(FakeTarget(configured(**LAN_WAN)), params(**LAN_WAN), False, names)


@pytest.mark.parametrize("profile", ["auto", "software"])
def test_a_listed_device_that_does_not_exist_stops_after_the_read(profile: str) -> None:
    target = FakeTarget(lab_vm(**PRISTINE))
    with pytest.raises(FlowOffloadError, match="gateway_devices: eth9 does not exist on this host"):
        P.run_profile(target, params(profile=profile, devices="lan0,eth9"), False)
    assert target.round_trips == 1 and not target.applies


def test_bootstrap_python_warns_and_does_nothing() -> None:
    out = P.run_profile(FakeTarget(configured(**LAN_WAN)), params(bootstrap_python=True, **LAN_WAN), False)
    assert out["changed"] is False and any("gateway_bootstrap_python is deprecated" in w for w in out["warnings"])


# --- kernels without flowtables ----------------------------------------------------------------------
NO_FT = dict(PRISTINE, software=Section(1, "", SW_ENOENT))


def test_auto_on_a_kernel_without_flowtables_reports_and_changes_nothing() -> None:
    target = FakeTarget(lab_vm(**NO_FT))
    out = P.run_profile(target, params(tcp_timeout=60, **LAN_WAN), False)
    assert target.round_trips == 1 and out["changed"] is False and out["devices"] == []
    assert out["fallback_reason"] and out["report"][0].startswith("no flow offload: ")
    assert "linux-image-amd64" in out["report"][0] and out["parts"] == {}


@pytest.mark.parametrize("changes", [{"profile": "software"}, {"fail_unsupported": True}])
def test_required_offload_on_a_kernel_without_flowtables_fails_before_any_change(changes: dict) -> None:
    target = FakeTarget(lab_vm(**NO_FT))
    with pytest.raises(FlowOffloadError, match="needs flowtables, but this kernel has none"):
        P.run_profile(target, params(**changes, **LAN_WAN), False)
    assert target.round_trips == 1


# --- a router whose image lacks kmod-nft-offload (issue 16) ------------------------------------------
FW4_FT_JSON = ('{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"flowtable": {"family": "inet", "name": "ft", '
               '"table": "fw4", "handle": 1, "hook": "ingress", "prio": 0, "dev": ["br-lan", "wan0"]}}]}\n')
# ../shared/openwrt/captures/real-kernel/40: fw4's flowtable as nft lists it
FW4_FT_TEXT = "table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { br-lan, wan0 }\n\t\tcounter\n\t}\n}\n"


def capture(manager: str, case: str) -> Section:
    """A case of the OpenWrt captures as a section (stdout, rc, stderr)."""
    parts = [fixture(f"openwrt/{manager}/{case}.{ext}") for ext in ("out", "rc", "err")]
    return Section(int(parts[1]), parts[0], parts[2])


def openwrt_router(manager: str = "opkg", *, module_support: bool = True, **over: Section) -> dict[str, Section]:
    """The captured router (fw4 started, offloading unset, no kmod-nft-offload, the kernel
    without flowtables), with fw4's reads. ``module_support``: the kernel could load the
    package's modules (a stock OpenWrt kernel; the captures' own kernel could not)."""
    out = dict(ff.openwrt_sections(manager))
    out.update({
        "fw4:flow_offloading": capture(manager, "02-uci-get-flow_offloading-unset"),
        "fw4:flow_offloading_hw": capture(manager, "02-uci-get-flow_offloading-unset"),
        "fw4:defaults": capture(manager, "03-uci-get-defaults-name"), "fw4:changes": sec(""),
        "fw4:config": capture(manager, "01-uci-show-firewall-default"),
        "fw4:interfaces": capture(manager, "04-ubus-network-interface-dump"),
        "fw4:ft-json": sec('{"nftables": [{"metainfo": {"version": "1.0.6"}}]}\n'),
        "fw4:ft-text": capture(manager, "13-nft-list-flowtables-after-failed-reload"),
        "kmod:pkg-size": sec("@ " + manager + "\n"),
        "ft:table-json": Section(1, "", "Error: No such file or directory\n"), "ft:table-text": Section(1, "", ""),
    })
    if not module_support:
        out["kmod:config"] = sec("# source: /proc/config.gz\n# CONFIG_MODULES is not set\n")
    out.update(over)
    return out


def test_openwrt_without_loadable_modules_reports_that_no_package_helps() -> None:
    target = FakeTarget(openwrt_router("apk", module_support=False))
    out = P.run_profile(target, params(), False)
    assert out["backend"] == "fw4" and out["changed"] is False and target.round_trips == 1
    assert "without loadable module support" in out["report"][0] and out["installed"] == []


@pytest.mark.parametrize("manager", ["opkg", "apk"])
def test_openwrt_without_kmod_nft_offload_installs_loads_rechecks_then_configures(manager: str) -> None:
    """Issue 16: the probe says unsupported because the package is missing; the role installs it
    as the apply's first step, loads the modules, probes again, then turns fw4's option on."""
    size_line = "Installed-Size 20480" if manager == "opkg" else "I 20480"
    readback = {"fw4:flow_offloading": sec("1\n"), "fw4:flow_offloading_hw": sec("1\n"),
                "fw4:ft-json": sec(FW4_FT_JSON), "fw4:ft-text": sec(FW4_FT_TEXT)}
    target = FakeTarget(openwrt_router(manager), apply_sections={
        "kmod:install": sec(f"fo: size kmod-nft-offload {size_line}\n"),
        "kmod:ls": sec("nf_flow_table.ko\nnf_flow_table_inet.ko\nnft_flow_offload.ko\n"),
        "kmod:sys": sec("".join(f"{m} live 0 -\n" for m in rules.MODULES)),
        "fw4:apply": sec("@fo4 result ok -\n"), **readback})
    check = P.run_profile(target, params(profile="software"), True)
    assert check["changed"] is True and target.round_trips == 1 and not target.applies
    assert check["report"][-1].startswith(f"would install kmod-nft-offload with {manager} (modules ")
    assert check["packages"][0]["name"] == "kmod-nft-offload" and check["packages"][0]["installed_size"] is None
    assert "unknown before the install" in check["report"][-1]
    assert check["parts"]["flowtable"]["commands"][0] == "uci set 'firewall.@defaults[0].flow_offloading=1'"
    out = P.run_profile(target, params(profile="software"), False)
    assert target.round_trips == 3 and len(target.applies) == 1
    assert out["changed"] is True and out["installed"] == ["kmod-nft-offload"]
    assert out["packages"][0]["installed_size"] == 20480
    assert out["report"][-1].startswith(f"installed kmod-nft-offload with {manager}")
    script = target.applies[0]
    # install first, then the loads, then the probe again, then fw4
    order = ["fo_emit kmod:install ", "fo_emit kmod:install-check "]
    order += [f"fo_emit kmod:load:{m} " for m in rules.MODULES]
    order += [f"fo_emit {P.RECHECK_KEY} ", "fo_emit fw4 "]
    assert [script.index(o) for o in order] == sorted(script.index(o) for o in order)
    assert f"{manager} {'install' if manager == 'opkg' else 'add'} kmod-nft-offload" in script


def test_openwrt_install_turned_off_reports_the_package_and_the_variable() -> None:
    target = FakeTarget(openwrt_router("opkg"))
    out = P.run_profile(target, params(install_packages=False), False)
    assert out["changed"] is False and target.round_trips == 1
    assert "install kmod-nft-offload (opkg), or set gateway_install_packages: true" in out["report"][0]
    with pytest.raises(FlowOffloadError, match="gateway_install_packages: true"):
        P.run_profile(FakeTarget(openwrt_router("opkg")), params(profile="software", install_packages=False), False)


@pytest.mark.parametrize("manager,update,install", [
    ("opkg", "23-opkg-update-no-network", "22-opkg-install-kmod-nft-offload-no-feed"),
    ("apk", None, "25-apk-add-kmod-nft-offload-no-feed"),
])
def test_no_reachable_feed_fails_naming_package_feeds_and_the_managers_words(
        manager: str, update: str | None, install: str) -> None:
    """The install step's output as install_code prints it from the captured tools (opkg: no
    lists, so update first, rc 3; apk: add refused, rc 1, then update, not captured)."""
    if update:
        run = capture(manager, update)
        out = f"fo: opkg update\n{run.out}fo: update-failed {run.rc}\n"
        err = run.err
        rc = run.rc
    else:
        run = capture(manager, install)
        out = f"{run.out}{run.err}fo: opkg update\n"
        out = f"{run.out}{run.err}fo: apk update\nfo: update-failed 1\n"
        err = "WARNING: fetching https://downloads.openwrt.org/releases/25.12.0/targets/x86/64/packages/packages.adb: DNS lookup error\n"
        rc = 1
    feeds = ("src/gz openwrt_core https://downloads.openwrt.org/releases/24.10.2/targets/x86/64/packages\n"
             if manager == "opkg" else "https://downloads.openwrt.org/releases/25.12.0/targets/x86/64/packages/packages.adb\n")
    out += "".join(f"fo: feed {line}\n" for line in feeds.splitlines())
    target = FakeTarget(openwrt_router(manager), apply_sections={"kmod:install": sec(out, rc, err)},
                        result="failed kmod:install")
    with pytest.raises(FlowOffloadError) as exc:
        P.run_profile(target, params(), False)
    msg = exc.value.msg
    assert msg.startswith(f"installing kmod-nft-offload with {manager} failed: '{manager} update' could not fetch")
    assert f"feeds: {feeds.strip()}" in msg
    said = capture(manager, update or install)
    words = [line.strip() for line in (said.out + said.err).splitlines() if line.strip()
             and not line.startswith("Downloading")]
    # the package manager's words from the start, cut at a line (the rest is in stdout/stderr)
    assert f"{manager} said: {words[0]}" in msg
    assert all(word in msg for word in words[:3]) and ("more characters in" in msg) == (len(" ".join(words)) > 700)
    assert "Nothing was changed" in msg and "gateway_install_packages: false" in msg
    # the whole output stays in the result
    assert exc.value.details["stdout"] == out and exc.value.details["stderr"] == err


def test_still_refused_after_the_install_stops_before_the_flowtable() -> None:
    target = FakeTarget(openwrt_router("opkg"), apply_sections={
        "kmod:install": sec(""), P.RECHECK_KEY: Section(1, "", SW_ENOENT)}, result=f"failed {P.RECHECK_KEY}")
    with pytest.raises(FlowOffloadError) as exc:
        P.run_profile(target, params(), False)
    assert exc.value.msg.startswith("installed kmod-nft-offload and loaded the modules, but the kernel still refuses")
    assert "ENOENT" in exc.value.msg and "The flowtable was not configured" in exc.value.msg
    script = target.applies[0]
    assert script.index("fo_emit kmod:install ") < script.index(f"fo_emit {P.RECHECK_KEY} ") < script.index("fo_emit fw4 ")


# --- gateway_verify -------------------------------------------------------------------------------------
def test_verify_counts_flows_from_the_one_read() -> None:
    target = FakeTarget(configured(**LAN_WAN))
    out = P.run_profile(target, params(verify=True, **LAN_WAN), False)
    assert target.round_trips == 1 and out["flows"]["offload"] > 0
    assert "software-offloaded" in out["report"][-1]


def test_verify_counts_flows_from_the_read_back_after_a_change() -> None:
    after = configured(**LAN_WAN)
    target = FakeTarget(lab_vm(**PRISTINE), apply_sections=readback(after))
    out = P.run_profile(target, params(verify=True, **LAN_WAN), False)
    assert target.round_trips == 2 and 'fo_head facts:flows\n' in target.applies[0] and out["flows"]["total"] > 0


# --- failures of the one apply script -----------------------------------------------------------------
def test_stale_state_changes_nothing() -> None:
    target = FakeTarget(lab_vm(**PRISTINE), result="stale ft:table-json")
    with pytest.raises(FlowOffloadError, match="nothing was changed"):
        P.run_profile(target, params(**LAN_WAN), False)


def test_nft_rejecting_the_batch_is_explained_by_the_flowtable() -> None:
    err = fixture("1.0.6-bookworm-vm-ft-eopnotsupp.stderr")
    target = FakeTarget(lab_vm(**PRISTINE), apply_sections={"nft-check": Section(1, "", err)}, result="failed nft-check")
    with pytest.raises(FlowOffloadError, match="nft rejected the batch"):
        P.run_profile(target, params(**LAN_WAN), False)


def test_sysctl_failing_after_the_rest_names_the_file_and_what_was_applied() -> None:
    target = FakeTarget(lab_vm(**PRISTINE), apply_sections={"sysctl:apply": Section(1, "", "Invalid argument")},
                        result="failed-after sysctl:apply")
    with pytest.raises(FlowOffloadError) as err:
        P.run_profile(target, params(tcp_timeout=60, **LAN_WAN), False)
    assert "applying /etc/sysctl.d/90-flowoffload.conf to the running kernel failed (Invalid argument)" in err.value.msg
    assert "(the other parts of this run, kmod, flowtable, were applied up to that step)" in err.value.msg


def test_a_full_disk_names_the_path() -> None:
    path = "/etc/sysctl.d/90-flowoffload.conf"
    target = FakeTarget(lab_vm(**PRISTINE), apply_sections={"stage:" + path: Section(1, "", "No space left on device")},
                        result="failed stage:" + path)
    with pytest.raises(FlowOffloadError, match="writing /etc/sysctl.d/90-flowoffload.conf failed.*nothing was changed"):
        P.run_profile(target, params(tcp_timeout=60, **LAN_WAN), False)


def test_sqm_enabled_without_tc_is_a_warning_of_the_role_and_a_bare_router_is_not() -> None:
    """Issue 16 point 4: no tc on a stock OpenWrt image is no reason to warn; SQM enabled in UCI
    without tc to check its qdiscs is (offloaded packets bypass them)."""
    quiet = P.run_profile(FakeTarget(openwrt_router("opkg")), params(), True)
    assert not any("tc is not installed" in w for w in quiet["warnings"])
    assert quiet["ansible_facts"]["flowoffload"]["shaping"]["message"] == "no qdisc tool; no shaping configured"
    sqm = sec("@file /etc/config/sqm\nconfig queue 'wan'\n\toption enabled '1'\n\toption interface 'wan0'\n")
    out = P.run_profile(FakeTarget(openwrt_router("opkg", **{fr.K_SHAPING: sqm})), params(), True)
    assert [w for w in out["warnings"] if "tc is not installed" in w] == [
        "conflicts: tc is not installed on the target, but SQM (sqm-scripts) shapes wan0 (sqm.wan): shaping qdiscs "
        "could not be checked, and offloaded packets bypass them; install tc (opkg install tc-tiny, or tc-full) so "
        "the facts can check"]


def test_a_failed_install_check_does_not_claim_nothing_changed() -> None:
    target = FakeTarget(openwrt_router("opkg"), apply_sections={
        "kmod:install": sec(""), "kmod:install-check": Section(1, "still missing: nf_flow_table\n")},
        result="failed kmod:install-check")
    with pytest.raises(FlowOffloadError) as exc:
        P.run_profile(target, params(), False)
    assert exc.value.msg.startswith("installed kmod-nft-offload but modules ['nf_flow_table'] are still missing")
    assert "Nothing was changed" not in exc.value.msg

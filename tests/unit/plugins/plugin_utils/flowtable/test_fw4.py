# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fw4 backend: planning from the real OpenWrt captures, FakeTarget runs, and the apply
script run for real under busybox ash and dash with the uci/fw4/ubus/nft doubles
(tests/unit/doubles/openwrt)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    fw4 as _fw4,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import fw4_state
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    host as _host,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import (
    ATTEMPTS,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    Snapshot,
    apply_script,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    SHARED_CAPTURES,
    FakeTarget,
    ShellTarget,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.test_openwrt_doubles import (
    BUSYBOX,
    DOUBLES,
    NFT_DOUBLE,
    router,
    sh,
)

PARAMS = {"state": "present", "offload": False, "devices": None, "backend": "fw4", "name": "ft", "family": "inet",
          "table": "flowoffload", "chain": None, "priority": "filter", "counter": True, "protocols": ["tcp", "udp"],
          "missing_devices": "fail", "persist": True}
FT_JSON = json.dumps({"nftables": [
    {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
    {"flowtable": {"family": "inet", "name": "ft", "table": "fw4", "handle": 1, "hook": "ingress", "prio": 0,
                   "dev": ["br-lan", "wan0"]}}]})
NO_FT_JSON = json.dumps({"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}}]})
FT_TEXT = "table inet fw4 {\n\tflowtable ft {\n\t\thook ingress priority filter\n\t\tdevices = { br-lan, wan0 }\n\t\tcounter\n\t}\n}\n"
SHELLS = {"busybox": [BUSYBOX, "sh"], "dash": [shutil.which("dash") or "dash"]}


def params(**kw: t.Any) -> dict[str, t.Any]:
    return {**PARAMS, **kw}


def cap(case: str, manager: str = "opkg") -> Section:
    base = os.path.join(SHARED_CAPTURES, manager, case)
    parts = []
    for ext in ("out", "rc", "err"):
        with open(f"{base}.{ext}", encoding="utf-8") as handle:
            parts.append(handle.read())
    return sec(parts[0], int(parts[1]), parts[2])


def openwrt(manager: str = "opkg", **over: Section) -> dict[str, Section]:
    """The read sections of the captured router (fw4 started, offloading unset)."""
    sections = {
        "host:os-release": cap("33-os-release", manager), "host:openwrt_release": cap("32-openwrt-release", manager),
        "host:osrelease": sec("6.6.73\n"), "host:pid1": sec("procd\n"),
        "host:tools": sec(f"nft=/usr/sbin/nft\nuci=/sbin/uci\nfw4=/sbin/fw4\nubus=/bin/ubus\n{manager}=/bin/{manager}\n"),
        "host:paths": sec("/sbin/fw4\n/etc/openwrt_release\n"), "host:netdevs": sec("br-lan\nlan0\nlan1\nlo\nwan0\n"),
        "host:systemd-units": sec(""),
        "fw4:flow_offloading": cap("02-uci-get-flow_offloading-unset", manager),
        "fw4:flow_offloading_hw": cap("02-uci-get-flow_offloading-unset", manager),
        "fw4:defaults": cap("03-uci-get-defaults-name", manager), "fw4:changes": sec(""),
        "fw4:config": cap("01-uci-show-firewall-default", manager),
        "fw4:interfaces": cap("04-ubus-network-interface-dump", manager),
        "fw4:ft-json": sec(NO_FT_JSON), "fw4:ft-text": cap("13-nft-list-flowtables-after-failed-reload", manager),
    }
    sections.update(over)
    return sections


def offloading(hw: bool = False) -> dict[str, Section]:
    return openwrt(**{"fw4:flow_offloading": sec("1\n"), "fw4:flow_offloading_hw": sec("1\n") if hw else sec("", 1),
                      "fw4:ft-json": sec(FT_JSON), "fw4:ft-text": sec(FT_TEXT)})


# --- reads and pure planning -------------------------------------------------------------
def test_reads_cover_uci_netifd_listing_and_host() -> None:
    keys = [r.key for r in _fw4.fw4_reads(params())]
    assert keys[:8] == ["fw4:flow_offloading", "fw4:flow_offloading_hw", "fw4:defaults", "fw4:changes", "fw4:config",
                        "fw4:interfaces", "fw4:ft-json", "fw4:ft-text"]
    assert "host:openwrt_release" in keys
    script, _nonce = read_script(_fw4.fw4_reads(params()))
    assert "uci -q get 'firewall.@defaults[0].flow_offloading'" in script


@pytest.mark.parametrize("manager", ["opkg", "apk"])
def test_plan_from_the_captures_turns_software_offloading_on(manager: str) -> None:
    plan = _fw4.plan_fw4(Snapshot(openwrt(manager)), params(), False)
    assert plan.changes == {"flow_offloading": "1"}
    assert plan.result["commands"] == ["uci set 'firewall.@defaults[0].flow_offloading=1'", "uci commit firewall",
                                       "fw4 check", "fw4 reload"]
    # fw4 takes the devices from netifd: lan -> br-lan, wan/wan6 -> wan0 (case 10)
    assert plan.result["flowtable"]["devices"] == ["br-lan", "wan0"]
    assert plan.result["persist_files"] == ["/etc/config/firewall"]
    assert plan.result["skipped_devices"] == [] and plan.result["changed"]
    assert [s.key for s in plan.spec.post] == [
        "fw4:uci-set", "fw4:uci-commit", "fw4:check", "fw4:reload", "fw4:verify", "fw4:restore", "fw4:reload-restore", "fw4"]
    assert [s.check for s in plan.spec.post] == [False] * 7 + [True] and plan.spec.expect[0].out == ""


def test_plan_hardware_sets_both_and_warns() -> None:
    plan = _fw4.plan_fw4(Snapshot(openwrt()), params(offload="auto"), False)
    assert plan.changes == {"flow_offloading": "1", "flow_offloading_hw": "1"}
    assert _fw4.OPENWRT_WARNING in plan.result["warnings"]


def test_absent_restores_firewall4_defaults_by_deleting_the_options() -> None:
    plan = _fw4.plan_fw4(Snapshot(offloading(hw=True)), params(state="absent"), False)
    assert plan.changes == {"flow_offloading": None, "flow_offloading_hw": None}
    assert plan.result["commands"][:2] == ["uci -q delete 'firewall.@defaults[0].flow_offloading'",
                                           "uci -q delete 'firewall.@defaults[0].flow_offloading_hw'"]
    assert plan.result["flowtable"] == {}


def test_absent_with_zero_values_changes_nothing() -> None:
    snap = openwrt(**{"fw4:flow_offloading": sec("0\n")})
    plan = _fw4.plan_fw4(Snapshot(snap), params(state="absent"), False)
    assert not plan.result["changed"] and not plan.spec.changes()


def test_offload_false_drops_a_hardware_option() -> None:
    plan = _fw4.plan_fw4(Snapshot(offloading(hw=True)), params(offload=False), False)
    assert plan.changes == {"flow_offloading_hw": None}


def test_uci_on_but_no_flowtable_plans_a_reload_only() -> None:
    snap = openwrt(**{"fw4:flow_offloading": sec("1\n")})
    plan = _fw4.plan_fw4(Snapshot(snap), params(), False)
    assert plan.changes == {} and plan.result["commands"] == ["fw4 check", "fw4 reload"]
    assert [s.key for s in plan.spec.post] == ["fw4:check", "fw4:reload", "fw4:verify", "fw4"]
    assert plan.result["persist_files"] == []


def test_idempotent_auto_reports_the_fallback() -> None:
    plan = _fw4.plan_fw4(Snapshot(offloading(hw=True)), params(offload="auto"), False)
    assert not plan.result["changed"]
    assert plan.result["hardware_offload"] is False and "fell back to software" in plan.result["fallback_reason"]


def test_idempotent_true_fails_when_fw4_fell_back() -> None:
    with pytest.raises(FlowOffloadError, match="offload: true needs hardware"):
        _fw4.plan_fw4(Snapshot(offloading(hw=True)), params(offload=True), False)


@pytest.mark.parametrize("over,match", [
    ({"host:openwrt_release": sec("", 1, "cat: /etc/openwrt_release: No such file or directory")},
     "backend: fw4 works only on OpenWrt"),
    ({"host:tools": sec("nft=/usr/sbin/nft\nuci=/sbin/uci\n")}, "backend: fw4 needs firewall4, but fw4"),
    ({"fw4:defaults": sec("", 1, "uci: Entry not found\n")}, "no 'defaults' section"),
    ({"fw4:changes": cap("08-uci-changes")}, "uncommitted UCI changes"),
])
def test_plan_refuses_with_the_cause(over: dict[str, Section], match: str) -> None:
    with pytest.raises(FlowOffloadError, match=match):
        _fw4.plan_fw4(Snapshot(openwrt(**over)), params(), False)


@pytest.mark.parametrize("bad,match", [({"devices": ["eth0; flush ruleset"]}, "devices: with backend=fw4"),
                                       ({"offload": "maybe"}, "offload: 'maybe' is not valid")])
def test_bad_input_refused_before_any_script(bad: dict[str, t.Any], match: str) -> None:
    target = FakeTarget(openwrt())
    with pytest.raises(FlowOffloadError, match=match):
        _fw4.run_fw4(target, params(**bad), False)
    assert target.round_trips == 0


def test_zone_networks_and_interface_devices_from_captures() -> None:
    assert fw4_state.zone_networks(cap("01-uci-show-firewall-default").out) == ["lan", "wan", "wan6"]
    devices = fw4_state.interface_devices(cap("04-ubus-network-interface-dump").out)
    assert devices["lan"] == "br-lan" and devices["wan6"] == "wan0"


# --- FakeTarget runs -------------------------------------------------------------------------
def test_idempotent_run_is_one_round_trip() -> None:
    target = FakeTarget(offloading())
    result = _fw4.run_fw4(target, params(), False)
    assert target.round_trips == 1 and not target.applies
    assert result["changed"] is False and result["flowtable"]["devices"] == ["br-lan", "wan0"]
    assert result["commands"] == [] and result["persist_files"] == []


def test_check_mode_predicts_without_applying() -> None:
    target = FakeTarget(openwrt())
    result = _fw4.run_fw4(target, params(), True)
    assert target.round_trips == 1 and result["changed"] is True
    assert result["flowtable"]["devices"] == ["br-lan", "wan0"]


def test_stale_apply_says_run_again() -> None:
    """The driver reads and plans again after a stale apply; a host that keeps changing fails."""
    target = FakeTarget(openwrt(), result="stale fw4:flow_offloading")
    with pytest.raises(FlowOffloadError, match="nothing was changed; run again"):
        _fw4.run_fw4(target, params(), False)
    assert target.round_trips == 2 * ATTEMPTS and len(target.applies) == ATTEMPTS


def test_failed_check_names_the_kernels_answer_from_the_step() -> None:
    err = cap("11-fw4-check-flow_offloading-no-kernel-support").err
    skipped = sec("", 0, "skipped: fw4:check failed\n")
    steps = {"fw4:uci-set": sec(), "fw4:uci-commit": sec(), "fw4:check": sec("", 1, err), "fw4:reload": skipped,
             "fw4:verify": skipped, "fw4:restore": sec(), "fw4:reload-restore": sec("", 0, "skipped: nothing to put back\n"),
             "fw4": sec("check\n", 1)}
    target = FakeTarget(openwrt(), apply_sections=steps, result="failed-after fw4")
    with pytest.raises(FlowOffloadError) as exc:
        _fw4.run_fw4(target, params(), False)
    assert "fw4 check refused" in exc.value.msg and "No such file or directory" in exc.value.msg
    assert "flow_offloading=unset, flow_offloading_hw=unset) were put back and committed." in exc.value.msg
    assert "kernel answered ENOENT" in exc.value.msg and exc.value.details["rc"] == 1


@pytest.mark.parametrize("where,restore,again,said", [
    ("reload", 0, 0, "were put back and committed and fw4 reloaded"),
    ("verify", 0, 1, "were put back and committed (fw4 reload failed on them too)"),
    ("hardware", 1, 0, "back failed too: check 'uci show firewall.@defaults[0]'"),
    ("uci-commit", 0, 0, "the staged UCI changes were reverted; nothing was changed"),
])
def test_failure_says_what_was_put_back_from_the_restore_sections(where: str, restore: int, again: int, said: str) -> None:
    steps = {"fw4:reload": sec("", 0, "Error: Could not process rule: Operation not supported\n"),
             "fw4:restore": sec("", restore), "fw4:reload-restore": sec("", again), "fw4": sec(where + "\n", 1)}
    target = FakeTarget(openwrt(), apply_sections=steps, result="failed-after fw4")
    with pytest.raises(FlowOffloadError) as exc:
        _fw4.run_fw4(target, params(offload=True), False)
    assert said in exc.value.msg


def test_an_apply_that_ends_without_the_fw4_step_says_the_state_is_unknown() -> None:
    target = FakeTarget(openwrt(), apply_sections={"fw4:uci-set": sec()}, result="failed-after fw4:uci-set")
    with pytest.raises(FlowOffloadError, match="ended without a result .failed-after fw4:uci-set."):
        _fw4.run_fw4(target, params(), False)


# --- the apply script for real under busybox, with the doubles ------------------------------
@pytest.fixture(params=sorted(SHELLS))
def shell(request: pytest.FixtureRequest) -> list[str]:
    """The apply and read scripts run under busybox ash and under dash."""
    return SHELLS[request.param]


class Router:
    """A ShellTarget over the doubles, with the router's files in a temp folder."""

    def __init__(self, tmp: str, shell: list[str], flowtables: bool = False, started: bool = True,
                 hw_capable: bool = False) -> None:
        self.env = router(tmp, "opkg")
        self.dir = os.path.join(tmp, "fw4dir")
        shutil.copytree(DOUBLES, self.dir)
        self.env["FW4_DOUBLE_DIR"] = self.dir
        self.bin = os.path.join(tmp, "bin")  # ShellTarget takes one folder of doubles
        os.makedirs(self.bin)
        for folder in (DOUBLES, NFT_DOUBLE):
            for name in os.listdir(folder):
                if os.access(os.path.join(folder, name), os.X_OK) and not os.path.exists(os.path.join(self.bin, name)):
                    os.symlink(os.path.join(folder, name), os.path.join(self.bin, name))
        if hw_capable:
            open(os.path.join(self.dir, "hw-capable"), "w", encoding="utf-8").close()
        if flowtables:
            open(os.path.join(self.env["NFT_DOUBLE_STATE"], "flowtables"), "w", encoding="utf-8").close()
        if started:
            assert sh("fw4 start", self.env)[2] == 0
        self.target = ShellTarget(doubles=self.bin, shell=shell)

    def run(self, monkeypatch: pytest.MonkeyPatch, check_mode: bool = False, **kw: t.Any) -> dict[str, t.Any]:
        for key, value in self.env.items():
            if key != "PATH":
                monkeypatch.setenv(key, value)
        # the host facts: this router is OpenWrt with the captured release file
        monkeypatch.setattr(_host, "host_reads", lambda: _host_reads(self.env))
        return _fw4.run_fw4(self.target, params(**kw), check_mode)

    def uci(self, option: str) -> tuple[str, str, int]:
        return sh(f"uci -q get firewall.@defaults[0].{option}", self.env)


def _host_reads(env: t.Mapping[str, str]) -> list[Read]:
    release = os.path.join(env["PKG_DOUBLE_ROOT"], "etc", "openwrt_release")
    return [Read("host:openwrt_release", f"cat {release}"), Read("host:os-release", f"cat {release}"),
            Read("host:tools", "for x in uci fw4 nft ubus; do p=$(command -v $x) && echo \"$x=$p\"; done; exit 0"),
            Read("host:netdevs", f"ls {env['FW4_SYSFS_NET']}")]


def test_apply_kernel_refuses_restores_and_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    box = Router(str(tmp_path), shell)
    with pytest.raises(FlowOffloadError) as exc:
        box.run(monkeypatch)
    msg = exc.value.msg
    assert "fw4 check refused the ruleset" in msg and "Could not process rule: No such file or directory" in msg
    assert "were put back and committed" in msg
    assert box.uci("flow_offloading") == ("", "", 1)  # unset again, as before
    assert sh("uci changes firewall", box.env)[0] == ""
    assert box.target.round_trips == 2


def test_apply_verify_catches_reload_exit_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    """fw4 check is skipped by a double that accepts the check: the listing still decides."""
    box = Router(str(tmp_path), shell)
    with open(os.path.join(box.dir, "fw4"), encoding="utf-8") as handle:
        text = handle.read().replace("render | nft -c -f /dev/stdin", "render >/dev/null")
    with open(os.path.join(box.dir, "fw4"), "w", encoding="utf-8") as handle:
        handle.write(text)
    os.remove(os.path.join(box.bin, "fw4"))
    os.symlink(os.path.join(box.dir, "fw4"), os.path.join(box.bin, "fw4"))
    with pytest.raises(FlowOffloadError) as exc:
        box.run(monkeypatch)
    assert "fw4 reload exited 0 but the kernel refused the ruleset" in exc.value.msg
    assert "No such file or directory" in exc.value.msg and "fw4 reloaded" in exc.value.msg
    assert box.uci("flow_offloading")[2] == 1


def test_apply_on_a_kernel_with_flowtables_then_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    box = Router(str(tmp_path), shell, flowtables=True)
    result = box.run(monkeypatch)
    assert result["changed"] and result["flowtable"]["devices"] == ["br-lan", "wan0"]
    assert result["flowtable"]["table"] == "fw4" and result["hardware_offload"] is False
    assert result["persist_files"] == ["/etc/config/firewall"] and box.uci("flow_offloading")[0] == "1\n"
    again = Router.run(box, monkeypatch)
    assert again["changed"] is False and box.target.round_trips == 3
    off = box.run(monkeypatch, state="absent")
    assert off["changed"] and off["flowtable"] == {} and box.uci("flow_offloading")[2] == 1


def test_apply_auto_reports_fw4s_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    box = Router(str(tmp_path), shell, flowtables=True)
    result = box.run(monkeypatch, offload="auto")
    assert result["changed"] and result["hardware_offload"] is False
    assert "fell back to software offloading" in result["fallback_reason"]
    assert box.uci("flow_offloading_hw")[0] == "1\n"


def test_apply_true_with_fallback_restores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    box = Router(str(tmp_path), shell, flowtables=True)
    with pytest.raises(FlowOffloadError, match="offload: true needs hardware offloading"):
        box.run(monkeypatch, offload=True)
    assert box.uci("flow_offloading")[2] == 1 and box.uci("flow_offloading_hw")[2] == 1


def test_apply_true_on_hardware(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    box = Router(str(tmp_path), shell, flowtables=True, hw_capable=True)
    result = box.run(monkeypatch, offload=True)
    assert result["hardware_offload"] is True and result["flowtable"]["offload"] is True
    assert result["fallback_reason"] == ""


def test_apply_fw4_not_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shell: list[str]) -> None:
    box = Router(str(tmp_path), shell, flowtables=True, started=False)
    with pytest.raises(FlowOffloadError, match="fw4 is not running"):
        box.run(monkeypatch)
    assert box.uci("flow_offloading")[2] == 1


def test_apply_script_passes_shellcheck() -> None:
    plan = _fw4.plan_fw4(Snapshot(openwrt()), params(offload=True), False)
    script, _nonce = apply_script(plan.spec)
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout

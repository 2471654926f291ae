# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit-confirmed apply (target/confirm.py), run for real on the lab VM's HostRoot: the
gateway profile with gateway_rollback_timeout, confirmed, rolled back by a failing health
check, rolled back by the timer's expire script when no confirm came, and a run while a
rollback is armed. Every outcome is observed in the root (files, links, the nft double's
ruleset), byte for byte."""
from __future__ import annotations

import pathlib
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import confirm, script
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import apply_host, read_host
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import HostRoot, Snap
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    lab_root,
    params,
    shell,
)

__all__ = ["shell"]  # the fixture, used by name

RECORD = "/run/flowoffload-rollback"
FT_FILE = "/etc/flowoffload/inet-flowoffload.nft"
UNIT = "/etc/systemd/system/flowoffload-inet-flowoffload.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/flowoffload-inet-flowoffload.service"
SYSCTL_FILE = "/etc/sysctl.d/90-flowoffload.conf"


def ready(tmp_path: pathlib.Path, shell_name: str) -> HostRoot:
    """The lab VM with the modules loaded and listed for boot: the profile changes only the
    flowtable (nft batch, its files and unit) and the sysctl file."""
    host = lab_root(tmp_path, shell_name, modules_loaded=True, boot_list=True)
    host.seed_ruleset("")  # the nft double keeps its ruleset in a file: there from the start
    return host


def without_run(snap: Snap) -> Snap:
    """A snapshot without /tmp (the scripts' temporary folders)."""
    return {path: value for path, value in snap.items() if not path.startswith("/tmp/")}


def timer_pid(host: HostRoot) -> int:
    text = host.read(f"{RECORD}/timer") or ""
    assert text.startswith("pid "), text  # no systemd-run in the root: the detached subshell
    return int(text.split()[1])


def test_a_confirmed_change_is_kept_and_made_permanent(tmp_path: pathlib.Path, shell: str) -> None:
    host = ready(tmp_path, shell)
    out = P.run_profile(host, params(tcp_timeout=60, rollback_timeout=30, health_check="nft list ruleset >/dev/null",
                                     **LAN_WAN), False)
    assert host.round_trips == 3, host.last  # read, apply, confirm
    assert out["changed"] is True
    assert out["rollback"] == {"armed": True, "timeout": 30, "confirmed": True,
                               "health_check": {"rc": 0, "stdout": "", "stderr": ""}}
    # the confirm moved the staged files into place and ran the deferred steps (unit, sysctl)
    assert host.read(FT_FILE) and host.read(UNIT) and host.exists(WANTS) and host.read(SYSCTL_FILE)
    assert not [path for path in host.snapshot() if path.endswith(".fo-new")]
    assert not host.exists(RECORD)  # disarmed: no rollback will run
    assert "flowtable ft" in host.ruleset()
    # and the next run has nothing to do: one round trip, nothing armed
    again = P.run_profile(host, params(tcp_timeout=60, rollback_timeout=30, **LAN_WAN), False)
    assert again["changed"] is False and host.round_trips == 4
    assert again["rollback"]["armed"] is False


def test_the_apply_leaves_boot_files_staged_until_the_confirm(tmp_path: pathlib.Path) -> None:
    """Between apply and confirm the running ruleset is new, the boot files are old: a reboot
    inside the window boots the state before the run."""
    host = ready(tmp_path, "busybox")
    part = P.ProfilePart()
    prm = params(tcp_timeout=60, rollback_timeout=30, **LAN_WAN)
    plan = part.plan(read_host(host, part.reads(prm)), prm, False)
    rollback = confirm.Rollback.from_params(prm)
    assert rollback is not None
    applied = apply_host(host, plan.spec, confirm.arm_code(plan.spec, rollback))
    assert applied.ok, applied.stderr
    assert "flowtable ft" in host.ruleset()
    assert host.read(FT_FILE) is None and host.read(UNIT) is None and host.read(SYSCTL_FILE) is None
    assert host.read(FT_FILE + ".fo-new") and host.read(UNIT + ".fo-new")
    assert host.read(f"{RECORD}/nonce") == applied.nonce + "\n"
    host.run(["kill", str(timer_pid(host))])


def test_a_failing_health_check_rolls_back_at_once(tmp_path: pathlib.Path, shell: str) -> None:
    host = ready(tmp_path, shell)
    before, ruleset = without_run(host.snapshot()), host.ruleset()
    with pytest.raises(FlowOffloadError) as err:
        P.run_profile(host, params(tcp_timeout=60, rollback_timeout=30, health_check="echo no route >&2; exit 3",
                                   **LAN_WAN), False)
    assert "health_check failed on the router after the change (rc=3: no route)" in err.value.msg
    assert "rolled back at once" in err.value.msg
    assert err.value.details["rollback"]["health_check"]["rc"] == 3
    assert host.round_trips == 3
    assert host.ruleset() == ruleset
    assert without_run(host.snapshot()) == before  # files, links, sysctl values, the ruleset


def test_without_a_confirm_the_expire_script_rolls_back(tmp_path: pathlib.Path, shell: str) -> None:
    """The controller died after the apply: the timer runs the record's expire script."""
    host = ready(tmp_path, shell)
    before, ruleset = without_run(host.snapshot()), host.ruleset()
    part = P.ProfilePart()
    prm = params(tcp_timeout=60, rollback_timeout=30, **LAN_WAN)
    plan = part.plan(read_host(host, part.reads(prm)), prm, False)
    rollback = confirm.Rollback.from_params(prm)
    assert rollback is not None
    assert apply_host(host, plan.spec, confirm.arm_code(plan.spec, rollback)).ok
    assert host.ruleset() != ruleset
    # what the timer does at the deadline (the test does not wait 30 s for it)
    host.run(["kill", str(timer_pid(host))])
    rc, _out, err = host.run(["/usr/bin/busybox", "sh", f"{RECORD}/expire"])
    assert rc == 0, err
    assert host.ruleset() == ruleset
    assert without_run(host.snapshot()) == before


def test_a_run_while_a_rollback_is_armed_is_refused_after_waiting(tmp_path: pathlib.Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(script, "ARM_WAIT", 1)
    host = ready(tmp_path, "busybox")
    part = P.ProfilePart()
    prm = params(rollback_timeout=30, **LAN_WAN)
    plan = part.plan(read_host(host, part.reads(prm)), prm, False)
    rollback = confirm.Rollback.from_params(prm)
    assert rollback is not None
    assert apply_host(host, plan.spec, confirm.arm_code(plan.spec, rollback)).ok
    armed = without_run(host.snapshot())
    with pytest.raises(FlowOffloadError, match="waits for its confirm"):
        P.run_profile(host, params(tcp_timeout=90, **LAN_WAN), False)
    assert without_run(host.snapshot()) == armed  # the second run changed nothing
    host.run(["kill", str(timer_pid(host))])


@pytest.mark.parametrize("value, message", [
    ("soon", "gateway_rollback_timeout: 'soon' is not a number of seconds"),
    (5, "gateway_rollback_timeout: 5 s leaves no time"),
    (-1, "gateway_rollback_timeout: -1 is not a number"),
])
def test_bad_rollback_timeouts_are_refused_before_any_script(tmp_path: pathlib.Path, value: object,
                                                             message: str) -> None:
    host = ready(tmp_path, "busybox")
    with pytest.raises(FlowOffloadError, match=message):
        P.run_profile(host, params(rollback_timeout=value, **LAN_WAN), False)
    assert host.round_trips == 0


def test_a_health_check_needs_a_rollback(tmp_path: pathlib.Path) -> None:
    host = ready(tmp_path, "busybox")
    with pytest.raises(FlowOffloadError, match="gateway_health_check is set but gateway_rollback_timeout is 0"):
        P.run_profile(host, params(health_check="true", **LAN_WAN), False)
    assert host.round_trips == 0


def test_survey_strings_are_seconds() -> None:
    assert confirm.Rollback.from_params({"rollback_timeout": " 120 ", "health_check": " true "}) == \
        confirm.Rollback(120, "true")
    assert confirm.Rollback.from_params({"rollback_timeout": "", "health_check": ""}) is None


def test_the_armed_apply_the_confirm_and_the_expire_scripts_pass_shellcheck(tmp_path: pathlib.Path) -> None:
    spec = script.ApplySpec(
        files=[script.FileChange("/etc/x.conf", "a\n")], nft=["add table inet t"], post=[script.Step("s", "true")],
        undo_nft=["add table inet t", "delete table inet t"], undo=[script.Step("u", "true")],
        arm_files=[script.FileChange("/etc/uci-defaults/99-x", "#!/bin/sh\nexit 0\n", "0755")])
    rollback = confirm.Rollback(30, "true")
    scripts = {"apply": script.apply_script(spec, arm=confirm.arm_code(spec, rollback))[0],
               "confirm": confirm.confirm_script(spec, rollback, "FOabc", "FOdef"),
               "expire": confirm.expire_script(spec)}
    for name, text in scripts.items():
        path = tmp_path / f"{name}.sh"
        path.write_text(text)
        proc = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (name, proc.stdout)

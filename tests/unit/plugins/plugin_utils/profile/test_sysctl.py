# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's sysctl file: the file itself is managed (issue 9, point 5)."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    sysctl as ps,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    FileChange,
    Read,
    Snapshot,
    parse_sections,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    ShellTarget,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)

DOUBLES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "doubles", "profile")
TCP, UDP = ps.TIMEOUTS
V4, V6 = ps.FORWARDING
RUNNING = f"{TCP}=30\n{UDP}=30\n{V4}=0\n{V6}=0\n"


def snap(file: str | None, running: str = RUNNING) -> Snapshot:
    return Snapshot({ps.FILE_KEY: sec("absent\n" if file is None else "present\n" + file), ps.RUNNING_KEY: sec(running)})


def test_parsers() -> None:
    assert ps.parse_file_section("absent\n") is None
    assert ps.parse_file_section("present\n") == ""
    assert ps.parse_file_section("present\na = 1\n") == "a = 1\n"
    assert ps.parse_file_section(None) is None
    assert ps.parse_running(f"{TCP}=30\nbad\n{V4}=x\n") == {TCP: 30}
    assert ps.file_settings("# c\n; c\n\n-net.a = 1\nnet.b=2\n") == {"net.a": "1", "net.b": "2"}


def test_wanted_settings() -> None:
    running = ps.parse_running(RUNNING)
    assert ps.wanted_settings(running, 60, None, False, False) == {TCP: 60}
    assert ps.wanted_settings(running, 60, 90, True, False) == {TCP: 60, UDP: 90, V4: 1, V6: 1}
    # the keys appear with nf_flow_table: set them when this run loads the modules
    assert ps.wanted_settings({}, 60, 90, True, False) == {}
    assert ps.wanted_settings({}, 60, 90, True, True) == {TCP: 60, UDP: 90}
    # a kernel without the keys does not rewrite the file on every run
    assert ps.wanted_settings({}, 60, None, False, False, in_file=[TCP]) == {TCP: 60}


def test_render_file() -> None:
    assert ps.render_file({}) is None
    text = ps.render_file({UDP: 90, TCP: 60})
    assert text == ps.HEADER + f"{TCP} = 60\n{UDP} = 90\n"
    assert ps.file_settings(text) == {TCP: "60", UDP: "90"}


def test_nothing_asked_nothing_there() -> None:
    plan = ps.plan_sysctl(snap(None), {}, "systemd")
    assert not plan.spec.changes() and plan.result["changed"] is False


def test_idempotent_when_file_and_kernel_agree() -> None:
    wanted = {TCP: 30}
    plan = ps.plan_sysctl(snap(ps.render_file(wanted)), wanted, "systemd")
    assert not plan.spec.changes() and plan.result["applied"] == []


def test_a_file_deleted_by_hand_is_restored_though_the_kernel_agrees() -> None:
    wanted = {TCP: 30}
    plan = ps.plan_sysctl(snap(None), wanted, "systemd")
    assert plan.spec.files == [FileChange(ps.FILE, ps.render_file(wanted), "0644")]
    assert [s.key for s in plan.spec.post] == [ps.STEP_KEY]
    assert plan.result["changed"] and plan.result["diff"]["before"] == "" and plan.result["applied"] == []
    assert [e.key for e in plan.spec.expect] == [ps.FILE_KEY] and plan.spec.expect[0].out == "absent\n"


def test_a_file_edited_by_hand_is_rewritten() -> None:
    wanted = {TCP: 30}
    plan = ps.plan_sysctl(snap(ps.render_file(wanted) + "net.core.somaxconn = 4096\n"), wanted, "systemd")
    assert plan.spec.files[0].content == ps.render_file(wanted)


def test_running_value_differs_the_file_is_applied_again() -> None:
    wanted = {TCP: 60}
    plan = ps.plan_sysctl(snap(ps.render_file(wanted)), wanted, "systemd")
    assert plan.spec.files == [] and [s.key for s in plan.spec.post] == [ps.STEP_KEY]
    assert plan.result["applied"] == [TCP]


def test_settings_no_longer_asked_for_remove_the_file() -> None:
    plan = ps.plan_sysctl(snap(ps.render_file({TCP: 60})), {}, "systemd")
    assert plan.spec.files == [FileChange(ps.FILE, None, "0644")] and plan.spec.post == []


def test_off_removes_the_file_whenever_it_exists() -> None:
    plan = ps.plan_sysctl(snap("anything\n"), {TCP: 30}, "systemd", remove=True)
    assert plan.spec.files == [FileChange(ps.FILE, None, "0644")] and plan.spec.post == []
    assert not ps.plan_sysctl(snap(None), {}, "systemd", remove=True).spec.changes()


def _ok(running: str, file: str | None) -> ApplyResult:
    return ApplyResult("ok", "-", snap(file, running), "", "", 0)


def test_finish_reads_back_the_kernel() -> None:
    wanted = {TCP: 60, V4: 1}
    plan = ps.plan_sysctl(snap(None), wanted, "systemd")
    out = ps.finish_sysctl(plan, _ok(f"{TCP}=60\n{V4}=1\n", ps.render_file(wanted)))
    assert out["changed"] and out["warnings"] == [] and out["diff"]["after"] == ps.render_file(wanted)
    with pytest.raises(FlowOffloadError, match=f"gateway_tcp_timeout: the kernel kept {TCP} = 30"):
        ps.finish_sysctl(plan, _ok(f"{TCP}=30\n{V4}=1\n", ps.render_file(wanted)))
    out = ps.finish_sysctl(plan, _ok(f"{V4}=1\n", ps.render_file(wanted)))
    assert f"gateway_tcp_timeout: this kernel has no {TCP}" in out["warnings"][0]


def test_finish_failures_name_the_file() -> None:
    plan = ps.plan_sysctl(snap(None), {TCP: 60}, "systemd")
    res = ApplyResult("failed-after", ps.STEP_KEY, Snapshot({ps.STEP_KEY: sec("", 1, "invalid argument")}), "", "", 3)
    with pytest.raises(FlowOffloadError, match=r"applying /etc/sysctl.d/90-flowoffload.conf to the running kernel failed \(invalid argument\)"):
        ps.finish_sysctl(plan, res)
    res = ApplyResult("failed", "stage:" + ps.FILE, Snapshot({"stage:" + ps.FILE: sec("", 1, "No space left on device")}), "", "", 3)
    with pytest.raises(FlowOffloadError, match=r"writing /etc/sysctl.d/90-flowoffload.conf failed at stage:.*No space left on device.*nothing was changed"):
        ps.finish_sysctl(plan, res)
    assert ps.finish_sysctl(plan, None)["changed"]


# --- the sh, for real under busybox ash ---------------------------------------------------------
@pytest.mark.parametrize("shell", ["busybox", "dash"])
def test_reads_run_on_a_host_root(tmp_path: pathlib.Path, shell: str) -> None:
    host = HostRoot(tmp_path, shell, tools={})
    host.seed({"/proc/sys/net/ipv4/ip_forward": "1\n", "/proc/sys/net/netfilter/nf_flowtable_tcp_timeout": "45\n"})
    script, nonce = read_script(ps.sysctl_reads())
    rc, out, err = host.run_script(script)
    assert rc == 0, err
    snapshot, _markers = parse_sections(out, nonce)
    assert snapshot.text(ps.FILE_KEY) == "absent\n"
    assert ps.parse_running(snapshot.text(ps.RUNNING_KEY)) == {V4: 1, "net.netfilter.nf_flowtable_tcp_timeout": 45}
    host.write(ps.FILE, "net.ipv4.ip_forward = 1\n")
    snapshot, _markers = parse_sections(host.run_script(script)[1], nonce)
    assert snapshot.text(ps.FILE_KEY) == "present\nnet.ipv4.ip_forward = 1\n"


# under busybox ash (ShellTarget shims the double over busybox's own sysctl applet) and dash
SHELLS = [[shutil.which("busybox") or "busybox", "sh"], [shutil.which("dash") or "dash"]]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("init", ["procd", "openrc"])
def test_apply_step_runs_sysctl_e_p_where_systemd_sysctl_is_not_used(init: str, shell: list[str]) -> None:
    script, nonce = read_script([Read("step", ps.apply_code(init))])
    rc, out, err = ShellTarget(doubles=DOUBLES, shell=shell).run_script(script)
    assert rc == 0, err
    assert parse_sections(out, nonce)[0].out("step") == f"sysctl -e -p {ps.FILE}\n"


def test_apply_step_failure_is_reported() -> None:
    script, nonce = read_script([Read("step", "FO_SYSCTL_FAIL=bad; export FO_SYSCTL_FAIL\n" + ps.apply_code("procd"))])
    rc, out, _err = ShellTarget(doubles=DOUBLES).run_script(script)
    section = parse_sections(out, nonce)[0].get("step")
    assert rc == 0 and section is not None and section.rc == 1 and "sysctl: error: bad" in section.err


def test_apply_step_under_busybox_reaches_its_sysctl_applet(tmp_path: pathlib.Path) -> None:
    # no sysctl double: busybox's own applet runs; the file does not exist, it says so, naming it
    host = HostRoot(tmp_path, "busybox", tools={})
    before = host.snapshot()
    script, nonce = read_script([Read("step", ps.apply_code("procd"))])
    rc, out, err = host.run_script(script)
    assert host.snapshot() == before
    assert rc == 0, err
    assert ps.FILE in parse_sections(out, nonce)[0].sections["step"].err


def test_scripts_pass_shellcheck() -> None:
    script, _nonce = read_script(ps.sysctl_reads() + [Read("step", ps.apply_code("systemd"))])
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_the_running_values_are_the_facts_sysctl_read():
    # one awk process for facts and profile: the same four files under the same key
    from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import (
        reads as fr,
    )
    assert sorted(ps.proc_path(n)[len("/proc/sys/"):] for n in ps.NAMES) == sorted(fr.SYSCTLS.values())
    assert ps.RUNNING_KEY == fr.K_SYSCTL
    assert ps.parse_running("net/ipv4/ip_forward=1\nnet/netfilter/nf_flowtable_tcp_timeout=300\n") == {
        "net.ipv4.ip_forward": 1, "net.netfilter.nf_flowtable_tcp_timeout": 300}

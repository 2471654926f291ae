# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The target interface: the read and apply scripts, run for real under busybox ash."""
from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import time
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as H
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import script as T
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    ShellTarget,
    sec,
)

SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}
NASTY = ["eth0; flush ruleset", "a'b", 'q"uote', "$(reboot)", "`id`", "back\\slash", "new\nline", "", "%s%d", "-n"]


def read(target: t.Any, reads: t.Sequence[T.Read]) -> T.Snapshot:
    script, nonce = T.read_script(reads)
    rc, out, err = target.run_script(script)
    assert rc == 0, err
    return T.parse_sections(out, nonce)[0]


def apply(target: t.Any, spec: T.ApplySpec) -> T.ApplyResult:
    script, nonce = T.apply_script(spec)
    return T.parse_apply(*target.run_script(script), nonce)


@pytest.mark.parametrize("value", NASTY)
def test_shq_keeps_every_value_one_word(value: str) -> None:
    snap = read(ShellTarget(), [T.Read("v", f"printf '%s' {T.shq(value)}")])
    assert snap.out("v") == value


def test_sections_are_exact_whatever_the_output() -> None:
    snap = read(ShellTarget(), [
        T.Read("nl", "echo hi"),
        T.Read("nonl", "printf 'x'"),
        T.Read("empty", "true"),
        T.Read("fail", "echo out; echo err >&2; exit 7"),
        T.Read("after-exit", "echo still running"),
        T.Read("marker-like", "echo '@@FO123 x 0@@'"),
    ])
    assert snap.get("nl") == T.Section(0, "hi\n", "")
    assert snap.get("nonl") == T.Section(0, "x", "")
    assert snap.get("empty") == T.Section(0, "", "")
    assert snap.get("fail") == T.Section(7, "out\n", "err\n")
    assert snap.out("fail") is None and snap.text("fail") == "out\n"
    assert snap.out("after-exit") == "still running\n"
    assert snap.out("marker-like") == "@@FO123 x 0@@\n"


def test_sections_without_exit_run_in_the_script_shell() -> None:
    """No fork for plain sections: a variable set in one is seen by the next; stderr stays apart."""
    script, _nonce = T.read_script([T.Read("a", "fo_seen=1; echo a; echo warn >&2"), T.Read("b", "echo \"${fo_seen:-}\"")])
    assert "(\nfo_seen" not in script
    snap = read(ShellTarget(), [T.Read("a", "fo_seen=1; echo a; echo warn >&2"), T.Read("b", "echo \"${fo_seen:-}\"")])
    assert snap.get("a") == T.Section(0, "a\n", "warn\n") and snap.out("b") == "1\n"


def test_fo_rd_prints_a_file_without_a_process(tmp_path: t.Any) -> None:
    (tmp_path / "f").write_text("one\n  two \\x\nlast")
    snap = read(ShellTarget(), [T.Read("f", f"fo_rd {T.shq(str(tmp_path / 'f'))}")])
    assert snap.out("f") == "one\n  two \\x\nlast"  # byte for byte: no newline added
    snap = read(ShellTarget(), [T.Read("g", T.file_code(str(tmp_path / "none")))])
    assert snap.get("g") == T.Section(2, "", "absent\n")


def test_dynamic_reads_emit_their_own_sections(tmp_path: t.Any) -> None:
    for name in ("a", "b"):
        (tmp_path / name).write_text(name.upper())
    code = f'for f in {T.shq(str(tmp_path))}/*; do fo_cap "file:${{f##*/}}" cat "$f"; done'
    snap = read(ShellTarget(), [T.Read("files", code, dynamic=True)])
    assert snap.with_prefix("file:") == {"a": T.Section(0, "A", ""), "b": T.Section(0, "B", "")}


def test_duplicate_keys_run_once() -> None:
    script, _nonce = T.read_script([T.Read("k", "echo 1"), T.Read("k", "echo 1")])
    assert script.count('fo_head k\n') == 1


def _log_double(tmp_path: t.Any) -> str:
    """A folder with a fake nft that logs its calls and fails when told to."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    nft = bindir / "nft"
    nft.write_text(
        "#!/bin/sh\n"
        f"echo \"nft $*\" >>{tmp_path}/log\n"
        "case \"$1\" in -c) [ -e \"$FAIL_CHECK\" ] && { echo 'Error: Could not process rule: No such file or directory' >&2; exit 1; } ;; esac\n"
        "exit 0\n")
    nft.chmod(0o755)
    return str(bindir)


def test_apply_runs_in_order_and_reads_back(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    monkeypatch.setenv("FAIL_CHECK", str(tmp_path / "no-such"))
    target = ShellTarget(doubles=_log_double(tmp_path))
    dest = tmp_path / "etc" / "x.conf"
    gone = tmp_path / "gone"
    gone.write_text("old")
    spec = T.ApplySpec(
        expect=[T.Expect("e", "printf same", "same")],
        files=[T.FileChange(str(dest), "new 'content'\n"), T.FileChange(str(gone), None)],
        pre=[T.Step("pre", f"echo pre >>{tmp_path}/log")],
        nft=["add table inet t"],
        post=[T.Step("post", f"echo post >>{tmp_path}/log; cat {T.shq(str(dest))}")],
        readback=[T.Read("rb", "echo done")],
    )
    res = apply(target, spec)
    assert res.ok, res.stdout
    log = (tmp_path / "log").read_text().splitlines()
    assert log[0] == "pre" and log[1].startswith("nft -c -f") and log[2].startswith("nft -f") and log[3] == "post"
    assert dest.read_text() == "new 'content'\n" and not gone.exists()
    assert res.snapshot.out("post") == "new 'content'\n"
    assert res.snapshot.out("rb") == "done\n"
    assert not list(dest.parent.glob("*.fo-new"))


def test_stale_state_changes_nothing(tmp_path: t.Any) -> None:
    target = ShellTarget(doubles=_log_double(tmp_path))
    dest = tmp_path / "x.conf"
    res = apply(target, T.ApplySpec(expect=[T.Expect("table", "printf now", "then")],
                                    files=[T.FileChange(str(dest), "x")], nft=["add table inet t"]))
    assert (res.status, res.key) == ("stale", "table")
    assert res.snapshot.out("stale:table") is None and res.snapshot.text("stale:table") == "now"
    assert not dest.exists() and not (tmp_path / "log").exists()


def test_failed_validation_removes_the_staged_files(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    flag = tmp_path / "fail"
    flag.write_text("")
    monkeypatch.setenv("FAIL_CHECK", str(flag))
    target = ShellTarget(doubles=_log_double(tmp_path))
    dest = tmp_path / "x.conf"
    res = apply(target, T.ApplySpec(files=[T.FileChange(str(dest), "x")], nft=["add table inet t"]))
    assert (res.status, res.key) == ("failed", "nft-check")
    assert "No such file or directory" in res.section().err
    assert not dest.exists() and not list(tmp_path.glob("*.fo-new"))
    assert all(not line.startswith("nft -f") for line in (tmp_path / "log").read_text().splitlines())


def test_a_file_that_cannot_be_staged_stops_before_any_change(tmp_path: t.Any) -> None:
    target = ShellTarget(doubles=_log_double(tmp_path))
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    ok_file = tmp_path / "ok.conf"
    res = apply(target, T.ApplySpec(
        files=[T.FileChange(str(ok_file), "x"), T.FileChange(str(blocker / "f.conf"), "y")],
        nft=["add table inet t"]))
    assert (res.status, res.key) == ("failed", f"stage:{blocker}/f.conf")
    assert res.section() is not None and res.section().err
    assert not ok_file.exists() and not list(tmp_path.glob("*.fo-new"))
    assert not (tmp_path / "log").exists()


def test_a_failed_follow_up_step_is_reported_after_the_change(tmp_path: t.Any) -> None:
    res = apply(ShellTarget(), T.ApplySpec(post=[T.Step("s1", "echo one"), T.Step("s2", "echo bad >&2; exit 4"),
                                                 T.Step("s3", "echo never")]))
    assert (res.status, res.key) == ("failed-after", "s2")
    assert res.section() == T.Section(4, "", "bad\n")
    assert "s3" not in res.snapshot


def test_unchecked_steps_go_on() -> None:
    res = apply(ShellTarget(), T.ApplySpec(post=[T.Step("s1", "exit 1", check=False), T.Step("s2", "echo two")]))
    assert res.ok and res.snapshot.get("s1").rc == 1 and res.snapshot.out("s2") == "two\n"


def test_the_lock_serializes_two_runs(tmp_path: t.Any) -> None:
    spec = T.ApplySpec(post=[T.Step("s", f"echo start >>{tmp_path}/log; sleep 1; echo end >>{tmp_path}/log")])
    script, _nonce = T.apply_script(spec)
    shell = ShellTarget().shell
    procs = [subprocess.Popen([*shell, "-c", script], stdout=subprocess.DEVNULL) for _run in range(2)]
    for proc in procs:
        proc.wait(timeout=30)
    assert (tmp_path / "log").read_text().split() == ["start", "end", "start", "end"]


def _serialized_runs(tmp_path: t.Any, shell: t.Sequence[str], runs: int = 3, flock: bool = True) -> list[str]:
    spec = T.ApplySpec(post=[T.Step("s", f"echo start >>{tmp_path}/log; sleep 1; echo end >>{tmp_path}/log")])
    script, _nonce = T.apply_script(spec)
    if not flock:  # a host without flock (OpenWrt's busybox): the apply script adds the sbin dirs to PATH
        assert script.count("command -v flock") == 1
        script = script.replace("command -v flock", "false")
    procs = [subprocess.Popen([*shell, "-c", script], stdout=subprocess.DEVNULL) for _run in range(runs)]
    for proc in procs:
        proc.wait(timeout=60)
    return (tmp_path / "log").read_text().split()


def test_the_lock_is_gone_after_the_run_and_falls_back_to_the_second_directory(
        tmp_path: t.Any, monkeypatch: t.Any) -> None:
    # issue 16: where /run is missing the lock lived in /tmp/flowoffload.lock and stayed there
    lockdir = tmp_path / "tmp"
    lockdir.mkdir()
    monkeypatch.setattr(T, "LOCK_DIRS", (str(tmp_path / "no-run"), str(lockdir)))
    assert _serialized_runs(tmp_path, ShellTarget().shell) == ["start", "end"] * 3
    assert not list(lockdir.iterdir())
    res = apply(ShellTarget(), T.ApplySpec(post=[T.Step("s", 'echo "$fo_lock"')]))
    assert res.snapshot.out("s") == f"{lockdir}/flowoffload.lock\n" and not list(lockdir.iterdir())


def test_a_failed_apply_removes_the_lock_too(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    monkeypatch.setattr(T, "LOCK_DIRS", (str(tmp_path),))
    res = apply(ShellTarget(), T.ApplySpec(pre=[T.Step("p", "exit 3")]))
    assert (res.status, res.key) == ("failed", "p") and not list(tmp_path.iterdir())


def test_a_waiter_on_a_removed_lock_file_locks_the_new_one(tmp_path: t.Any, monkeypatch: t.Any) -> None:
    """The holder removes the file before it releases it; a run that opened that file meanwhile
    must not go on holding a file no path names (a third run could lock the new one)."""
    monkeypatch.setattr(T, "LOCK_DIRS", (str(tmp_path),))
    lock = tmp_path / "flowoffload.lock"
    # the holder: flock the path, let the apply open the same file and wait, then remove the
    # file and release it, as a finished run does; a third process then takes the new file
    holder = subprocess.Popen(["flock", str(lock), "sh", "-c", f"sleep 1; rm -f {lock}; sleep 0.2"])
    time.sleep(0.3)
    res = apply(ShellTarget(), T.ApplySpec(post=[T.Step("s", 'echo "$fo_held $fo_i"')]))
    holder.wait(timeout=10)
    # one retry: the file it first locked was removed by the holder
    assert res.ok and res.snapshot.out("s") == "flock 1\n"
    assert not lock.exists()


def test_without_flock_the_lock_is_a_directory_taken_over_when_its_holder_died(
        tmp_path: t.Any, monkeypatch: t.Any) -> None:
    """OpenWrt's busybox has no flock: mkdir LOCK.d, present only while held; a directory
    left by a killed run (its pid gone) is taken over."""
    monkeypatch.setattr(T, "LOCK_DIRS", (str(tmp_path / "run"),))
    (tmp_path / "run").mkdir()
    stale = tmp_path / "run" / "flowoffload.lock.d"
    stale.mkdir()
    with subprocess.Popen(["true"]) as dead:
        dead.wait()
    (stale / "pid").write_text(f"{dead.pid}\n")
    for shell in (ShellTarget().shell, ["/usr/bin/dash"] if os.path.exists("/usr/bin/dash") else ["/bin/sh"]):
        assert _serialized_runs(tmp_path, shell, flock=False) == ["start", "end"] * 3
        assert not list((tmp_path / "run").iterdir())
        (tmp_path / "log").unlink()


def test_a_garbled_output_is_an_error() -> None:
    with pytest.raises(T.FlowOffloadError, match="cut short"):
        T.parse_sections("@@N k@@\nhalf a section", "N")


def test_lost_result_marker() -> None:
    res = T.parse_apply(255, "", "ssh: connection closed", "N")
    assert res.status == "lost" and not res.ok


def test_scripts_pass_shellcheck(tmp_path: t.Any) -> None:
    loop = 'for f in /sys/class/net/*; do fo_cap "d:${f##*/}" cat "$f/operstate"; done'
    reads, _nonce = T.read_script([T.Read("a", "cat /etc/os-release"), T.Read("d", loop, True)])
    applies, _nonce = T.apply_script(T.ApplySpec(
        expect=[T.Expect("e", "echo x", "x\n")], files=[T.FileChange("/tmp/x y", "z"), T.FileChange("/tmp/w", None)],
        pre=[T.Step("p", T.argv("modprobe", "nf_flow_table"))], nft=["add table inet t"],
        post=[T.Step("q", "true")], readback=[T.Read("r", "true")]))
    for name, script in (("read.sh", reads), ("apply.sh", applies)):
        path = tmp_path / name
        path.write_text(script)
        proc = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout


# --- the fake against the real interface ---------------------------------------------------
def test_fake_target_prints_what_the_real_script_prints() -> None:
    sections = {"a": sec("x\n"), "b": sec("", 3, "boom\n"), "c": sec("no newline")}
    reads = [T.Read("a", "echo x"), T.Read("b", "echo boom >&2; exit 3"), T.Read("c", "printf 'no newline'")]
    assert read(FakeTarget(sections), reads).sections == read(ShellTarget(), reads).sections == sections


def test_fake_target_answers_an_apply_and_never_changes_its_reads() -> None:
    """What an apply changes is observed only on a HostRoot (host_root.py): the fake's reads stay."""
    fake = FakeTarget({"k": sec("before")}, apply_sections={"rb": sec("after")})
    res = apply(fake, T.ApplySpec(post=[T.Step("s", "true")]))
    assert res.ok and res.snapshot.out("rb") == "after"
    assert read(fake, [T.Read("k", "true")]).out("k") == "before"
    assert fake.round_trips == 2 and len(fake.applies) == 1
    failed = FakeTarget({"k": sec("before")}, result="failed s")
    res = apply(failed, T.ApplySpec(post=[T.Step("s", "true")]))
    assert not res.ok and (res.status, res.key) == ("failed", "s")


def test_every_target_has_the_interface_of_the_protocol() -> None:
    # ActionTarget (controller side) is checked in tests/unit/plugins/plugin_utils/test_action.py
    want = inspect.signature(T.Target.run_script)
    for cls in (FakeTarget, ShellTarget):
        assert inspect.signature(cls.run_script) == want, cls
        assert hasattr(cls(), "round_trips")


def test_busybox_is_the_shell_of_the_tests() -> None:
    # OpenWrt's /bin/sh is busybox ash: the scripts are tested under it (scripts/setup installs it)
    assert shutil.which("busybox"), "busybox is missing: run scripts/setup (apt-get install busybox-static)"
    assert os.path.basename(ShellTarget().shell[0]) == "busybox"


def test_proc_sys_values_are_read_whole() -> None:
    """The kernel answers an integer sysctl only at offset 0: a byte-by-byte shell read gets
    its first digit (the read-back of nf_flowtable_tcp_timeout=300 once said 3)."""
    with open("/proc/sys/kernel/pid_max", encoding="ascii") as handle:
        want = handle.read().strip()
    assert len(want) > 1
    code = T.proc_sys_code(["kernel/pid_max", "kernel/no_such_value"], dotted=True)
    snap = read(ShellTarget(), [T.Read("v", code)])
    assert snap.get("v") == T.Section(0, f"kernel.pid_max={want}\n", "")
    code = T.proc_sys_code(["kernel/pid_max"], dotted=False)
    assert read(ShellTarget(), [T.Read("v", code)]).out("v") == f"kernel/pid_max={want}\n"


def test_clip_keeps_the_start_and_cuts_at_a_boundary() -> None:
    # issue 16: the install error kept the last 800 characters and began mid-word
    lines = [f"line {n}: " + "x" * 60 for n in range(30)]
    text = "\n".join(lines)
    clipped = T.clip(text, 200)
    assert clipped.startswith("line 0: ") and clipped.split(" [... ")[0] == "\n".join(lines[:2])
    assert clipped.endswith(f"{len(text) - len(chr(10).join(lines[:2]))} more characters in the result's stdout and stderr]")
    one = "First sentence names the cause. Second sentence; third part " + "y " * 200
    assert T.clip(one, 100).startswith("First sentence names the cause. Second sentence; [... ")
    assert T.clip("short", 100) == "short" and T.clip("", 10) == ""
    assert T.clip("z" * 50, 10).startswith("z" * 10 + " [... 40 more")


# --- the script files (prelude.sh, apply.sh, lock.sh, proc_sys.sh, release.sh) in both shells ----
@pytest.mark.parametrize("shell", SHELLS, ids=list(SHELLS))
def test_read_and_apply_scripts_run_alike_in_busybox_ash_and_dash(shell: str, tmp_path: t.Any,
                                                                  monkeypatch: t.Any) -> None:
    monkeypatch.setattr(T, "LOCK_DIRS", (str(tmp_path / "no-run"), str(tmp_path)))
    monkeypatch.setenv("FAIL_CHECK", str(tmp_path / "no-such"))
    target = ShellTarget(doubles=_log_double(tmp_path), shell=SHELLS[shell])
    (tmp_path / "f").write_text("a\nb")
    snap = read(target, [H.release_read(), T.Read("f", T.file_code(str(tmp_path / "f"))),
                         T.Read("g", T.file_code(str(tmp_path / "none"))), T.Read("kr", 'printf %s "$fo_kr"'),
                         T.Read("v", T.proc_sys_code(["kernel/osrelease", "no/such"], dotted=True))])
    release = os.uname().release
    assert H.kernel_release(snap) == release and snap.out("kr") == release  # $fo_kr for the sections after it
    assert snap.out("f") == "a\nb" and snap.get("g") == T.Section(2, "", "absent\n")
    assert snap.out("v") == f"kernel.osrelease={release}\n"
    dest = tmp_path / "etc" / "x.conf"
    spec = T.ApplySpec(expect=[T.Expect("e", "printf same", "same")], files=[T.FileChange(str(dest), "x" * 9000)],
                       pre=[T.Step("p", "echo pre; echo warn >&2")], nft=["add table inet t"],
                       post=[T.Step("s", "exit 5", check=False), T.Step("q", 'echo "$fo_held"')],
                       readback=[T.Read("rb", "echo done")])
    res = apply(target, spec)
    assert res.ok and dest.read_text() == "x" * 9000, res.stdout
    assert res.snapshot.get("p") == T.Section(0, "pre\n", "warn\n") and res.snapshot.get("s").rc == 5
    assert res.snapshot.out("q") in ("flock\n", "dir\n") and res.snapshot.out("rb") == "done\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("flowoffload")] == []  # the lock is gone
    stale = apply(target, T.ApplySpec(expect=[T.Expect("e", "printf now", "then")], files=[T.FileChange(str(dest), "y")]))
    assert (stale.status, stale.key) == ("stale", "e") and dest.read_text() == "x" * 9000
    failed = apply(target, T.ApplySpec(files=[T.FileChange(str(dest), "z")], pre=[T.Step("p", "exit 4")]))
    assert (failed.status, failed.key, failed.section().rc) == ("failed", "p", 4)
    assert dest.read_text() == "x" * 9000 and not list(dest.parent.glob("*.fo-new"))


def test_words_refuses_what_would_not_split_back() -> None:
    with pytest.raises(ValueError, match="single words"):
        T.sh.words(["/run", "a b"])
    with pytest.raises(ValueError, match="single words"):
        T.sh.words(["x*"])
    assert T.sh.words(["/run", "/tmp"]) == "/run /tmp"

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash consistency (issue 17, item 5), run for real on the lab VM's HostRoot: the profile's
apply is killed with SIGKILL at every boundary of its script (the apply script's test-only
hook, /run/flowoffload-test-kill-at). At each, every file the collection owns is as it was
before or as a complete run leaves it (never half written), and the next run converges with
one apply, after which a run changes nothing."""
from __future__ import annotations

import pathlib

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
    Snap,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    lab_root,
    params,
)

KILL_AT = "/run/flowoffload-test-kill-at"
# what a killed run may leave that is not the host's state: its temporary folder, its staged
# files (PATH.fo-new, replaced by the next run's), its lock (taken over: its holder is dead)
# and the hook's own file
TRANSIENT = ("/tmp/", "/run/flowoffload.lock", KILL_AT)
# the running kernel's state, which changes step by step by design (a module is loaded or not,
# a sysctl value is set or not); the files are what must be old or new
RUNTIME = ("/proc/", "/sys/module/")


def prm() -> dict[str, object]:
    return params(tcp_timeout=60, **LAN_WAN)


def fresh(path: pathlib.Path) -> HostRoot:
    host = lab_root(path, "busybox")
    host.seed_ruleset("")
    return host


def files(snap: Snap) -> Snap:
    return {p: v for p, v in snap.items()
            if not p.startswith(TRANSIENT + RUNTIME) and not p.endswith(".fo-new")}


def boundaries(script: str) -> int:
    return sum(1 for line in script.splitlines() if line == "fo_boundary")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snap, Snap, str, int]:
    """(files before, files after a complete run, the ruleset after, the apply's boundaries)."""
    host = fresh(tmp_path_factory.mktemp("reference"))
    before = files(host.snapshot())
    assert P.run_profile(host, prm(), False)["changed"] is True
    return before, files(host.snapshot()), host.ruleset(), boundaries(host.applies[0])


def test_the_apply_has_a_boundary_before_each_change(reference: tuple[Snap, Snap, str, int]) -> None:
    # staged files, module loads, nft check and apply, file moves, units, sysctl
    assert reference[3] >= 10


def test_a_kill_at_any_boundary_leaves_old_or_new_and_the_next_run_converges(
        tmp_path: pathlib.Path, reference: tuple[Snap, Snap, str, int]) -> None:
    before, after, ruleset, count = reference
    seen_states = set()
    for point in range(1, count + 1):
        host = fresh(tmp_path / str(point))
        host.write(KILL_AT, f"{point}\n")
        with pytest.raises(FlowOffloadError):
            P.run_profile(host, prm(), False)
        assert host.last[0] != 0 and f"-killed {point}@@" in host.last[1], (point, host.last)
        now = files(host.snapshot())
        for path in sorted(set(before) | set(after) | set(now)):
            assert now.get(path) in (before.get(path), after.get(path)), (point, path, now.get(path))
        assert host.ruleset() in ("", ruleset), point  # one nft transaction: all or nothing
        seen_states.add(tuple(sorted(p for p in now if now.get(p) == after.get(p) != before.get(p))))
        # the next run converges with one apply; then nothing is left to do
        host.path(KILL_AT).unlink()
        host.round_trips = 0
        assert P.run_profile(host, prm(), False)["changed"] is True, point
        assert host.round_trips == 2, point
        assert P.run_profile(host, prm(), False)["changed"] is False and host.round_trips == 3, point
        assert files(host.snapshot()) == after and host.ruleset() == ruleset, point
        assert not [p for p in host.snapshot() if p.endswith(".fo-new")], point
    # the kills landed at different points of the apply (not all before its first change)
    assert len(seen_states) > 2


def test_the_hook_cuts_the_power_at_its_boundary_when_asked(tmp_path: pathlib.Path) -> None:
    # "N reset": the integration suite's power cut (sysrq b on the lab VM). HostRoot's /proc is
    # a plain folder, so the write lands in a file of the root; the script then stops as a kill.
    host = fresh(tmp_path)
    host.write(KILL_AT, "3 reset\n")
    with pytest.raises(FlowOffloadError):
        P.run_profile(host, prm(), False)
    assert "-killed 3@@" in host.last[1], host.last
    assert host.read("/proc/sysrq-trigger") == "b\n"
    # any other text is no boundary of the hook: the run goes through
    host = fresh(tmp_path / "other")
    host.write(KILL_AT, "3 later\n")
    assert P.run_profile(host, prm(), False)["changed"] is True
    assert host.read("/proc/sysrq-trigger") is None

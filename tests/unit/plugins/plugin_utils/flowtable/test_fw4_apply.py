# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fw4_apply.sh, one step per command, run for real inside the apply script under busybox ash
and dash, with uci/fw4/nft stubs that log what they are asked: each command is one of the
apply script's sections, and the last step ``fw4`` names the command that failed."""
from __future__ import annotations

import os
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import fw4_apply
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import script as T
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
)

SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}
STUBS = """\
uci() { echo "uci $*" >>"$FO_LOG"; case $1 in set | commit) return "${FAIL_UCI:-0}" ;; esac; }
fw4() { echo "fw4 $*" >>"$FO_LOG"; [ "$1" = check ] && return "${FAIL_CHECK:-0}"; return 0; }
nft() { echo "nft $*" >>"$FO_LOG"; [ -n "$LISTED" ] && printf '%s\\n' "$LISTED"; [ -n "$LISTED" ]; }
"""
UNSET = {"flow_offloading": None, "flow_offloading_hw": None}
SW = "firewall.@defaults[0].flow_offloading"
HW = "firewall.@defaults[0].flow_offloading_hw"


class Run(t.Protocol):
    def __call__(self, changes: dict[str, str | None], before: dict[str, str | None], want_ft: bool, need_hw: bool,
                 **env: str) -> tuple[ApplyResult, list[str]]:
        ...


@pytest.fixture(params=sorted(SHELLS))
def run(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """run(changes, before, want_ft, need_hw, **env) -> (how the apply script ended, the stubs' log)."""
    monkeypatch.setattr(T, "LOCK_DIRS", (str(tmp_path),))

    def apply(changes: dict[str, str | None], before: dict[str, str | None], want_ft: bool, need_hw: bool,
              **env: str) -> tuple[ApplyResult, list[str]]:
        log = tmp_path / "log"
        log.write_text("")
        spec = ApplySpec(post=fw4_apply.apply_steps(changes, before, want_ft, need_hw))
        script, nonce = T.apply_script(spec)
        proc = subprocess.run([*SHELLS[request.param], "-c", STUBS + script], capture_output=True, text=True,
                              check=False, env={"PATH": os.environ["PATH"], "FO_LOG": str(log), "LISTED": "", **env})
        return T.parse_apply(proc.returncode, proc.stdout, proc.stderr, nonce), log.read_text().splitlines()
    return apply


def rcs(res: ApplyResult) -> dict[str, int]:
    return {key: sec.rc for key, sec in res.snapshot.sections.items()}


def test_sets_commits_checks_reloads_and_verifies_each_as_a_section(run: Run) -> None:
    res, log = run({"flow_offloading": "1"}, UNSET, True, False, LISTED="table inet fw4 { flowtable ft { } }")
    assert res.status == "ok", res.stdout
    assert log == [f"uci set {SW}=1", "uci commit firewall", "fw4 check", "fw4 reload", "nft list flowtable inet fw4 ft"]
    assert rcs(res) == {"fw4:uci-set": 0, "fw4:uci-commit": 0, "fw4:check": 0, "fw4:reload": 0, "fw4:verify": 0,
                        "fw4:restore": 0, "fw4:reload-restore": 0, "fw4": 0}
    assert res.snapshot.text("fw4:verify") == "table inet fw4 { flowtable ft { } }\n"
    assert res.snapshot.sections["fw4:restore"].err == "skipped: nothing to put back\n"


def test_flowtable_not_listed_puts_the_old_values_back_and_reloads(run: Run) -> None:
    res, log = run({"flow_offloading": "1", "flow_offloading_hw": "1"}, {"flow_offloading": None, "flow_offloading_hw": "0"},
                   True, True)
    assert (res.status, res.key, res.snapshot.text("fw4")) == ("failed-after", "fw4", "verify\n")
    assert log[-4:] == [f"uci -q delete {SW}", f"uci set {HW}=0", "uci commit firewall", "fw4 reload"]
    assert rcs(res)["fw4:verify"] == 1 and rcs(res)["fw4:restore"] == 0 and rcs(res)["fw4:reload-restore"] == 0


def test_listed_without_flags_offload_fails_the_hardware_need(run: Run) -> None:
    res, log = run({"flow_offloading_hw": "1"}, {"flow_offloading": "1", "flow_offloading_hw": None}, True, True,
                   LISTED="flowtable ft { devices = { br-lan } }")
    assert res.snapshot.text("fw4") == "hardware\n" and rcs(res)["fw4:verify"] == 1
    assert log[-3:] == [f"uci -q delete {HW}", "uci commit firewall", "fw4 reload"]


def test_failed_check_restores_uci_without_a_reload(run: Run) -> None:
    res, log = run({"flow_offloading": None}, {"flow_offloading": "1", "flow_offloading_hw": None}, False, False,
                   FAIL_CHECK="3")
    assert res.snapshot.text("fw4") == "check\n" and rcs(res)["fw4:check"] == 3
    assert "fw4 reload" not in log and log[-2:] == [f"uci set {SW}=1", "uci commit firewall"]
    assert res.snapshot.sections["fw4:reload"].err == "skipped: fw4:check failed\n"
    assert res.snapshot.sections["fw4:reload-restore"].err == "skipped: nothing to put back\n"


def test_failed_uci_set_reverts_and_runs_nothing_else(run: Run) -> None:
    res, log = run({"flow_offloading": "1"}, UNSET, True, False, FAIL_UCI="1")
    assert res.snapshot.text("fw4") == "uci-set\n" and rcs(res)["fw4:uci-set"] == 1
    assert log == [f"uci set {SW}=1", "uci revert firewall"]


def test_flowtable_still_listed_after_turning_it_off_fails_the_verify(run: Run) -> None:
    res, log = run({"flow_offloading": None}, {"flow_offloading": "1", "flow_offloading_hw": None}, False, False,
                   LISTED="flowtable ft")
    assert res.snapshot.text("fw4") == "verify\n" and log[-3:] == [f"uci set {SW}=1", "uci commit firewall", "fw4 reload"]


def test_reload_only_changes_no_uci_value(run: Run) -> None:
    res, log = run({}, {"flow_offloading": "1", "flow_offloading_hw": None}, True, False, LISTED="flowtable ft")
    assert res.status == "ok" and log == ["fw4 check", "fw4 reload", "nft list flowtable inet fw4 ft"]
    assert sorted(rcs(res)) == ["fw4", "fw4:check", "fw4:reload", "fw4:verify"]


def test_the_rendered_apply_script_passes_shellcheck() -> None:
    spec = ApplySpec(post=fw4_apply.apply_steps({"flow_offloading": "1"}, UNSET, True, True))
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=T.apply_script(spec)[0], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout

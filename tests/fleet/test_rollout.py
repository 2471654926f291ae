# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/fleet/rollout.py: the checks of the batched rollout and of the failing audit."""
from __future__ import annotations

import importlib.util
import os

_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rollout.py")
_SPEC = importlib.util.spec_from_file_location("fleet_rollout", _PATH)
rollout = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(rollout)

RECAP = "{:<26} : ok={}    changed={}    unreachable={}    failed={}    skipped=0    rescued=0    ignored={}"
BEFORE = "== r07\nf 644 ./x\n== r09\nf 644 ./y\n== r10\ntable a\n== r17\n"


def _log(*rows: tuple) -> str:
    return "\n".join(RECAP.format(*row) for row in rows)


def test_snapshots_split_by_router() -> None:
    assert rollout.snapshots(BEFORE) == {"r07": "f 644 ./x", "r09": "f 644 ./y", "r10": "table a", "r17": ""}


def test_rollout_that_stopped_after_the_first_batch_passes() -> None:
    after = BEFORE.replace("f 644 ./x", "f 644 ./x\ntable inet flowoffload")
    text = _log(("r07", 3, 1, 0, 0, 0), ("r09", 1, 0, 0, 1, 0))
    assert rollout.check_rollout(text, 2, BEFORE, after, ["r07"], ["r09"], ["r10", "r17"]) == []


def test_rollout_that_went_on_or_touched_a_later_router_fails() -> None:
    after = BEFORE.replace("table a", "table b")  # r10 changed, r07 did not
    text = _log(("r07", 3, 1, 0, 0, 0), ("r09", 1, 0, 0, 1, 0), ("r10", 3, 1, 0, 0, 0))
    problems = rollout.check_rollout(text, 0, BEFORE, after, ["r07"], ["r09"], ["r10", "r17"])
    assert any("rc 0" in p for p in problems)
    assert any(p.startswith("r07 (first batch, healthy): the snapshot did not change") for p in problems)
    assert any(p.startswith("r10: changed by a rollout") and "table b" in p for p in problems)
    assert any(p.startswith("r10 (later batch): in the recap") for p in problems)


def test_rollout_whose_failing_router_did_not_fail_or_has_no_snapshot_fails() -> None:
    text = _log(("r07", 3, 1, 0, 0, 0), ("r09", 3, 1, 0, 0, 0))
    after = BEFORE.replace("f 644 ./x", "f 644 ./z").replace("== r17\n", "")
    problems = rollout.check_rollout(text, 2, BEFORE, after, ["r07"], ["r09"], ["r10", "r17"])
    assert any(p.startswith("r09 (first batch, failing): recap") for p in problems)
    assert "r17: no snapshot after the rollout" in problems


CONFIRMED = ('changed: [r07] => {"changed": true, "rollback": {"armed": true, "timeout": 60, "confirmed": true, '
             '"health_check": {"rc": 0, "stdout": "", "stderr": ""}}}')
ROLLED_BACK = ('fatal: [r09]: FAILED! => {"changed": false, "msg": "health_check failed on the router after the change '
               '(rc=1: no output); the change was rolled back at once: the router is in the state before this run", '
               '"rollback": {"armed": true, "timeout": 60, "confirmed": false, "health_check": {"rc": 1}}}')


def test_rollout_confirmed_and_rolled_back_passes() -> None:
    assert rollout.check_rollback(CONFIRMED + "\n" + ROLLED_BACK, ["r07"], ["r09"]) == []


def test_rollout_without_confirm_or_with_another_failure_fails() -> None:
    unconfirmed = CONFIRMED.replace('"confirmed": true', '"confirmed": false')
    refused = ROLLED_BACK.replace("health_check failed", "devices: nosuch0 does not exist")
    problems = rollout.check_rollback(unconfirmed + "\n" + refused, ["r07"], ["r09"])
    assert len(problems) == 2
    assert problems[0].startswith("r07: no result with a rollback armed and confirmed")
    assert problems[1].startswith("r09: no failure saying its health check failed") and "nosuch0" in problems[1]
    # a router with no result line at all
    assert rollout.check_rollback("", ["r07"], ["r09"])[1].endswith("(no failure result)")


MIX = {
    "r03": {"seed": "none", "configured": True, "state": "configured_idle", "conflicts": False, "missing": False},
    "r10": {"seed": "none", "configured": False, "state": "not_configured", "conflicts": False, "missing": False},
}
REPORT = {"hosts": [{"host": "r03", "state": "unreachable", "conflicts": [], "missing_devices": []},
                    {"host": "r10", "state": "not_configured", "conflicts": [], "missing_devices": []}],
          "summary": {"hosts": 2}}
FAILED = ("fatal: [r03]: FAILED! => \n[ERROR]: Task failed: Action failed: r03 is unreachable (listed in "
          "audit_fail_on: unreachable, failed): Failed to connect")


def test_audit_failure_naming_the_router_with_a_full_report_passes() -> None:
    text = FAILED + "\n" + _log(("r03", 1, 0, 0, 1, 1), ("r10", 6, 0, 0, 0, 0))
    assert rollout.check_audit_failure(text, 2, REPORT, MIX, "r03") == []


def test_audit_that_passed_or_dropped_a_row_fails() -> None:
    text = _log(("r03", 1, 0, 0, 0, 1), ("r10", 6, 0, 0, 1, 0))
    report = {"hosts": REPORT["hosts"][1:], "summary": {"hosts": 1}}
    problems = rollout.check_audit_failure(text, 0, report, MIX, "r03")
    assert any("rc 0" in p for p in problems)
    assert "no failure line naming r03 as unreachable (listed in audit_fail_on)" in problems
    assert any(p.startswith("r03: recap") for p in problems)
    assert "routers other than r03 failed: r10" in problems
    assert "r03: no row in the report" in problems

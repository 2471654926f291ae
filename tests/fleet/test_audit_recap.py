# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/fleet/audit_recap.py on recap lines as ansible-playbook prints them."""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audit_recap import check_audit_recap  # noqa: E402  pylint: disable=wrong-import-position,import-error

LINE = "{:<27}: ok={}    changed={}    unreachable=0    failed={}    skipped=0    rescued=0    ignored=0\n"


def recap_text(rows: dict[str, tuple[int, int, int]]) -> str:
    return "PLAY RECAP *****\n" + "".join(LINE.format(h, *v) for h, v in rows.items())


def test_every_router_unchanged_passes_and_the_controller_may_change() -> None:
    text = recap_text({"r01": (4, 0, 0), "r02": (1, 0, 0), "localhost": (1, 1, 0)})
    assert check_audit_recap(text, ["r01", "r02"]) == []


def test_the_first_router_counted_with_the_report_write_fails() -> None:
    text = recap_text({"r01": (4, 1, 0), "r02": (1, 0, 0)})
    assert check_audit_recap(text, ["r01", "r02"]) == [
        "r01: changed=1 failed=0 (a read-only audit: want changed=0, failed=0)"]


def test_a_missing_router_and_a_stranger_with_a_change_fail() -> None:
    text = recap_text({"r01": (1, 0, 0), "gw9": (1, 2, 0)})
    assert check_audit_recap(text, ["r01", "r02"]) == [
        "r02: not in the PLAY RECAP", "gw9: changed=2 (not a router of the fleet, not the controller)"]

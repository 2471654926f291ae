# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""target/driver.py: read -> plan -> apply -> finish for any part, and the re-plan of a run
whose host another run changed under it."""
from __future__ import annotations

import dataclasses
import re
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import driver
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Expect,
    Read,
    Snapshot,
    Step,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import render_sections, sec

_NONCE = re.compile(r"^fo_nonce=(\S+)$", re.M)


class Host:
    """A host whose value another run changes while ours plans: ``changes`` more times."""

    def __init__(self, value: str, changes: int = 0) -> None:
        self.value = value
        self.changes = changes
        self.kinds: list[str] = []

    def run_script(self, script: str) -> tuple[int, str, str]:
        nonce = _NONCE.search(script).group(1)  # type: ignore[union-attr]
        if "# flowoffload.nft: apply" not in script:
            self.kinds.append("read")
            return 0, render_sections(nonce, {"value": sec(self.value)}), ""
        self.kinds.append("apply")
        if self.changes:  # another run took the lock first and changed the value
            self.changes -= 1
            self.value = "other"
            return 3, render_sections(nonce, {"stale:value": sec(self.value, 1)}) + f"@@{nonce}-result stale value@@\n", ""
        self.value = "wanted"
        return 0, f"@@{nonce}-result ok -@@\n", ""


@dataclasses.dataclass
class ToyPlan:
    before: str
    spec: ApplySpec


class Toy:
    """A part that wants the host's value to be 'wanted'."""

    def __init__(self) -> None:
        self.finished: list[tuple[str, str | None]] = []

    def reads(self, params: t.Mapping[str, t.Any]) -> list[Read]:
        if params.get("bad"):
            raise FlowOffloadError("bad: say what to do instead")
        return [Read("value", "cat /value")]

    def plan(self, snapshot: Snapshot, params: t.Mapping[str, t.Any], check_mode: bool) -> ToyPlan:
        before = snapshot.text("value")
        spec = ApplySpec()
        if before != "wanted":
            spec.expect.append(Expect("value", "cat /value", before))
            spec.post.append(Step("set", "echo wanted >/value"))
        return ToyPlan(before, spec)

    def finish(self, plan: ToyPlan, applied: ApplyResult | None) -> dict[str, t.Any]:
        self.finished.append((plan.before, applied.status if applied else None))
        if applied is not None and not applied.ok:
            raise FlowOffloadError(f"the host changed while planning ({applied.key}); nothing was changed")
        return {"changed": applied is not None and plan.spec.changes()}


def test_bad_input_runs_nothing() -> None:
    host = Host("x")
    with pytest.raises(FlowOffloadError, match="bad"):
        driver.drive(Toy(), host, {"bad": True}, False)
    assert host.kinds == []


@pytest.mark.parametrize("value, check_mode, kinds, changed", [
    ("wanted", False, ["read"], False),          # idempotent: one round trip
    ("old", True, ["read"], False),              # check mode: never an apply
    ("old", False, ["read", "apply"], True),     # a change: two round trips
])
def test_round_trips(value: str, check_mode: bool, kinds: list[str], changed: bool) -> None:
    host = Host(value)
    assert driver.drive(Toy(), host, {}, check_mode)["changed"] is changed
    assert host.kinds == kinds


def test_a_run_that_finds_the_host_changed_plans_again_from_the_new_state() -> None:
    host, toy = Host("old", changes=1), Toy()
    assert driver.drive(toy, host, {}, False) == {"changed": True}
    assert host.kinds == ["read", "apply", "read", "apply"]
    assert host.value == "wanted"
    # planned first from "old", then from what the other run left ("other")
    assert toy.finished == [("other", "ok")]


def test_the_re_plans_are_bounded_and_end_in_the_parts_error() -> None:
    host, toy = Host("old", changes=driver.ATTEMPTS), Toy()
    with pytest.raises(FlowOffloadError, match="the host changed while planning"):
        driver.drive(toy, host, {}, False)
    assert host.kinds == ["read", "apply"] * driver.ATTEMPTS
    assert host.value == "other"

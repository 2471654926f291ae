# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway playbook's rollout filters: every form of gateway_batch and
gateway_max_fail_percentage an operator or a survey gives, and the errors naming them."""
from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.flowoffload.nft.plugins.filter.rollout import (
    FilterModule,
    rollout_batches,
    rollout_max_fail,
)


@pytest.mark.parametrize("value, sizes", [
    (None, [0]), ("", [0]), (0, [0]), (5, [5]), ("5", [5]), ("10%", ["10%"]),
    ([1, "10%", "50%"], [1, "10%", "50%"]), (["1", " 10% "], [1, "10%"]),
    ("1,10%,50%", [1, "10%", "50%"]), ('[1, "10%", "50%"]', [1, "10%", "50%"]), ("[1, '10%']", [1, "10%"]),
])
def test_rollout_batches_takes_every_form(value: t.Any, sizes: list[t.Any]) -> None:
    assert rollout_batches(value) == sizes


@pytest.mark.parametrize("value", ["abc", "1,,2", "-1", "1.5", "10 %", True, [1, "x"], {"a": 1}, [], "[]"])
def test_rollout_batches_refuses_naming_the_variable(value: t.Any) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^gateway_batch: .* is not valid; give a number of routers"):
        rollout_batches(value)


@pytest.mark.parametrize("value, batches, percent", [
    (None, [0], 100.0), ("", [0], 100.0), ("", [1, "10%"], 0.0), (None, ["10%"], 0.0),
    (0, [1], 0.0), ("25", [1], 25.0), ("25%", [1], 25.0), (12.5, [1], 12.5), (100, [0], 100.0),
])
def test_rollout_max_fail_defaults_by_batches(value: t.Any, batches: list[t.Any], percent: float) -> None:
    assert rollout_max_fail(value, batches) == percent


@pytest.mark.parametrize("value", ["abc", "101", -1, True, "1e2"])
def test_rollout_max_fail_refuses_naming_the_variable(value: t.Any) -> None:
    with pytest.raises(AnsibleFilterError, match=r"^gateway_max_fail_percentage: .* is not valid; give a percentage"):
        rollout_max_fail(value, [1])


def test_the_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {"rollout_batches", "rollout_max_fail"}

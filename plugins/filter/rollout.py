# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the flowoffload.nft.gateway playbook's rollout (docs in rollout_batches.yml
and rollout_max_fail.yml beside this file).
"""
from __future__ import annotations

import re
import typing as t

from ansible.errors import AnsibleFilterError

_SIZE = re.compile(r"^[0-9]+%?$")
_NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def _items(value: t.Any) -> list[t.Any]:
    if value is None or value == "":
        return [0]
    if isinstance(value, int):  # bool too: rollout_batches refuses it
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        return [part.strip().strip("'\"") for part in text.split(",")]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def rollout_batches(value: t.Any) -> list[int | str]:
    """gateway_batch as Ansible's ``serial``: a list of sizes (int) and percentages ("10%")."""
    items = _items(value) or [None]  # an empty list is refused below
    sizes: list[int | str] = []
    for item in items:
        text = "" if isinstance(item, bool) or item is None else str(item).strip()
        if not _SIZE.match(text):
            raise AnsibleFilterError(
                f"gateway_batch: {value!r} is not valid; give a number of routers (5), a percentage (10%) "
                f"or a list of them ([1, \"10%\", \"50%\"], or 1,10%,50% as one string)")
        sizes.append(text if text.endswith("%") else int(text))
    return sizes


def rollout_max_fail(value: t.Any, batches: t.Sequence[t.Any]) -> float:
    """gateway_max_fail_percentage as a number from 0 to 100. Unset: 100 without batches
    (every router finishes its run), 0 with batches (one failed router stops the rollout)."""
    if value is None or value == "":
        return 100.0 if list(batches) in ([0], ["0"]) else 0.0
    text = "" if isinstance(value, bool) else str(value).replace("%", "").strip()
    if not _NUMBER.match(text) or float(text) > 100:
        raise AnsibleFilterError(
            f"gateway_max_fail_percentage: {value!r} is not valid; give a percentage from 0 to 100 "
            f"(0: one failed router stops the rollout after its batch)")
    return float(text)


class FilterModule:
    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"rollout_batches": rollout_batches, "rollout_max_fail": rollout_max_fail}

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Count the module executions and target round trips of a playbook run per host.

Used by every Molecule scenario. Round trips: an action of this collection reports its own ``round_trips``
(one read script, plus one apply script when something changes); ``raw`` is one; any
other module counts as one (it is at least one, and on these Python-less hosts it fails).

A task counts when it ran on the target (not skipped) and its action is not one that
runs only on the controller (debug, set_fact, assert, fail, includes, ...). At the end
of each playbook one JSON line per run is appended to the file named by
FLOWOFFLOAD_MODULE_COUNT_FILE: {"playbook", "hosts": {host: {"count", "actions",
"round_trips"}}}, and one line per host is displayed.
"""
from __future__ import annotations

import json
import os
import typing as t

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r"""
name: module_count
type: aggregate
short_description: Count module executions and round trips per host (flowoffload.nft Molecule helper)
description:
  - Appends one JSON line per playbook run to the file named by E(FLOWOFFLOAD_MODULE_COUNT_FILE).
requirements:
  - enabled in callbacks_enabled
"""

# Actions that never execute anything on the target.
CONTROLLER_ONLY = frozenset(
    f"{prefix}{name}"
    for prefix in ("", "ansible.builtin.", "ansible.legacy.")
    for name in (
        "debug", "set_fact", "assert", "fail", "include_tasks", "import_tasks",
        "include_role", "import_role", "include_vars", "meta", "validate_argument_spec",
        "add_host", "group_by", "set_stats", "pause", "include", "noop",
    )
)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "module_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._playbook = ""
        self._hosts: t.Dict[str, t.Dict[str, t.Any]] = {}

    def v2_playbook_on_start(self, playbook: t.Any) -> None:
        self._playbook = os.path.basename(getattr(playbook, "_file_name", "") or "")
        self._hosts = {}

    def _record(self, result: t.Any) -> None:
        action = result._task.action  # pylint: disable=protected-access
        if action in CONTROLLER_ONLY:
            return
        host = result._host.get_name()  # pylint: disable=protected-access
        entry = self._hosts.setdefault(host, {"count": 0, "actions": [], "round_trips": 0})
        entry["count"] += 1
        entry["actions"].append(action)
        trips = result._result.get("round_trips")  # pylint: disable=protected-access
        entry["round_trips"] += int(trips) if isinstance(trips, int) else 1

    def v2_runner_on_ok(self, result: t.Any) -> None:
        if "results" not in result._result:  # pylint: disable=protected-access
            self._record(result)  # a loop's items were counted one by one already

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        if "results" not in result._result:  # pylint: disable=protected-access
            self._record(result)

    def v2_runner_item_on_ok(self, result: t.Any) -> None:
        self._record(result)

    def v2_playbook_on_stats(self, stats: t.Any) -> None:
        for host, entry in sorted(self._hosts.items()):
            self._display.display(
                f"module_count: {self._playbook} {host}: {entry['count']} module executions, "
                f"{entry['round_trips']} round trips ({', '.join(entry['actions'])})")
        path = os.environ.get("FLOWOFFLOAD_MODULE_COUNT_FILE")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"playbook": self._playbook, "hosts": self._hosts}) + "\n")

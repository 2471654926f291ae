# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record every task result of a run as JSON lines, for scripts/demo and scripts/bench."""
from __future__ import annotations

DOCUMENTATION = r"""
name: flowoffload_record
type: aggregate
short_description: write each task result to a JSON lines file
description:
  - Appends one JSON object per task result (host, task name, action, status, changed,
    the module's return values) to O(path), so scripts/demo can summarize a run and
    scripts/bench can count what ran. Prints nothing; the normal stdout callback stays.
options:
  path:
    description: File to append to. Nothing is recorded when it is empty.
    type: path
    env:
      - name: FLOWOFFLOAD_RECORD
"""

import json
import time
import typing as t

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "flowoffload_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._started: t.Dict[t.Tuple[str, str], float] = {}

    def v2_runner_on_start(self, host: t.Any, task: t.Any) -> None:
        self._started[(host.get_name(), task._uuid)] = time.monotonic()  # pylint: disable=protected-access

    def _record(self, result: t.Any, status: str) -> None:
        path = self.get_option("path")
        if not path:
            return
        task = result._task  # pylint: disable=protected-access
        host = result._host.get_name()  # pylint: disable=protected-access
        start = self._started.pop((host, task._uuid), None)  # pylint: disable=protected-access
        payload = dict(result._result)  # pylint: disable=protected-access
        payload.pop("invocation", None)
        entry = {
            "host": host,
            "task": task.get_name(),
            "action": task.action,
            "status": status,
            "changed": bool(payload.get("changed", False)),
            "seconds": None if start is None else round(time.monotonic() - start, 4),
            "result": payload,
        }
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, default=str) + "\n")

    def v2_runner_on_ok(self, result: t.Any) -> None:
        self._record(result, "ok")

    def v2_runner_on_failed(self, result: t.Any, ignore_errors: bool = False) -> None:
        self._record(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result: t.Any) -> None:
        self._record(result, "skipped")

    def v2_runner_on_unreachable(self, result: t.Any) -> None:
        self._record(result, "unreachable")

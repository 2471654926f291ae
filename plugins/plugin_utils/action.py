# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the collection's actions (private to flowoffload.nft).

An action validates its arguments against the module's argspec, then runs a ``run_*``
function of plugin_utils (each runs its part through target/driver.py) with an ``ActionTarget``: the target runs each sh script with
``/bin/sh -c`` through the connection (one round trip per script), so nothing but a POSIX
shell and the tools the collection calls is needed on the host.
"""
from __future__ import annotations

import typing as t

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.connection import ConnectionBase
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)

# One command-line argument may hold at most 128 KiB on Linux (MAX_ARG_STRLEN).
MAX_SCRIPT = 120 * 1024
# Over a connection that can feed stdin (ssh, local: has_pipelining), the script goes on
# stdin: no terminal is allocated (ssh -tt would merge stderr into stdout and turn every
# newline into CRLF) and the command line stays short. The shell takes it whole (one cat)
# and runs it as its -c argument with stdin on /dev/null, so no command of the script can
# read the rest of the script as its input; no temporary file, no cleanup process (the
# script is at most MAX_SCRIPT bytes: one argument holds it).
STDIN_RUNNER = 'fo_s=$(cat) || exit 125; exec /bin/sh -c "$fo_s" flowoffload </dev/null'


class ActionTarget:
    """``Target`` over an Ansible connection: one command per script, one round trip."""

    def __init__(self, action: ActionBase) -> None:
        self._action = action
        self.round_trips = 0

    def run_script(self, script: str) -> tuple[int, str, str]:
        if len(script.encode()) > MAX_SCRIPT:
            raise FlowOffloadError(
                f"the script for the target is {len(script.encode())} bytes, more than one "
                f"command line may hold ({MAX_SCRIPT}); use fewer devices or flowtables per task")
        self.round_trips += 1
        # pylint: disable=protected-access
        if getattr(self._action._connection, "has_pipelining", False):
            res = self._action._low_level_execute_command(STDIN_RUNNER, in_data=to_bytes(script), executable="/bin/sh")
        else:  # podman exec & co.: no stdin and no terminal; the script is the command
            res = self._action._low_level_execute_command(script, executable="/bin/sh")
        # pylint: enable=protected-access
        return int(res.get("rc") or 0), to_text(res.get("stdout", "")), to_text(res.get("stderr", ""))

    def reconnect(self) -> None:
        """Make the next script open a new connection (the confirm of a commit-confirmed apply
        proves that one reaches the router). ssh: stop the ControlPersist master that carried the
        apply; a connection plugin without ``reset`` (local, podman) opens one per command."""
        # pylint: disable=protected-access
        connection = self._action._connection
        if type(connection).reset is not ConnectionBase.reset:
            connection.reset()


class FlowOffloadAction(ActionBase):
    """Base of the collection's actions: validate, run on the controller, report once.

    A subclass sets ``ARGUMENT_SPEC`` (the module file's) and ``RUN``, the plugin_utils
    function ``run_X(target, params, check_mode)``; one that needs the play's variables
    overrides ``execute``.
    """

    TRANSFERS_FILES = False
    _requires_connection = True
    ARGUMENT_SPEC: dict[str, t.Any] = {}
    MUTUALLY_EXCLUSIVE: list[t.Any] = []
    RUN: t.Callable[[ActionTarget, dict[str, t.Any], bool], dict[str, t.Any]] | None = None

    def execute(self, target: ActionTarget, params: dict[str, t.Any], check_mode: bool,
                task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        del task_vars
        run = type(self).RUN
        if run is None:
            raise AnsibleActionFail(f"{type(self).__module__} sets neither RUN nor execute()")  # pragma: no cover
        return run(target, params, check_mode)

    def check_inputs(self, task_vars: dict[str, t.Any]) -> None:
        """Checks before the module's argspec (raise FlowOffloadError); none by default."""

    def run(self, tmp: t.Any = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        target = ActionTarget(self)
        try:
            self.check_inputs(task_vars)
            _valid, params = self.validate_argument_spec(
                argument_spec=self.ARGUMENT_SPEC, mutually_exclusive=self.MUTUALLY_EXCLUSIVE)
            out = self.execute(target, dict(params), bool(self._task.check_mode), task_vars)
        except FlowOffloadError as exc:
            result.update(failed=True, msg=exc.msg, **exc.details)
            result["round_trips"] = target.round_trips
            return result
        warnings = out.pop("warnings", [])
        diff = out.pop("diff", None)
        result.update(out)
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        if diff is not None and self._task.diff:
            result["diff"] = diff
        result["round_trips"] = target.round_trips
        return result

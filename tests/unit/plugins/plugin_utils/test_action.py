# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ActionTarget: how a script reaches the host through the connection."""
from __future__ import annotations

import inspect
import subprocess
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import (
    MAX_SCRIPT,
    STDIN_RUNNER,
    ActionTarget,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Target,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
)


class Connection:
    def __init__(self, pipelining: bool) -> None:
        self.has_pipelining = pipelining


class Action:
    """The part of ActionBase that ActionTarget uses."""

    def __init__(self, pipelining: bool) -> None:
        self._connection = Connection(pipelining)
        self.calls: list[dict[str, t.Any]] = []

    def _low_level_execute_command(self, cmd: str, **kwargs: t.Any) -> dict[str, t.Any]:
        self.calls.append(dict(cmd=cmd, **kwargs))
        return {"rc": 0, "stdout": "out", "stderr": ""}


def test_action_target_has_the_interface_of_the_protocol() -> None:
    assert inspect.signature(ActionTarget.run_script) == inspect.signature(Target.run_script)
    assert inspect.signature(ActionTarget.run_script) == inspect.signature(FakeTarget.run_script)
    assert ActionTarget(Action(True)).round_trips == 0  # type: ignore[arg-type]


def test_ssh_and_local_get_the_script_on_stdin_without_a_terminal() -> None:
    action = Action(pipelining=True)
    target = ActionTarget(action)  # type: ignore[arg-type]
    assert target.run_script("echo hi") == (0, "out", "")
    # bytes: the local connection writes in_data to a binary pipe as it is (ssh encodes str itself)
    assert action.calls == [{"cmd": STDIN_RUNNER, "in_data": b"echo hi", "executable": "/bin/sh"}]
    assert target.round_trips == 1


def test_podman_gets_the_script_as_the_command() -> None:
    action = Action(pipelining=False)
    ActionTarget(action).run_script("echo hi")  # type: ignore[arg-type]
    assert action.calls == [{"cmd": "echo hi", "executable": "/bin/sh"}]


def test_a_script_too_long_for_a_command_line_is_refused() -> None:
    with pytest.raises(FlowOffloadError, match="more than one command line may hold"):
        ActionTarget(Action(False)).run_script("#" * (MAX_SCRIPT + 1))  # type: ignore[arg-type]


def test_the_stdin_runner_keeps_the_script_from_its_own_commands() -> None:
    # `cat` without a file reads stdin: under the runner it gets /dev/null, not the script
    script = "echo one\ncat\necho two; echo err >&2; exit 4\n"
    proc = subprocess.run(["/bin/sh", "-c", STDIN_RUNNER], input=script, capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (4, "one\ntwo\n", "err\n")

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process with given arguments and catch how it ends.

The arguments reach AnsibleModule through ansible-core's own test helper
``ansible.module_utils.testing.patch_module_args`` (ansible-core 2.19 and later), which
also sets the serialization profile that 2.19's AnsibleModule requires.
"""
from __future__ import annotations

import contextlib
import json
import typing as t

import pytest
from ansible.module_utils import basic

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.18: older than the collection supports (requires_ansible)
    patch_module_args = None


class Exit(Exception):
    """main() called exit_json."""


class Fail(Exception):
    """main() called fail_json."""


@contextlib.contextmanager
def module_args(monkeypatch: t.Any, args: t.Dict[str, t.Any]) -> t.Iterator[None]:
    """The module arguments for AnsibleModule instances created inside the block."""
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    # Only the main .venv's ansible-core 2.18 gets here (it has no patch_module_args and
    # no serialization profiles): the arguments are the JSON document it reads.
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    yield


def run_module(
    monkeypatch: t.Any, main: t.Callable[[], None], args: t.Dict[str, t.Any]
) -> t.Tuple[t.Type[Exception], t.Dict[str, t.Any], t.List[str]]:
    """Return (Exit or Fail, the result it returned, the warnings it raised)."""
    result: t.Dict[str, t.Any] = {}
    warned: t.List[str] = []

    def exit_json(self: t.Any, **kwargs: t.Any) -> None:
        result.update(kwargs)
        raise Exit()

    def fail_json(self: t.Any, **kwargs: t.Any) -> None:
        result.update(kwargs)
        raise Fail()

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, msg: warned.append(msg))
    with module_args(monkeypatch, args), pytest.raises((Exit, Fail)) as info:
        main()
    return info.type, result, warned

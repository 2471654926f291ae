# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process with given arguments and catch how it ends.

The arguments reach AnsibleModule through ansible-core's own test helper
``ansible.module_utils.testing.patch_module_args`` (ansible-core 2.19 and later), which
also sets the serialization profile that 2.19's AnsibleModule requires.
"""
from __future__ import annotations

import typing as t

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class Exit(Exception):
    """main() called exit_json."""


class Fail(Exception):
    """main() called fail_json."""


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
    with patch_module_args(args), pytest.raises((Exit, Fail)) as info:
        main()
    return info.type, result, warned

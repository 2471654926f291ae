# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``Target`` for a module that runs on the host itself (private).

The collection's actions run on the controller; a module file's ``main()`` is used only
when the module is executed on the target directly (for example with Python present and
the action plugin bypassed). It runs the same scripts with ``/bin/sh -c`` locally, so
both paths share one implementation.
"""
from __future__ import annotations

import typing as t


class ModuleTarget:
    def __init__(self, module: t.Any) -> None:
        self._module = module
        self.round_trips = 0

    def run_script(self, script: str) -> t.Tuple[int, str, str]:
        self.round_trips += 1
        rc, out, err = self._module.run_command(["/bin/sh", "-c", script], environ_update={"LC_ALL": "C", "LANG": "C"})
        return rc, out, err


def run_module(module: t.Any, run: t.Callable[[t.Any, t.Dict[str, t.Any], bool], t.Dict[str, t.Any]]) -> None:
    """main() of every module: run, report warnings and diff, fail once on FlowOffloadError."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError

    try:
        result = run(ModuleTarget(module), dict(module.params), module.check_mode)
    except FlowOffloadError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    diff = result.pop("diff", None)
    if diff is not None and module._diff:  # pylint: disable=protected-access
        result["diff"] = diff
    module.exit_json(**result)

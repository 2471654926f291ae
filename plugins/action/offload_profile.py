# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action offload_profile: the gateway role in one step (see plugins/plugin_utils/profile/run.py).

With ``check_role_vars`` (the gateway role) it first validates the role's variables
against the role's ``meta/argument_specs.yml``, as the task Ansible puts before a role's
first task does (the playbook flowoffload.nft.gateway skips that task: one task less per
router), and hands the play's variable names to the profile, which refuses unknown
``gateway_*`` variables against the same options.
"""
from __future__ import annotations

import functools
import os
import typing as t

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.run import run_profile
from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import (
    ActionTarget,
    FlowOffloadAction,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError

ROLE_SPECS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "gateway", "meta", "argument_specs.yml")


@functools.lru_cache(maxsize=4)
def role_spec(path: str = ROLE_SPECS) -> dict[str, t.Any] | None:
    """The options of the gateway role's argument spec (None when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        options = data["argument_specs"]["main"]["options"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
    return options if isinstance(options, dict) else None


def role_variables(path: str = ROLE_SPECS) -> list[str] | None:
    """The option names of the gateway role's argument spec (None when it cannot be read)."""
    spec = role_spec(path)
    return None if spec is None else sorted(spec)


def role_spec_errors(spec: dict[str, t.Any], values: dict[str, t.Any]) -> list[str]:
    """What ansible.builtin.validate_argument_spec would say of the role's variables."""
    result = ArgumentSpecValidator(spec).validate(values)
    return list(result.error_messages)


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def check_inputs(self, task_vars: dict[str, t.Any]) -> None:
        if not self._task.args.get("check_role_vars"):
            return
        spec = role_spec()
        if spec is None:
            raise FlowOffloadError(f"offload_profile: cannot read the gateway role's argument spec {ROLE_SPECS}")
        values = self._templar.template({name: task_vars[name] for name in spec if name in task_vars})
        errors = role_spec_errors(spec, values)
        if errors:
            raise FlowOffloadError("Validation of the gateway role's variables failed (meta/argument_specs.yml): "
                                   + "; ".join(errors), argument_errors=errors)

    def execute(self, target: ActionTarget, params: dict[str, t.Any], check_mode: bool,
                task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        return run_profile(target, params, check_mode, sorted(task_vars), role_variables())

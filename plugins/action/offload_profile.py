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
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import inputs as pin

ROLE_SPECS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "gateway", "meta", "argument_specs.yml")


def role_spec(path: str = ROLE_SPECS) -> dict[str, t.Any] | None:
    """The options of the gateway role's argument spec (None when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        options = data["argument_specs"]["main"]["options"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
    return options if isinstance(options, dict) else None


# Read once, when Ansible loads this plugin in its main process (before it forks a worker per
# task and host): parsing the spec costs about 40 ms of CPU, which every router paid.
ROLE_SPEC = role_spec()


def role_variables(path: str | None = None) -> list[str] | None:
    """The option names of the gateway role's argument spec (None when it cannot be read)."""
    spec = ROLE_SPEC if path is None else role_spec(path)
    return None if spec is None else sorted(spec)


def role_spec_errors(spec: dict[str, t.Any], values: dict[str, t.Any]) -> list[str]:
    """What ansible.builtin.validate_argument_spec would say of the role's variables."""
    result = ArgumentSpecValidator(spec).validate(values)
    return list(result.error_messages)


def role_args(args: t.Mapping[str, t.Any], values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The options the task does not set, from their role variables (null: the option's
    default, as the role's ``omit``)."""
    return {option: values[pin.var(option)] for option in pin.ROLE_OPTIONS
            if option not in args and values.get(pin.var(option)) is not None}


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def check_inputs(self, task_vars: dict[str, t.Any]) -> None:
        """With check_role_vars: validate the role's variables against its spec, then take each
        option the task does not set from its gateway_* variable (the role sets no other)."""
        if not self._task.args.get("check_role_vars"):
            return
        spec = ROLE_SPEC
        if spec is None:
            raise FlowOffloadError(f"offload_profile: cannot read the gateway role's argument spec {ROLE_SPECS}")
        values = self._templar.template({name: task_vars[name] for name in spec if name in task_vars})
        errors = role_spec_errors(spec, values)
        if errors:
            raise FlowOffloadError("Validation of the gateway role's variables failed (meta/argument_specs.yml): "
                                   + "; ".join(errors), argument_errors=errors)
        self._task.args = dict(self._task.args, **role_args(self._task.args, values))

    def execute(self, target: ActionTarget, params: dict[str, t.Any], check_mode: bool,
                task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        return run_profile(target, params, check_mode, sorted(task_vars), role_variables())

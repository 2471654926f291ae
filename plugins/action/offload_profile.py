# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action offload_profile: the gateway role in one step (see plugins/plugin_utils/profile/run.py).

It also hands the play's variable names to the profile, which refuses unknown
``gateway_*`` variables (with ``check_role_vars``) against the options of the role's
``meta/argument_specs.yml``.
"""
from __future__ import annotations

import os
import typing as t

import yaml
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.run import run_profile
from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import (
    ActionTarget,
    FlowOffloadAction,
)

ROLE_SPECS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "gateway", "meta", "argument_specs.yml")


def role_variables(path: str = ROLE_SPECS) -> list[str] | None:
    """The option names of the gateway role's argument spec (None when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        return sorted(data["argument_specs"]["main"]["options"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def execute(self, target: ActionTarget, params: dict[str, t.Any], check_mode: bool,
                task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        return run_profile(target, params, check_mode, sorted(task_vars), role_variables())

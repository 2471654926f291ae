# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action offload_audit: the target runs one read script (one round trip); the audit row
is built on the controller (see plugins/plugin_utils/audit/run.py). Read-only."""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import run_audit
from ansible_collections.flowoffload.nft.plugins.modules.offload_audit import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import (
    ActionTarget,
    FlowOffloadAction,
)


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC

    def execute(self, target: ActionTarget, params: dict[str, t.Any], check_mode: bool,
                task_vars: dict[str, t.Any]) -> dict[str, t.Any]:
        host = str(task_vars.get("inventory_hostname") or "")
        return run_audit(target, params, check_mode, host=host)

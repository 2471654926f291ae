# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action flowtable: plans on the controller; the target runs one read script and, when
something changes, one apply script (see plugins/module_utils/_flowtable_run.py)."""
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.module_utils._flowtable_run import run_flowtable
from ansible_collections.flowoffload.nft.plugins.modules.flowtable import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils._action import FlowOffloadAction


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    RUN = staticmethod(run_flowtable)

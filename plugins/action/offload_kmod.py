# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action offload_kmod: plans on the controller; the target runs one read script and, when
something changes, one apply script (see plugins/plugin_utils/kmod/plan.py)."""
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.plan import run_kmod
from ansible_collections.flowoffload.nft.plugins.modules.offload_kmod import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import FlowOffloadAction


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    RUN = staticmethod(run_kmod)

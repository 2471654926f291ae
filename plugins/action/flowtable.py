# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action flowtable: plans on the controller; the target runs one read script and, when
something changes, one apply script (see plugins/plugin_utils/flowtable/run.py)."""
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import run_flowtable
from ansible_collections.flowoffload.nft.plugins.modules.flowtable import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import FlowOffloadAction


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    RUN = staticmethod(run_flowtable)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action offload_facts: the target runs one read script (one round trip); the facts are
built on the controller (see plugins/plugin_utils/facts/run.py). Read-only."""
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.run import run_facts
from ansible_collections.flowoffload.nft.plugins.modules.offload_facts import ARGUMENT_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.action import FlowOffloadAction


class ActionModule(FlowOffloadAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    RUN = staticmethod(run_facts)

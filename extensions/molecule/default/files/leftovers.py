#!/usr/bin/env python3
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, the files a software profile leaves on a flowtable-capable systemd host.

The contents come from the collection's own planners, run on a snapshot of such a host
(the unit tests' builders): exactly what the flowtable and offload_kmod actions would
write there. The Molecule scenario plants them on a container whose kernel cannot create
flowtables, then proves that gateway_profile=off removes exactly those. Usage:
leftovers.py DEVICE
"""
from __future__ import annotations

import json
import sys

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import model as _flowtable
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import persist as _flowtable_persist
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import plan_flowtable
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Snapshot
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import sec
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import owned, params


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "eth0"
    wanted = params(devices=[device])
    sections = owned(None, enabled=False)
    sections["host:netdevs"] = sec(f"lo\n{device}\n")
    plan = plan_flowtable(Snapshot(sections), wanted, False)
    files = {change.path: change.content for change in plan.spec.files if change.content is not None}
    files[_kmod.SYSTEMD_FILE] = _kmod.render_file(_kmod.DEFAULT_MODULES)
    unit = _flowtable_persist.unit_name(_flowtable.desired_state(wanted))
    print(json.dumps({"files": files, "unit": unit}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, the files a software profile leaves on a flowtable-capable systemd host.

The contents come from the collection's own module_utils (the very functions the
flowtable and offload_kmod modules write with), so the Molecule scenario can plant the
leftovers of an earlier run on a container whose kernel cannot create flowtables, and
then prove that gateway_profile=off removes exactly those. Usage: leftovers.py DEVICE
"""
from __future__ import annotations

import json
import sys

from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable as ftmod
from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable_persist as persist
from ansible_collections.flowoffload.nft.plugins.module_utils import _kmod


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "eth0"
    desired = {"family": "inet", "table": "flowoffload", "name": "ft", "chain": None,
               "protocols": ["tcp", "udp"], "persist": True, "state": "present"}
    flowtable = {"family": "inet", "table": "flowoffload", "name": "ft", "hook": "ingress",
                 "priority": 0, "devices": [device], "offload": False, "counter": True}
    text = ftmod.render_text("inet", "flowoffload", [flowtable], {"ft": ["tcp", "udp"]})
    nft_path = persist.nft_path(desired, openwrt=False)
    files = {
        nft_path: persist.owned_file(desired, text),
        persist.unit_path(desired): persist.unit_text(desired, "/usr/sbin/nft", nft_path),
        _kmod.SYSTEMD_FILE: _kmod.render_file(_kmod.DEFAULT_MODULES),
    }
    print(json.dumps({"files": files, "unit": persist.unit_name(desired)}))


if __name__ == "__main__":
    main()

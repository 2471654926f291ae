# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.module_utils import _host


def test_units_from_one_systemctl_show():
    # systemctl show of a unit that is not installed: ActiveState=inactive, UnitFileState empty
    text = ("ActiveState=inactive\nUnitFileState=\nId=firewalld.service\n\n"
            "Id=nftables.service\nUnitFileState=enabled\nActiveState=active\n")
    assert _host.parse_units(text) == {"firewalld.service": "inactive", "firewalld.service.enabled": "",
                                       "nftables.service": "active", "nftables.service.enabled": "enabled"}
    assert not _host.parse_units("")


def test_units_code_is_one_process():
    code = next(r.code for r in _host.host_reads() if r.key == "host:systemd-units")
    assert "$(" not in code and code.count("systemctl show") == 1

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.module_utils import _host


def test_units_one_systemctl_per_question():
    text = ("# is-active firewalld.service nftables.service\ninactive\nactive\n"
            "# is-enabled nftables.service\nenabled\n")
    assert _host.parse_units(text) == {"firewalld.service": "inactive", "nftables.service": "active",
                                       "nftables.service.enabled": "enabled"}
    # is-enabled prints nothing for a unit that does not exist; no systemctl: no section text
    assert _host.parse_units("# is-active a b\ninactive\ninactive\n# is-enabled b\n") == {"a": "inactive", "b": "inactive"}
    assert not _host.parse_units("")


def test_units_code_has_no_command_substitution():
    code = next(r.code for r in _host.host_reads() if r.key == "host:systemd-units")
    assert "$(" not in code and code.count("systemctl is-") == 2

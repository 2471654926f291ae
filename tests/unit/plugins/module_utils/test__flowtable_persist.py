# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable as F
from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable_persist as P
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.ft_helpers import params

NFT = "/usr/sbin/nft"


def want(**kw: t.Any) -> F.Desired:
    return F.desired_state(params(**kw))


def ft(**kw: t.Any) -> F.FlowtableModel:
    d = want(**kw)
    return d.flowtable(d.devices, False)


def text(d: F.Desired) -> str:
    return F.render_table(d.family, d.table, [d.flowtable(d.devices, False)], [F.rule_expr(d.name, list(d.protocols))])


def test_paths():
    d = want()
    assert P.nft_path(d, False) == "/etc/flowoffload/inet-flowoffload.nft"
    assert P.nft_path(d, True) == "/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"
    assert P.unit_path(d) == "/etc/systemd/system/flowoffload-inet-flowoffload.service"


def test_owned_file_is_idempotent_on_its_own_and_uses_the_one_renderer():
    d = want()
    content = P.owned_file(d, text(d))
    lines = content.splitlines()
    assert lines[1:4] == ["table inet flowoffload {", "}", "delete table inet flowoffload"]
    assert lines[4] == "table inet flowoffload {"
    assert F.render_flowtable(ft(), "block") in content


def test_unit_owned_mode():
    d = want()
    unit = P.unit_text(d, NFT, P.nft_path(d, False))
    for line in ("Type=oneshot", "RemainAfterExit=yes", "After=nftables.service", "PartOf=nftables.service",
                 "ReloadPropagatedFrom=nftables.service", "WantedBy=multi-user.target nftables.service",
                 "ExecStart=/usr/sbin/nft -f /etc/flowoffload/inet-flowoffload.nft"):
        assert line in unit.splitlines()


def test_unit_chain_mode_guards_against_duplicate_rule():
    d = want(table="filter", chain="forward")
    unit = P.unit_text(d, NFT, P.nft_path(d, False))
    assert ("ExecStart=/bin/sh -c '/usr/sbin/nft list chain inet filter forward | grep -qF flowoffload.nft: || "
            "exec /usr/sbin/nft -f /etc/flowoffload/inet-filter.nft'") in unit.splitlines()


def test_chain_sections_merge_and_drop():
    d = want(table="filter", chain="forward")
    one = P.merge_sections(None, "ft", P.chain_section(d, ft(table="filter")))
    assert one.count("insert rule inet filter forward") == 1
    d2 = want(table="filter", chain="forward", name="ft2", devices=["eth2"])
    two = P.merge_sections(one, "ft2", P.chain_section(d2, d2.flowtable(["eth2"], False)))
    assert "begin" in two and two.count("insert rule") == 2
    assert P.merge_sections(two, "ft", P.chain_section(d, ft(table="filter"))) == two
    assert P.merge_sections(P.merge_sections(two, "ft", None), "ft2", None) == ""


def test_file_plan_idempotent_and_removal():
    d = want()
    entries = P.file_plan(d, text(d), ft(), None, None, False, True, NFT)
    files = {e["path"]: e["after"] for e in entries}
    assert len(files) == 2
    before = (files[P.nft_path(d, False)], files[P.unit_path(d)])
    assert P.file_plan(d, text(d), ft(), *before, False, True, NFT) == []
    gone = P.file_plan(want(persist=False), text(d), ft(), *before, False, True, NFT)
    assert [e["after"] for e in gone] == ["", ""]


def test_openwrt_and_hosts_without_systemd_have_no_unit():
    d = want()
    entries = P.file_plan(d, text(d), ft(), None, None, True, False, NFT)
    assert [e["path"] for e in entries] == ["/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"]
    entries = P.file_plan(d, text(d), ft(), None, None, False, False, NFT)
    assert [e["path"] for e in entries] == ["/etc/flowoffload/inet-flowoffload.nft"]

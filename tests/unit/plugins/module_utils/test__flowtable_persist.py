# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable as F
from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable_persist as P
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.ft_helpers import (
    FtRunner,
)

NFT = "/usr/sbin/nft"


def want(**kw: t.Any) -> t.Dict[str, t.Any]:
    base: t.Dict[str, t.Any] = {"devices": ["lan0", "wan0"]}
    base.update(kw)
    return F.desired_state(base)


def ft(**kw: t.Any) -> t.Dict[str, t.Any]:
    return F.wanted_flowtable(want(**kw), ["lan0", "wan0"], False)


def test_paths():
    d = want()
    assert P.nft_path(d, False) == "/etc/flowoffload/inet-flowoffload.nft"
    assert P.nft_path(d, True) == "/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"
    assert P.unit_path(d) == "/etc/systemd/system/flowoffload-inet-flowoffload.service"


def test_owned_file_is_idempotent_on_its_own():
    d = want()
    text = F.render_text("inet", "flowoffload", [ft()], {"ft": ["tcp", "udp"]})
    lines = P.owned_file(d, text).splitlines()
    assert lines[1:4] == ["table inet flowoffload {", "}", "delete table inet flowoffload"]
    assert lines[4] == "table inet flowoffload {"


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
    two = P.merge_sections(one, "ft2", P.chain_section(d2, F.wanted_flowtable(d2, ["eth2"], False)))
    assert "begin" in two and two.count("insert rule") == 2
    # replacing a section keeps one copy
    assert P.merge_sections(two, "ft", P.chain_section(d, ft(table="filter"))) == two
    assert P.merge_sections(P.merge_sections(two, "ft", None), "ft2", None) == ""


def test_file_plan_idempotent_and_removal():
    d = want()
    text = F.render_text("inet", "flowoffload", [ft()], {"ft": ["tcp", "udp"]})
    entries = P.file_plan(d, text, ft(), lambda path: None, False, NFT)
    files = {e["path"]: e["after"] for e in entries}
    assert len(files) == 2
    assert P.file_plan(d, text, ft(), files.get, False, NFT) == []
    gone = P.file_plan(want(persist=False), text, ft(), files.get, False, NFT)
    assert [e["after"] for e in gone] == ["", ""]


def test_openwrt_has_no_unit():
    d = want()
    text = F.render_text("inet", "flowoffload", [ft()], {"ft": ["tcp"]})
    entries = P.file_plan(d, text, ft(), lambda path: None, True, NFT)
    assert [e["path"] for e in entries] == ["/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"]


def test_apply_files_disables_unit_before_removing_it():
    d = want(state="absent")
    upath = P.unit_path(d)
    runner = FtRunner(files={upath: "unit", P.nft_path(d, False): "x"})
    entries = P.file_plan(d, "", None, runner.read, False, NFT)
    changed, warnings = P.apply_files(runner, d, entries, False, check_mode=False)
    keys = [k for k, _data in runner.calls]
    assert changed and warnings == []
    assert keys.index(("systemctl", "disable", "flowoffload-inet-flowoffload.service")) < keys.index(
        ("systemctl", "daemon-reload"))
    assert set(runner.removed) == {upath, P.nft_path(d, False)}


def test_apply_files_check_mode_writes_nothing():
    d = want()
    runner = FtRunner()
    text = F.render_text("inet", "flowoffload", [ft()], {"ft": ["tcp"]})
    entries = P.file_plan(d, text, ft(), runner.read, False, NFT)
    changed, _warnings = P.apply_files(runner, d, entries, False, check_mode=True)
    assert changed and runner.written == {} and runner.removed == []


def test_fw4_wanted():
    assert P.fw4_wanted(want(backend="fw4", devices=None, offload="auto")) == {
        "flow_offloading": "1", "flow_offloading_hw": "1"}
    assert P.fw4_wanted(want(backend="fw4", devices=None)) == {"flow_offloading": "1", "flow_offloading_hw": "0"}
    assert P.fw4_wanted(want(backend="fw4", devices=None, state="absent")) == {
        "flow_offloading": "0", "flow_offloading_hw": "0"}

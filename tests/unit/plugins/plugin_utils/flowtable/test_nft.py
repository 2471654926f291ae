# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    nft as _nft,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    syntax as _syntax,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    FlowtableModel,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)

HOST = "1.0.6-bookworm-host-ft"
VM = "1.0.6-bookworm-vm-ft"


def test_parse_version_from_real_output():
    assert _nft.parse_version(fixture(f"{HOST}-version.txt")) == "1.0.6"
    assert _nft.parse_version("nftables v1.1.3 (Commodore Bullmoose #4)\n") == "1.1.3"


def test_parse_version_garbage_raises():
    with pytest.raises(FlowOffloadError):
        _nft.parse_version("command not found")


@pytest.mark.parametrize(
    "value, expected",
    [(0, 0), (-10, -10), ("5", 5), (" -3 ", -3), ("filter", 0), ("filter + 10", 10),
     ("filter-5", -5), ("filter +3", 3), (7.0, 7)],
)
def test_resolve_priority(value, expected):
    assert _syntax.resolve_priority(value) == expected


@pytest.mark.parametrize("value", ["mangle", "dstnat", "filter * 2", "high", "", None, True, [], "filter + x"])
def test_resolve_priority_rejects_and_names_option(value):
    with pytest.raises(FlowOffloadError) as err:
        _syntax.resolve_priority(value)
    assert err.value.msg.startswith("priority:")


def test_resolve_priority_chain_keywords():
    assert _syntax.resolve_priority("srcnat - 1", {"srcnat": 100}) == 99


@pytest.mark.parametrize("dev", ["eth0", "lan0", "wan0.100", "br-lan", "enp3s0f1np1", "a" * 15, "ppp+"])
def test_validate_device_accepts(dev):
    assert _syntax.validate_device(dev) == dev


@pytest.mark.parametrize(
    "dev",
    ["", "a" * 16, "eth/0", "eth 0", "eth0\t", "eth:0", 'eth"0', "eth'0", "eth0;", "eth0; flush ruleset",
     "{eth0}", "$dev", "@ft", "eth0#", "eth0\\", "..", ".", "\u00e9th0", None, 5],
)
def test_validate_device_rejects_with_option_name(dev):
    with pytest.raises(FlowOffloadError) as err:
        _syntax.validate_device(dev)
    assert err.value.msg.startswith("devices:")


@pytest.mark.parametrize("name", ["ft", "flowoffload", "my_ft-2", "t.1"])
def test_validate_identifier_accepts(name):
    assert _syntax.validate_identifier(name, "name") == name


@pytest.mark.parametrize("name", ["", "1ft", "ft x", "ft;", 'f"t', "table", "flow", "x" * 256, "ft{", "$ft"])
def test_validate_identifier_rejects(name):
    with pytest.raises(FlowOffloadError) as err:
        _syntax.validate_identifier(name, "table")
    assert err.value.msg.startswith("table:")


def test_parse_text_reads_table_comment_from_real_text():
    parsed = _nft.parse_text(fixture(f"{HOST}-owned-noflowtable.txt"))
    assert parsed.comments == {("inet", "flowoffload"): "managed by flowoffload.nft"}
    assert parsed.flowtables == {}


def test_parse_chains_and_rules_from_real_json():
    data = fixture(f"{HOST}-chain-forward.json")
    chains = _nft.parse_chains(data)
    assert chains == [{"family": "inet", "table": "filter", "name": "forward", "handle": 2, "type": "filter",
                       "hook": "forward", "priority": 0, "policy": "accept"}]
    rules = _nft.parse_rules(data)
    assert [r["handle"] for r in rules] == [7, 8]
    assert _nft.rule_offload_target(rules[0]) == (None, [])


def test_regular_chain_has_no_hook():
    chain = _nft.parse_chains(fixture(f"{HOST}-chain-helper.json"))[0]
    assert chain["hook"] is None and chain["type"] is None


def test_load_json_empty_and_bad():
    assert _nft.load_json("") == []
    assert _nft.load_json(fixture(f"{HOST}-list-flowtables-empty.json")) == []
    with pytest.raises(FlowOffloadError):
        _nft.load_json("{not json")


def test_parse_flowtables_from_vm_listing():
    fts = _nft.parse_flowtables(fixture(f"{VM}-owned-two.json"), fixture(f"{VM}-owned-two.txt"))
    assert fts == [
        {"family": "inet", "table": "flowoffload", "name": "ft", "hook": "ingress", "priority": 0,
         "devices": ["lan0", "wan0"], "offload": False, "counter": True},
        {"family": "inet", "table": "flowoffload", "name": "ft2", "hook": "ingress", "priority": -5,
         "devices": ["eth2"], "offload": False, "counter": False},
    ]


def test_parse_flowtables_list_flowtables_with_empty_foreign_table():
    fts = _nft.parse_flowtables(fixture(f"{VM}-list-flowtables.json"), fixture(f"{VM}-list-flowtables.txt"))
    assert [(ft["name"], ft["counter"]) for ft in fts] == [("ft", True), ("ft2", False)]


def test_in_place_add_without_counter_drops_it():
    # captured after 'add flowtable ... { devices = { eth3 }; }' without counter
    found = _nft.parse_text(fixture(f"{VM}-after-add-nocounter.txt")).flowtables
    assert [(key, ft.offload, ft.counter) for key, ft in found.items()] == [(("inet", "flowoffload", "ft"), False, False)]


def test_parse_text_flags_offload():
    # nft prints the flag set of a hardware flowtable on its own line ("flags offload")
    text = fixture(f"{VM}-chain-flowtable.txt").replace("\t\tcounter\n", "\t\tflags offload\n\t\tcounter\n")
    ft = _nft.parse_text(text).flowtables[("inet", "filter", "ft")]
    assert (ft.offload, ft.counter) == (True, True)


def test_rule_offload_target_from_vm_rules():
    rules = _nft.parse_rules(fixture(f"{VM}-owned-two.json"))
    assert [_nft.rule_offload_target(r) for r in rules] == [("ft", ["tcp", "udp"]), ("ft2", ["udp"])]
    assert [r["comment"] for r in rules] == ["flowoffload.nft:ft", "flowoffload.nft:ft2"]


def test_protocols_compare_by_number():
    """issue 9, defect 2: without /etc/protocols nft prints 6 and 17."""
    assert _syntax.normalize_protocols([17, 6]) == ["tcp", "udp"]
    assert _syntax.normalize_protocols(["udp", "6"]) == ["tcp", "udp"]
    rules = _nft.parse_rules(fixture("1.0.6-bookworm-handmade-ft-owned-noprotocols.json"))
    assert _nft.offload_rule(rules[0]) == ("ft", ["tcp", "udp"])


def test_offload_rule_is_exact():
    rules = _nft.parse_rules(fixture("1.0.6-bookworm-handmade-ft-owned-drift.json"))
    assert [_nft.offload_rule(r) for r in rules] == [None, ("ft", ["tcp", "udp"])]
    assert _nft.chain_rule_lines(fixture("1.0.6-bookworm-handmade-ft-owned-drift.txt"), "forward")[0] == \
        "meta l4proto { tcp, udp } accept"


def test_chain_rule_lines_strip_handles():
    lines = _nft.chain_rule_lines(fixture(f"{VM}-chain-forward-with-rule.txt"), "forward")
    assert lines == ['meta l4proto { tcp, udp } flow add @ft comment "flowoffload.nft:ft"',
                     "ct state established,related accept", 'counter name "fwd_drop"']


def test_other_objects():
    assert _nft.other_objects('{"nftables": [{"set": {"name": "s"}}, {"table": {"name": "t"}}]}') == ["set s"]


# --- the one parser: listing text alone, listing JSON + text, persisted files -------------
@pytest.mark.parametrize("listing", [f"{VM}-owned-two", f"{VM}-list-flowtables", f"{VM}-chain-flowtable",
                                     "1.1.3-trixie-vm-capture-list-flowtables"])
def test_the_text_parser_reads_a_listing_as_json_and_text_together(listing):
    """Devices, hook and priority (keywords resolved) from the text alone equal the JSON's."""
    models = _nft.parse_listing(fixture(f"{listing}.json"), fixture(f"{listing}.txt"))
    assert models and _nft.parse_text(fixture(f"{listing}.txt")).models() == models
    assert _nft.parse_flowtables(fixture(f"{listing}.json"), fixture(f"{listing}.txt")) == [m.as_dict() for m in models]


def test_a_persisted_file_gives_its_devices_from_the_loader_lines():
    text = ("table inet t {\n}\ndelete table inet t\ntable inet t {\n\tcomment \"managed by flowoffload.nft\"\n"
            "\tflowtable ft {\n\t\thook ingress priority filter + 5\n\t\tflags offload\n\t}\n}\n"
            '# flowoffload.nft:device=wan0 add flowtable inet t ft { hook ingress priority 5; devices = { "wan0" }; '
            "flags offload; }\n"
            '# flowoffload.nft:device=lan0 add flowtable inet t ft { hook ingress priority 5; devices = { "lan0" }; '
            "flags offload; }\n")
    want = FlowtableModel("inet", "t", "ft", priority=5, devices=("lan0", "wan0"), offload=True)
    assert _nft.parse_file(text) == [want]
    assert _nft.parse_text(text).comments == {("inet", "t"): "managed by flowoffload.nft"}

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    model as F,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    nft as _nft,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    params,
)


# --- model and renderer ------------------------------------------------------------------
def test_model_normalizes_devices_once_and_as_dict_is_the_contract():
    ft = F.FlowtableModel("inet", "flowoffload", "ft", devices=("wan0", "lan0", "wan0"), counter=True)
    assert ft.devices == ("lan0", "wan0")
    assert ft.as_dict() == {"family": "inet", "table": "flowoffload", "name": "ft", "hook": "ingress",
                            "priority": 0, "devices": ["lan0", "wan0"], "offload": False, "counter": True}
    assert F.FlowtableModel("inet", "flowoffload", "ft", devices=("lan0", "wan0"), counter=True) == ft
    assert ft.replace(devices=("eth1", "eth0", "eth1")).devices == ("eth0", "eth1")


def test_what_the_renderer_writes_the_one_parser_reads_back():
    ft = F.FlowtableModel("ip6", "t", "f2", priority=-7, devices=("wan0", "1lan", "lan+"), offload=True)
    assert _nft.parse_file(F.render_table(ft.family, ft.table, [ft], [])) == [ft]
    assert _nft.parse_file(F.render_flowtable(ft)) == [ft]
    assert _nft.parse_file(F.render_flowtable(ft.replace(devices=()))) == [ft.replace(devices=())]


def test_one_renderer_add_and_block():
    ft = F.FlowtableModel("inet", "t", "ft", priority=-5, devices=("1wan", "lan+"), offload=True, counter=True)
    assert F.render_flowtable(ft) == ('add flowtable inet t ft { hook ingress priority -5; devices = { "1wan", "lan+" }; '
                                      'flags offload; counter; }')
    assert F.render_flowtable(ft, "block") == ('\tflowtable ft {\n\t\thook ingress priority -5\n'
                                               '\t\tdevices = { "1wan", "lan+" }\n\t\tflags offload\n\t\tcounter\n\t}\n')


# --- validation (issue 9, defect 7) ------------------------------------------------------
@pytest.mark.parametrize("option", ["name", "table", "chain"])
@pytest.mark.parametrize("word", ["fwd", "ingress", "egress", "offload", "devices", "hook", "flowtable", "counter"])
def test_nft_keywords_are_refused_naming_the_option(option, word):
    with pytest.raises(FlowOffloadError) as err:
        F.desired_state(params(**{option: word}))
    assert err.value.msg.startswith(f"{option}:") and "keyword" in err.value.msg


@pytest.mark.parametrize("value", [99999999999, 2 ** 31, -(2 ** 31) - 1, "filter + 2147483648"])
def test_priority_outside_signed_32_bit_is_refused(value):
    with pytest.raises(FlowOffloadError) as err:
        F.desired_state(params(priority=value))
    assert err.value.msg.startswith("priority:") and "32-bit" in err.value.msg


@pytest.mark.parametrize("value", [2 ** 31 - 1, -(2 ** 31), "filter - 5"])
def test_priority_at_the_limits_is_accepted(value):
    assert isinstance(F.desired_state(params(priority=value)).priority, int)


def test_names_that_are_not_keywords_still_work():
    desired = F.desired_state(params(table="filter", chain="forward", name="ft_lan"))
    assert (desired.table, desired.chain, desired.name) == ("filter", "forward", "ft_lan")


@pytest.mark.parametrize("changes,option", [
    ({"devices": ["eth0; flush ruleset"]}, "devices:"), ({"devices": []}, "devices:"),
    ({"offload": "maybe"}, "offload:"), ({"protocols": ["icmp"]}, "protocols:"),
    ({"family": "bridge"}, "family:"), ({"backend": "fw4", "devices": ["lan0"]}, "devices:"),
])
def test_bad_input_names_the_option(changes, option):
    with pytest.raises(FlowOffloadError) as err:
        F.desired_state(params(**changes))
    assert err.value.msg.startswith(option)

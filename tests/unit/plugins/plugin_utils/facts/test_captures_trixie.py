# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parsers on what Debian 13 (trixie) prints: captures of the trixie lab VM.

`lab/capture --distro trixie` wrote the 1.1.3-trixie-vm-capture-* files on the minimal
trixie image (kernel 6.12, nft 1.1.3, no /etc/protocols, no tc): table inet t with
flowtable f on lan0 and wan0 (counter) and a 'meta l4proto { tcp, udp } flow add @f'
rule, traffic offloaded while conntrack was read.
"""
from __future__ import annotations

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils import errors as _errors
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import ethtool as e
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    nft as _nft,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    count_like_target,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)

TVM = "1.1.3-trixie-vm-capture-"


def test_nft_version_of_trixie():
    assert _nft.parse_version(fixture(TVM + "nft-version.txt")) == "1.1.3"
    assert _nft.version_tuple("1.1.3") >= (0, 9, 9)


def test_flowtable_from_nft_1_1_json_and_text():
    assert _nft.parse_flowtables(fixture(TVM + "list-flowtables.json"), fixture(TVM + "list-flowtables.txt")) == [
        {"family": "inet", "table": "t", "name": "f", "hook": "ingress", "priority": 0,
         "devices": ["lan0", "wan0"], "offload": False, "counter": True}]


def test_flow_rule_without_etc_protocols_reads_as_tcp_and_udp():
    """nft 1.1.3 without netbase lists `meta l4proto { 6, 17 }` (text and JSON)."""
    ruleset_text = fixture(TVM + "list-ruleset.txt")
    assert "meta l4proto { 6, 17 } flow add @f" in ruleset_text
    rules = [rule for rule in _nft.parse_rules(fixture(TVM + "list-ruleset.json")) if rule.get("table") == "t"]
    assert [_nft.offload_rule(rule) for rule in rules] == [("f", ["tcp", "udp"])]
    assert [_nft.rule_offload_target(rule) for rule in rules] == [("f", ["tcp", "udp"])]


@pytest.mark.parametrize("case, kind", [
    ("flowtable-missing-device.stderr", "enoent"),
    ("flowtable-offload-veth.stderr", "eopnotsupp"),
    ("flowtable-duplicate-device.stderr", "eexist"),
    ("flowtable-delete-busy.stderr", "ebusy"),
])
def test_kernel_errors_of_6_12_classify_like_6_1(case, kind):
    stderr = fixture(TVM + case)
    assert _errors.classify_nft_error(stderr) == kind
    assert _errors.classify_nft_error(fixture("1.0.6-bookworm-vm-capture-" + case)) == kind
    assert _errors.nft_hint(stderr)


def test_missing_device_error_points_at_the_device_in_nft_1_1():
    """nft 1.0.6 marks the flowtable line, 1.1.3 the device name (docs/lab.md)."""
    assert "devices = { nosuchdev0 }" in fixture(TVM + "flowtable-missing-device.stderr")
    assert "nosuchdev0" not in fixture("1.0.6-bookworm-vm-capture-flowtable-missing-device.stderr").splitlines()[-1]


def test_offloaded_flows_counted_from_trixie_conntrack():
    for name in ("nf-conntrack.txt", "conntrack-L.txt"):
        text = fixture(TVM + name)
        flows = fp.parse_flows_section(count_like_target(text))
        assert flows == {"total": 7, "offload": 3, "hw_offload": 0}, name


@pytest.mark.parametrize("dev, driver", [("eth0", "virtio_net"), ("lan0", "veth"), ("wan0", "veth")])
def test_ethtool_of_trixie(dev, driver):
    features = e.parse_ethtool_k(fixture(f"{TVM}ethtool-k-{dev}.txt"))
    assert features["hw-tc-offload"]["active"] is False and len(features) > 30
    assert e.parse_ethtool_i(fixture(f"{TVM}ethtool-i-{dev}.txt"))["driver"] == driver

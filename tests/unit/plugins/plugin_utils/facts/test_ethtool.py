# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import ethtool as e
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)


def test_parse_ethtool_k_notes():
    text = fixture("1.0.6-bookworm-facts-netns-ethtool-k-veth0.txt")
    features = e.parse_ethtool_k(text)
    assert features["hw-tc-offload"] == {"active": False, "available": False, "requested": False}
    assert features["tx-checksumming"]["active"] is True
    assert e.parse_ethtool_k("Features for eth0:\nrx-checksumming: on [requested off]\n") == {
        "rx-checksumming": {"active": True, "available": True, "requested": False}}
    assert e.parse_ethtool_k("") == {}


def test_parse_ethtool_k_on_vm_captures():
    for dev in ("eth0", "lan0", "wan0", "lo"):
        features = e.parse_ethtool_k(fixture(f"1.0.6-bookworm-vm-capture-ethtool-k-{dev}.txt"))
        assert features["hw-tc-offload"]["active"] is False and len(features) > 30


def test_parse_ethtool_i():
    assert e.parse_ethtool_i(fixture("1.0.6-bookworm-vm-facts-ns-ethtool-i-bond0.txt")) == {
        "driver": "bonding", "version": "6.1.0-56-amd64", "firmware_version": "2", "bus_info": ""}
    assert e.parse_ethtool_i(fixture("1.0.6-bookworm-vm-capture-ethtool-i-eth0.txt"))["driver"] == "virtio_net"
    # what the read script keeps: the driver line only
    assert e.parse_ethtool_i("driver: veth\nhw-tc-offload: off [fixed]\n") == {"driver": "veth"}

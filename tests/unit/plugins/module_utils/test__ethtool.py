# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import binascii
import json
import os
import shutil
import struct
import subprocess
import sys

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _ethtool as e
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.facts_fake import (
    fixture,
)

CAP = "1.0.6-bookworm-facts-netns-ioctl-veth0-"


def _hex(name: str) -> bytes:
    return binascii.unhexlify(fixture(CAP + name + ".hex").strip())


def test_ifreq_layout():
    raw = e.pack_ifreq("veth0", 0x1122334455)
    assert len(raw) == e.IFREQ_SIZE
    assert raw[:16] == b"veth0" + b"\0" * 11
    pointer = struct.unpack_from("@P", raw, 16)[0]
    assert pointer == 0x1122334455


@pytest.mark.parametrize("bad", ["", "a" * 16])
def test_ifreq_rejects_bad_names(bad):
    with pytest.raises(e.EthtoolError):
        e.pack_ifreq(bad, 0)


def test_request_headers():
    assert struct.unpack("=IIQI", e.pack_sset_info()) == (0x37, 0, 1 << 4, 0)
    raw = e.pack_gstrings(3)
    assert struct.unpack_from("=III", raw) == (0x1B, 4, 3) and len(raw) == 12 + 3 * 32
    raw = e.pack_gfeatures(64)
    assert struct.unpack_from("=II", raw) == (0x3A, 2) and len(raw) == 8 + 2 * 16
    assert e.feature_blocks(65) == 3 and e.feature_blocks(0) == 0
    assert len(e.pack_drvinfo()) == 196 and struct.unpack_from("=I", e.pack_drvinfo())[0] == 3


def test_captured_veth_buffers_match_ethtool_binary():
    count = e.unpack_sset_info(_hex("sset-info"))
    names = e.unpack_gstrings(_hex("gstrings"))
    assert count == len(names) == 64
    assert "hw-tc-offload" in names and "tx-checksum-ipv4" in names
    features = e.unpack_gfeatures(_hex("gfeatures"), names)
    assert features["hw-tc-offload"] == {"active": False, "available": False, "requested": False}
    text = e.parse_ethtool_k(fixture("1.0.6-bookworm-facts-netns-ethtool-k-veth0.txt"))
    common = set(text) & set(features)
    assert len(common) > 30
    for name in common:
        assert features[name]["active"] == text[name]["active"], name
        assert features[name]["available"] == text[name]["available"], name


def test_captured_drvinfo():
    info = e.unpack_drvinfo(_hex("drvinfo"))
    assert info["driver"] == "veth" and info["bus_info"] == ""
    assert e.parse_ethtool_i(fixture("1.0.6-bookworm-facts-netns-ethtool-i-veth0.txt"))["driver"] == "veth"
    assert e.parse_ethtool_i(fixture("1.0.6-bookworm-facts-host-ethtool-i-eth0.txt")) == {
        "driver": "virtio_net", "version": "1.0.0", "firmware_version": "", "bus_info": "0000:00:03.0",
    }


def test_sset_info_without_the_set_raises():
    raw = struct.pack("=IIQI", 0x37, 0, 0, 0)
    with pytest.raises(e.EthtoolError):
        e.unpack_sset_info(raw)


def test_gfeatures_bits_across_blocks():
    names = [f"f{i}" for i in range(40)]
    raw = struct.pack("=II", 0x3A, 2) + struct.pack("=IIII", 1, 0, 1 | 2, 0) + struct.pack("=IIII", 0, 1 << 7, 1 << 7, 0)
    out = e.unpack_gfeatures(raw, names)
    assert out["f0"] == {"active": True, "available": True, "requested": False}
    assert out["f1"]["active"] is True and out["f1"]["available"] is False
    assert out["f39"] == {"active": True, "available": False, "requested": True}
    assert out["f38"]["active"] is False


def test_parse_ethtool_k_notes():
    text = "Features for x:\nhw-tc-offload: off [fixed]\nrx-gro-hw: off [requested on]\nloopback: on\ntx-checksumming: on\n"
    out = e.parse_ethtool_k(text)
    assert out["hw-tc-offload"] == {"active": False, "available": False, "requested": False}
    assert out["rx-gro-hw"] == {"active": False, "available": True, "requested": True}
    assert out["loopback"]["active"] is True
    host = e.parse_ethtool_k(fixture("1.0.6-bookworm-facts-host-ethtool-k-eth0.txt"))
    assert host["hw-tc-offload"]["active"] is False
    assert e.parse_ethtool_k("") == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIOCETHTOOL is Linux only")
def test_real_ioctl_on_loopback():
    features = e.read_features("lo")
    assert features["loopback"]["active"] is True
    assert "hw-tc-offload" in features
    with pytest.raises(e.EthtoolError):
        e.read_features("no-such-dev0")


def _can_make_netns() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.mark.skipif(not _can_make_netns(), reason="needs root and iproute2 to build a netns")
def test_real_ioctl_on_veth_in_private_netns():
    ns = f"facts-ut-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "fa0", "type", "veth", "peer", "name", "fa1"], check=True)
        code = (
            "import json\n"
            "from ansible_collections.flowoffload.nft.plugins.module_utils import _ethtool as e\n"
            "print(json.dumps({'f': e.read_features('fa0'), 'd': e.read_drvinfo('fa0')}))\n"
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code],
                             check=True, capture_output=True, text=True, env=env).stdout
        data = json.loads(out)
        assert data["d"]["driver"] == "veth"
        assert data["f"]["hw-tc-offload"]["active"] is False
        if shutil.which("ethtool"):
            text = subprocess.run(["ip", "netns", "exec", ns, "ethtool", "-k", "fa0"],
                                  check=True, capture_output=True, text=True).stdout
            parsed = e.parse_ethtool_k(text)
            for name in set(parsed) & set(data["f"]):
                assert parsed[name]["active"] == data["f"][name]["active"], name
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _probe
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.facts_fake import (
    FakeRunner,
    fixture,
)

NFT = {"nft": "/usr/sbin/nft"}
SW_ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
SW_EPERM = fixture("1.0.6-bookworm-facts-probe-software-eperm.stderr")
HW_ENOENT = fixture("1.0.6-bookworm-facts-probe-hardware-lo-enoent.stderr")


def _runner(rc: int, stderr: str) -> FakeRunner:
    return FakeRunner(bins=NFT, default=(rc, "", stderr))


def test_software_batch_has_no_devices_and_is_check_only():
    fake = _runner(0, "")
    assert _probe.probe_software(fake)[0] is True
    argv, data = fake.calls[0]
    assert argv == ["/usr/sbin/nft", "-c", "-f", "-"]
    assert "devices" not in data and "flags offload" not in data
    assert "flowtable ft {" in data and data.startswith("table inet flowoffload_probe_")


def test_software_enoent_is_false_with_kernel_hint():
    ok, msg = _probe.probe_software(_runner(1, SW_ENOENT))
    assert ok is False
    assert "No such file or directory" in msg and "nf_flow_table" in msg


def test_software_eperm_is_none():
    ok, msg = _probe.probe_software(_runner(1, SW_EPERM))
    assert ok is None and "CAP_NET_ADMIN" in msg


def test_software_unknown_error_is_none():
    ok, msg = _probe.probe_software(_runner(1, "Error: syntax error, unexpected junk\n"))
    assert ok is None and "syntax error" in msg


def test_no_nft_binary():
    ok, msg = _probe.probe_software(FakeRunner())
    assert ok is None and "nft binary was not found" in msg
    ok, msg = _probe.probe_hardware(FakeRunner(), "eth0")
    assert ok is None and "nft binary was not found" in msg


def test_hardware_batch_and_accept():
    fake = _runner(0, "")
    ok, msg = _probe.probe_hardware(fake, "eth0")
    assert ok is True and "eth0" in msg
    data = fake.calls[0][1]
    assert 'devices = { "eth0" }' in data and "flags offload" in data


@pytest.mark.parametrize("stderr", [
    "/dev/stdin:2:13-14: Error: Could not process rule: Not supported\n",
    "/dev/stdin:2:13-14: Error: Could not process rule: Operation not supported\n",
])
def test_hardware_eopnotsupp_is_false(stderr):
    ok, msg = _probe.probe_hardware(_runner(1, stderr), "veth0")
    assert ok is False and "supported" in msg and "veth0" in msg


def test_hardware_enoent_is_none():
    ok, msg = _probe.probe_hardware(_runner(1, HW_ENOENT), "lo")
    assert ok is None and "ENOENT" in msg


def test_hardware_eperm_is_none():
    ok, msg = _probe.probe_hardware(_runner(1, SW_EPERM), "eth0")
    assert ok is None and "CAP_NET_ADMIN" in msg


@pytest.mark.parametrize("bad", ["", "a" * 16, "eth0; flush ruleset", "a/b", "x y", 'e"0', ".", ".."])
def test_hardware_refuses_unsafe_names_without_running(bad):
    fake = _runner(0, "")
    ok, msg = _probe.probe_hardware(fake, bad)
    assert ok is None and "not a valid interface name" in msg
    assert fake.calls == []


def test_table_name_is_per_process():
    assert _probe.probe_table_name(42) == "flowoffload_probe_42"


def test_vm_captures():
    vm = "1.0.6-bookworm-vm-facts-probe-"
    ok, msg = _probe.probe_software(_runner(0, fixture(vm + "software-ok.stderr")))
    assert ok is True and "supports flowtables" in msg
    ok, msg = _probe.probe_hardware(_runner(1, fixture(vm + "hardware-veth-eopnotsupp.stderr")), "lan0")
    assert ok is False and "Operation not supported" in msg
    ok, msg = _probe.probe_hardware(_runner(1, fixture(vm + "hardware-missing-enoent.stderr")), "nosuchdev0")
    assert ok is None and "does not exist" in msg

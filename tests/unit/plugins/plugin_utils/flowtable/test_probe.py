# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import pathlib
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    probe as _probe,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Snapshot,
    read_host,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    SHELLS,
    HostRoot,
)

SW_ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
SW_EPERM = fixture("1.0.6-bookworm-facts-probe-software-eperm.stderr")
HW_ENOENT = fixture("1.0.6-bookworm-facts-probe-hardware-lo-enoent.stderr")
HW_EOPNOTSUPP = fixture("1.0.6-bookworm-vm-facts-probe-hardware-veth-eopnotsupp.stderr")


def test_batches_come_from_the_one_renderer():
    assert _probe.probe_batch(None, "x") == "add table inet x\nadd flowtable inet x ft { hook ingress priority 0; }\n"
    assert 'devices = { "eth0" }; flags offload; }' in _probe.probe_batch("eth0", "x")


def test_one_read_and_no_python_pid():
    read = _probe.probe_read()
    assert read.key == "probe:batch" and not read.dynamic and read.expand is _probe.split_batch
    assert "fo_probe_table=flowoffload_probe_\n" in read.code and '"$fo_probe_table$$_0"' in read.code
    assert str(os.getpid()) not in read.code
    assert read.code.count("nft ") == 1  # one nft process for every probe


def test_percent_and_backslash_are_escaped_in_the_format():
    code = _probe.probe_read().code
    assert "%%" not in code and code.count("%s") == 2 + 3  # sw: table twice; hw: table twice, device


def test_probe_script_passes_shellcheck(tmp_path):
    script, _nonce = read_script([_probe.probe_read()])
    path = tmp_path / "read.sh"
    path.write_text(script)
    proc = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("shell", list(SHELLS))
def test_one_batch_probes_every_device_under_busybox_and_dash(tmp_path: pathlib.Path, shell: str) -> None:
    """read_probe.sh on a HostRoot: lo and a name the device rule refuses are left out, wan0
    refuses offload (the nft double's knob), one nft -c for every probe, nothing committed."""
    host = HostRoot(tmp_path, shell, tools={"nft": "nft/nft"},
                    env={"NFT_REFUSE_OFFLOAD": "wan0", "NFT_DOUBLE_LOG": "/tmp/nft.log"})
    for dev in ("eth0", "lan0", "lo", "wan0", "bad*name"):
        host.write(f"/sys/class/net/{dev}/type", "1\n")
    snap = read_host(host, [_probe.probe_read()])
    log = host.read("/tmp/nft.log") or ""
    assert log.count("nft -c -f") == 1 and log.count("nft ") == 1 and host.ruleset() == ""
    assert _probe.software_verdict(snap)[0] is True
    verdicts = _probe.hardware_verdicts(snap)
    assert sorted(verdicts) == ["eth0", "lan0", "wan0"]
    assert verdicts["wan0"][0] is False and "wan0" in verdicts["wan0"][1]
    assert verdicts["eth0"][0] is True and verdicts["lan0"][0] is True
    # every block in a table of its own, named by the shell: flowoffload_probe_<pid>_<n>
    tables = [line.split()[3] for line in log.splitlines() if line.startswith("add table")]
    assert len(tables) == len(set(tables)) == 4
    assert all(name.startswith("flowoffload_probe_") and name.endswith(f"_{i}") for i, name in enumerate(tables))


def test_split_batch_from_the_vm_capture():
    """nft 1.0.6 on the lab VM (Debian's 6.1 kernel): flowtables work, virtio/veth refuse offload."""
    base = "1.0.6-bookworm-vm-probe-batch-veth-lan0-wan0"
    snap = Snapshot(_probe.split_batch(sec(fixture(base + ".out"), 1, fixture(base + ".stderr"))))
    assert _probe.software_verdict(snap)[0] is True
    verdicts = _probe.hardware_verdicts(snap)
    assert sorted(verdicts) == ["eth0", "lan0", "wan0"]
    for dev, (ok, msg) in verdicts.items():
        assert ok is False and f"on {dev}: Could not process rule: Operation not supported" in msg


def test_split_batch_from_a_kernel_without_flowtables():
    """This development host (no CONFIG_NF_FLOW_TABLE): every block is refused with ENOENT."""
    base = "1.0.6-bookworm-probe-batch-no-flowtables"
    snap = Snapshot(_probe.split_batch(sec(fixture(base + ".out"), 1, fixture(base + ".stderr"))))
    ok, msg = _probe.software_verdict(snap)
    assert ok is False and "nf_flow_table" in msg
    assert all(v[0] is None and "ENOENT" in v[1] for v in _probe.hardware_verdicts(snap).values())


def test_split_batch_when_nft_names_no_line():
    out = "1 -\n3 eth0\n"
    for rc, err, expect in ((127, "sh: nft: not found\n", "install nftables"),
                            (1, "Error: Could not process rule: Operation not permitted\n", "CAP_NET_ADMIN")):
        snap = Snapshot(_probe.split_batch(sec(out, rc, err)))
        assert _probe.software_verdict(snap)[0] is None and expect in _probe.software_verdict(snap)[1]
        assert _probe.hardware_verdicts(snap)["eth0"][0] is None
    # nothing printed at all (the shell stopped first): no verdict claims support
    assert _probe.software_verdict(Snapshot(_probe.split_batch(sec("", 2, ""))))[0] is not True
    # all accepted
    snap = Snapshot(_probe.split_batch(sec(out, 0, "")))
    assert _probe.software_verdict(snap)[0] is True and _probe.hardware_verdicts(snap)["eth0"][0] is True


def test_verdicts_from_captured_stderr():
    snap = Snapshot({"probe:sw": sec("", 1, SW_ENOENT), "probe:hw:veth0": sec("", 1, HW_EOPNOTSUPP),
                     "probe:hw:lo": sec("", 1, HW_ENOENT), "probe:hw:eth0": sec("")})
    ok, msg = _probe.software_verdict(snap)
    assert ok is False and "nf_flow_table" in msg
    verdicts = _probe.hardware_verdicts(snap)
    assert verdicts["veth0"][0] is False and "Operation not supported" in verdicts["veth0"][1]
    assert verdicts["lo"][0] is None and "ENOENT" in verdicts["lo"][1]
    assert verdicts["eth0"][0] is True


def test_verdicts_eperm_missing_nft_and_absent_section():
    assert _probe.software_verdict(Snapshot({"probe:sw": sec("", 1, SW_EPERM)}))[0] is None
    ok, msg = _probe.software_verdict(Snapshot({"probe:sw": sec("", 127, "sh: nft: not found\n")}))
    assert ok is None and "nft binary was not found" in msg
    ok, msg = _probe.interpret_hardware(127, "sh: 1: nft: not found", "eth0")
    assert ok is None and "install nftables" in msg
    assert _probe.software_verdict(Snapshot({}))[0] is None
    ok, msg = _probe.interpret_software(1, "Error: syntax error, unexpected junk\n")
    assert ok is None and "syntax error" in msg


def test_valid_probe_device():
    assert _probe.valid_probe_device("br-lan.10")
    assert not _probe.valid_probe_device("a" * 16)
    assert not _probe.valid_probe_device("..")
    assert not _probe.valid_probe_device("eth0; flush ruleset")
    # the one device rule: what the devices option refuses, the probe refuses too
    assert not _probe.valid_probe_device("wan@ppp")

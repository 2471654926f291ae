# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _probe
from ansible_collections.flowoffload.nft.plugins.module_utils._target import (
    Snapshot,
    parse_sections,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.fake_target import (
    ShellTarget,
    fixture,
    sec,
)

DOUBLES = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "doubles", "nft"))
SW_ENOENT = fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr")
SW_EPERM = fixture("1.0.6-bookworm-facts-probe-software-eperm.stderr")
HW_ENOENT = fixture("1.0.6-bookworm-facts-probe-hardware-lo-enoent.stderr")
HW_EOPNOTSUPP = fixture("1.0.6-bookworm-vm-facts-probe-hardware-veth-eopnotsupp.stderr")


def test_batches_come_from_the_one_renderer():
    assert _probe.probe_batch(None, "x") == "add table inet x\nadd flowtable inet x ft { hook ingress priority 0; }\n"
    assert 'devices = { "eth0" }; flags offload; }' in _probe.probe_batch("eth0", "x")


def test_reads_keys_and_no_python_pid():
    assert _probe.software_probe_read().key == "probe:sw"
    reads = _probe.hw_probe_reads(["wan0", "eth0", "eth0", "bad dev", "x;y"])
    assert [r.key for r in reads] == ["probe:hw:eth0", "probe:hw:wan0"]
    dyn = _probe.hw_probe_dynamic_read()
    assert dyn.dynamic and dyn.key == "probe:hw:"
    for read in [_probe.software_probe_read(), *reads, dyn]:
        assert "flowoffload_probe_$$" in read.code and str(os.getpid()) not in read.code


def test_percent_and_backslash_are_escaped_in_the_format():
    code = _probe.hw_probe_reads(["a%b"])
    assert code == []  # '%' is not a device character: never reaches a format
    read = _probe.hw_probe_reads(["eth0"])[0]
    assert read.code.count("%s") == 3 and "%%" not in read.code


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck not installed")
def test_probe_script_passes_shellcheck(tmp_path):
    script, _nonce = read_script([_probe.software_probe_read(), *_probe.hw_probe_reads(["eth0"]),
                                  _probe.hw_probe_dynamic_read()])
    path = tmp_path / "read.sh"
    path.write_text(script)
    proc = subprocess.run(["shellcheck", "-s", "sh", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def _run(reads, tmp_path, **env):
    log = tmp_path / "nft.log"
    os.environ.update({"NFT_LOG": str(log), **env})
    try:
        script, nonce = read_script(reads)
        rc, out, _err = ShellTarget(doubles=DOUBLES).run_script(script)
    finally:
        for key in ["NFT_LOG", *env]:
            os.environ.pop(key, None)
    assert rc == 0
    return parse_sections(out, nonce)[0], log.read_text() if log.exists() else ""


@pytest.mark.skipif(not shutil.which("busybox"), reason="busybox not installed")
def test_static_probes_under_busybox_with_the_nft_double(tmp_path):
    snap, log = _run([_probe.software_probe_read(), *_probe.hw_probe_reads(["eth0", "veth0"])], tmp_path,
                     NFT_REFUSE_OFFLOAD="veth0")
    assert _probe.software_verdict(snap)[0] is True
    verdicts = _probe.hardware_verdicts(snap)
    assert verdicts["eth0"][0] is True
    assert verdicts["veth0"][0] is False and "veth0" in verdicts["veth0"][1]
    assert "nft -c -f -" in log and 'devices = { "veth0" }' in log
    # the table the shell named: flowoffload_probe_<pid of the script's shell>, twice the same
    tables = {line.split()[3] for line in log.splitlines() if line.startswith("add table")}
    assert len(tables) == 1 and tables.pop().startswith("flowoffload_probe_")


@pytest.mark.skipif(not shutil.which("busybox"), reason="busybox not installed")
def test_dynamic_probe_loops_over_sys_class_net(tmp_path):
    snap, log = _run([_probe.hw_probe_dynamic_read()], tmp_path)
    devs = sorted(os.listdir("/sys/class/net"))
    expected = [d for d in devs if d != "lo" and _probe.valid_probe_device(d)]
    assert sorted(_probe.hardware_verdicts(snap)) == expected
    assert "lo" not in _probe.hardware_verdicts(snap)
    assert log.count("nft -c -f -") == len(expected)


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

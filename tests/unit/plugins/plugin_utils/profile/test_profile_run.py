# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_profile: the gateway role in one read and at most one apply, run for real on the lab VM.

Every test here runs the real read and apply scripts on a HostRoot of the lab VM (lab.py):
what a run changed, and that a second run changes nothing, is observed in the root (files,
/proc/sys values, systemd links, the nft double's ruleset), never written by hand.
"""
from __future__ import annotations

import pathlib
import subprocess

from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    parts,
    rules,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import run as P
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.inputs import (
    validate_inputs,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    parse_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    TIMEOUT,
    lab_root,
    params,
    shell,
)

__all__ = ["shell"]  # the fixture pytest finds through this module

SYSCTL_FILE = "/etc/sysctl.d/90-flowoffload.conf"
BOOT_LIST = "/etc/modules-load.d/flowoffload.conf"
UNIT = "/etc/systemd/system/flowoffload-inet-flowoffload.service"
FT_FILE = "/etc/flowoffload/inet-flowoffload.nft"


def configure(host: HostRoot, **changes: object) -> dict:
    """A changing run of the profile on host (asserted to go through)."""
    out = P.run_profile(host, params(**changes), False)
    assert out["changed"] is True, out
    return out


def test_a_changing_run_applies_in_order_and_the_next_run_changes_nothing(tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    out = P.run_profile(host, params(tcp_timeout=60, **LAN_WAN), False)
    assert host.round_trips == 2 and len(host.applies) == 1, host.last
    assert out["changed"] is True and out["devices"] == ["lan0", "wan0"] and set(out["parts"]) == {"kmod", "flowtable", "sysctl"}
    # veth cannot offload to hardware: auto falls back to software and says why
    assert out["hardware_offload"] is False
    assert out["fallback_reason"].startswith("the kernel did not accept 'flags offload' on lan0, wan0")
    facts = out["ansible_facts"]["flowoffload"]  # the facts of the one read, as offload_facts gives them
    assert {"platform", "kernel", "interfaces", "conflicts"} <= set(facts) and "lan0" in facts["interfaces"]
    assert out["diff"][0]["before_header"] == BOOT_LIST
    script = host.applies[0]
    order = [script.index(word) for word in (
        "modprobe nf_flow_table\n",                          # kmod: pre
        "\nadd flowtable inet flowoffload ft",               # flowtable: the nft batch (not the loader lines of the staged file)
        "nft -f \"$fo_t/batch\"",
        f"mv -f {BOOT_LIST}.fo-new",                         # files moved after the batch
        f"mv -f {SYSCTL_FILE}.fo-new",
        "systemctl enable flowoffload-inet-flowoffload.service",  # flowtable: post
        f"fo_sysfile={SYSCTL_FILE}\n",                        # sysctl: post, after the modules
        'fo_head kmod:proc-modules\n',                       # the read-back
    )]
    assert order == sorted(order)
    # what the host holds now
    assert "nf_flow_table " in host.read("/proc/modules") and host.read(BOOT_LIST).endswith("nft_flow_offload\n")
    assert host.read("/proc/sys/net/netfilter/nf_flowtable_tcp_timeout") == "60\n"
    assert f"{TIMEOUT} = 60" in host.read(SYSCTL_FILE)
    assert host.exists("/etc/systemd/system/multi-user.target.wants/flowoffload-inet-flowoffload.service")
    assert host.exists("/run/systemd/units/invocation:flowoffload-inet-flowoffload.service")
    assert 'devices = { lan0, wan0 }' in host.ruleset() and host.read(FT_FILE) and host.read(UNIT)
    assert host.read("/tmp") is None and list(host.path("/tmp").iterdir()) == []  # the run's temporary folder is gone
    assert not list(host.path("/run").glob("flowoffload.lock*"))                  # and so is its lock
    # the next run reads what this one left, changes nothing, one round trip, not a byte
    before = host.snapshot()
    again = P.run_profile(host, params(tcp_timeout=60, **LAN_WAN), False)
    assert again["changed"] is False and host.round_trips == 3 and len(host.applies) == 1
    assert host.snapshot() == before


def test_idempotent_run_with_timeouts_and_forwarding(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    wanted = params(tcp_timeout=45, forwarding=True, **LAN_WAN)
    configure(host, tcp_timeout=45, forwarding=True, **LAN_WAN)
    assert "net.ipv4.ip_forward = 1" in host.read(SYSCTL_FILE)
    before = host.snapshot()
    out = P.run_profile(host, wanted, False)
    assert out["changed"] is False and host.round_trips == 3 and host.snapshot() == before
    assert set(out["parts"]) == {"flowtable", "sysctl"} and "diff" not in out


def test_check_mode_predicts_in_one_round_trip_and_changes_nothing(tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    before = host.snapshot()
    out = P.run_profile(host, params(tcp_timeout=60, **LAN_WAN), True)
    assert out["changed"] is True and host.round_trips == 1 and not host.applies
    assert out["devices"] == ["lan0", "wan0"] and out["diff"]
    assert host.snapshot() == before


def test_auto_devices_come_from_the_facts(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    out = P.run_profile(host, params(), True)
    # the devices of the VM that can forward (lo never); the probes cover every device
    assert out["devices"] and set(out["devices"]) <= {"eth0", "lan0", "wan0"}
    assert "for fo_pp in /sys/class/net/*" in host.scripts[0]


def test_one_read_script_holds_every_part_and_each_section_is_answered(tmp_path: pathlib.Path) -> None:
    inputs = validate_inputs(params(**LAN_WAN))
    reads = P.profile_reads(inputs, parts.filled("offload_kmod", {}), rules.flowtable_params(inputs, "nft", ["lan0", "wan0"]))
    assert {r.key.split(":")[0] for r in reads} == {"host", "facts", "kmod", "ft", "fw4", "probe", "sysctl"}
    host = lab_root(tmp_path)
    P.run_profile(host, params(**LAN_WAN), True)
    nonce = host.scripts[0].split("fo_nonce=", 1)[1].split("\n", 1)[0].strip("'")
    snapshot, _marker = parse_sections(host.last[1], nonce)
    asked = {r.key for r in reads if not r.dynamic and r.expand is None}
    assert sorted(k for k in asked if snapshot.get(k) is None) == []
    # no tool was called that the lab VM's doubles do not answer
    assert "double: no answer" not in host.last[2] and "unexpected call" not in host.last[1]


def test_read_and_apply_scripts_pass_shellcheck(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    configure(host, tcp_timeout=60, **LAN_WAN)
    assert len(host.scripts) == 2
    for script in host.scripts:
        proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout[:3000]


# --- issue 9 point 5: the sysctl file is managed ---------------------------------------------------
def test_a_sysctl_file_deleted_by_hand_is_restored(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    configure(host, tcp_timeout=30, **LAN_WAN)
    before = host.snapshot()
    host.path(SYSCTL_FILE).unlink()
    out = P.run_profile(host, params(tcp_timeout=30, **LAN_WAN), False)
    assert out["changed"] and {n for n, r in out["parts"].items() if r["changed"]} == {"sysctl"}
    assert f"mv -f {SYSCTL_FILE}.fo-new" in host.applies[-1] and "nft -f" not in host.applies[-1]
    assert host.snapshot() == before


# --- gateway_profile: off ----------------------------------------------------------------------------
def test_off_removes_everything_and_the_flowtable_goes_before_the_modules(tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    configure(host, tcp_timeout=30, **LAN_WAN)
    out = P.run_profile(host, params(profile="off"), False)
    assert out["changed"] and out["devices"] == [] and out["profile"] == "off"
    script = host.applies[-1]
    assert script.index("delete table inet flowoffload") < script.index(f"rm -f {BOOT_LIST}")
    for path in (SYSCTL_FILE, BOOT_LIST, UNIT, FT_FILE,
                 "/etc/systemd/system/multi-user.target.wants/flowoffload-inet-flowoffload.service"):
        assert not host.exists(path), path
    assert "flowoffload" not in host.ruleset()
    before = host.snapshot()
    again = P.run_profile(host, params(profile="off"), False)
    assert again["changed"] is False and host.round_trips == 5 and host.snapshot() == before


def test_off_removes_a_sysctl_file_left_alone(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    host.write(SYSCTL_FILE, f"{TIMEOUT} = 30\n")
    out = P.run_profile(host, params(profile="off"), False)
    assert out["changed"] and host.round_trips == 2 and f"rm -f {SYSCTL_FILE}" in host.applies[0]
    assert not host.exists(SYSCTL_FILE)


def test_off_removes_the_lock_file_an_earlier_version_left(tmp_path: pathlib.Path) -> None:
    """Issue 16 point 5: the lock stayed in /tmp where /run is missing. The apply's own lock is
    gone after every apply now; off also removes what an earlier version left behind."""
    host = lab_root(tmp_path)
    host.write("/tmp/flowoffload.lock", "")
    before = host.snapshot()
    check = P.run_profile(host, params(profile="off"), True)
    assert check["changed"] is True and check["parts"]["lock"] == {"changed": True, "removed": ["/tmp/flowoffload.lock"]}
    assert host.snapshot() == before
    # the read asks for every path a lock can have had (flock files and mkdir directories)
    assert "fo_paths='/run/flowoffload.lock /run/flowoffload.lock.d /tmp/flowoffload.lock /tmp/flowoffload.lock.d'" in host.scripts[0]
    out = P.run_profile(host, params(profile="off"), False)
    assert out["changed"] is True and host.round_trips == 3 and not host.exists("/tmp/flowoffload.lock")
    del before["/tmp/flowoffload.lock"]
    assert host.snapshot() == before
    again = P.run_profile(host, params(profile="off"), False)
    assert again["changed"] is False and host.round_trips == 4


# --- gateway_verify -------------------------------------------------------------------------------------
def test_verify_counts_flows_from_the_one_read(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    configure(host, **LAN_WAN)
    out = P.run_profile(host, params(verify=True, **LAN_WAN), False)
    assert host.round_trips == 3 and out["changed"] is False and out["flows"]["offload"] > 0
    assert "software-offloaded" in out["report"][-1]


def test_verify_counts_flows_from_the_read_back_after_a_change(tmp_path: pathlib.Path) -> None:
    host = lab_root(tmp_path)
    out = P.run_profile(host, params(verify=True, **LAN_WAN), False)
    assert host.round_trips == 2 and 'fo_head facts:flows\n' in host.applies[0] and out["flows"]["total"] > 0


# --- kernels without flowtables ----------------------------------------------------------------------
def test_auto_on_a_kernel_without_flowtables_reports_and_changes_nothing(tmp_path: pathlib.Path, shell: str) -> None:
    host = lab_root(tmp_path, shell)
    host.write("/var/lib/nft-double/no-flowtables", "")
    before = host.snapshot()
    out = P.run_profile(host, params(tcp_timeout=60, **LAN_WAN), False)
    assert host.round_trips == 1 and out["changed"] is False and out["devices"] == []
    assert out["fallback_reason"] and out["report"][0].startswith("no flow offload: ")
    assert "linux-image-amd64" in out["report"][0] and out["parts"] == {}
    assert host.snapshot() == before

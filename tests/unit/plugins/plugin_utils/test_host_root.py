# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HostRoot runs a script in its root alone, and the host doubles act on that root."""
from __future__ import annotations

import os
import pathlib

import pytest
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)

SHELLS = ("busybox", "dash")
UNIT = "[Unit]\nDescription=x\n\n[Install]\nWantedBy=multi-user.target nftables.service\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_a_script_writes_in_the_root_only_and_the_snapshot_sees_every_byte(tmp_path: pathlib.Path, shell: str) -> None:
    host = HostRoot(tmp_path, shell)
    name = f"fo-host-root-{os.getpid()}"
    before = host.snapshot()
    rc, out, err = host.run_script(f"echo hi >/etc/{name}; printf x >>/etc/{name}; cat /etc/{name}; ls /sys/class/net")
    assert (rc, out, err) == (0, "hi\nx", "") and host.round_trips == 1
    assert not os.path.exists(f"/etc/{name}")  # the host's own /etc is untouched
    after = host.snapshot()
    assert {k: v for k, v in after.items() if before.get(k) != v} == {f"/etc/{name}": b"hi\nx"}
    assert set(before) - set(after) == set()


@pytest.mark.parametrize("shell", SHELLS)
def test_systemctl_sysctl_and_modprobe_doubles_change_the_root(tmp_path: pathlib.Path, shell: str) -> None:
    host = HostRoot(tmp_path, shell)
    host.seed({"/etc/systemd/system/fo.service": UNIT, "/proc/sys/kernel/osrelease": "6.1.0-56-amd64\n",
               "/proc/modules": "", "/lib/modules/6.1.0-56-amd64/modules.dep": "kernel/nf_flow_table.ko:\n",
               "/etc/sysctl.d/x.conf": "net.netfilter.nf_flowtable_tcp_timeout = 60\nnet.no.such = 1\n"})
    host.path("/run/systemd/units").mkdir(parents=True)
    rc, _out, err = host.run_script(
        "set -e; systemctl enable fo.service; systemctl start fo.service; modprobe nf_flow_table; "
        "! modprobe nosuch 2>/dev/null; sysctl -e -p /etc/sysctl.d/x.conf; ! sysctl -w net.no.such=1 2>/dev/null")
    assert rc == 0, err
    for target in ("multi-user.target", "nftables.service"):
        assert os.readlink(host.path(f"/etc/systemd/system/{target}.wants/fo.service")) == "/etc/systemd/system/fo.service"
    assert host.exists("/run/systemd/units/invocation:fo.service")
    assert host.read("/proc/modules").startswith("nf_flow_table 16384 0 - Live")
    assert host.read("/sys/module/nf_flow_table/initstate") == "live\n"
    assert host.read("/proc/sys/net/netfilter/nf_flowtable_tcp_timeout") == "60\n"
    assert host.read("/proc/sys/net/netfilter/nf_flowtable_udp_timeout") == "30\n"
    assert not host.exists("/proc/sys/net/no/such")
    rc, _out, err = host.run_script("systemctl stop fo.service && systemctl disable fo.service && rmmod nf_flow_table")
    assert rc == 0, err
    assert not host.exists("/etc/systemd/system/multi-user.target.wants") and not host.exists("/run/systemd/units/invocation:fo.service")
    assert host.read("/proc/modules") == "" and not host.exists("/proc/sys/net/netfilter/nf_flowtable_tcp_timeout")


def test_a_tool_without_an_answer_fails_naming_the_call(tmp_path: pathlib.Path) -> None:
    host = HostRoot(tmp_path)
    host.write("/var/lib/doubles/ip/-j link show", "[]\n")
    assert host.run_script("ip -j link show") == (0, "[]\n", "")
    rc, _out, err = host.run_script("ip -j addr show")
    assert rc == 64 and "no answer for 'ip -j addr show'" in err


def test_the_nft_ruleset_lives_in_the_root(tmp_path: pathlib.Path) -> None:
    host = HostRoot(tmp_path, "dash")
    host.seed_ruleset("table inet t {\n}\n")
    rc, _out, err = host.run_script("echo 'add table inet u' | nft -f -")
    assert rc == 0, err
    assert host.ruleset() == "table inet t {\n}\ntable inet u {\n}\n"
    assert host.snapshot()["/var/lib/nft-double/ruleset"].count(b"table inet") == 2

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read_*.sh files of offload_facts, run for real under busybox ash and dash: inside
the one read script, against temporary trees (their paths are inputs) and shell functions
that stand in for the tools. What they print must agree with facts_fake's Python copies of
their filters and with the parsers that read them."""
from __future__ import annotations

import os
import pathlib
import shlex
import shutil
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import (
    conflicts as fc,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import (
    ethtool as _ethtool,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import links as fl
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Snapshot,
    parse_sections,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    count_like_target,
    nfqueue_like_target,
    xfrm_like_target,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FIXTURES,
    ShellTarget,
    fixture,
)

SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}
VM = "1.0.6-bookworm-vm-facts-"
NO_TOOLS = "command() { return 1; }\n"  # `command -v TOOL` finds nothing (tc, conntrack, ethtool)


@pytest.fixture(params=list(SHELLS), name="shell")
def _shell(request: pytest.FixtureRequest) -> list[str]:
    return SHELLS[request.param]


def run(shell: list[str], reads: t.Sequence[Read], functions: str = "") -> Snapshot:
    """The read script of reads under shell; ``functions`` (sh) shadow binaries and applets."""
    script, nonce = read_script(reads)
    script = script.replace("#!/bin/sh\n", "#!/bin/sh\n" + functions, 1)
    rc, out, err = ShellTarget(shell=shell).run_script(script)
    assert rc == 0, err
    return parse_sections(out, nonce)[0]


def _read(key: str, subsets: t.Sequence[str]) -> Read:
    return next(read for read in fr.facts_reads(subsets) if read.key == key)


def _f(name: str) -> str:
    return shlex.quote(os.path.join(FIXTURES, name))


def _tree(root: pathlib.Path, files: t.Mapping[str, str], links: t.Mapping[str, str] | None = None) -> str:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for rel, target in (links or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return str(root)


# --- read_dev.sh, read_eth.sh -----------------------------------------------------------------
def _sysfs(tmp_path: pathlib.Path) -> str:
    """eth0 (virtio_net, in br0), br0 (bridge, port eth0), eth0.5 (vlan on eth0), lo."""
    _tree(tmp_path, {"drivers/virtio_net/bind": "", "devices/pci0/eth0/vendor": "0x1af4\n"},
          {"devices/pci0/eth0/driver": "../../../drivers/virtio_net"})
    return _tree(tmp_path / "net", {
        "eth0/type": "1\n", "eth0/operstate": "up\n", "eth0/uevent": "INTERFACE=eth0\nIFINDEX=2\n",
        "br0/type": "1\n", "br0/operstate": "up\n", "br0/uevent": "DEVTYPE=bridge\nINTERFACE=br0\n",
        "eth0.5/type": "1\n", "eth0.5/operstate": "lowerlayerdown\n", "eth0.5/uevent": "DEVTYPE=vlan\n",
        "lo/type": "772\n", "lo/operstate": "unknown\n", "lo/uevent": "INTERFACE=lo\n",
    }, {
        "eth0/device": "../../devices/pci0/eth0",
        "eth0/master": "../br0", "br0/brif/eth0": "../../eth0", "eth0.5/lower_eth0": "../eth0",
    })


def test_dev_reads_sysfs_with_builtins(shell: list[str], tmp_path: pathlib.Path) -> None:
    snap = run(shell, [Read(fr.DEV_PREFIX, fr.dev_code(_sysfs(tmp_path)), dynamic=True)])
    devs = {name: fl.parse_dev_section(s.out) for name, s in snap.with_prefix(fr.DEV_PREFIX).items()}
    assert sorted(devs) == ["br0", "eth0", "eth0.5", "lo"]
    assert devs["eth0"] == {"type": "1", "operstate": "up", "devtype": "", "device": True, "driver": "virtio_net",
                            "master": "br0", "lower": []}
    assert devs["br0"]["devtype"] == "bridge" and devs["br0"]["lower"] == ["eth0"] and devs["br0"]["driver"] is None
    assert devs["eth0.5"]["lower"] == ["eth0"] and devs["eth0.5"]["operstate"] == "lowerlayerdown"
    assert fl.link_from_sysfs(devs["lo"], False)["kind"] == "loopback"


def test_ethtool_read_per_device_but_lo(shell: list[str], tmp_path: pathlib.Path) -> None:
    k = _f("1.0.6-bookworm-vm-capture-ethtool-k-eth0.txt")
    shadow = ("ethtool() {\n  case $1 in\n    -i) echo 'driver: virtio_net'; echo 'version: 1.0.0' ;;\n"
              "    -k) [ \"$2\" = br0 ] && { echo 'Cannot get device features: Operation not supported' >&2; return 94; }\n"
              f"        command cat {k} ;;\n  esac\n}}\n")
    snap = run(shell, [Read(fr.ETH_PREFIX, fr.eth_code(_sysfs(tmp_path)), dynamic=True)], shadow)
    sections = snap.with_prefix(fr.ETH_PREFIX)
    assert sorted(sections) == ["br0", "eth0", "eth0.5"]  # lo is never read: loopback is never offloaded
    assert sections["br0"].rc == 94 and "Cannot get device features" in sections["br0"].err
    assert sections["eth0"].rc == 0 and _ethtool.parse_ethtool_i(sections["eth0"].out) == {
        "driver": "virtio_net", "version": "1.0.0"}
    assert _ethtool.parse_ethtool_k(sections["eth0"].out)["hw-tc-offload"]["active"] is False
    no_ethtool = run(shell, [Read(fr.ETH_PREFIX, fr.eth_code(str(tmp_path / "net")), dynamic=True)], NO_TOOLS)
    assert not no_ethtool.with_prefix(fr.ETH_PREFIX)


# --- ip -j -4 route and read_proc_routes.sh -----------------------------------------------------
ROUTE = ("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
         "wan0\t00000000\t0102000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
         "wan0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
         "lan0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
         "lan0\t0010A8C0\t0201A8C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n")
V6 = ("00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 "
      "00000400 00000001 00000000 00450003 wan0\n"
      "20010db8000000010000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 "
      "00000100 00000001 00000000 00000001 lan0\n"
      "20010db8000000020000000000000000 40 00000000000000000000000000000000 00 20010db8000000010000000000000001 "
      "00000100 00000001 00000000 00000003 lan0\n")


def test_proc_routes_only_without_json_and_filtered(shell: list[str], tmp_path: pathlib.Path) -> None:
    procnet = _tree(tmp_path, {"route": ROUTE, "ipv6_route": V6})
    reads = [_read(fr.K_ROUTE4, ["interfaces"]), Read(fr.K_PROC_ROUTES, fr.proc_routes_code(procnet))]
    snap = run(shell, reads, "ip() { echo 'ip: invalid option -- j' >&2; return 1; }\n")  # busybox ip
    assert snap.get(fr.K_ROUTE4).rc == 1
    whole = "# route\n" + "".join(ROUTE.splitlines(True)[1:]) + "# ipv6_route\n" + V6
    assert fl.proc_route_devices(snap.out(fr.K_PROC_ROUTES)) == fl.proc_route_devices(whole) == ["wan0", "lan0"]
    assert "0010A8C0" not in snap.out(fr.K_PROC_ROUTES) and "20010db800000002" not in snap.out(fr.K_PROC_ROUTES)
    snap = run(shell, reads, "ip() { echo '[]'; }\n")  # iproute2: JSON, no /proc routes printed
    assert snap.out(fr.K_ROUTE4) == "[]\n" and snap.out(fr.K_PROC_ROUTES) == ""


# --- read_flows.sh ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [VM + "nf-conntrack-offload.txt", VM + "conntrack-L-offload.txt",
                                  "1.0.6-bookworm-facts-netns-nf-conntrack-empty.txt",
                                  "1.0.6-bookworm-vm-capture-nf-conntrack.txt"])
def test_conntrack_counted_on_the_target_like_the_fake(shell: list[str], name: str) -> None:
    path = os.path.join(FIXTURES, name)
    snap = run(shell, [Read(fr.K_FLOWS, fr.flows_code(path))])
    assert snap.out(fr.K_FLOWS) == f"source={path}\n" + count_like_target(fixture(name))
    if name.startswith(VM):  # the lab VM with offloaded iperf flows
        assert fp.parse_flows_section(snap.out(fr.K_FLOWS)) == {"total": 4, "offload": 2, "hw_offload": 0}


def test_flows_from_conntrack_l_else_a_clear_failure(shell: list[str], tmp_path: pathlib.Path) -> None:
    missing = str(tmp_path / "nf_conntrack")
    shadow = f"conntrack() {{ [ \"$1\" = -L ] && command cat {_f(VM + 'conntrack-L-offload.txt')}; }}\n"
    snap = run(shell, [Read(fr.K_FLOWS, fr.flows_code(missing))], shadow)
    assert snap.out(fr.K_FLOWS).startswith("source=conntrack -L\n")
    assert fp.parse_flows_section(snap.out(fr.K_FLOWS)) == {"total": 4, "offload": 2, "hw_offload": 0}
    snap = run(shell, [Read(fr.K_FLOWS, fr.flows_code(missing))], NO_TOOLS)
    assert snap.get(fr.K_FLOWS).rc == 2 and snap.get(fr.K_FLOWS).err == f"no {missing} and no conntrack binary\n"
    assert fp.parse_flows_section(snap.out(fr.K_FLOWS)) is None
    assert fr.flows_code() == fr.flows_code("/proc/net/nf_conntrack")


# --- read_qdisc.sh, read_tc_filter.sh, read_xfrm.sh, read_nfqueue.sh, read_shaping.sh -----------
def _bound_queue(tmp_path: pathlib.Path) -> str:
    """A copy of /proc/net/netfilter/nfnetlink_queue with one bound queue (Suricata on queue 3)."""
    path = tmp_path / "nfnetlink_queue"
    path.write_text("    3   4123     0 2 65531     0     0        0  1\n")
    return str(path)


def test_nfqueue_lists_the_ruleset_only_when_a_queue_is_bound(shell: list[str], tmp_path: pathlib.Path) -> None:
    calls = tmp_path / "calls"
    shadow = f"nft() {{ echo \"nft $*\" >>{shlex.quote(str(calls))}; echo 'table inet t {{'; }}\n"
    empty = tmp_path / "empty"
    empty.write_text("")
    snap = run(shell, [Read(fr.K_NFQUEUE, fr.nfqueue_code(str(empty)))], shadow)
    assert not calls.exists() and snap.get(fr.K_NFQUEUE).rc == 0
    assert snap.out(fr.K_NFQUEUE) == f"# no queue is bound ({empty}): the ruleset was not listed\n"
    assert fc.nfqueue_conflicts(snap.out(fr.K_NFQUEUE)) == []
    snap = run(shell, [Read(fr.K_NFQUEUE, fr.nfqueue_code(_bound_queue(tmp_path)))], shadow)
    assert calls.read_text() == "nft list ruleset\n" and snap.out(fr.K_NFQUEUE) == "table inet t {\n"


def test_conflict_filters_agree_with_the_fake(shell: list[str], tmp_path: pathlib.Path) -> None:
    qdisc_text = ("qdisc noqueue 0: dev lo root refcnt 2\n"
                  "qdisc htb 1: dev dummy2 root refcnt 2 r2q 10 default 0 direct_packets_stat 0\n"
                  "qdisc ingress ffff: dev dummy2 parent ffff:fff1 ----------------\n"
                  "qdisc clsact ffff: dev bad$name parent ffff:fff1\n"
                  "qdisc cake 8001: dev ifb0 root refcnt 2 bandwidth 10Mbit\n")
    shadow = (
        f"ip() {{ command cat {_f(VM + 'ns-xfrm-policy.txt')}; }}\n"
        f"nft() {{ command cat {_f(VM + 'ns-nft-list-ruleset.txt')}; }}\n"
        "tc() {\n"
        "  case $* in\n"
        f"    'qdisc show') printf '%s' {shlex.quote(qdisc_text)} ;;\n"
        f"    '-j qdisc show') command cat {_f(VM + 'ns-tc-qdisc.json')} ;;\n"
        f"    '-j filter show dev dummy2 ingress') command cat {_f(VM + 'ns-tc-filter-dummy2-ingress.json')} ;;\n"
        "    *) echo \"tc: $*\" >&2; return 1 ;;\n"
        "  esac\n"
        "}\n")
    reads = [r for r in fr.facts_reads(["conflicts"]) if r.key in (fr.K_XFRM, fr.K_QDISC, fr.FILTER_PREFIX)]
    snap = run(shell, reads + [Read(fr.K_NFQUEUE, fr.nfqueue_code(_bound_queue(tmp_path)))], shadow)
    assert snap.out(fr.K_XFRM) == xfrm_like_target(fixture(VM + "ns-xfrm-policy.txt"))
    assert snap.out(fr.K_NFQUEUE) == nfqueue_like_target(fixture(VM + "ns-nft-list-ruleset.txt"))
    assert snap.out(fr.K_QDISC) == fixture(VM + "ns-tc-qdisc.json")
    assert snap.out(fr.FILTER_PREFIX + "dummy2") == fixture(VM + "ns-tc-filter-dummy2-ingress.json")
    assert sorted(snap.with_prefix(fr.FILTER_PREFIX)) == ["dummy2"]  # a name the loop refuses is skipped


def test_no_second_tc_listing_when_the_json_shows_no_ingress_or_clsact(shell: list[str], tmp_path: pathlib.Path) -> None:
    calls = tmp_path / "calls"
    qdiscs = '[{"kind":"noqueue","handle":"0:","dev":"lo","root":true},{"kind":"fq_codel","handle":"0:","dev":"eth0"}]'
    shadow = ("tc() {\n"
              f"  echo \"$*\" >>{shlex.quote(str(calls))}\n"
              f"  case $* in '-j qdisc show') echo {shlex.quote(qdiscs)} ;; *) echo unexpected >&2; return 1 ;; esac\n"
              "}\n")
    reads = [r for r in fr.facts_reads(["conflicts"]) if r.key in (fr.K_QDISC, fr.FILTER_PREFIX)]
    snap = run(shell, reads, shadow)
    assert calls.read_text() == "-j qdisc show\n"
    assert snap.out(fr.K_QDISC) == qdiscs + "\n" and not snap.with_prefix(fr.FILTER_PREFIX)


def test_a_failed_json_qdisc_listing_keeps_its_rc_and_the_filters_come_from_the_text(shell: list[str]) -> None:
    shadow = ("tc() {\n"
              "  case $* in\n"
              "    '-j qdisc show') echo 'Option \"-j\" is unknown' >&2; return 255 ;;\n"
              "    'qdisc show') echo 'qdisc ingress ffff: dev wan parent ffff:fff1 ----' ;;\n"
              "    '-j filter show dev wan ingress') echo '[]' ;;\n"
              "  esac\n"
              "}\n")
    reads = [r for r in fr.facts_reads(["conflicts"]) if r.key in (fr.K_QDISC, fr.FILTER_PREFIX)]
    snap = run(shell, reads, shadow)
    assert snap.get(fr.K_QDISC).rc == 255 and "unknown" in snap.get(fr.K_QDISC).err
    assert snap.out(fr.FILTER_PREFIX + "wan") == "[]\n"


def test_listing_failures_keep_their_rc_and_message(shell: list[str], tmp_path: pathlib.Path) -> None:
    shadow = ("nft() { echo 'Error: cache initialization failed: Operation not permitted' >&2; return 1; }\n"
              "ip() { echo 'ip: invalid argument' >&2; return 1; }\n")
    snap = run(shell, [Read(fr.K_NFQUEUE, fr.nfqueue_code(_bound_queue(tmp_path))), _read(fr.K_XFRM, ["conflicts"])],
               shadow)
    assert snap.get(fr.K_NFQUEUE).rc == 1 and "Operation not permitted" in snap.get(fr.K_NFQUEUE).err
    assert snap.get(fr.K_XFRM).rc == 1 and snap.out(fr.K_XFRM) is None


def test_shaping_read_only_without_tc(shell: list[str], tmp_path: pathlib.Path) -> None:
    sqm = "config queue 'eth1'\n\toption enabled '1'\n\toption interface 'eth1'\n\toption qdisc 'cake'\n"
    uci = _tree(tmp_path / "config", {"sqm": sqm, "network": "config interface 'lan'\n"})
    bpf = _tree(tmp_path / "bpf", {"tc/globals/qosify_map": ""})
    read = Read(fr.K_SHAPING, fr.shaping_code(uci, bpf))
    snap = run(shell, [read], NO_TOOLS)
    assert snap.out(fr.K_SHAPING) == f"@file {uci}/sqm\n{sqm}\n@bpf tc\n"
    found, _message = fc.shaping_without_tc(snap.out(fr.K_SHAPING))
    assert found == [f for f in found if "BPF objects are pinned" in f and "(tc)" in f] != []
    assert run(shell, [read], "tc() { :; }\n").out(fr.K_SHAPING) == ""  # tc is there: it lists the qdiscs


def test_sysctl_read(shell: list[str]) -> None:
    snap = run(shell, [_read(fr.K_SYSCTL, ["kernel"])])
    pairs = fp.parse_pairs(snap.out(fr.K_SYSCTL))
    for path in fr.SYSCTLS.values():
        if os.access(f"/proc/sys/{path}", os.R_OK):
            with open(f"/proc/sys/{path}", encoding="ascii") as handle:
                assert pairs[path] == handle.read().strip()
        else:
            assert path not in pairs

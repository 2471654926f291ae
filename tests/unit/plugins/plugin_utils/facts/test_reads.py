# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read script of offload_facts: what each subset reads, shellcheck, and the sh
filters run under busybox ash on the captures (they must agree with facts_fake's)."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import typing as t

import pytest

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import ethtool as _ethtool
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import conflicts as fc
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import parse as fp
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    Snapshot,
    parse_sections,
    read_host,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    count_like_target,
    fixture,
    nfqueue_like_target,
    xfrm_like_target,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FIXTURES,
    FakeTarget,
    ShellTarget,
)

BUSYBOX = shutil.which("busybox")
VM = "1.0.6-bookworm-vm-facts-"


def keys(subsets: t.Any) -> list[str]:
    return [read.key for read in fr.facts_reads(subsets)]


def test_every_key_is_ours_or_a_shared_readers():
    for key in keys(["all"]):
        assert key.startswith(("facts:", "host:", "kmod:", "probe:")), key
    assert len(keys(["all"])) == len(set(keys(["all"])))


def test_only_what_the_subsets_need():
    assert keys(["!all", "flows"]) == [fr.K_FLOWS]
    assert all(k.startswith("host:") for k in keys(["platform"]))
    nft = keys(["nft"])
    assert fr.K_NFT_VERSION in nft and not [k for k in nft if k.startswith(("probe:", "kmod:", "facts:dev"))]
    kernel = keys(["kernel"])
    assert {"probe:batch", fr.K_SYSCTL, "kmod:proc-modules", "kmod:files", "kmod:etc-modules"} <= set(kernel)
    assert not [k for k in kernel if k.startswith(("facts:dev", "kmod:pkg"))]
    interfaces = keys(["interfaces"])
    assert {fr.DEV_PREFIX, fr.ETH_PREFIX, "probe:batch", fr.K_IP_LINK, fr.K_PROC_ROUTES} <= set(interfaces)
    conflicts = keys(["conflicts"])
    assert fr.ETH_PREFIX not in conflicts and not [k for k in conflicts if k.startswith("probe:")]
    assert {fr.K_QDISC, fr.FILTER_PREFIX, fr.K_XFRM, fr.K_NFQUEUE, fr.DEV_PREFIX} <= set(conflicts)
    assert keys(["!all"]) == [] and keys(None) == keys(["all"])


def test_unknown_subset_is_refused():
    with pytest.raises(FlowOffloadError) as err:
        fr.facts_reads(["kernel", "nics"])
    assert err.value.msg.startswith("gather_subset: unknown subset 'nics'")


@pytest.mark.parametrize("subsets", [["all"], ["interfaces"], ["conflicts"], ["flows"]])
def test_read_script_passes_shellcheck(subsets):
    script, _nonce = read_script(fr.facts_reads(subsets))
    proc = subprocess.run(["shellcheck", "-s", "sh", "-"], input=script, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def _busybox(reads: t.Sequence[Read], functions: str = "") -> Snapshot:
    """Run reads under busybox ash; ``functions`` (sh) shadow binaries and applets."""
    script, nonce = read_script(reads)
    script = script.replace("#!/bin/sh\n", "#!/bin/sh\n" + functions, 1)
    rc, out, err = ShellTarget(shell=[BUSYBOX or "busybox", "sh"]).run_script(script)
    assert rc == 0, err
    return parse_sections(out, nonce)[0]


def _read(key: str, subsets: t.Sequence[str]) -> Read:
    return next(read for read in fr.facts_reads(subsets) if read.key == key)


def _f(name: str) -> str:
    return shlex.quote(os.path.join(FIXTURES, name))


@pytest.mark.parametrize("name", [VM + "nf-conntrack-offload.txt", VM + "conntrack-L-offload.txt",
                                  "1.0.6-bookworm-facts-netns-nf-conntrack-empty.txt",
                                  "1.0.6-bookworm-vm-capture-nf-conntrack.txt"])
def test_conntrack_counted_on_the_target_like_the_fake(name):
    code = f'{{ cat {_f(name)}; echo "rc=$?"; }} | {fr._COUNT}'  # pylint: disable=protected-access
    snap = _busybox([Read("count", code)])
    assert snap.out("count") == count_like_target(fixture(name))
    if name.startswith(VM):  # the lab VM with offloaded iperf flows
        assert fp.parse_flows_section(snap.out("count")) == {"total": 4, "offload": 2, "hw_offload": 0}


@pytest.mark.skipif(not os.access("/proc/net/nf_conntrack", os.R_OK), reason="no readable /proc/net/nf_conntrack")
def test_flows_read_under_busybox():
    shadow = (f'cat() {{ if [ "${{1:-}}" = /proc/net/nf_conntrack ]; then command cat {_f(VM + "nf-conntrack-offload.txt")}; '
              'else command cat "$@"; fi; }\n')
    snap = _busybox([_read(fr.K_FLOWS, ["flows"])], shadow)
    assert fp.parse_flows_section(snap.out(fr.K_FLOWS)) == {"total": 4, "offload": 2, "hw_offload": 0}
    assert snap.out(fr.K_FLOWS).startswith("source=/proc/net/nf_conntrack\n")


def _bound_queue(tmp_path) -> str:
    """A copy of /proc/net/netfilter/nfnetlink_queue with one bound queue (Suricata on queue 3)."""
    path = tmp_path / "nfnetlink_queue"
    path.write_text("    3   4123     0 2 65531     0     0        0  1\n")
    return str(path)


def test_nfqueue_lists_the_ruleset_only_when_a_queue_is_bound(tmp_path):
    shadow = "nft() { echo \"nft $*\" >>\"$NFT_CALLS\"; echo 'table inet t {'; }\n"
    calls = tmp_path / "calls"
    os.environ["NFT_CALLS"] = str(calls)
    try:
        empty = tmp_path / "empty"
        empty.write_text("")
        snap = _busybox([Read(fr.K_NFQUEUE, fr.nfqueue_code(str(empty)))], shadow)
        assert not calls.exists() and snap.get(fr.K_NFQUEUE).rc == 0
        assert fc.nfqueue_conflicts(snap.out(fr.K_NFQUEUE)) == []
        snap = _busybox([Read(fr.K_NFQUEUE, fr.nfqueue_code(_bound_queue(tmp_path)))], shadow)
        assert calls.read_text() == "nft list ruleset\n" and snap.out(fr.K_NFQUEUE) == "table inet t {\n"
    finally:
        del os.environ["NFT_CALLS"]


def test_conflict_filters_under_busybox_agree_with_the_fake(tmp_path):
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
    snap = _busybox(reads + [Read(fr.K_NFQUEUE, fr.nfqueue_code(_bound_queue(tmp_path)))], shadow)
    assert snap.out(fr.K_XFRM) == xfrm_like_target(fixture(VM + "ns-xfrm-policy.txt"))
    assert snap.out(fr.K_NFQUEUE) == nfqueue_like_target(fixture(VM + "ns-nft-list-ruleset.txt"))
    assert snap.out(fr.FILTER_PREFIX + "dummy2") == fixture(VM + "ns-tc-filter-dummy2-ingress.json")
    assert sorted(snap.with_prefix(fr.FILTER_PREFIX)) == ["dummy2"]  # a name the loop refuses is skipped


def test_no_second_tc_listing_when_the_json_shows_no_ingress_or_clsact(tmp_path):
    calls = tmp_path / "calls"
    qdiscs = '[{"kind":"noqueue","handle":"0:","dev":"lo","root":true},{"kind":"fq_codel","handle":"0:","dev":"eth0"}]'
    shadow = ("tc() {\n"
              f"  echo \"$*\" >>{shlex.quote(str(calls))}\n"
              f"  case $* in '-j qdisc show') echo {shlex.quote(qdiscs)} ;; *) echo unexpected >&2; return 1 ;; esac\n"
              "}\n")
    reads = [r for r in fr.facts_reads(["conflicts"]) if r.key in (fr.K_QDISC, fr.FILTER_PREFIX)]
    snap = _busybox(reads, shadow)
    assert calls.read_text() == "-j qdisc show\n"
    assert snap.out(fr.K_QDISC) == qdiscs + "\n" and not snap.with_prefix(fr.FILTER_PREFIX)


def test_a_failed_json_qdisc_listing_keeps_its_rc_and_the_filters_come_from_the_text(tmp_path):
    shadow = ("tc() {\n"
              "  case $* in\n"
              "    '-j qdisc show') echo 'Option \"-j\" is unknown' >&2; return 255 ;;\n"
              "    'qdisc show') echo 'qdisc ingress ffff: dev wan parent ffff:fff1 ----' ;;\n"
              "    '-j filter show dev wan ingress') echo '[]' ;;\n"
              "  esac\n"
              "}\n")
    reads = [r for r in fr.facts_reads(["conflicts"]) if r.key in (fr.K_QDISC, fr.FILTER_PREFIX)]
    snap = _busybox(reads, shadow)
    assert snap.get(fr.K_QDISC).rc == 255 and "unknown" in snap.get(fr.K_QDISC).err
    assert snap.out(fr.FILTER_PREFIX + "wan") == "[]\n"


def test_links_and_addresses_from_one_ip_process():
    # `ip -j -d addr show` answers for both sections (its objects are ip -d link's plus addr_info)
    listing = fixture(VM + "ns-ip-addr.json")
    target = FakeTarget({fr.K_IP_LINK: Section(0, listing)})
    snap = read_host(target, fr.link_reads())
    assert "ip -j -d addr show" in target.scripts[0] and "ip -j addr show" not in target.scripts[0]
    assert snap.out(fr.K_ADDR) == listing == snap.out(fr.K_IP_LINK)


def test_listing_failures_keep_their_rc_and_message(tmp_path):
    shadow = ("nft() { echo 'Error: cache initialization failed: Operation not permitted' >&2; return 1; }\n"
              "ip() { echo 'ip: invalid argument' >&2; return 1; }\n")
    snap = _busybox([Read(fr.K_NFQUEUE, fr.nfqueue_code(_bound_queue(tmp_path))), _read(fr.K_XFRM, ["conflicts"])], shadow)
    assert snap.get(fr.K_NFQUEUE).rc == 1 and "Operation not permitted" in snap.get(fr.K_NFQUEUE).err
    assert snap.out(fr.K_XFRM) is None


def test_ethtool_read_under_busybox():
    k = _f("1.0.6-bookworm-vm-capture-ethtool-k-eth0.txt")
    devs = sorted(d for d in os.listdir("/sys/class/net") if d != "lo")
    if not devs:
        pytest.skip("no network device but lo on this host")
    failing = devs[0]
    shadow = ("ethtool() {\n  case $1 in\n    -i) echo 'driver: virtio_net'; echo 'version: 1.0.0' ;;\n"
              f"    -k) [ \"$2\" = {failing} ] && {{ echo 'Cannot get device features: Operation not supported' >&2; return 94; }}\n"
              f"        command cat {k} ;;\n  esac\n}}\n")
    snap = _busybox([_read(fr.ETH_PREFIX, ["interfaces"])], shadow)
    sections = snap.with_prefix(fr.ETH_PREFIX)
    assert sorted(sections) == devs  # lo is never read: loopback is never offloaded
    assert sections[failing].rc == 94 and "Cannot get device features" in sections[failing].err
    if len(devs) == 1:
        return
    other = devs[1]
    assert sections[other].rc == 0 and _ethtool.parse_ethtool_i(sections[other].out) == {
        "driver": "virtio_net", "version": "1.0.0"}
    assert _ethtool.parse_ethtool_k(sections[other].out)["hw-tc-offload"]["active"] is False
    assert "driver" not in _ethtool.parse_ethtool_k(sections[other].out)


@pytest.mark.skipif(not os.path.exists("/proc/net/route"), reason="no /proc/net/route")
def test_proc_routes_under_busybox_match_the_whole_files():
    """busybox ip has no -j, so the read prints the filtered /proc/net routes."""
    snap = _busybox([_read(fr.K_ROUTE4, ["interfaces"]), _read(fr.K_PROC_ROUTES, ["interfaces"])])
    assert snap.get(fr.K_ROUTE4).rc != 0  # busybox ip: no -j, which is what makes proc-routes print
    with open("/proc/net/route", encoding="ascii") as v4, open("/proc/net/ipv6_route", encoding="ascii") as v6:
        whole = "# route\n" + "".join(v4.readlines()[1:]) + "# ipv6_route\n" + v6.read()
    assert fp.proc_route_devices(snap.out(fr.K_PROC_ROUTES)) == fp.proc_route_devices(whole)
    assert len(snap.out(fr.K_PROC_ROUTES)) <= len(whole)


def test_sysctl_read_under_busybox():
    snap = _busybox([_read(fr.K_SYSCTL, ["kernel"])])
    pairs = fp.parse_pairs(snap.out(fr.K_SYSCTL))
    for path in fr.SYSCTLS.values():
        if os.access(f"/proc/sys/{path}", os.R_OK):
            with open(f"/proc/sys/{path}", encoding="ascii") as handle:
                assert pairs[path] == handle.read().strip()
        else:
            assert path not in pairs

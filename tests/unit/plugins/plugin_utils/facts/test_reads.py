# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read script of offload_facts: what each subset reads, and shellcheck on the whole
script (test_read_scripts.py runs its read_*.sh files under busybox ash and dash)."""
from __future__ import annotations

import subprocess
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import reads as fr
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Section,
    read_host,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    fixture,
)

VM = "1.0.6-bookworm-vm-facts-"


def keys(subsets: t.Sequence[str] | None) -> list[str]:
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


def test_links_and_addresses_from_one_ip_process():
    # `ip -j -d addr show` answers for both sections (its objects are ip -d link's plus addr_info)
    listing = fixture(VM + "ns-ip-addr.json")
    target = FakeTarget({fr.K_IP_LINK: Section(0, listing)})
    snap = read_host(target, fr.link_reads())
    assert "ip -j -d addr show" in target.scripts[0] and "ip -j addr show" not in target.scripts[0]
    assert snap.out(fr.K_ADDR) == listing == snap.out(fr.K_IP_LINK)

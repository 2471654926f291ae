# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import (
    conflicts as fc,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts import links as fl
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    capture,
    nfqueue_like_target,
    xfrm_like_target,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    fixture,
)

NETNS = "1.0.6-bookworm-facts-netns-"
VM = "1.0.6-bookworm-vm-facts-"


def _netns_links():
    return fl.parse_ip_link(fixture(NETNS + "ip-link.json"))


def test_qdisc_and_ifb_conflicts_from_netns_capture():
    qdiscs = fl.load_json_list(fixture(NETNS + "tc-qdisc.json"))
    conflicts = fc.qdisc_conflicts(qdiscs, ["veth0", "veth1"])
    assert [(c["kind"], c["device"]) for c in conflicts] == [("qdisc", "veth1")]
    assert "htb" in conflicts[0]["detail"] and "root" in conflicts[0]["detail"]
    assert fc.qdisc_conflicts(qdiscs, ["veth0"]) == []
    filters = fl.load_json_list(fixture(NETNS + "tc-filter-veth1-ingress.json"))
    assert fc.mirred_targets(filters) == ["ifb0"]
    ifb = fc.ifb_conflict("veth1", ["ifb0"], _netns_links(), qdiscs)
    assert ifb == [{"kind": "qdisc", "device": "veth1", "trigger": "ingress redirected to ifb0 (tbf)", "detail": (
        "ingress of veth1 is redirected to ifb0 (tbf there): offloaded packets skip the ifb "
        "(ingress shaping / SQM)")}]
    bare = [q for q in qdiscs if q.get("dev") != "ifb0"]
    assert "there" not in fc.ifb_conflict("veth1", ["ifb0"], _netns_links(), bare)[0]["detail"]
    assert fc.ifb_conflict("veth1", ["veth0"], _netns_links(), qdiscs) == []


def test_shapers_count_once_with_what_is_below_them():
    # captured in a netns (htb with a class and a pfifo leaf on lan0, tbf with a pfifo leaf on
    # wan0, the default noqueue on eth0): a leaf names its shaper's class as parent ("1:10")
    qdiscs = fl.load_json_list(fixture(NETNS + "tc-qdisc-shaper-children.json"))
    found = fc.qdisc_conflicts(qdiscs, ["lan0", "wan0", "eth0"])
    assert [(c["device"], c["trigger"]) for c in found] == [("wan0", "tbf qdisc"), ("lan0", "htb qdisc")]
    assert "(root, handle 1:; pfifo below it) shapes wan0" in found[0]["detail"]
    assert fc.qdisc_conflicts(qdiscs, ["eth0"]) == []


def test_fq_codel_shapes_only_below_a_shaper():
    # the same listing with fq_codel leaves (tc prints a leaf the same way whatever its kind)
    leaf = {"kind": "fq_codel", "handle": "10:", "dev": "lan0", "parent": "1:10",
            "options": {"limit": 10240, "flows": 1024, "quantum": 1514, "target": 4999, "interval": 99999}}
    htb = {"kind": "htb", "handle": "1:", "dev": "lan0", "root": True, "options": {"r2q": 10, "default": "0x10"}}
    nested_tbf = {"kind": "tbf", "handle": "20:", "dev": "lan0", "parent": "1:20", "options": {"rate": 1250000}}
    alone = {"kind": "fq_codel", "handle": "0:", "dev": "wan0", "root": True, "options": {"limit": 10240}}
    other_dev = {"kind": "fq_codel", "handle": "10:", "dev": "wan0", "parent": "1:10", "options": {}}
    found = fc.qdisc_conflicts([htb, leaf, nested_tbf, alone, other_dev], ["lan0", "wan0"])
    assert [(c["device"], c["trigger"]) for c in found] == [("lan0", "htb qdisc")]  # the tbf is below the htb
    assert "fq_codel, tbf below it" in found[0]["detail"]
    assert fc.qdisc_conflicts([alone, other_dev], ["wan0"]) == []  # the default qdisc does not shape
    assert fc.qdisc_conflicts([leaf], ["lan0"]) == []  # a leaf without its shaper in the listing


def test_every_conflict_names_its_trigger():
    assert fc.xfrm_conflicts(fixture(VM + "ns-xfrm-policy.txt"))[0]["trigger"] == "IPsec (xfrm) policies"
    assert {q["trigger"] for q in fc.nfqueue_conflicts(fixture(VM + "ns-nft-list-ruleset.txt"))} == {"NFQUEUE rule"}
    qdiscs = fl.load_json_list(fixture(VM + "ns-tc-qdisc.json"))
    links = fl.parse_ip_link(fixture(VM + "ns-ip-link.json"))
    assert fc.ifb_conflict("dummy2", ["ifb0"], links, qdiscs)[0]["trigger"] == "ingress redirected to ifb0 (cake)"
    bare = [q for q in qdiscs if q.get("dev") != "ifb0"]
    assert fc.ifb_conflict("dummy2", ["ifb0"], links, bare)[0]["trigger"] == "ingress redirected to ifb0"


def test_xfrm_empty_and_socket_only():
    assert fc.xfrm_conflicts(fixture(NETNS + "xfrm-policy-empty.txt")) == []
    socket_only = "src ::/0 dst ::/0 \n\tsocket in priority 0 ptype main \nsrc 0.0.0.0/0 dst 0.0.0.0/0 \n\tsocket out priority 0 ptype main \n"
    assert fc.xfrm_conflicts(socket_only) == []
    assert fc.xfrm_conflicts(xfrm_like_target(socket_only)) == []


def test_vm_conflicts_from_whole_and_filtered_listings():
    links = fl.parse_ip_link(fixture(VM + "ns-ip-link.json"))
    qdiscs = fl.load_json_list(fixture(VM + "ns-tc-qdisc.json"))
    candidates = ["bond0", "dummy0", "dummy2", "veth-a"]
    shaping = fc.qdisc_conflicts(qdiscs, candidates)
    assert [(c["device"], c["detail"].split()[0]) for c in shaping] == [("dummy2", "htb")]  # fq_codel on bond0 is not shaping
    targets = fc.mirred_targets(fl.load_json_list(fixture(VM + "ns-tc-filter-dummy2-ingress.json")))
    assert targets == ["ifb0"]
    assert "(cake there)" in fc.ifb_conflict("dummy2", targets, links, qdiscs)[0]["detail"]
    xfrm = fixture(VM + "ns-xfrm-policy.txt")
    ipsec = fc.xfrm_conflicts(xfrm)
    assert len(ipsec) == 1 and ipsec[0]["kind"] == "ipsec" and ipsec[0]["detail"].startswith("2 IPsec (xfrm) policies")
    assert fc.xfrm_conflicts(xfrm_like_target(xfrm)) == ipsec  # what the read script prints is enough
    ruleset = fixture(VM + "ns-nft-list-ruleset.txt")
    queues = fc.nfqueue_conflicts(ruleset)
    assert [q["kind"] for q in queues] == ["nfqueue", "nfqueue"]
    assert "queue flags bypass to 3" in queues[0]["detail"] and "chain forward" in queues[0]["detail"]
    assert "fanout to 4-5" in queues[1]["detail"]
    assert all("flow add" not in q["detail"] for q in queues)  # the flowtable's rule is no queue
    filtered = nfqueue_like_target(ruleset)
    assert fc.nfqueue_conflicts(filtered) == queues and len(filtered) < len(ruleset)


def test_nfqueue_none_in_openwrt_fw4_default_ruleset():
    ruleset = capture("opkg", "06-nft-list-ruleset-fw4-default")
    assert fc.nfqueue_conflicts(ruleset) == [] == fc.nfqueue_conflicts(nfqueue_like_target(ruleset))


def test_nfqueue_ignores_quoted_words():
    ruleset = ('table inet t {\n\tchain c {\n\t\ttype filter hook forward priority filter; policy accept;\n'
               '\t\tct state established accept comment "queue later"\n\t}\n}\n')
    assert fc.nfqueue_conflicts(ruleset) == []

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fixture fleet for the audit report: rows of mixed states built by the real code.

The facts come from the captured snapshots of the unit tests (facts_fake: the lab VM's
namespace with flowtables and offloaded flows, this development host without flowtables,
the OpenWrt router of the captures) through the real facts builder (``gather_from``);
the configured state from files rendered by the collection's own persistence code
(``_flowtable_persist.owned_file``) read back through ``configured_from``. Each router
then varies what a fleet varies in (flows, drift, devices, conflicts, reachability), and
``audit_row`` / ``rows_from_results`` make the rows. Deterministic: no randomness.
"""
from __future__ import annotations

import copy
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import config as ac
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import audit_row
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.report import rows_from_results
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.run import gather_from
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import desired_state
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.persist import nft_path, owned_file
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import LOADER
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import Section, Snapshot
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils import facts_fake

# What every kind of router in the fleet is; the fleet repeats this cycle.
KINDS = ("offloading_sw", "offloading_hw", "configured_idle", "drifted_offload", "not_configured",
         "unsupported_debian", "offloading_sw", "drifted_devices", "unsupported_openwrt", "offloading_sw_clean",
         "drifted_unit", "unreachable", "configured_missing_device", "failed")


def persisted_file(devices: t.Sequence[str], offload: bool, table: str = "factsft") -> t.Tuple[str, str]:
    """(path, content) of the file the flowtable module persists for these options."""
    desired = desired_state({"table": table, "devices": list(devices), "offload": offload, "counter": True})
    ft = desired.flowtable(devices, offload)
    return nft_path(desired, False), owned_file(desired, [ft], {ft.name: desired.protocols}, {ft.name: devices})


def config_snapshot(files: t.Mapping[str, str], loader: bool = True, units: str = "",
                    uci: t.Optional[t.Mapping[str, str]] = None) -> Snapshot:
    """The audit's configured-state sections as the read script prints them."""
    sections = {ac.FILE_PREFIX + path: Section(0, text) for path, text in files.items()}
    sections[ac.K_LOADER] = Section(0, LOADER) if loader else Section(2, "", "absent\n")
    sections[ac.K_UNITS] = Section(0, units)
    sections[ac.K_UCI] = (Section(0, "".join(f"{k}={v}\n" for k, v in uci.items())) if uci is not None
                          else Section(127, "", "no uci\n"))
    return Snapshot(sections)


def _bases() -> t.Dict[str, t.Tuple[t.Dict[str, t.Any], t.List[str]]]:
    return {name: gather_from(Snapshot(func()), ["all"]) for name, func in (
        ("vm", facts_fake.vm_ns_sections), ("dev", facts_fake.netns_sections), ("openwrt", facts_fake.openwrt_sections))}


def _flows(total: int, soft: int, hard: int) -> t.Dict[str, int]:
    return {"total": total, "offload": soft, "hw_offload": hard}


def _openwrt_hw(facts: t.Dict[str, t.Any], index: int) -> t.Tuple[t.Dict[str, t.Any], Snapshot]:
    """An OpenWrt router whose kernel has flowtables and whose MediaTek PPE offloads."""
    facts["kernel"]["software_offload"] = {"supported": True, "message": "the kernel accepted a flowtable"}
    facts["package"] = {**facts["package"], "installed": True, "version": "6.6.86-r1"}
    for module in facts["kernel"]["modules"].values():
        module["state"] = "loaded"
    for name in ("lan0", "lan1", "wan0"):
        facts["interfaces"][name].update(
            hardware_offload="supported",
            hardware_offload_reason="mtk_soc_eth implements flowtable offload (MediaTek PPE); OpenWrt accepts "
                                    "'flags offload' everywhere, the proof is [HW_OFFLOAD] entries")
    facts["flowtables"] = [{"family": "inet", "table": "fw4", "name": "ft", "hook": "ingress", "priority": 0,
                            "devices": ["lan0", "lan1", "wan0"], "offload": True, "counter": False}]
    facts["flows"] = _flows(300 + index * 7, 20 + index, 150 + index * 3)
    return facts, config_snapshot({}, loader=False, uci={"flow_offloading": "1", "flow_offloading_hw": "1"})


def _unit_line(path: str, answer: str = "enabled") -> str:
    return f"flowoffload-{path.rsplit('/', 1)[-1][:-4]}.service={answer}\n"


def host_result(kind: str, index: int, bases: t.Mapping[str, t.Tuple[t.Dict[str, t.Any], t.List[str]]]) -> t.Any:
    """The registered result of offload_audit for one router of the fleet."""
    host = f"gw-{index:03d}"
    if kind == "unreachable":
        return {"unreachable": True, "changed": False,
                "msg": f"Failed to connect to the host via ssh: ssh: connect to host 198.51.100.{index} port 22: "
                       "Connection timed out"}
    if kind == "failed":
        return {"failed": True, "changed": False, "round_trips": 1,
                "msg": "the read script printed nothing on the target (rc=127): /bin/sh: not found; the target "
                       "needs /bin/sh (busybox ash is enough); nothing was changed"}
    base = {"unsupported_debian": "dev", "unsupported_openwrt": "openwrt", "offloading_hw": "openwrt"}.get(kind, "vm")
    facts, warnings = copy.deepcopy(bases[base])
    path, text = persisted_file(["dummy0", "veth-a"], False)
    config = config_snapshot({path: text}, units=_unit_line(path))
    if kind == "offloading_hw":
        facts, config = _openwrt_hw(facts, index)
    elif kind in ("unsupported_debian", "unsupported_openwrt"):
        config = config_snapshot({}, loader=False)
    elif kind in ("offloading_sw", "offloading_sw_clean"):
        facts["flows"] = _flows(40 + index * 11, 5 + index * 2, 0)
        if kind == "offloading_sw_clean":
            facts["conflicts"] = []
    elif kind == "configured_idle":
        facts["flows"] = _flows(3 + index, 0, 0)
        facts["conflicts"] = facts["conflicts"][:1]
    elif kind == "drifted_offload":
        path, text = persisted_file(["dummy0", "veth-a"], True)
        config = config_snapshot({path: text}, units=_unit_line(path))
    elif kind == "drifted_devices":
        path, text = persisted_file(["dummy0", "dummy1", "veth-a"], False)
        facts["flowtables"][0]["devices"] = ["dummy0"]
        config = config_snapshot({path: text}, units=_unit_line(path))
    elif kind == "drifted_unit":
        config = config_snapshot({path: text}, units=_unit_line(path, "disabled"))
    elif kind == "configured_missing_device":
        path, text = persisted_file(["dummy0", "veth-a", "wan9"], False)
        config = config_snapshot({path: text}, units=_unit_line(path))
        facts["flows"] = _flows(10 + index, 4, 0)
    elif kind == "not_configured":
        facts["flowtables"] = []
        facts["flows"] = _flows(index, 0, 0)
        facts["conflicts"] = []
        config = config_snapshot({}, loader=False)
    return {"changed": False, "audit": audit_row(host, facts, ac.configured_from(config), warnings)}


def fleet(size: int = 56) -> t.List[t.Dict[str, t.Any]]:
    """size routers gw-000 ... (at least one of every kind when size >= len(KINDS))."""
    bases = _bases()
    hosts = [f"gw-{index:03d}" for index in range(size)]
    results = {host: host_result(KINDS[index % len(KINDS)], index, bases) for index, host in enumerate(hosts)}
    results.pop(hosts[-1], None)  # the last router left the play before the audit: no result at all
    return rows_from_results(hosts, results)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's audit row: one read script for the facts and the configured state, the
states and their order, drift, missing devices, shares; on captured snapshots (this
development host without flowtables, the lab VM's namespace with offloaded flows, the
OpenWrt router of the captures)."""
from __future__ import annotations

import copy
import re
import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import config as ac
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.run import (
    STATES,
    audit_row,
    run_audit,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.run import (
    gather_from,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Snapshot,
)
from ansible_collections.flowoffload.nft.tests.browser.fleet import (
    config_snapshot,
    persisted_file,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.facts_fake import (
    netns_sections,
    openwrt_sections,
    vm_ns_sections,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
)

UNIT_OK = "flowoffload-inet-factsft.service=enabled\n"


def facts_of(sections: dict[str, t.Any]) -> dict[str, t.Any]:
    return gather_from(Snapshot(sections), ["all"])[0]


@pytest.fixture(scope="module", name="vm")
def vm_facts() -> dict[str, t.Any]:
    """The lab VM's namespace: inet factsft ft (dummy0, veth-a; counter), ip factsft2 ft2,
    2 of 4 conntrack entries offloaded, conflicts."""
    return facts_of(vm_ns_sections())


def configured(devices: t.Sequence[str] = ("dummy0", "veth-a"), offload: bool = False, units: str = UNIT_OK,
               loader: bool = True) -> dict[str, t.Any]:
    path, text = persisted_file(list(devices), offload)
    return ac.configured_from(config_snapshot({path: text}, loader=loader, units=units))


def row(facts: t.Mapping[str, t.Any], config: t.Mapping[str, t.Any] | None = None) -> dict[str, t.Any]:
    return audit_row("gw", facts, config if config is not None else ac.configured_from(config_snapshot({}, loader=False)))


# --- one round trip -------------------------------------------------------------------------
def test_run_audit_reads_facts_and_configured_state_in_one_script():
    sections = dict(netns_sections())
    sections.update(config_snapshot({}, loader=False).sections)
    target = FakeTarget(sections)
    result = run_audit(target, {}, False, host="dev")
    assert target.round_trips == 1 and target.applies == []
    script = target.scripts[0]
    assert ac.FILE_PREFIX in script and ac.K_UCI in script and "nft -j list flowtables" in script
    audit = result["audit"]
    assert result["changed"] is False and audit["host"] == "dev"
    # This development host: the kernel answers ENOENT; reported, not failed.
    assert audit["state"] == "unsupported" and "ENOENT" in audit["reason"]
    assert audit["kernel"]["software_offload"]["supported"] is False and audit["flowtables"]["live"] == []


def test_check_mode_reads_the_same():
    sections = dict(vm_ns_sections())
    path, text = persisted_file(["dummy0", "veth-a"], False)
    sections.update(config_snapshot({path: text}, units=UNIT_OK).sections)
    normal, checked = FakeTarget(sections), FakeTarget(sections)
    assert run_audit(normal, {}, False, "h") == run_audit(checked, {}, True, "h")

    def same(script: str) -> str:
        return re.sub(r"FO[0-9a-f]{12}", "NONCE", script)

    assert same(normal.scripts[0]) == same(checked.scripts[0])


# --- states ---------------------------------------------------------------------------------
def test_offloading_in_software_with_matching_configuration(vm):
    audit = row(vm, configured())
    assert audit["state"] == "offloading_sw" and audit["reason"] == "2 of 4 conntrack entries offloaded in software"
    assert audit["drift"] == [] and audit["flows"] == {"total": 4, "offload": 2, "hw_offload": 0,
                                                       "offloaded_pct": 50.0, "hw_offloaded_pct": 0.0}
    assert audit["flowtables"]["unmanaged"] == ["ip factsft2 ft2"]
    assert [c["kind"] for c in audit["conflicts"]] == ["qdisc", "qdisc", "ipsec", "nfqueue", "nfqueue"]
    assert audit["kernel"]["modules_summary"] == "loaded"


def test_hardware_entries_win_over_software(vm):
    facts = copy.deepcopy(vm)
    facts["flows"] = {"total": 10, "offload": 3, "hw_offload": 4}
    audit = row(facts, configured())
    assert audit["state"] == "offloading_hw" and audit["flows"]["offloaded_pct"] == 70.0
    assert audit["flows"]["hw_offloaded_pct"] == 40.0


def test_live_flowtable_without_offloaded_entries_is_configured_idle(vm):
    facts = copy.deepcopy(vm)
    facts["flows"] = {"total": 9, "offload": 0, "hw_offload": 0}
    assert row(facts, configured())["state"] == "configured_idle"
    facts["flows"] = None
    audit = row(facts, configured())
    assert audit["state"] == "configured_idle" and "conntrack could not be read" in audit["reason"]
    assert audit["flows"] is None


def test_nothing_configured_and_nothing_live_is_not_configured(vm):
    facts = copy.deepcopy(vm)
    facts["flowtables"] = []
    facts["flows"] = {"total": 5, "offload": 0, "hw_offload": 0}
    assert row(facts)["state"] == "not_configured"


def test_drift_wins_over_offloading(vm):
    audit = row(vm, configured(offload=True))
    assert audit["state"] == "drifted"
    assert audit["drift"] == ["flowtable inet factsft ft: offload is False live, True configured"]


def test_unsupported_wins_over_drift_and_keeps_the_drift():
    facts = facts_of(netns_sections())
    audit = row(facts, configured(["veth0"]))
    assert audit["state"] == "unsupported"
    assert audit["drift"] == ["flowtable inet factsft ft is configured (/etc/flowoffload/inet-factsft.nft) but not loaded"]


def test_every_state_of_a_row_is_a_known_one(vm):
    assert {row(vm)["state"], row(vm, configured())["state"]} <= set(STATES)


# --- drift ----------------------------------------------------------------------------------
def test_device_drift_both_ways(vm):
    facts = copy.deepcopy(vm)
    facts["flowtables"][0]["devices"] = ["dummy0", "dummy1"]
    audit = row(facts, configured(["dummy0", "veth-a"]))
    assert audit["drift"] == [
        "flowtable inet factsft ft: device(s) dummy1 live, not configured",
        "flowtable inet factsft ft: device(s) veth-a configured and present, not in the live flowtable"]


def test_a_configured_device_missing_on_the_host_is_not_drift(vm):
    audit = row(vm, configured(["dummy0", "veth-a", "wan9"]))
    assert audit["drift"] == [] and audit["missing_devices"] == ["wan9 (inet factsft ft)"]
    assert audit["state"] == "offloading_sw"


def test_live_flowtable_in_a_persisted_table_but_not_in_its_file_is_drift(vm):
    facts = copy.deepcopy(vm)
    facts["flowtables"].append({**facts["flowtables"][0], "name": "extra", "devices": ["dummy3"]})
    audit = row(facts, configured())
    assert audit["drift"] == ["flowtable inet factsft extra is live in a table the collection persisted, but not "
                              "persisted (lost at the next reboot)"]


def test_persistence_drift_loader_and_unit(vm):
    audit = row(vm, configured(loader=False, units="flowoffload-inet-factsft.service=disabled\n"))
    assert audit["drift"] == [
        "/etc/flowoffload/flowoffload-load is missing: the persisted devices do not join at boot",
        "unit flowoffload-inet-factsft.service is disabled: /etc/flowoffload/inet-factsft.nft is not loaded at boot"]
    assert row(vm, configured(units=""))["drift"] == [
        "unit flowoffload-inet-factsft.service is not installed: /etc/flowoffload/inet-factsft.nft is not loaded at boot"]


def test_an_enabled_but_inactive_unit_is_drift_where_nftables_runs(vm):
    """issue 19: a reload of nftables.service reaches active units only."""
    unit = "flowoffload-inet-factsft.service"
    inactive = configured(units=f"{unit}=enabled\n{unit}.active=inactive\n")
    audit = row(vm, inactive)
    assert audit["drift"] == [
        f"unit {unit} is enabled but inactive: the next 'systemctl reload nftables' drops the flowtables of "
        "/etc/flowoffload/inet-factsft.nft until a restart or reboot (the next run of the collection starts it)"]
    assert audit["state"] == "drifted" and "enabled but inactive" in audit["reason"]
    assert row(vm, configured(units=f"{unit}=enabled\n{unit}.active=active\n"))["drift"] == []
    # nftables.service installed but stopped: the unit starts with it, nothing to report
    assert row(vm, dict(inactive, units_run=False))["drift"] == []
    # a host without systemd as init has no unit to check
    facts = copy.deepcopy(vm)
    facts["platform"]["init"] = "sysvinit"
    assert row(facts, inactive)["drift"] == []


def test_openwrt_uci_is_compared_without_devices():
    facts = facts_of(openwrt_sections())
    facts["kernel"]["software_offload"] = {"supported": True, "message": "ok"}
    facts["flowtables"] = [{"family": "inet", "table": "fw4", "name": "ft", "hook": "ingress", "priority": 0,
                            "devices": ["lan0", "wan0"], "offload": False, "counter": False}]
    uci_hw = ac.configured_from(config_snapshot({}, loader=False, uci={"flow_offloading": "1", "flow_offloading_hw": "1"}))
    audit = row(facts, uci_hw)
    assert audit["drift"] == ["flowtable inet fw4 ft: offload is False live, True configured"]
    facts["flowtables"][0]["offload"] = True
    audit = row(facts, uci_hw)
    assert audit["drift"] == [] and audit["state"] == "configured_idle"  # the captures have no conntrack
    assert audit["platform"]["os_family"] == "OpenWrt" and audit["flowtables"]["uci"]["flow_offloading_hw"] == "1"


def test_devices_rows_put_forwarding_and_configured_devices_first_without_loopback(vm):
    audit = row(vm, configured(["dummy0", "veth-a", "dummy3"]))
    names = [d["name"] for d in audit["devices"]]
    assert "lo" not in names
    first = [d["name"] for d in audit["devices"] if d["candidate"] or d["configured"]]
    assert names[:len(first)] == first and "dummy3" in first
    assert all(d["reason"] for d in audit["devices"]) and audit["hardware_capable"] == []

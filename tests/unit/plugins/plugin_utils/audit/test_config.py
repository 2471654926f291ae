# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit's configured state: files the collection persists, read back (round trips
through the real renderers), the loader, the units, OpenWrt's UCI options, and the read
script (read_files.sh, read_units.sh) run for real on a HostRoot under busybox and dash,
with the uci double (the units' states come from systemd's files, read without a process)."""
from __future__ import annotations

import typing as t

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit import config as ac
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.hotplug import (
    LOADER,
    LOADER_PATH,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    FlowtableModel,
    desired_state,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.persist import (
    chain_section,
    merge_sections,
    nft_path,
    owned_file,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    Section,
    Snapshot,
    read_host,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    SHELLS,
    HostRoot,
)


def owned(devices: t.Sequence[str], offload: bool, **params: t.Any) -> tuple[str, str]:
    desired = desired_state({"devices": list(devices), "offload": offload, **params})
    ft = desired.flowtable(devices, offload)
    text = owned_file(desired, [ft], {ft.name: desired.protocols}, {ft.name: devices})
    return nft_path(desired, False), text


def test_owned_file_reads_back_as_written():
    path, text = owned(["wan0", "lan0", "lan1"], True, table="edge", priority=-10, counter=False)
    assert path == "/etc/flowoffload/inet-edge.nft"
    assert ac.parse_file(path, text) == [{
        "family": "inet", "table": "edge", "name": "ft", "hook": "ingress", "priority": -10,
        "devices": ["lan0", "lan1", "wan0"], "offload": True, "counter": False, "source": path}]


def test_owned_file_with_two_flowtables_keeps_each_ones_devices():
    desired = desired_state({"devices": ["eth0"], "family": "ip"})
    one = FlowtableModel("ip", "flowoffload", "ft", devices=("eth0",), counter=True)
    two = FlowtableModel("ip", "flowoffload", "ft2", priority=5, devices=("eth1", "eth2"), offload=True)
    text = owned_file(desired, [one, two], {"ft": ["tcp"], "ft2": ["udp"]}, {"ft": ["eth0"], "ft2": ["eth1", "eth2"]})
    found = {ft["name"]: ft for ft in ac.parse_file("/etc/flowoffload/ip-flowoffload.nft", text)}
    assert found["ft"]["devices"] == ["eth0"] and found["ft"]["counter"] is True and found["ft"]["offload"] is False
    assert found["ft2"]["devices"] == ["eth1", "eth2"] and found["ft2"]["priority"] == 5 and found["ft2"]["offload"] is True


def test_chain_mode_file_reads_back():
    desired = desired_state({"devices": ["eth0", "eth1"], "table": "filter", "chain": "forward"})
    ft = desired.flowtable(["eth0", "eth1"], False)
    text = merge_sections(None, "ft", chain_section(desired, ft, ["eth0", "eth1"]))
    assert ac.parse_file("/etc/flowoffload/inet-filter.nft", text) == [{
        "family": "inet", "table": "filter", "name": "ft", "hook": "ingress", "priority": 0,
        "devices": ["eth0", "eth1"], "offload": False, "counter": True, "source": "/etc/flowoffload/inet-filter.nft"}]


def test_hand_written_block_with_keyword_priority_and_flags_list():
    text = ('table ip6 t {\n\tflowtable f {\n\t\thook ingress priority filter + 5;\n\t\tdevices = { "a", b };\n'
            "\t\tflags offload,counter\n\t}\n\tchain c { type filter hook forward priority 0; }\n}\n")
    assert ac.parse_file("x", text) == [{"family": "ip6", "table": "t", "name": "f", "hook": "ingress", "priority": 5,
                                         "devices": ["a", "b"], "offload": True, "counter": False, "source": "x"}]


def test_empty_or_foreign_text_configures_nothing():
    assert ac.parse_file("x", "") == []
    assert ac.parse_file("x", "# only a comment\ntable inet t {\n\tchain c {\n\t}\n}\n") == []


def snapshot(files: t.Mapping[str, str], loader: str | None = LOADER, units: str = "",
             uci: str | None = None) -> Snapshot:
    sections = {ac.FILE_PREFIX + path: Section(0, text) for path, text in files.items()}
    sections[ac.K_LOADER] = Section(0, loader) if loader is not None else Section(2, "", "absent\n")
    sections[ac.K_UNITS] = Section(0, units)
    sections[ac.K_UCI] = Section(0, uci) if uci is not None else Section(127, "", "no uci\n")
    return Snapshot(sections)


def test_configured_from_files_loader_and_units():
    path, text = owned(["eth0"], False)
    config = ac.configured_from(snapshot({path: text}, units="flowoffload-inet-flowoffload.service=enabled\n"))
    assert list(config["files"]) == [path] and [ft["devices"] for ft in config["flowtables"]] == [["eth0"]]
    assert config["loader"] == {"path": "/etc/flowoffload/flowoffload-load", "present": True, "current": True}
    assert config["units"] == {"flowoffload-inet-flowoffload.service": "enabled"} and config["uci"] == {}


def test_units_enabled_and_active_states_and_whether_they_belong_active():
    path, text = owned(["eth0"], False)
    unit = "flowoffload-inet-flowoffload.service"
    snap = snapshot({path: text}, units=f"{unit}=enabled\n{unit}.active=inactive\n")
    config = ac.configured_from(snap)
    assert config["units"] == {unit: "enabled"} and config["active"] == {unit: "inactive"}
    assert config["units_run"] is True  # no host read of nftables.service: as where it is not installed
    snap.sections["host:systemd-units"] = Section(0, "Id=nftables.service\nActiveState=inactive\nUnitFileState=disabled\n")
    assert ac.configured_from(snap)["units_run"] is False
    snap.sections["host:systemd-units"] = Section(0, "Id=nftables.service\nActiveState=active\nUnitFileState=enabled\n")
    assert ac.configured_from(snap)["units_run"] is True


@pytest.mark.parametrize("links, unit_file, invocation, expected", [
    (2, True, True, ["x=enabled", "x.active=active"]),
    (2, True, False, ["x=enabled", "x.active=inactive"]),
    (1, True, True, ["x=disabled", "x.active=active"]),   # a link of its [Install] section is missing
    (0, True, False, ["x=disabled", "x.active=inactive"]),
    (0, False, False, ["x=", "x.active=inactive"]),       # no unit file: not installed
    (2, True, None, ["x=enabled"]),                       # no /run/systemd/units: not told
])
@pytest.mark.parametrize("shell", SHELLS)
def test_the_units_read_runs_without_systemctl(tmp_path, shell, links, unit_file, invocation, expected):
    """read_units.sh on a HostRoot under busybox and dash, with no systemctl on it."""
    code = next(r.code for r in ac.config_reads() if r.key == ac.K_UNITS)
    assert "systemctl" not in code and "$(" not in code
    host = HostRoot(tmp_path, shell, tools={})
    unit = "flowoffload-inet-flowoffload.service"
    host.write("/etc/flowoffload/inet-flowoffload.nft", "x")
    host.write("/etc/flowoffload/inet-flowoffload.nft.fo-new", "not a collection file")
    host.path("/etc/systemd/system").mkdir(parents=True)
    if unit_file:
        host.write(f"/etc/systemd/system/{unit}", "[Unit]\n")
    for wanted in ("multi-user.target", "nftables.service")[:links]:
        host.link(f"/etc/systemd/system/{wanted}.wants/{unit}", f"/etc/systemd/system/{unit}")
    if invocation is not None:
        host.path("/run/systemd/units").mkdir(parents=True)
        if invocation:
            host.link(f"/run/systemd/units/invocation:{unit}", "0123456789abcdef")
    snap = read_host(host, [Read(ac.K_UNITS, code)])
    assert snap.text(ac.K_UNITS).splitlines() == [line.replace("x", unit, 1) for line in expected]


def test_an_old_loader_is_present_but_not_current_and_an_absent_one_neither():
    assert ac.configured_from(snapshot({}, loader="#!/bin/sh\nold\n"))["loader"]["current"] is False
    assert ac.configured_from(snapshot({}, loader=None))["loader"] == {
        "path": "/etc/flowoffload/flowoffload-load", "present": False, "current": False}


def test_a_file_that_could_not_be_read_is_left_out():
    snap = snapshot({})
    snap.sections[ac.FILE_PREFIX + "/etc/flowoffload/inet-x.nft"] = Section(1, "", "cat: Permission denied\n")
    assert ac.configured_from(snap)["files"] == {}


def test_uci_flow_offloading_configures_fw4s_flowtable_without_devices():
    config = ac.configured_from(snapshot({}, uci="flow_offloading=1\nflow_offloading_hw=0\n"))
    assert config["flowtables"] == [{"family": "inet", "table": "fw4", "name": "ft", "hook": "ingress", "priority": 0,
                                     "devices": None, "offload": False, "counter": None,
                                     "source": "uci firewall.@defaults[0]"}]
    assert ac.configured_from(snapshot({}, uci="flow_offloading=1\nflow_offloading_hw=1\n"))["flowtables"][0]["offload"]
    assert ac.configured_from(snapshot({}, uci="flow_offloading=\nflow_offloading_hw=1\n"))["flowtables"] == []


FIREWALL = "config defaults\n\toption input 'REJECT'\n\toption flow_offloading '1'\n"


@pytest.mark.parametrize("shell", SHELLS)
def test_the_read_script_runs_for_real_and_reads_uci_through_its_cli(tmp_path, shell):
    """An OpenWrt root (the uci double on its /etc/config) the collection never configured."""
    host = HostRoot(tmp_path, shell, tools={"uci": "openwrt/uci"})
    host.write("/etc/config/firewall", FIREWALL)
    snap = read_host(host, ac.config_reads())
    assert host.round_trips == 1
    config = ac.configured_from(snap)
    assert config["uci"] == {"flow_offloading": "1", "flow_offloading_hw": ""}
    assert [ft["table"] for ft in config["flowtables"]] == ["fw4"] and config["flowtables"][0]["offload"] is False
    assert config["files"] == {} and config["loader"]["present"] is False and config["units"] == {}


@pytest.mark.parametrize("shell", SHELLS)
def test_the_files_read_gives_a_section_per_collection_file(tmp_path, shell):
    """read_files.sh: the files its globs match, a path the collection never writes left out."""
    host = HostRoot(tmp_path, shell, tools={})
    path, text = owned(["eth0"], False)
    openwrt = "/usr/share/nftables.d/ruleset-post/flowoffload-edge.nft"
    host.seed({path: text, openwrt: "table inet edge {\n}\n", "/etc/flowoffload/in et.nft": text,
               "/etc/flowoffload/notes.txt": text, "/usr/share/nftables.d/ruleset-post/other.nft": text})
    host.path("/etc/flowoffload/dir.nft").mkdir()
    host.write(LOADER_PATH, LOADER)
    snap = read_host(host, ac.config_reads())
    assert sorted(snap.with_prefix(ac.FILE_PREFIX)) == sorted([path, openwrt])
    config = ac.configured_from(snap)
    assert config["files"][path] == ac.parse_file(path, text) and config["files"][openwrt] == []
    assert config["loader"] == {"path": LOADER_PATH, "present": True, "current": True}


@pytest.mark.parametrize("shell", SHELLS)
def test_without_uci_the_section_says_so(tmp_path, shell):
    # a HostRoot without a uci double (busybox has no uci applet): whatever this machine has
    snap = read_host(HostRoot(tmp_path, shell, tools={"nft": "nft/nft"}), ac.config_reads())
    assert snap.get(ac.K_UCI).rc == 127 and ac.configured_from(snap)["uci"] == {}

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flowtable's systemd unit: its state read without systemctl (run under busybox and dash),
started after a changing apply where nftables.service runs (issue 19), stopped and
removed with the last file; hosts without systemd get the loader and are told how to run it."""
from __future__ import annotations

import shutil

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import run as R
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.reads import (
    unit_state,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    Read,
    parse_sections,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    ShellTarget,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    host as R_host,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    owned,
    params,
    persisted,
    snap,
    unit_section,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    lab_root,
    shell,
)

__all__ = ["shell"]  # the fixture pytest finds through this module
INVOCATION = "/run/systemd/units/invocation:flowoffload-inet-flowoffload.service"
SHELLS = {"busybox": [shutil.which("busybox") or "busybox", "sh"], "dash": [shutil.which("dash") or "dash"]}


def test_host_without_systemd_gets_the_loader_and_is_told_how_to_run_it():
    sections = dict(owned(None), **R_host(systemd=False, udev=False))
    plan = R.plan_flowtable(snap(sections), params(), False)
    assert plan.result["persist_files"] == ["/etc/flowoffload/inet-flowoffload.nft", "/etc/flowoffload/flowoffload-load"]
    assert any("/bin/sh /etc/flowoffload/flowoffload-load --table inet flowoffload /etc/flowoffload/inet-flowoffload.nft"
               in w for w in plan.result["warnings"])


def test_unit_enabled_is_read_from_the_wants_links():
    """No systemctl process: enabled means the links of the unit's [Install] section exist,
    active that systemd keeps the unit's invocation link (read_unit_state.sh)."""
    code = next(r.code for r in R.flowtable_reads(params()) if r.key == "ft:unit-enabled")
    assert "systemctl" not in code and "$(" not in code
    assert code.startswith("fo_unit=flowoffload-inet-flowoffload.service\n"
                           "fo_wanted_by='multi-user.target nftables.service'\n")
    assert '[ -L "/run/systemd/units/invocation:$fo_unit" ]' in code


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize("links, invocation, units, out, rc", [
    (True, True, True, "enabled active", 0),
    (True, False, True, "enabled inactive", 0),
    ("one", False, True, "disabled inactive", 1),  # one of the two .wants links: not enabled
    (False, False, True, "disabled inactive", 1),
    (False, True, True, "disabled active", 1),
    (True, True, False, "enabled", 0),  # no /run/systemd/units: the active state is not told
])
def test_unit_state_read_runs_under_busybox_and_dash(tmp_path, shell, links, invocation, units, out, rc):
    """The read's code against a fake root (its absolute paths moved under tmp_path)."""
    unit = "flowoffload-inet-flowoffload.service"
    root = tmp_path
    for wanted in ("multi-user.target", "nftables.service"):
        (root / f"etc/systemd/system/{wanted}.wants").mkdir(parents=True)
        if links is True or (links == "one" and wanted == "nftables.service"):
            (root / f"etc/systemd/system/{wanted}.wants/{unit}").symlink_to(f"/etc/systemd/system/{unit}")
    if units:
        (root / "run/systemd/units").mkdir(parents=True)
        if invocation:
            (root / f"run/systemd/units/invocation:{unit}").symlink_to("0123456789abcdef")
    code = next(r.code for r in R.flowtable_reads(params()) if r.key == "ft:unit-enabled")
    code = code.replace("/etc/", f"{root}/etc/").replace("/run/", f"{root}/run/")
    script, nonce = read_script([Read("ft:unit-enabled", code)])
    snapshot, _m = parse_sections(ShellTarget(shell=SHELLS[shell]).run_script(script)[1], nonce)
    assert (snapshot.text("ft:unit-enabled").strip(), snapshot.get("ft:unit-enabled").rc) == (out, rc)
    assert unit_state(snapshot) == (links is True, {"enabled active": True, "enabled": None}.get(
        out, "active" in out.split()[1:]))


# --- issue 19: the unit is active after a changing apply, and the read checks it ------------
NFT_ACTIVE = {"host:systemd-units": sec("Id=firewalld.service\nActiveState=inactive\nUnitFileState=\n\n"
                                        "Id=nftables.service\nActiveState=active\nUnitFileState=enabled\n\n")}
NFT_STOPPED = {"host:systemd-units": sec("Id=nftables.service\nActiveState=inactive\nUnitFileState=disabled\n\n")}


def _inactive(check_mode=False, **extra):
    """The lab VM after a run of an older version: files, table, unit enabled, not started."""
    sections = dict(persisted(), **NFT_ACTIVE)
    sections["ft:unit-enabled"] = unit_section(True, False)
    sections.update(extra)
    return R.plan_flowtable(snap(sections), params(), check_mode)


def test_enabled_but_inactive_unit_is_drift_the_run_starts_and_says_why():
    plan = _inactive()
    res = plan.result
    assert res["changed"] and res["commands"] == [] and res["persist_files"] == [] and plan.spec.files == []
    assert [(s.key, s.code) for s in plan.spec.post] == [("ft:start", "systemctl start flowoffload-inet-flowoffload.service")]
    [warning] = res["warnings"]
    assert warning.startswith("unit flowoffload-inet-flowoffload.service was enabled but inactive")
    assert "'systemctl reload nftables' reaches only active units" in warning and warning.endswith(
        "started it (its start finds the loaded flowtables and changes nothing in the ruleset)")
    assert res["diff"][-1] == {"before_header": "systemd: flowoffload-inet-flowoffload.service",
                               "after_header": "systemd: flowoffload-inet-flowoffload.service",
                               "before": "enabled, inactive\n", "after": "enabled, active\n"}
    # the apply re-checks the state it planned from, as for any change
    assert {e.key for e in plan.spec.expect} >= {"ft:table-json", "ft:unit"}


def test_check_mode_on_an_inactive_unit_reports_changed_and_says_it_would_start_it():
    target = FakeTarget(dict(persisted(), **NFT_ACTIVE, **{"ft:unit-enabled": unit_section(True, False)}))
    res = R.run_flowtable(target, params(), True)
    assert res["changed"] is True and target.round_trips == 1 and not target.applies
    assert any("check mode: the run would start it" in w for w in res["warnings"])


def test_the_repaired_unit_is_idempotent_in_one_round_trip(tmp_path, shell):
    """On the lab VM's HostRoot: the unit written and enabled by a first run, then stopped."""
    target = lab_root(tmp_path, shell)
    assert R.run_flowtable(target, params(), False)["changed"] is True
    target.path(INVOCATION).unlink()  # stopped (systemd drops the invocation link)
    res = R.run_flowtable(target, params(), False)
    assert res["changed"] is True and "systemctl start" in target.applies[1] and target.exists(INVOCATION)
    assert res["warnings"][0].startswith("unit flowoffload-inet-flowoffload.service was enabled but inactive")
    trips = target.round_trips
    res = R.run_flowtable(target, params(), False)
    assert res["changed"] is False and target.round_trips == trips + 1 and res["warnings"] == []


def test_nftables_installed_but_stopped_leaves_the_unit_to_its_next_start():
    """Started now, the unit would stay active through 'systemctl start nftables', whose
    flush would drop the table: the .wants link starts it after the ruleset instead."""
    first = R.plan_flowtable(snap(dict(owned(None, enabled=False, active=False), **NFT_STOPPED)), params(), False)
    assert [s.key for s in first.spec.post] == ["ft:daemon-reload", "ft:enable", "ft:udev-reload"]
    assert {"before": "not installed, inactive\n", "after": "enabled, inactive\n"}.items() <= first.result["diff"][-1].items()
    again = R.plan_flowtable(snap(dict(persisted(), **NFT_STOPPED, **{"ft:unit-enabled": unit_section(True, False)})),
                             params(), False)
    assert not again.spec.changes() and again.result["warnings"] == []


def test_without_nftables_service_the_unit_is_started():
    """firewalld or no firewall service: nothing starts the unit but the boot, so the apply does."""
    none = {"host:systemd-units": sec("Id=nftables.service\nActiveState=inactive\nUnitFileState=\n\n")}
    plan = _inactive(**none)
    assert [s.key for s in plan.spec.post] == ["ft:start"]


def test_a_rewritten_unit_that_is_active_is_not_started_again():
    sections = dict(persisted(), **NFT_ACTIVE, **{"ft:unit-enabled": unit_section(True, True)})
    sections["ft:unit"] = sec(sections["ft:unit"].out.replace(" --table inet flowoffload", ""))  # an older version's unit
    plan = R.plan_flowtable(snap(sections), params(), False)
    assert [s.key for s in plan.spec.post] == ["ft:daemon-reload", "ft:enable"]
    assert not any(d["before_header"].startswith("systemd:") for d in plan.result["diff"])


def test_off_stops_disables_and_removes_the_unit_and_the_folder():
    sections = dict(persisted(), **NFT_ACTIVE, **{"ft:unit-enabled": unit_section(True, True)})
    plan = R.plan_flowtable(snap(sections), params(state="absent"), False)
    assert plan.spec.nft == ["delete table inet flowoffload"]
    assert [s.key for s in plan.spec.post] == ["ft:disable", "ft:udev-reload", "ft:rmdir"]
    assert {"before": "enabled, active\n", "after": "not installed, inactive\n"}.items() <= next(
        d for d in plan.result["diff"] if d["before_header"].startswith("systemd:")).items()
    assert "/etc/flowoffload" in plan.result["persist_files"]


def test_a_unit_left_active_without_its_file_is_stopped_once():
    """off of an older version removed the file of a started unit without stopping it."""
    sections = dict(owned(None), **NFT_ACTIVE, **{"ft:unit-enabled": unit_section(False, True)})
    plan = R.plan_flowtable(snap(sections), params(state="absent"), False)
    assert [s.key for s in plan.spec.post] == ["ft:disable"] and plan.result["changed"]
    sections["ft:unit-enabled"] = unit_section(False, False)
    assert not R.plan_flowtable(snap(sections), params(state="absent"), False).spec.changes()


@pytest.mark.parametrize("listing, planned", [
    ("/etc/flowoffload/\n", True),                              # left empty by an older version's off
    ("/etc/flowoffload/\n/etc/flowoffload/notes.txt\n", False),  # someone else's file: kept, and no change
    ("", False),                                                # no folder
])
def test_off_removes_the_collections_folder_only_when_nothing_else_is_in_it(listing, planned):
    sections = dict(owned(None, enabled=False, active=False), **{"ft:hp:dir": sec(listing)})
    plan = R.plan_flowtable(snap(sections), params(state="absent"), False)
    assert plan.spec.changes() is planned and plan.result["changed"] is planned
    assert [s.key for s in plan.spec.post] == (["ft:rmdir"] if planned else [])


def test_other_tables_files_keep_the_folder():
    other = "/etc/flowoffload/inet-other.nft"
    sections = persisted()
    sections["ft:hp:persisted"] = sec(sections["ft:hp:persisted"].out + other + "\n")
    sections["ft:hp:dir"] = sec(sections["ft:hp:dir"].out + other + "\n")
    plan = R.plan_flowtable(snap(sections), params(state="absent"), False)
    assert "ft:rmdir" not in [s.key for s in plan.spec.post]
    assert "/etc/flowoffload/flowoffload-load" not in plan.result["persist_files"]


def test_systemctl_without_systemd_running_gets_no_unit_and_no_systemctl_step():
    # a container or router that ships systemctl but did not boot systemd (PID 1 is not
    # systemd, no /run/systemd/system): daemon-reload would fail after the change
    sections = dict(owned(None, enabled=False))
    sections.update(R_host(booted=False))
    plan = R.plan_flowtable(snap(sections), params(), False)
    assert [s.key for s in plan.spec.post] == ["ft:udev-reload"]
    assert "/etc/systemd/system/flowoffload-inet-flowoffload.service" not in plan.result["persist_files"]
    assert any("systemd does not run here (init: other)" in w for w in plan.result.get("warnings", []))

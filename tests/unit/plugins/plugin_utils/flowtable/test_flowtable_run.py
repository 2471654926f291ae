# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    fw4 as _fw4,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import run as R
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.failure import (
    explain_failure,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Snapshot,
    Step,
    apply_script,
    parse_apply,
    read_host,
    read_script,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    fixture,
    sec,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.ft_helpers import (
    ONE_TABLE,
    VM,
    file_sections,
    listing,
    owned,
    params,
    persisted,
    snap,
    written,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    lab_root,
    shell,
)

__all__ = ["shell"]  # the fixture pytest finds through this module
FT_FILE = "/etc/flowoffload/inet-flowoffload.nft"
EOPNOTSUPP = fixture("1.0.6-bookworm-vm-facts-probe-hardware-veth-eopnotsupp.stderr")


# --- reads -------------------------------------------------------------------------------
def test_reads_owned_mode_keys():
    keys = [r.key for r in R.flowtable_reads(params(offload="auto"))]
    assert {"host:netdevs", "ft:table-json", "ft:table-text", "ft:file", "ft:unit", "ft:unit-enabled",
            "probe:batch"} <= set(keys)
    # one nft -c run probes the kernel and every device; none for an absent flowtable
    assert not any(k.startswith("probe:") for k in (r.key for r in R.flowtable_reads(params(state="absent"))))


def test_reads_chain_mode_keys():
    keys = {r.key for r in R.flowtable_reads(params(table="filter", chain="forward"))}
    assert {"ft:chain-json", "ft:ft-json", "ft:ft-text", "ft:flowtables"} <= keys and "ft:table-json" not in keys


def test_scripts_pass_shellcheck(tmp_path):
    read, _n = read_script(R.flowtable_reads(params(offload="auto", devices=["lan0", "wan0"])))
    plan = R.plan_flowtable(snap(owned(f"{VM}-owned-two")), params(devices=["lan0"]), False)
    apply, _n = apply_script(plan.spec)
    for name, script in (("read.sh", read), ("apply.sh", apply)):
        path = tmp_path / name
        path.write_text(script)
        # SC2016: the apply script writes the loader's text as single-quoted printf data ($ stays literal on purpose)
        excluded = ["-e", "SC2016"] if name == "apply.sh" else []
        proc = subprocess.run(["shellcheck", "-s", "sh", *excluded, str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout


# --- plan from captured snapshots --------------------------------------------------------
def test_create_plan_has_batch_files_units_expect_and_readback():
    plan = R.plan_flowtable(snap(owned(None, enabled=False, active=False)), params(), False)
    res = plan.result
    assert res["changed"] and res["commands"][0].startswith("add table inet flowoffload")
    assert res["persist_files"] == ["/etc/flowoffload/inet-flowoffload.nft",
                                    "/etc/systemd/system/flowoffload-inet-flowoffload.service",
                                    "/etc/flowoffload/flowoffload-load", "/etc/udev/rules.d/90-flowoffload.rules"]
    assert res["flowtable"]["devices"] == ["lan0", "wan0"] and res["hardware_offload"] is False
    # issue 19: enabled AND started, so that a reload of nftables.service reaches it
    assert [s.key for s in plan.spec.post] == ["ft:daemon-reload", "ft:enable", "ft:start", "ft:udev-reload"]
    assert plan.spec.post[2].code == "systemctl start flowoffload-inet-flowoffload.service"
    assert {"before_header": "systemd: flowoffload-inet-flowoffload.service",
            "after_header": "systemd: flowoffload-inet-flowoffload.service",
            "before": "not installed, inactive\n", "after": "enabled, active\n"} in res["diff"]
    assert res["warnings"] == []
    assert {e.key for e in plan.spec.expect} == {"ft:table-json", "ft:table-text", "ft:file", "ft:unit", "ft:hp:persisted",
                                                 "ft:hp:loader", "ft:hp:udev", "ft:hp:net", "ft:hp:iface"}
    assert {c.path: c.mode for c in plan.spec.files}["/etc/flowoffload/flowoffload-load"] == "0755"
    assert [r.key for r in plan.spec.readback] == ["ft:after-json", "ft:after-text"]
    assert plan.spec.nft == res["commands"]


def test_idempotent_plan_is_empty():
    plan = R.plan_flowtable(snap(persisted()), params(), False)
    assert not plan.spec.changes() and plan.result["changed"] is False and plan.result["commands"] == []


def test_snapshot_with_other_sections_and_merged_spec():
    sections = dict(persisted(), **{"kmod:proc-modules": sec("nf_flow_table 1 0\n"), "fw4:x": sec("y")})
    plan = R.plan_flowtable(Snapshot(sections), params(devices=["lan0"]), False)
    assert plan.spec.changes()
    other = ApplySpec(nft=["add table inet other"], post=[Step("kmod:x", "true")])
    merged = ApplySpec().extend(other).extend(plan.spec)
    assert merged.nft[0] == "add table inet other" and merged.nft[1:] == plan.spec.nft
    assert all(s.key.startswith("ft:") for s in plan.spec.post)


def test_auto_uses_hardware_when_every_device_is_accepted():
    sections = owned(None, **{"probe:hw:lan0": sec(""), "probe:hw:wan0": sec("")})
    res = R.plan_flowtable(snap(sections), params(offload="auto"), False).result
    assert res["hardware_offload"] is True and res["fallback_reason"] == ""
    assert "flags offload" in res["commands"][1]


def test_auto_falls_back_naming_the_kernels_answer():
    sections = owned(None, **{"probe:hw:lan0": sec(""), "probe:hw:wan0": sec("", 1, EOPNOTSUPP)})
    res = R.plan_flowtable(snap(sections), params(offload="auto"), False).result
    assert res["hardware_offload"] is False and "flags offload" not in res["commands"][1]
    assert "wan0" in res["fallback_reason"] and "Operation not supported" in res["fallback_reason"]
    assert any("offload=auto" in w and "wan0" in w for w in res["warnings"])


def test_true_fails_naming_the_refused_devices():
    sections = owned(None, **{"probe:hw:lan0": sec(""), "probe:hw:wan0": sec("", 1, EOPNOTSUPP)})
    with pytest.raises(FlowOffloadError) as err:
        R.plan_flowtable(snap(sections), params(offload=True), False)
    assert err.value.msg.startswith("offload:") and "wan0" in err.value.msg and "lan0" not in err.value.msg


def test_kernel_without_flowtables_fails_before_apply():
    sections = owned(None, **{"probe:sw": sec("", 1, fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr"))})
    with pytest.raises(FlowOffloadError) as err:
        R.plan_flowtable(snap(sections), params(), False)
    assert "nf_flow_table" in err.value.msg and "nothing was changed" in err.value.msg


def test_missing_devices_fail_and_skip():
    sections = owned(None)
    sections["host:netdevs"] = sec("lo\nlan0\n")
    with pytest.raises(FlowOffloadError) as err:
        R.plan_flowtable(snap(sections), params(), False)
    assert err.value.msg.startswith("devices: wan0")
    res = R.plan_flowtable(snap(sections), params(missing_devices="skip"), False).result
    assert res["skipped_devices"] == ["wan0"] and res["flowtable"]["devices"] == ["lan0"]


def test_listing_errors_say_what_to_do():
    sections = owned(None)
    sections["ft:table-json"] = sec("", 1, fixture("1.0.6-bookworm-host-ft-list-eperm.stderr"))
    with pytest.raises(FlowOffloadError) as err:
        R.plan_flowtable(snap(sections), params(), False)
    assert "become" in err.value.msg
    sections["ft:table-json"] = sec("", 127, "sh: nft: not found\n")
    with pytest.raises(FlowOffloadError) as err:
        R.plan_flowtable(snap(sections), params(), False)
    assert "install nftables" in err.value.msg


def test_persist_false_removes_files_and_disables_the_unit():
    plan = R.plan_flowtable(snap(persisted()), params(persist=False), False)
    assert [(c.path, c.content) for c in plan.spec.files] == [
        ("/etc/flowoffload/inet-flowoffload.nft", None), ("/etc/systemd/system/flowoffload-inet-flowoffload.service", None),
        ("/etc/flowoffload/flowoffload-load", None), ("/etc/udev/rules.d/90-flowoffload.rules", None)]
    # stopped (the unit has no ExecStop: the ruleset is left alone), disabled; the folder goes
    assert [s.key for s in plan.spec.post] == ["ft:disable", "ft:udev-reload", "ft:rmdir"] and plan.spec.nft == []
    disable = plan.spec.post[0].code
    assert disable.index("systemctl stop flowoffload-inet-flowoffload.service") < disable.index("systemctl disable")
    assert plan.spec.post[2].code == "rmdir /etc/flowoffload" and plan.spec.post[2].check is False
    assert plan.result["persist_files"][-1] == "/etc/flowoffload"
    assert plan.result["diff"][-1] == {"before_header": "/etc/flowoffload/ (folder, removed: nothing else is in it)",
                                       "after_header": "/etc/flowoffload/ (folder, removed: nothing else is in it)",
                                       "before": "/etc/flowoffload/\n", "after": ""}


def test_openwrt_file_and_no_unit():
    sections = owned(None)
    sections.update({"host:openwrt_release": sec("DISTRIB_ID='OpenWrt'\n"), "host:tools": sec("nft=/usr/sbin/nft\n")})
    plan = R.plan_flowtable(snap(sections), params(), False)
    assert plan.result["persist_files"] == ["/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft",
                                            "/etc/flowoffload/flowoffload-load", "/etc/hotplug.d/net/30-flowoffload",
                                            "/etc/hotplug.d/iface/30-flowoffload"]
    assert plan.spec.post == []
    include = plan.spec.files[0].content
    # fw4 includes this file on every reload: an absent device there would break the whole reload
    assert not [line for line in include.splitlines() if "devices =" in line and not line.startswith("# flowoffload.nft:device=")]
    assert '# flowoffload.nft:device=wan0 add flowtable inet flowoffload ft { hook ingress priority 0; devices = { "wan0" }; counter; }' in include
    again = dict(sections, **file_sections(written(plan.spec)))
    again.update(dict(zip(("ft:table-json", "ft:table-text"), listing(ONE_TABLE))))
    assert not R.plan_flowtable(snap(again), params(), False).spec.changes()


def test_chain_mode_eexist_is_caught_before_apply():
    flowtables = '{"nftables": [{"flowtable": {"family": "inet", "name": "other", "table": "filter", "prio": 0, "dev": ["lan0"]}}]}'
    sections = owned(None)
    sections.update({"ft:chain-json": sec(fixture("1.0.6-bookworm-host-ft-chain-forward.json")),
                     "ft:ft-json": sec("", 1, "Error: No such file or directory\n"), "ft:ft-text": sec("", 1),
                     "ft:flowtables": sec(flowtables)})
    with pytest.raises(FlowOffloadError) as err:
        R.plan_flowtable(snap(sections), params(table="filter", chain="forward"), False)
    assert "lan0 already in flowtable other" in err.value.msg


# --- FakeTarget runs: round trips --------------------------------------------------------
def test_idempotent_run_is_one_round_trip():
    target = FakeTarget(persisted())
    res = R.run_flowtable(target, params(), False)
    assert res["changed"] is False and target.round_trips == 1 and not target.applies


def test_change_is_two_round_trips_and_flowtable_is_read_back(tmp_path, shell):
    target = lab_root(tmp_path, shell)  # the real scripts on the lab VM: each run re-reads the root
    res = R.run_flowtable(target, params(), False)
    assert res["changed"] and target.round_trips == 2 and len(target.applies) == 1
    assert res["flowtable"] == {"family": "inet", "table": "flowoffload", "name": "ft", "hook": "ingress",
                                "priority": 0, "devices": ["lan0", "wan0"], "offload": False, "counter": True}
    assert 'devices = { lan0, wan0 }' in target.ruleset() and target.read(FT_FILE)
    assert R.run_flowtable(target, params(), False)["changed"] is False and target.round_trips == 3


def test_drift_run_restores_then_is_idempotent(tmp_path, shell):
    target = lab_root(tmp_path, shell)
    assert R.run_flowtable(target, params(), False)["changed"]
    target.seed_ruleset(fixture("1.0.6-bookworm-handmade-ft-owned-drift.txt"))  # someone changed the table
    res = R.run_flowtable(target, params(), False)
    assert res["changed"] and res["commands"][0] == "flush chain inet flowoffload forward"
    assert R.run_flowtable(target, params(), False)["changed"] is False


def test_check_mode_never_applies():
    target = FakeTarget(owned(None))
    res = R.run_flowtable(target, params(), True)
    assert res["changed"] and target.round_trips == 1


@pytest.mark.parametrize("changes", [{"devices": ["eth0; flush ruleset"]}, {"name": "fwd"}, {"priority": 99999999999},
                                     {"devices": []}])
def test_bad_input_fails_before_any_script(changes):
    target = FakeTarget(owned(None))
    with pytest.raises(FlowOffloadError):
        R.run_flowtable(target, params(**changes), False)
    assert target.round_trips == 0


def test_backend_fw4_goes_to_the_fw4_backend(monkeypatch):
    monkeypatch.setattr(_fw4, "run_fw4", lambda target, p, check: {"changed": False, "via": "fw4"})
    assert R.run_flowtable(FakeTarget({}), params(backend="fw4", devices=None), False)["via"] == "fw4"


# --- apply failures mapped to messages ---------------------------------------------------
def _failed(status_key, sections, **p):
    plan = R.plan_flowtable(snap(owned(None, **p.pop("extra", {}))), params(**p), False)
    target = FakeTarget(apply_sections=sections, result=status_key)
    with pytest.raises(FlowOffloadError) as err:
        R.finish_flowtable(plan, _apply(target, plan))
    return err.value


def _apply(target, plan):
    script, nonce = apply_script(plan.spec)
    rc, out, err = target.run_script(script)
    return parse_apply(rc, out, err, nonce)


def test_stale_says_run_again():
    err = _failed("stale ft:table-json", {"stale:ft:table-json": sec("", 1)})
    assert "nothing was changed" in err.msg and "run again" in err.msg


def test_eopnotsupp_names_the_devices():
    err = _failed("failed nft-check", {"nft-check": sec("", 1, fixture(f"{VM}-eopnotsupp.stderr"))}, offload=True,
                  extra={"probe:hw:lan0": sec("", 0), "probe:hw:wan0": sec("", 0)})
    assert err.msg.startswith("nft rejected the batch") and "offload:" in err.msg and "one of lan0, wan0" in err.msg


def test_enoent_tells_kernel_support_from_a_missing_device():
    err = _failed("failed nft-apply", {"nft-apply": sec("", 1, fixture(f"{VM}-missing-device-enoent.stderr"))})
    assert "device does not exist" in err.msg
    plan = R.plan_flowtable(snap(owned(None)), params(), False)
    plan.snapshot = Snapshot({"probe:sw": sec("", 1, fixture("1.0.6-bookworm-facts-probe-software-enoent.stderr"))})
    res = ApplyResult("failed", "nft-check", Snapshot({"nft-check": sec("", 1, fixture(f"{VM}-missing-device-enoent.stderr"))}),
                      "", "", 3)
    assert "lacks flowtable support" in explain_failure(plan, res).msg


def test_eexist_names_the_other_flowtable():
    """The plan refuses a shared device already; a table changed meanwhile still gets a clear message."""
    import dataclasses
    plan = R.plan_flowtable(snap(owned(None)), params(devices=["lan0", "wan0"]), False)
    plan.snapshot = Snapshot({"ft:table-json": sec(fixture(f"{VM}-owned-two.json"))})
    plan.desired = dataclasses.replace(plan.desired, name="ft3")
    res = ApplyResult("failed", "nft-check", Snapshot({"nft-check": sec("", 1, fixture(f"{VM}-eexist.stderr"))}), "", "", 3)
    assert "lan0, wan0 already in flowtable ft" in explain_failure(plan, res).msg


def test_eperm_says_become():
    err = _failed("failed nft-check", {"nft-check": sec("", 1, fixture("1.0.6-bookworm-host-ft-check-eperm.stderr"))})
    assert "become: true" in err.msg


def test_stage_failure_names_the_path():
    err = _failed("failed stage:/etc/flowoffload/inet-flowoffload.nft",
                  {"stage:/etc/flowoffload/inet-flowoffload.nft": sec("", 1, "No space left on device\n")})
    assert "cannot write /etc/flowoffload/inet-flowoffload.nft" in err.msg and "nothing was changed" in err.msg


# --- apply scripts run for real on the lab VM's HostRoot with the stateful nft double ----
LOG = "/tmp/nft.log"


def _planned(tmp_path, shell, **changes):
    """The lab VM, read for real, and the plan of params(**changes) from that read."""
    host = lab_root(tmp_path, shell)
    host.env["NFT_DOUBLE_LOG"] = LOG
    plan = R.plan_flowtable(read_host(host, R.flowtable_reads(params(**changes))), params(**changes), False)
    return host, plan


def _calls(host):
    """The nft calls since the read (the read's own are dropped with the log)."""
    return [line for line in (host.read(LOG) or "").splitlines() if line.startswith("nft ")]


def _unchanged(host, before):
    """The root is byte for byte as before (the double's call log aside)."""
    after = host.snapshot()
    after.pop(LOG, None)
    before.pop(LOG, None)
    assert after == before


def test_apply_orders_check_apply_then_files(tmp_path, shell):
    host, plan = _planned(tmp_path, shell)
    host.path(LOG).unlink()
    res = _apply(host, plan)
    assert res.status == "ok", res.stdout
    calls = [c for c in _calls(host) if " -f " in c]
    assert calls[0].startswith("nft -c -f ") and calls[1].startswith("nft -f ") and len(calls) == 2
    log = host.read(LOG) or ""
    assert log[log.index(calls[1]):].split("\n")[1].startswith("add table inet flowoffload")
    assert (host.read(FT_FILE) or "").startswith("# Managed by flowoffload.nft")
    assert R.finish_flowtable(plan, res)["flowtable"]["devices"] == ["lan0", "wan0"]


def test_apply_stale_changes_nothing(tmp_path, shell):
    host, plan = _planned(tmp_path, shell)
    host.seed_ruleset(fixture(f"{ONE_TABLE}.txt"))  # the table appeared after the read
    before = host.snapshot()
    host.path(LOG).unlink()
    res = _apply(host, plan)
    assert res.status == "stale" and res.key == "ft:table-json"
    assert not [c for c in _calls(host) if " -f " in c]
    _unchanged(host, before)
    with pytest.raises(FlowOffloadError) as err:
        R.finish_flowtable(plan, res)
    assert "run again" in err.value.msg


def test_apply_nft_check_failure_changes_nothing(tmp_path, shell):
    host, plan = _planned(tmp_path, shell)
    shutil.rmtree(host.path("/sys/class/net/wan0"))  # wan0 went away after the read: the kernel refuses the batch
    before = host.snapshot()
    res = _apply(host, plan)
    assert res.status == "failed" and res.key == "nft-check", res.stdout
    assert not [c for c in _calls(host) if c.startswith("nft -f ")]
    _unchanged(host, before)


def test_unwritable_file_leaves_the_host_unchanged_and_names_the_path(tmp_path, shell):
    """issue 9, defect 6: staging fails before nft runs; the message names the path."""
    host, plan = _planned(tmp_path, shell)
    host.write("/etc/flowoffload", "a regular file where the directory should be\n")  # like a full/read-only disk
    before = host.snapshot()
    host.path(LOG).unlink()
    res = _apply(host, plan)
    path = "/etc/flowoffload/inet-flowoffload.nft"
    assert res.status == "failed" and res.key == f"stage:{path}"
    assert not [c for c in _calls(host) if " -f " in c]  # neither nft -c nor nft -f ran
    _unchanged(host, before)
    with pytest.raises(FlowOffloadError) as err:
        R.finish_flowtable(plan, res)
    assert f"cannot write {path}" in err.value.msg and "nothing was changed" in err.value.msg

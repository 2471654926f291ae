# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

import pytest

from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable_run as R
from ansible_collections.flowoffload.nft.plugins.module_utils import _lock
from ansible_collections.flowoffload.nft.plugins.module_utils._errors import FlowOffloadError
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.ft_helpers import (
    FtRunner,
    fixture,
    listing,
)

HOST = "1.0.6-bookworm-host-ft"
VM = "1.0.6-bookworm-vm-ft"
OWNED = ("table", "inet", "flowoffload")
FILE = "/etc/flowoffload/inet-flowoffload.nft"
UNIT = "/etc/systemd/system/flowoffload-inet-flowoffload.service"


@pytest.fixture(autouse=True)
def private_lock(tmp_path, monkeypatch):
    original = _lock.host_lock

    def lock(path: str = "", timeout: float = 120.0) -> t.Any:
        return original(str(tmp_path / "flowoffload.lock"), timeout)

    monkeypatch.setattr(R, "host_lock", lock)


def params(**kw: t.Any) -> t.Dict[str, t.Any]:
    base: t.Dict[str, t.Any] = {"devices": ["lan0", "wan0"]}
    base.update(kw)
    return base


def answer_from(stderr_fixture: str, when: t.Callable[[bool, str], bool] = lambda check, data: True):
    err = fixture(stderr_fixture)

    def batch(check: bool, data: str) -> t.Tuple[int, str, str]:
        return (1, "", err) if when(check, data) else (0, "", "")
    return batch


def test_create_validates_then_applies_one_batch_and_persists():
    runner = FtRunner(devices=["lan0", "wan0"])
    result = R.run_nft(runner, params(), check_mode=False)
    assert result["changed"] is True
    assert [check for check, _data in runner.batches] == [True, False]
    assert runner.batches[0][1] == runner.batches[1][1] == "".join(f"{line}\n" for line in result["commands"])
    assert runner.nft_reads()[:2] == [("nft", "-j", "list", *OWNED), ("nft", "-j", "list", *OWNED)]
    assert set(runner.written) == {FILE, UNIT}
    assert runner.written[FILE].splitlines()[1:4] == ["table inet flowoffload {", "}", "delete table inet flowoffload"]
    assert ("systemctl", "enable", "flowoffload-inet-flowoffload.service") in [k for k, _data in runner.calls]
    assert result["persist_files"] == [FILE, UNIT]


def test_idempotent_run_sends_no_command_at_all():
    answers = listing(f"{VM}-owned-two", *OWNED)
    first = FtRunner(dict(answers), devices=["lan0", "wan0", "eth2"])
    result = R.run_nft(first, params(), check_mode=False)
    assert result["commands"] == [] and first.batches == []
    files = dict(first.written)
    second = FtRunner(dict(answers), devices=["lan0", "wan0", "eth2"], files=files)
    second.commands[("systemctl", "is-enabled", "flowoffload-inet-flowoffload.service")] = (0, "enabled\n", "")
    again = R.run_nft(second, params(), check_mode=False)
    assert again["changed"] is False and second.batches == [] and second.written == {}
    assert again["flowtable"]["devices"] == ["lan0", "wan0"] and again["flowtable"]["counter"] is True
    # both flowtables stay in the persisted table
    assert "flowtable ft2 {" in files[FILE]


def test_reads_only_the_owned_table():
    runner = FtRunner(listing(f"{VM}-owned-two", *OWNED), devices=["lan0", "wan0"])
    R.run_nft(runner, params(persist=False), check_mode=True)
    assert {key[-3:] for key in runner.nft_reads()} == {OWNED}


def test_check_mode_validates_and_applies_nothing():
    runner = FtRunner(devices=["lan0", "wan0"])
    result = R.run_nft(runner, params(), check_mode=True)
    assert result["changed"] is True and [c for c, _data in runner.batches] == [True]
    assert runner.written == {} and result["persist_files"] == [FILE, UNIT]
    assert "flowtable ft {" in result["diff"][0]["after"] and result["diff"][0]["before"] == ""


def test_check_mode_without_privilege_warns():
    runner = FtRunner(devices=["lan0", "wan0"], batch=answer_from(f"{HOST}-check-eperm.stderr"))
    result = R.run_nft(runner, params(), check_mode=True)
    assert any("could not validate" in w for w in result["warnings"])


def test_apply_without_privilege_says_become():
    runner = FtRunner(devices=["lan0", "wan0"], batch=answer_from(f"{HOST}-check-eperm.stderr"))
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(), check_mode=False)
    assert "become" in err.value.msg and [c for c, _data in runner.batches] == [True]


def test_listing_without_privilege_says_become():
    runner = FtRunner({("nft", "-j", "list", *OWNED): (1, "", fixture(f"{HOST}-list-eperm.stderr"))},
                      devices=["lan0", "wan0"])
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(), check_mode=True)
    assert "become" in err.value.msg


def test_kernel_without_flowtables():
    runner = FtRunner(devices=["lan0", "wan0"], batch=answer_from(f"{HOST}-create-enoent.stderr"))
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(), check_mode=False)
    assert "lacks flowtable support (nf_flow_table)" in err.value.msg
    assert err.value.details["commands"][0].startswith("add table")
    # the batch, then the no-device probe; nothing applied
    assert [c for c, _data in runner.batches] == [True, True] and runner.written == {}


def test_enoent_with_flowtable_support_is_not_blamed_on_the_kernel():
    def batch(check: bool, data: str) -> t.Tuple[int, str, str]:
        if "devices" in data and "flowoffload_probe" not in data:
            return 1, "", fixture(f"{VM}-missing-device-enoent.stderr")
        return 0, "", ""
    runner = FtRunner(devices=["lan0", "wan0"], batch=batch)
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(), check_mode=False)
    assert "the kernel lacks flowtable support (nf_flow_table)" not in err.value.msg
    assert "ENOENT" in err.value.msg


def test_offload_auto_falls_back_to_software():
    runner = FtRunner(devices=["lan0", "wan0"],
                      batch=answer_from(f"{VM}-eopnotsupp.stderr", lambda check, data: "flags offload" in data))
    result = R.run_nft(runner, params(offload="auto"), check_mode=False)
    assert result["hardware_offload"] is False and "EOPNOTSUPP" in result["fallback_reason"]
    assert "flags offload" in runner.batches[0][1]
    assert all("flags offload" not in data for _c, data in runner.batches[1:])
    assert [c for c, _data in runner.batches] == [True, True, False]
    assert any(w.startswith("offload=auto") for w in result["warnings"])


def test_offload_true_names_the_devices_that_cannot():
    def batch(check: bool, data: str) -> t.Tuple[int, str, str]:
        if "flags offload" in data and ("lan0" in data and ("wan0" in data or "flowoffload_probe" in data)):
            return 1, "", fixture(f"{VM}-eopnotsupp.stderr")
        return 0, "", ""
    runner = FtRunner(devices=["lan0", "wan0"], batch=batch)
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(offload=True), check_mode=False)
    assert "not supported on lan0 " in err.value.msg and "offload=auto" in err.value.msg
    assert [c for c, _data in runner.batches] == [True, True, True]


def test_device_in_other_flowtable_names_it():
    answers = listing(f"{VM}-owned-two", *OWNED)
    runner = FtRunner(dict(answers), devices=["eth2", "lan0", "wan0"],
                      batch=answer_from(f"{VM}-eexist.stderr"))
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(devices=["lan0", "wan0", "eth2"]), check_mode=False)
    assert "devices: eth2 already in flowtable ft2" in err.value.msg


def test_missing_nft_binary():
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(FtRunner(bins=(), devices=["lan0", "wan0"]), params(), check_mode=True)
    assert "'nft' binary" in err.value.msg


def test_missing_device_fails_before_any_nft_call():
    runner = FtRunner(devices=["lan0"])
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, params(), check_mode=False)
    assert "wan0" in err.value.msg and runner.calls == []


def test_missing_device_skip():
    runner = FtRunner(devices=["lan0"])
    result = R.run_nft(runner, params(missing_devices="skip", persist=False), check_mode=False)
    assert result["skipped_devices"] == ["wan0"] and '{ "lan0" }' in result["commands"][1]


def test_bad_input_touches_nothing():
    runner = FtRunner(devices=["lan0"])
    with pytest.raises(FlowOffloadError):
        R.run_nft(runner, params(devices=["eth0; flush ruleset"]), check_mode=False)
    assert runner.calls == []


def test_absent_last_flowtable_removes_table_files_and_unit():
    answers = listing(f"{VM}-owned-recreated", *OWNED)
    files = {FILE: "old", UNIT: "old unit"}
    runner = FtRunner(dict(answers), files=files)
    R.run_nft(runner, {"state": "absent", "name": "ft2"}, check_mode=False)  # ft stays
    assert runner.batches[-1][1].startswith("delete rule inet flowoffload forward handle 6\n")
    assert "flowtable ft {" in runner.written[FILE] and "ft2" not in runner.written[FILE]


def test_chain_mode_reads_only_chain_and_flowtable():
    answers = {("nft", "-j", "list", "chain", "inet", "filter", "forward"):
               (0, fixture(f"{VM}-chain-forward-with-rule.json"), "")}
    answers.update(listing(f"{VM}-chain-flowtable", "flowtable", "inet", "filter", "ft"))
    runner = FtRunner(answers, devices=["lan0", "wan0"])
    result = R.run_nft(runner, params(table="filter", chain="forward", persist=False), check_mode=False)
    assert result["changed"] is False and runner.batches == []
    assert {k[k.index("list") + 1] for k in runner.nft_reads()} == {"chain", "flowtable"}
    gone = R.run_nft(FtRunner(dict(answers)), {"table": "filter", "chain": "forward", "state": "absent",
                                               "persist": False}, check_mode=False)
    assert gone["commands"] == ["delete rule inet filter forward handle 12", "delete flowtable inet filter ft"]


def test_flowtable_in_use_by_foreign_rule():
    runner = FtRunner(listing(f"{VM}-owned-two", *OWNED), batch=answer_from(f"{VM}-ebusy.stderr"))
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, {"state": "absent", "name": "ft"}, check_mode=False)
    assert "Device or resource busy" in err.value.msg


def test_fw4_backend_sets_uci_and_reloads():
    answers = {("uci", "-q", "get", "firewall.@defaults[0].flow_offloading"): (1, "", ""),
               ("uci", "-q", "get", "firewall.@defaults[0].flow_offloading_hw"): (1, "", "")}
    runner = FtRunner(answers, bins=("nft", "uci", "fw4"), openwrt=True)
    result = R.run_nft(runner, {"backend": "fw4", "offload": "auto"}, check_mode=False)
    keys = [k for k, _data in runner.calls]
    assert ("uci", "set", "firewall.@defaults[0].flow_offloading=1") in keys
    assert ("uci", "set", "firewall.@defaults[0].flow_offloading_hw=1") in keys
    assert ("uci", "commit", "firewall") in keys and ("fw4", "reload") in keys
    assert result["changed"] is True and any("patch 701" in w for w in result["warnings"])


def test_fw4_reload_failure_restores_previous_values():
    get = ("uci", "-q", "get", "firewall.@defaults[0].")
    answers = {get[:3] + (get[3] + "flow_offloading",): (0, "0\n", ""),
               get[:3] + (get[3] + "flow_offloading_hw",): (1, "", ""),
               ("fw4", "reload"): [(1, "", "Error: Could not process rule: No such file or directory\n"),
                                   (0, "", "")]}
    runner = FtRunner(answers, bins=("nft", "uci", "fw4"), openwrt=True)
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(runner, {"backend": "fw4", "offload": "auto"}, check_mode=False)
    assert "restored and fw4 reloaded" in err.value.msg and err.value.details["rc"] == 1
    keys = [k for k, _data in runner.calls]
    first_commit = keys.index(("uci", "commit", "firewall"))
    rollback = keys[first_commit + 2:]
    # the value that was set goes back, the one that was unset is deleted again
    assert ("uci", "set", "firewall.@defaults[0].flow_offloading=0") in rollback
    assert ("uci", "-q", "delete", "firewall.@defaults[0].flow_offloading_hw") in rollback
    assert rollback[-2:] == [("uci", "commit", "firewall"), ("fw4", "reload")]


def test_fw4_backend_needs_openwrt():
    with pytest.raises(FlowOffloadError) as err:
        R.run_nft(FtRunner(), {"backend": "fw4"}, check_mode=True)
    assert err.value.msg.startswith("backend:")


def test_openwrt_hardware_warning():
    runner = FtRunner(devices=["lan0", "wan0"], openwrt=True)
    result = R.run_nft(runner, params(offload=True), check_mode=True)
    assert any("[HW_OFFLOAD]" in w for w in result["warnings"])
    assert result["persist_files"] == ["/usr/share/nftables.d/ruleset-post/flowoffload-flowoffload.nft"]


def test_first_error_ignores_consequential_errors():
    stderr = fixture(f"{VM}-eopnotsupp.stderr") + fixture(f"{HOST}-create-enoent.stderr")
    assert R.first_error(stderr)[0] == "eopnotsupp"

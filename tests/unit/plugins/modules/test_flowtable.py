# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils import _flowtable_run, _lock
from ansible_collections.flowoffload.nft.plugins.modules import flowtable
from ansible_collections.flowoffload.nft.tests.unit.plugins.modules.harness import Exit, Fail, run_module
from ansible_collections.flowoffload.nft.tests.unit.plugins.module_utils.ft_helpers import (
    FtRunner,
    fixture,
    listing,
)

VM = "1.0.6-bookworm-vm-ft"


def _run(monkeypatch, tmp_path, args: t.Dict[str, t.Any], runner: FtRunner, check: bool = False, diff: bool = False):
    monkeypatch.setattr(flowtable, "Runner", lambda module: runner)
    lock = _lock.host_lock
    monkeypatch.setattr(_flowtable_run, "host_lock", lambda: lock(str(tmp_path / "lock")))
    return run_module(monkeypatch, flowtable.main, dict(args, _ansible_check_mode=check, _ansible_diff=diff))


def test_argspec_matches_documentation():
    import yaml

    doc = yaml.safe_load(flowtable.DOCUMENTATION)["options"]
    assert set(doc) == set(flowtable.ARGUMENT_SPEC)
    for name, spec in flowtable.ARGUMENT_SPEC.items():
        assert doc[name]["type"] == spec["type"], name
        assert doc[name].get("default") == spec.get("default"), name
        assert doc[name].get("choices") == spec.get("choices"), name


def test_examples_are_named_and_fully_qualified():
    import yaml

    assert flowtable.EXAMPLES.lstrip().startswith("---")
    for task in yaml.safe_load(flowtable.EXAMPLES):
        assert task["name"] and "flowoffload.nft.flowtable" in task


def test_create_returns_contract_keys(monkeypatch, tmp_path):
    kind, result, _warned = _run(monkeypatch, tmp_path, {"devices": ["lan0", "wan0"]}, FtRunner(devices=["lan0", "wan0"]))
    assert kind is Exit
    assert set(result) >= {"changed", "commands", "flowtable", "hardware_offload", "fallback_reason",
                           "skipped_devices", "persist_files"}
    assert "diff" not in result


def test_diff_mode_returns_diff(monkeypatch, tmp_path):
    runner = FtRunner(listing(f"{VM}-owned-two", "table", "inet", "flowoffload"), devices=["lan0", "wan0"])
    kind, result, _warned = _run(monkeypatch, tmp_path, {"devices": ["lan0"], "persist": False}, runner,
                                 check=True, diff=True)
    assert kind is Exit and result["changed"] is True
    assert 'devices = { "lan0", "wan0" }' in result["diff"][0]["before"]
    assert 'devices = { "lan0" }' in result["diff"][0]["after"]
    assert [c for c, _data in runner.batches] == [True]


def test_failure_goes_through_fail_json_with_details(monkeypatch, tmp_path):
    runner = FtRunner(devices=["lan0", "wan0"], batch=lambda c, d: (1, "", fixture(f"{VM}-eopnotsupp.stderr")))
    kind, result, _warned = _run(monkeypatch, tmp_path, {"devices": ["lan0", "wan0"], "offload": "yes"}, runner)
    assert kind is Fail
    assert result["msg"].startswith("nft rejected the batch")
    assert result["rc"] == 1 and result["commands"] and "stderr" in result


def test_bad_priority(monkeypatch, tmp_path):
    runner = FtRunner(devices=["lan0"])
    kind, result, _warned = _run(monkeypatch, tmp_path, {"devices": ["lan0"], "priority": "raw"}, runner)
    assert kind is Fail and result["msg"].startswith("priority:") and runner.calls == []


def test_warnings_reach_the_user(monkeypatch, tmp_path):
    kind, result, warned = _run(monkeypatch, tmp_path, {"devices": ["lan0", "nosuch0"], "missing_devices": "skip",
                                                        "persist": False}, FtRunner(devices=["lan0"]))
    assert kind is Exit and result["skipped_devices"] == ["nosuch0"] and any("nosuch0" in w for w in warned)

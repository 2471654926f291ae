# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.modules import offload_facts
from ansible_collections.flowoffload.nft.tests.unit.plugins.modules.harness import Exit, Fail, run_module


def _run(monkeypatch, args: t.Dict[str, t.Any], gathered=None):
    if gathered is not None:
        monkeypatch.setattr(offload_facts, "gather", gathered)
    return run_module(monkeypatch, offload_facts.main, args)


def test_unknown_subset_fails_naming_the_option(monkeypatch):
    kind, result = _run(monkeypatch, {"gather_subset": ["interfaces", "nics"]})[:2]
    assert kind is Fail
    assert result["msg"].startswith("gather_subset: unknown subset 'nics'")
    assert "flowtables" in result["msg"]


def test_facts_and_warnings_are_returned_unchanged(monkeypatch):
    seen = {}

    def fake_gather(runner, subsets):
        seen["subsets"] = subsets
        return {"nft": {"path": None, "version": None, "json": None}}, ["nft: missing"]

    kind, result, warned = _run(monkeypatch, {"gather_subset": ["nft"], "_ansible_check_mode": True}, fake_gather)
    assert kind is Exit
    assert result["changed"] is False
    assert result["ansible_facts"] == {"flowoffload": {"nft": {"path": None, "version": None, "json": None}}}
    assert warned == ["nft: missing"] and seen["subsets"] == ["nft"]


def test_default_subset_is_all(monkeypatch):
    seen = {}

    def fake_gather(runner, subsets):
        seen["subsets"] = subsets
        return {}, []

    _run(monkeypatch, {}, fake_gather)
    assert seen["subsets"] == ["all"]


def test_documentation_parses():
    import yaml

    doc = yaml.safe_load(offload_facts.DOCUMENTATION)
    assert doc["options"]["gather_subset"]["default"] == ["all"]
    assert set(doc["attributes"]) == {"check_mode", "diff_mode", "facts", "platform"}
    examples = yaml.safe_load(offload_facts.EXAMPLES)
    assert all(task["name"] for task in examples)
    assert all(any(k.startswith(("flowoffload.nft.", "ansible.builtin.")) for k in task) for task in examples)
    yaml.safe_load(offload_facts.RETURN)

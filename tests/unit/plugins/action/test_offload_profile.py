# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offload_profile action (the gateway role in one step), its module file and the role's glue.

One file for the action and the module: pytest's default import mode cannot collect two
test_offload_profile.py."""
from __future__ import annotations

import os
import pathlib
import typing as t

import yaml
from ansible_collections.flowoffload.nft.plugins.action import (
    offload_profile as action_mod,
)
from ansible_collections.flowoffload.nft.plugins.action.offload_profile import (
    ActionModule,
    role_variables,
)
from ansible_collections.flowoffload.nft.plugins.modules import offload_profile
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    inputs as pin,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.action.module_doc import (
    module_doc,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.fake_target import (
    FakeTarget,
    action_on,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.host_root import (
    HostRoot,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.lab import (
    LAN_WAN,
    TIMEOUT,
    lab_root,
    shell,
)
from ansible_collections.flowoffload.nft.tests.unit.plugins.plugin_utils.profile.sections import (
    configured,
)

__all__ = ["shell"]  # the fixture pytest finds through this module
ROLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "gateway")


def load(*parts: str) -> t.Any:
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


DEFAULTS = load("defaults", "main.yml")


def role_args(**overrides: t.Any) -> dict[str, t.Any]:
    """What tasks/main.yml passes with the role's defaults (omit for null timeouts/chain)."""
    values = dict(DEFAULTS, **{pin.var(k): v for k, v in overrides.items()})
    args = {k[len("gateway_"):]: v for k, v in values.items() if v is not None}
    args["check_role_vars"] = True
    return args


def action(args: dict[str, t.Any], target: FakeTarget | HostRoot, check_mode: bool = False, diff: bool = False) -> ActionModule:
    return action_on(ActionModule, args, target, check_mode, diff)


# --- the action ---------------------------------------------------------------------------------
def test_argument_spec_is_the_modules() -> None:
    assert ActionModule.ARGUMENT_SPEC is offload_profile.ARGUMENT_SPEC


def test_role_variables_are_read_from_the_role_argument_spec() -> None:
    assert role_variables() == sorted(load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"])
    assert role_variables() == sorted(pin.var(o) for o in pin.ROLE_OPTIONS)
    assert role_variables("/nonexistent/argument_specs.yml") is None
    assert os.path.realpath(action_mod.ROLE_SPECS) == os.path.realpath(os.path.join(ROLE, "meta", "argument_specs.yml"))


def test_idempotent_role_run_is_one_round_trip() -> None:
    target = FakeTarget(configured(**LAN_WAN))
    task_vars = dict(DEFAULTS, gateway_devices="lan0,wan0", inventory_hostname="vm", gateway_result={})
    result = action(role_args(devices="lan0,wan0"), target).run(task_vars=task_vars)
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["round_trips"] == 1
    assert result["devices"] == ["lan0", "wan0"] and result["backend"] == "nft" and "diff" not in result


def test_changing_role_run_is_two_round_trips_with_a_diff_per_part(tmp_path: pathlib.Path, shell: str) -> None:
    target = lab_root(tmp_path, shell)  # the real scripts on the lab VM
    args = role_args(devices="lan0,wan0", tcp_timeout=60)
    result = action(args, target, diff=True).run(task_vars=dict(DEFAULTS))
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["round_trips"] == 2
    headers = [d["before_header"] for d in result["diff"]]
    assert headers[0] == "/etc/modules-load.d/flowoffload.conf" and headers[-1] == "/etc/sysctl.d/90-flowoffload.conf"
    assert f"{TIMEOUT} = 60" in (target.read(headers[-1]) or "")
    again = action(args, target).run(task_vars=dict(DEFAULTS))
    assert again.get("failed") is not True, again
    assert again["changed"] is False and again["round_trips"] == 1 and "diff" not in again


def test_misspelled_role_variable_fails_before_any_round_trip() -> None:
    target = FakeTarget(configured(**LAN_WAN))
    result = action(role_args(devices="lan0,wan0"), target).run(task_vars=dict(DEFAULTS, gateway_profle="off"))
    assert result["failed"] is True and result["round_trips"] == 0
    assert "gateway_profle (did you mean gateway_profile?)" in result["msg"] and result["unknown_vars"] == ["gateway_profle"]
    ok = action(role_args(devices="lan0,wan0", allowed_extra_vars=["gateway_profle"]), target).run(
        task_vars=dict(DEFAULTS, gateway_profle="off"))
    assert ok.get("failed") is not True, ok


def test_bad_input_fails_naming_the_variable_before_any_round_trip() -> None:
    target = FakeTarget(configured(**LAN_WAN))
    result = action(role_args(udp_timeout=100000000), target).run(task_vars=dict(DEFAULTS))
    assert result["failed"] is True and result["round_trips"] == 0 and result["msg"].startswith("gateway_udp_timeout: ")


# --- the module file ------------------------------------------------------------------------------
def test_documentation_matches_the_argument_spec() -> None:
    doc = module_doc(offload_profile)
    assert set(doc["options"]) == set(offload_profile.ARGUMENT_SPEC)
    for name, spec in offload_profile.ARGUMENT_SPEC.items():
        opt = doc["options"][name]
        assert opt["type"] == spec["type"], name
        assert opt.get("default") == spec.get("default"), name
        assert opt.get("choices") == spec.get("choices"), name
    yaml.safe_load(offload_profile.EXAMPLES)
    keys = {"profile", "backend", "devices", "hardware_offload", "fallback_reason", "flows", "round_trips"}
    assert set(yaml.safe_load(offload_profile.RETURN)) >= keys


# --- the role is glue ------------------------------------------------------------------------------
def test_the_role_is_one_task_with_every_input() -> None:
    tasks = load("tasks", "main.yml")
    assert [next(k for k in task if k not in ("name", "register", "loop", "vars", "when", "run_once"))
            for task in tasks] == ["flowoffload.nft.offload_profile", "ansible.builtin.debug"]
    # every option comes from its role variable (check_role_vars): no templated argument
    assert tasks[0]["flowoffload.nft.offload_profile"] == {"check_role_vars": True}
    assert set(pin.ROLE_OPTIONS) == {name[len("gateway_"):] for name in DEFAULTS}
    # the result is gateway_result itself; the report is one task per batch, not per router
    assert tasks[0]["register"] == "gateway_result"
    assert tasks[1]["run_once"] is True
    assert sorted(os.listdir(os.path.join(ROLE, "tasks"))) == ["main.yml"]
    assert not os.path.exists(os.path.join(ROLE, "vars")) and not os.path.exists(os.path.join(ROLE, "templates"))


def test_role_args_come_from_the_role_variables_and_the_task_wins() -> None:
    values = {"gateway_profile": "software", "gateway_devices": "lan0", "gateway_tcp_timeout": None,
              "gateway_health_check": ""}
    got = action_mod.role_args({"check_role_vars": True, "devices": "wan0"}, values)
    # null is the option's default (the role's omit); an option of the task is kept
    assert got == {"profile": "software", "health_check": ""}


def test_the_role_variables_reach_the_options() -> None:
    # the role's task sets nothing but check_role_vars: the run sees gateway_devices
    target = FakeTarget(configured(**LAN_WAN))
    task_vars = dict(DEFAULTS, gateway_devices="lan0,wan0")
    result = action({"check_role_vars": True}, target).run(task_vars=task_vars)
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["devices"] == ["lan0", "wan0"]
    wrong = action({"check_role_vars": True}, FakeTarget(configured(**LAN_WAN))).run(
        task_vars=dict(DEFAULTS, gateway_devices="lan0,wan0", gateway_priority="{{ 'nonsense!' }}"))
    assert wrong["failed"] is True and "gateway_priority" in wrong["msg"], wrong


def test_role_spec_errors_name_the_role_variables() -> None:
    spec = action_mod.role_spec()
    assert spec is not None
    errors = action_mod.role_spec_errors(spec, {"gateway_profile": "bogus", "gateway_counter": "maybe"})
    assert any("gateway_profile" in e and "auto, software, hardware, off" in e for e in errors), errors
    assert any("gateway_counter" in e for e in errors), errors
    assert action_mod.role_spec_errors(spec, {"gateway_profile": "software", "gateway_counter": "true",
                                              "gateway_tcp_timeout": "300"}) == []


def test_the_role_says_what_a_run_costs() -> None:
    text = yaml.safe_dump(load("meta", "argument_specs.yml"))
    assert "two module executions" not in text and "one round trip per host" in text


def test_role_variables_are_validated_against_the_role_spec_before_any_round_trip() -> None:
    # the playbook skips the role's own validation task (rolespec_validate: false): the action
    # does the same check, naming the role variables
    target = FakeTarget(configured(**LAN_WAN))
    task_vars = dict(DEFAULTS, gateway_profile="bogus", gateway_counter="{{ 'maybe' }}")
    result = action(role_args(devices="lan0,wan0"), target).run(task_vars=task_vars)
    assert result["failed"] is True and result["round_trips"] == 0 and target.scripts == []
    assert "value of gateway_profile must be one of: auto, software, hardware, off, got: bogus" in result["msg"]
    assert any("gateway_counter" in e for e in result["argument_errors"]), result
    # without check_role_vars (the module used on its own) the role's spec plays no part
    args = dict(role_args(devices="lan0,wan0"), check_role_vars=False)
    again = action(args, FakeTarget(configured(**LAN_WAN))).run(task_vars=task_vars)
    assert again.get("failed") is not True, again


def test_the_awx_survey_offers_the_role_spec_choices() -> None:
    with open(os.path.join(ROLE, "..", "..", "playbooks", "awx-survey-gateway.json"), encoding="utf-8") as handle:
        survey = yaml.safe_load(handle)
    spec = load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    checked = 0
    for question in survey["spec"]:
        choices = spec.get(question["variable"], {}).get("choices")
        if question["type"] == "multiplechoice" and choices:
            assert question["choices"].split("\n") == [str(c) for c in choices], question["variable"]
            checked += 1
    assert checked >= 3

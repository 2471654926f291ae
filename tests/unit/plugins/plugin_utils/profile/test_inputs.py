# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's inputs: each one checked before anything runs, messages name the variable."""
from __future__ import annotations

import os

import pytest
import yaml
from ansible_collections.flowoffload.nft.plugins.modules.offload_profile import (
    ARGUMENT_SPEC,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    inputs as pin,
)

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..")


def role_options() -> list:
    with open(os.path.join(ROOT, "roles", "gateway", "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return sorted(yaml.safe_load(handle)["argument_specs"]["main"]["options"])


def role_defaults() -> dict:
    with open(os.path.join(ROOT, "roles", "gateway", "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_defaults_give_the_default_profile() -> None:
    inputs = pin.validate_inputs({})
    assert inputs == pin.Inputs()
    assert inputs.devices_auto and inputs.protocols == ("tcp", "udp")


def test_every_role_variable_is_an_option_and_a_default() -> None:
    options = role_options()
    assert options == sorted(pin.var(o) for o in pin.ROLE_OPTIONS)
    assert sorted(role_defaults()) == options
    assert set(pin.ROLE_OPTIONS) | {"check_role_vars"} == set(ARGUMENT_SPEC)


def test_role_defaults_are_valid_inputs() -> None:
    params = {k[len("gateway_"):]: v for k, v in role_defaults().items()}
    assert pin.validate_inputs(params) == pin.Inputs()


@pytest.mark.parametrize("value, want", [
    ("auto", None), (" auto ", None), (None, None),
    ("eth0,eth1", ("eth0", "eth1")), (" eth0 , eth1 ,, eth0 ", ("eth0", "eth1")),
    (["eth1", "eth0", "eth1"], ("eth1", "eth0")), (["br-lan", "wan.10"], ("br-lan", "wan.10")),
    ([], ()),
])
def test_devices_shapes(value: object, want: object) -> None:
    assert pin.parse_devices(value) == want


@pytest.mark.parametrize("value, needle", [
    ({"a": 1}, "gateway_devices must be 'auto', a list"),
    ("", "gateway_devices must be 'auto', a list"),
    ("   ", "gateway_devices must be 'auto', a list"),
    (5, "gateway_devices must be 'auto', a list"),
    ([["eth0"]], "gateway_devices must be 'auto', a list"),
    (["eth0; flush ruleset"], "gateway_devices: 'eth0; flush ruleset' contains"),
    ("eth0,$(reboot)", "gateway_devices: '$(reboot)' contains"),
    (["averyveryverylongname0"], "gateway_devices: 'averyveryverylongname0' is 22 bytes long"),
])
def test_devices_refused(value: object, needle: str) -> None:
    with pytest.raises(FlowOffloadError) as err:
        pin.validate_inputs({"devices": value})
    assert needle in err.value.msg


@pytest.mark.parametrize("value, want", [(None, None), ("", None), (30, 30), ("45", 45), (1, 1),
                                         (pin.TIMEOUT_MAX, pin.TIMEOUT_MAX), (60.0, 60)])
def test_timeouts_accepted(value: object, want: object) -> None:
    assert pin.validate_inputs({"tcp_timeout": value, "udp_timeout": value}).udp_timeout == want


@pytest.mark.parametrize("option, value, needle", [
    ("tcp_timeout", -1, "gateway_tcp_timeout: -1 is not a timeout"),
    ("tcp_timeout", 0, "gateway_tcp_timeout: 0 is not a timeout"),
    ("udp_timeout", 100000000, "gateway_udp_timeout: 100000000 is too large"),
    ("udp_timeout", pin.TIMEOUT_MAX + 1, "refuses more than 2147483 s"),
    ("tcp_timeout", "soon", "gateway_tcp_timeout: 'soon' is not a number of seconds"),
    ("tcp_timeout", True, "gateway_tcp_timeout: True is not a number"),
    ("udp_timeout", 1.5, "gateway_udp_timeout: 1.5 is not a number"),
])
def test_timeouts_refused(option: str, value: object, needle: str) -> None:
    with pytest.raises(FlowOffloadError) as err:
        pin.validate_inputs({option: value})
    assert needle in err.value.msg


def test_timeout_limit_is_the_kernel_jiffies_limit_at_hz_1000() -> None:
    assert pin.TIMEOUT_MAX == 2147483
    assert pin.TIMEOUT_MAX * 1000 <= 2 ** 31 - 1 < (pin.TIMEOUT_MAX + 1) * 1000


@pytest.mark.parametrize("value", ["filter", "filter + 5", "filter - 10", 0, -10, "7", 2 ** 31 - 1, -(2 ** 31)])
def test_priority_accepted(value: object) -> None:
    assert pin.validate_inputs({"priority": value}).priority == value


@pytest.mark.parametrize("value, needle", [
    ("sometimes", "gateway_priority: 'sometimes' is not a flowtable priority"),
    (True, "gateway_priority: True is not a flowtable priority"),
    ("mangle", "gateway_priority: 'mangle' is not"),
    (99999999999, "gateway_priority: 99999999999 is outside the kernel's hook priority range"),
    (2 ** 31, "outside the kernel's hook priority range"),
])
def test_priority_refused(value: object, needle: str) -> None:
    with pytest.raises(FlowOffloadError) as err:
        pin.validate_inputs({"priority": value})
    assert needle in err.value.msg


@pytest.mark.parametrize("params, needle", [
    ({"profile": "of"}, "gateway_profile: 'of' is not valid; use one of auto, software, hardware, off"),
    ({"conflicts": "ignore"}, "gateway_conflicts: 'ignore' is not valid"),
    ({"backend": "iptables"}, "gateway_backend: 'iptables' is not valid"),
    ({"protocols": []}, "gateway_protocols: [] is not valid"),
    ({"protocols": ["tcp", "sctp"]}, "gateway_protocols: 'sctp' is not valid"),
    ({"counter": "maybe"}, "gateway_counter: 'maybe' is not a boolean"),
    ({"verify": "perhaps"}, "gateway_verify: 'perhaps' is not a boolean"),
    ({"table": "my table"}, "gateway_table: 'my table' is not a valid nft identifier"),
    ({"flowtable": "flow"}, "gateway_flowtable: 'flow' is not a valid nft identifier"),
    ({"chain": "1forward"}, "gateway_chain: '1forward' is not a valid nft identifier"),
])
def test_other_inputs_refused_naming_the_variable(params: dict, needle: str) -> None:
    with pytest.raises(FlowOffloadError) as err:
        pin.validate_inputs(params)
    assert needle in err.value.msg


def test_booleans_from_a_survey() -> None:
    inputs = pin.validate_inputs({"counter": "false", "forwarding": "true", "verify": "yes", "fail_unsupported": "0"})
    assert (inputs.counter, inputs.forwarding, inputs.verify, inputs.fail_unsupported) == (False, True, True, False)


def test_bootstrap_python_is_accepted_with_a_deprecation_warning() -> None:
    assert pin.validate_inputs({"bootstrap_python": False}).warnings == ()
    warnings = pin.validate_inputs({"bootstrap_python": True}).warnings
    assert len(warnings) == 1 and "gateway_bootstrap_python is deprecated and does nothing" in warnings[0]


KNOWN = [pin.var(o) for o in pin.ROLE_OPTIONS]


def test_unknown_role_variables_are_found() -> None:
    names = KNOWN + ["gateway_profle", "gateway_result", "gateway_hosts", "gateway_site", "ansible_host", "__gateway_run"]
    assert pin.unknown_role_vars(names, KNOWN) == ["gateway_profle", "gateway_site"]
    assert pin.unknown_role_vars(names, KNOWN, ["gateway_site"]) == ["gateway_profle"]


def test_unknown_role_variable_refused_with_a_suggestion() -> None:
    with pytest.raises(FlowOffloadError) as err:
        pin.check_role_vars(KNOWN + ["gateway_profle"], KNOWN)
    msg = err.value.msg
    assert "unknown role variable: gateway_profle (did you mean gateway_profile?)" in msg
    assert "gateway_allowed_extra_vars" in msg
    assert err.value.details["unknown_vars"] == ["gateway_profle"]


def test_unknown_role_variables_without_suggestion_and_silenced() -> None:
    with pytest.raises(FlowOffloadError) as err:
        pin.check_role_vars(["gateway_site", "gateway_zone"], KNOWN)
    assert "unknown role variables: gateway_site, gateway_zone;" in err.value.msg
    pin.check_role_vars(["gateway_site", "gateway_zone"], KNOWN, ["gateway_site", "gateway_zone"])


@pytest.mark.parametrize("value, want", [(None, []), ([], []), (["gateway_a"], ["gateway_a"]), ("gateway_a, gateway_b", ["gateway_a", "gateway_b"])])
def test_allowed_extra_vars(value: object, want: list) -> None:
    assert pin.allowed_extra({"allowed_extra_vars": value}) == want


def test_allowed_extra_vars_refused() -> None:
    with pytest.raises(FlowOffloadError, match="gateway_allowed_extra_vars"):
        pin.allowed_extra({"allowed_extra_vars": {"a": 1}})

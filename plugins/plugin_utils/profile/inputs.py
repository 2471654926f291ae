# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's inputs: checked all at once, before anything runs (private).

``validate_inputs(params)`` turns the params of ``flowoffload.nft.offload_profile`` (one
per ``gateway_*`` variable of the role, without the prefix) into ``Inputs``, or raises
``FlowOffloadError`` naming the role variable and the fix. ``unknown_role_vars`` finds the
``gateway_*`` variables the role does not know (a misspelled ``gateway_profle`` would
otherwise leave the default profile to run).
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    syntax as _syntax,
)

PROFILES = ("auto", "software", "hardware", "off")
PROTOCOLS = ("tcp", "udp")
BACKENDS = ("auto", "nft", "fw4")
CONFLICT_MODES = ("warn", "fail", "software", "exclude")
ROLE_PREFIX = "gateway_"
# Option of offload_profile -> role variable (the role passes every one of them).
ROLE_OPTIONS = (
    "profile", "devices", "protocols", "counter", "tcp_timeout", "udp_timeout", "forwarding",
    "conflicts", "backend", "bootstrap_python", "fail_unsupported", "verify", "table",
    "flowtable", "chain", "priority", "allowed_extra_vars", "install_packages", "rollback_timeout",
    "health_check",
)
# gateway_* variables that are not inputs of the role but belong to it: its output, and
# the variables of playbooks/gateway.yml (host pattern, batch sizes, failure limit).
ROLE_OWN_VARS = ("gateway_result", "gateway_hosts", "gateway_batch", "gateway_max_fail_percentage")
# nf_flowtable_{tcp,udp}_timeout are proc_dointvec_jiffies sysctls: the kernel multiplies
# the seconds by HZ into a signed 32-bit int and refuses (EINVAL) anything above
# INT_MAX / HZ; with HZ=1000 (the largest common value) that is 2147483 s (24.8 days).
TIMEOUT_MAX = (2 ** 31 - 1) // 1000
INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
DEPRECATED_BOOTSTRAP = (
    "gateway_bootstrap_python is deprecated and does nothing: the collection runs on the "
    "controller and needs only /bin/sh on the target (no Python); remove the variable, it "
    "will be refused in the next release")


def var(option: str) -> str:
    """The role variable of an offload_profile option."""
    return ROLE_PREFIX + option


@dataclasses.dataclass(frozen=True)
class Inputs:
    """The role's inputs, checked and normalized."""

    profile: str = "auto"
    devices: tuple[str, ...] | None = None  # None: auto (the facts' candidate devices)
    protocols: tuple[str, ...] = PROTOCOLS
    counter: bool = True
    tcp_timeout: int | None = None
    udp_timeout: int | None = None
    forwarding: bool = False
    conflicts: str = "warn"
    backend: str = "auto"
    fail_unsupported: bool = False
    verify: bool = False
    table: str = "flowoffload"
    flowtable: str = "ft"
    chain: str | None = None
    priority: t.Any = "filter"
    install_packages: bool = True
    warnings: tuple[str, ...] = ()

    @property
    def devices_auto(self) -> bool:
        return self.devices is None


def _choice(params: t.Mapping[str, t.Any], option: str, choices: t.Sequence[str], default: str) -> str:
    value = params.get(option)
    value = default if value is None else value
    if not isinstance(value, str) or value not in choices:
        raise FlowOffloadError(f"{var(option)}: {value!r} is not valid; use one of {', '.join(choices)}")
    return value


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _bool(params: t.Mapping[str, t.Any], option: str, default: bool) -> bool:
    value = params.get(option)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise FlowOffloadError(f"{var(option)}: {value!r} is not a boolean; use true or false")


def parse_devices(value: t.Any) -> tuple[str, ...] | None:
    """``auto`` -> None; a list or one comma-separated string -> the names, trimmed, once each.

    Every name is checked as nft and the kernel read it (no metacharacters, 1-15 bytes).
    """
    shape = ("gateway_devices must be 'auto', a list of device names or one comma-separated "
             f"string of them (for example 'eth0,eth1'); got {value!r}")
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip() == "auto":
            return None
        if not value.strip():
            raise FlowOffloadError(shape)
        items: list[t.Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise FlowOffloadError(shape)
    names: list[str] = []
    for item in items:
        if isinstance(item, (dict, list, tuple, bool)) or item is None:
            raise FlowOffloadError(shape)
        name = str(item).strip()
        if not name or name in names:
            continue
        try:
            _syntax.validate_device(name)
        except FlowOffloadError as exc:
            raise FlowOffloadError("gateway_" + exc.msg) from None
        names.append(name)
    return tuple(names)


def parse_timeout(value: t.Any, option: str) -> int | None:
    """Seconds for nf_flowtable_{tcp,udp}_timeout: None, or 1..TIMEOUT_MAX."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        number = int(value.strip())
    sysctl = f"net.netfilter.nf_flowtable_{option.split('_')[0]}_timeout"
    if number is None:
        raise FlowOffloadError(f"{var(option)}: {value!r} is not a number of seconds; use an integer "
                               f"from 1 to {TIMEOUT_MAX}, or null to leave {sysctl} as it is")
    if number < 1:
        raise FlowOffloadError(f"{var(option)}: {number} is not a timeout; {sysctl} takes seconds from 1 "
                               f"to {TIMEOUT_MAX} (0 or less would end every offloaded flow at once)")
    if number > TIMEOUT_MAX:
        raise FlowOffloadError(
            f"{var(option)}: {number} is too large; {sysctl} is kept by the kernel in jiffies "
            f"(seconds x HZ) as a signed 32-bit int, so it refuses more than {TIMEOUT_MAX} s "
            f"(about {TIMEOUT_MAX // 86400} days at HZ=1000); use 1 to {TIMEOUT_MAX}")
    return number


def _priority_range_error(value: t.Any) -> FlowOffloadError:
    return FlowOffloadError(
        f"gateway_priority: {value!r} is outside the kernel's hook priority range (a signed 32-bit "
        f"int, {INT32_MIN} to {INT32_MAX}); use a small integer such as 0 or filter")


def parse_priority(value: t.Any) -> t.Any:
    """An integer within the kernel's signed 32-bit hook priority, or a keyword (filter [+-N])."""
    value = "filter" if value is None else value
    if isinstance(value, int) and not isinstance(value, bool) and not INT32_MIN <= value <= INT32_MAX:
        raise _priority_range_error(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit() and not INT32_MIN <= int(value) <= INT32_MAX:
        raise _priority_range_error(value)
    try:
        number = _syntax.resolve_priority(value)
    except FlowOffloadError:
        raise FlowOffloadError(
            f"gateway_priority: {value!r} is not a flowtable priority; use an integer (for example 0 "
            "or -10) or filter, optionally with '+ N' or '- N' (for example 'filter + 5')") from None
    if not INT32_MIN <= number <= INT32_MAX:
        raise _priority_range_error(value)
    return value


def _identifier(params: t.Mapping[str, t.Any], option: str, default: str | None) -> str | None:
    value = params.get(option)
    value = default if value is None else value
    if value is None:
        return None
    try:
        return _syntax.validate_identifier(value, var(option))
    except FlowOffloadError as exc:
        raise FlowOffloadError(exc.msg) from None


def parse_protocols(value: t.Any) -> tuple[str, ...]:
    items = list(PROTOCOLS) if value is None else value
    if isinstance(items, str):
        items = [p.strip() for p in items.split(",")]
    if not isinstance(items, (list, tuple)) or not items:
        raise FlowOffloadError(f"gateway_protocols: {value!r} is not valid; give a list of tcp, udp (at least one)")
    out: list[str] = []
    for item in items:
        if item not in PROTOCOLS:
            raise FlowOffloadError(f"gateway_protocols: {item!r} is not valid; give a list of tcp, udp (at least one)")
        if item not in out:
            out.append(item)
    return tuple(out)


def validate_inputs(params: t.Mapping[str, t.Any]) -> Inputs:
    """Every input checked (nothing has run on the host yet); the first problem is raised."""
    warnings: list[str] = []
    if _bool(params, "bootstrap_python", False):
        warnings.append(DEPRECATED_BOOTSTRAP)
    return Inputs(
        profile=_choice(params, "profile", PROFILES, "auto"),
        devices=parse_devices(params.get("devices", "auto")),
        protocols=parse_protocols(params.get("protocols")),
        counter=_bool(params, "counter", True),
        tcp_timeout=parse_timeout(params.get("tcp_timeout"), "tcp_timeout"),
        udp_timeout=parse_timeout(params.get("udp_timeout"), "udp_timeout"),
        forwarding=_bool(params, "forwarding", False),
        conflicts=_choice(params, "conflicts", CONFLICT_MODES, "warn"),
        backend=_choice(params, "backend", BACKENDS, "auto"),
        fail_unsupported=_bool(params, "fail_unsupported", False),
        verify=_bool(params, "verify", False),
        table=_identifier(params, "table", "flowoffload") or "flowoffload",
        flowtable=_identifier(params, "flowtable", "ft") or "ft",
        chain=_identifier(params, "chain", None),
        priority=parse_priority(params.get("priority")),
        install_packages=_bool(params, "install_packages", True),
        warnings=tuple(warnings),
    )


def allowed_extra(params: t.Mapping[str, t.Any]) -> list[str]:
    value = params.get("allowed_extra_vars") or []
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise FlowOffloadError(
            f"gateway_allowed_extra_vars: {value!r} is not valid; give a list of variable names "
            "(for example ['gateway_site'])")
    return list(value)


def unknown_role_vars(names: t.Iterable[str], known: t.Iterable[str], allowed: t.Iterable[str] = ()) -> list[str]:
    """``gateway_*`` names that are neither role inputs, the role's own, nor allowed."""
    ok = set(known) | set(ROLE_OWN_VARS) | set(allowed)
    return sorted(n for n in names if isinstance(n, str) and n.startswith(ROLE_PREFIX) and n not in ok)


def check_role_vars(names: t.Iterable[str], known: t.Iterable[str], allowed: t.Iterable[str] = ()) -> None:
    """Refuse unknown ``gateway_*`` variables, suggesting the closest known name."""
    unknown = unknown_role_vars(names, known, allowed)
    if not unknown:
        return
    known_list = sorted(set(known))
    parts = []
    for name in unknown:
        near = _closest(name, known_list)
        parts.append(f"{name} (did you mean {near}?)" if near else name)
    raise FlowOffloadError(
        f"unknown role variable{'s' if len(unknown) > 1 else ''}: {', '.join(parts)}; the gateway role "
        "would ignore it and run with its default. Fix the name (see ansible-doc -t role "
        "flowoffload.nft.gateway), or, if it is a variable of your own, list it in "
        "gateway_allowed_extra_vars", unknown_vars=unknown)


def _closest(name: str, known: t.Sequence[str]) -> str:
    best, best_score = "", 3  # at most 2 edits away
    for cand in known:
        score = _distance(name, cand)
        if score < best_score:
            best, best_score = cand, score
    return best


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (small strings only)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]

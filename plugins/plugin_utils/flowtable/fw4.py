# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The flowtable module's fw4 backend (OpenWrt's firewall4): read, plan, apply (private).

firewall4 builds flowtable ``ft`` in ``table inet fw4`` itself when
``firewall.@defaults[0].flow_offloading`` is 1 (``flags offload`` too when
``flow_offloading_hw`` is 1), over the devices netifd gives the zone networks. The real
``fw4 reload`` exits 0 even when the kernel rejects that flowtable (the old ruleset stays,
the error is only on stderr), so success is judged from ``fw4 check`` first and from the
flowtable listing after the reload, and a failure puts the previous UCI values back.

read (one round trip): both UCI options, ``uci changes firewall``, the zones, netifd's
interfaces, the flowtable listing (json + text) and ``host_reads()``; plan on the
controller; apply (a second round trip, only when something changes): one ``post`` step
per command (``fw4:uci-set``, ``fw4:uci-commit``, ``fw4:check``, ``fw4:reload``,
``fw4:verify``, ``fw4:restore``, ``fw4:reload-restore``), each the apply script's own
section, and a last step ``fw4`` that stops the script (``failed-after fw4``, its stdout the
command that failed) when one of them did; ``finish_fw4`` reads those sections.

``FW4`` is the backend as ``target.driver.drive`` runs every part (reads / plan / finish);
``run_fw4`` drives it.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.fw4_apply import (
    STEP,
    apply_steps,
    undo_steps,
    command_err,
    failure,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.fw4_state import (
    FAMILY,
    NAME,
    OPTIONS,
    PREFIX,
    SECTION,
    TABLE,
    fw4_flowtable,
    is_on,
    predicted_devices,
    uci_value,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    host as _host,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import (
    Params,
    drive,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Expect,
    Read,
    Snapshot,
    Target,
    argv,
    when_tool,
)

CONFIG_FILE = "/etc/config/firewall"
FALLBACK_MARK = "Hardware flow offloading unavailable"
OPENWRT_WARNING = (
    "OpenWrt's kernel (generic patch 701) accepts 'flags offload' even where the NIC cannot "
    "offload, so acceptance proves nothing; the proof of hardware offload is conntrack "
    "entries marked [HW_OFFLOAD]"
)


@dataclasses.dataclass
class Fw4Plan:
    """The predicted return values and the apply spec (empty when nothing changes)."""

    result: dict[str, t.Any]
    spec: ApplySpec
    changes: dict[str, str | None] = dataclasses.field(default_factory=dict)
    before: dict[str, str | None] = dataclasses.field(default_factory=dict)
    want_ft: bool = False


# --- input ---------------------------------------------------------------------------------
def parse_offload(value: t.Any) -> str:
    """false | true | auto from the module's raw ``offload`` option."""
    text = str(value).strip().lower()
    if isinstance(value, bool) or text in ("true", "false", "yes", "no", "1", "0", "on", "off"):
        return "true" if text in ("true", "yes", "1", "on") else "false"
    if text == "auto":
        return "auto"
    raise FlowOffloadError(f"offload: {value!r} is not valid; use false (software), true (hardware required) or auto")


def validate(params: Params) -> dict[str, str]:
    """The params fw4 uses; refuses what fw4 cannot honour, before any script runs."""
    if params.get("devices"):
        raise FlowOffloadError(
            "devices: with backend=fw4 the devices come from fw4's zones (firewall4 builds "
            "flowtable ft in table inet fw4 from the devices netifd gives the zone networks); "
            "remove devices or use backend=nft")
    state = params.get("state") or "present"
    if state not in ("present", "absent"):
        raise FlowOffloadError(f"state: {state!r} is not valid; use present or absent")
    return {"state": state, "offload": parse_offload(params.get("offload", False))}


def wanted_values(desired: t.Mapping[str, str]) -> dict[str, bool]:
    """option -> on/off for firewall.@defaults[0]."""
    present = desired["state"] == "present"
    return {"flow_offloading": present, "flow_offloading_hw": present and desired["offload"] != "false"}


# --- read ----------------------------------------------------------------------------------
def _get(option: str) -> str:
    return when_tool("uci", argv("uci", "-q", "get", f"{SECTION}.{option}"))


def fw4_reads(params: Params) -> list[Read]:
    """The one read of the fw4 backend (keys ``fw4:*`` plus ``host:*``), the same for every
    option set; refuses params fw4 cannot honour first (before any script runs)."""
    validate(params)
    reads = [Read(PREFIX + option, _get(option)) for option in OPTIONS]
    reads += [
        Read(PREFIX + "defaults", when_tool("uci", argv("uci", "show", SECTION))),
        Read(PREFIX + "changes", when_tool("uci", argv("uci", "changes", "firewall"))),
        Read(PREFIX + "config", when_tool("uci", argv("uci", "show", "firewall"))),
        Read(PREFIX + "interfaces", when_tool("ubus", argv("ubus", "call", "network.interface", "dump"))),
    ]
    return reads + flowtable_reads() + _host.host_reads()


def flowtable_reads() -> list[Read]:
    return [
        Read(PREFIX + "ft-json", when_tool("fw4", argv("nft", "-j", "list", "flowtables"))),
        Read(PREFIX + "ft-text", when_tool("fw4", argv("nft", "list", "flowtables"))),
    ]


# --- plan ----------------------------------------------------------------------------------
def _check_host(snapshot: Snapshot) -> None:
    host = _host.host_from(snapshot)
    if not host["openwrt"]:
        raise FlowOffloadError(
            f"backend: fw4 works only on OpenWrt (no /etc/openwrt_release on this host, which is "
            f"{host['distribution'] or 'not OpenWrt'}); use backend=nft")
    missing = [tool for tool in ("uci", "fw4") if tool not in host["tools"]]
    if missing:
        raise FlowOffloadError(
            f"backend: fw4 needs firewall4, but {' and '.join(missing)} is not on this OpenWrt host "
            "(OpenWrt before 22.03 runs fw3): install firewall4 or use backend=nft")
    defaults = snapshot.get(PREFIX + "defaults")
    if defaults is None or defaults.rc != 0:
        err = (defaults.err or defaults.out).strip() if defaults else "no answer"
        raise FlowOffloadError(
            f"backend: fw4: /etc/config/firewall has no 'defaults' section ({SECTION}: {err}); "
            "add 'config defaults' to /etc/config/firewall (firewall4's shipped file has one)")
    changes = snapshot.out(PREFIX + "changes")
    if changes and changes.strip():
        raise FlowOffloadError(
            "backend: fw4: the firewall config has uncommitted UCI changes (uci changes firewall: "
            f"{changes.strip()!r}) that a commit would apply too; commit or revert them "
            "(uci commit firewall / uci revert firewall) and run again")


def _uci_commands(changes: t.Mapping[str, str | None]) -> list[str]:
    out = []
    for option, value in sorted(changes.items()):
        if value is None:
            out.append(argv("uci", "-q", "delete", f"{SECTION}.{option}"))
        else:
            out.append(argv("uci", "set", f"{SECTION}.{option}={value}"))
    return out


def plan_fw4(snapshot: Snapshot, params: Params, check_mode: bool) -> Fw4Plan:
    """What to change in firewall.@defaults[0] and what the module will return."""
    del check_mode  # the plan is the same; run_fw4 does not apply in check mode
    desired = validate(params)
    _check_host(snapshot)
    wanted = wanted_values(desired)
    before = {option: uci_value(snapshot, option) for option in OPTIONS}
    changes: dict[str, str | None] = {}
    for option, on in wanted.items():
        if on and not is_on(before[option]):
            changes[option] = "1"
        elif not on and is_on(before[option]):
            changes[option] = None  # back to firewall4's default: the option is removed
    current = fw4_flowtable(snapshot)
    want_ft = wanted["flow_offloading"]
    hardware = wanted["flow_offloading_hw"]
    # UCI already right but fw4's ruleset disagrees (not reloaded, or the kernel refused it)
    reload_only = not changes and bool(current) != want_ft
    warnings: list[str] = []
    fallback = ""
    if not changes and not reload_only and want_ft and hardware and not current.get("offload"):
        if desired["offload"] == "true":
            raise FlowOffloadError(
                "offload: true needs hardware offloading, but fw4's flowtable ft has no 'flags offload' "
                f"although {SECTION}.flow_offloading_hw is on: firewall4 fell back to software "
                f"offloading (no device of {current.get('devices')} can offload in hardware); nothing "
                "was changed. Use offload=auto (software with a fallback_reason) or offload=false")
        fallback = fallback_text(current.get("devices", []))
        warnings.append(fallback)
    if want_ft:
        flowtable = dict(current) if current and not changes else {
            "family": FAMILY, "table": TABLE, "name": NAME, "hook": "ingress", "priority": 0,
            "devices": predicted_devices(snapshot), "offload": hardware, "counter": True}
    else:
        flowtable = {}
    if hardware:
        warnings.append(OPENWRT_WARNING)
    commands = _uci_commands(changes)
    if changes:
        commands.append("uci commit firewall")
    if changes or reload_only:
        commands += ["fw4 check", "fw4 reload"]
    after = {o: ("1" if changes[o] else None) if o in changes else before[o] for o in OPTIONS}
    result = {
        "changed": bool(commands),
        "commands": commands,
        "flowtable": flowtable,
        "hardware_offload": bool(flowtable.get("offload")),
        "fallback_reason": fallback,
        "skipped_devices": [],
        "persist_files": [CONFIG_FILE] if changes else [],
        "diff": {
            "before_header": f"{CONFIG_FILE} ({SECTION})", "after_header": f"{CONFIG_FILE} ({SECTION})",
            "before": _diff_text(before, current), "after": _diff_text(after, flowtable)},
        "warnings": warnings,
    }
    spec = ApplySpec()
    if commands:
        spec.expect = [Expect(PREFIX + o, _get(o), snapshot.text(PREFIX + o) if before[o] is not None else "")
                       for o in OPTIONS]
        spec.post = apply_steps(changes, before, want_ft, desired["offload"] == "true")
        spec.undo, spec.arm_files = undo_steps(changes, before)
        spec.readback = [Read(PREFIX + o, _get(o)) for o in OPTIONS] + flowtable_reads()
    return Fw4Plan(result, spec, changes, before, want_ft)


def fallback_text(devices: t.Sequence[str]) -> str:
    return ("firewall4 fell back to software offloading ([!] Hardware flow offloading unavailable): "
            f"no device of flowtable ft ({', '.join(devices) or 'none'}) can offload in hardware")


def _diff_text(values: t.Mapping[str, str | None], flowtable: t.Mapping[str, t.Any]) -> str:
    lines = [f"{SECTION}.{o}={values[o] if values.get(o) is not None else '(unset)'}" for o in OPTIONS]
    if flowtable:
        flags = " flags offload" if flowtable.get("offload") else ""
        lines.append(f"table inet fw4: flowtable ft devices {{ {', '.join(flowtable.get('devices', []))} }}{flags}")
    else:
        lines.append("table inet fw4: no flowtable ft")
    return "\n".join(lines) + "\n"


# --- finish --------------------------------------------------------------------------------
def finish_fw4(plan: Fw4Plan, apply_result: ApplyResult | None) -> dict[str, t.Any]:
    """The module's return values from the read-back, or FlowOffloadError naming the cause."""
    result = dict(plan.result)
    if apply_result is None:
        return result
    res = apply_result
    if res.status == "stale":
        raise FlowOffloadError(
            f"the host changed while planning ({SECTION} {res.key.removeprefix(PREFIX)} "
            "differs from what was read); nothing was changed; run again")
    if res.status == "failed" and res.key == "lock":
        sec = res.section()
        raise FlowOffloadError(f"backend: fw4: could not take the host lock: {(sec.err if sec else res.stderr).strip()}; nothing was changed")
    if res.status != "ok":
        if res.snapshot.get(STEP) is None:
            raise FlowOffloadError(
                f"backend: fw4: the apply script ended without a result ({res.status} {res.key}); the "
                f"firewall may be half changed: check 'uci show {SECTION}' and 'fw4 print'",
                rc=res.rc, stdout=res.stdout[-2000:], stderr=res.stderr[-2000:])
        raise failure(res, plan.changes, plan.before, plan.want_ft, plan.result["commands"])
    flowtable = fw4_flowtable(res.snapshot)
    warnings = [w for w in result["warnings"] if w != OPENWRT_WARNING and not w.startswith("firewall4 fell back")]
    fallback = ""
    wanted_hw = is_on(uci_value(res.snapshot, "flow_offloading_hw"))
    fell_back = FALLBACK_MARK in command_err(res, "reload")
    if flowtable and wanted_hw and (fell_back or not flowtable.get("offload")):
        fallback = fallback_text(flowtable.get("devices", []))
        warnings.append(fallback)
    if wanted_hw:
        warnings.append(OPENWRT_WARNING)
    result.update(
        flowtable=flowtable if is_on(uci_value(res.snapshot, "flow_offloading")) else {},
        hardware_offload=bool(flowtable.get("offload")) and not fell_back,
        fallback_reason=fallback,
        warnings=warnings,
    )
    diff = dict(result["diff"])
    diff["after"] = _diff_text({o: uci_value(res.snapshot, o) for o in OPTIONS}, flowtable)
    result["diff"] = diff
    return result


class Fw4Part:
    """The fw4 backend as ``target.driver.drive`` runs every part."""

    def reads(self, params: Params) -> list[Read]:
        return fw4_reads(params)

    def plan(self, snapshot: Snapshot, params: Params, check_mode: bool) -> Fw4Plan:
        return plan_fw4(snapshot, params, check_mode)

    def finish(self, plan: Fw4Plan, applied: ApplyResult | None) -> dict[str, t.Any]:
        return finish_fw4(plan, applied)


FW4 = Fw4Part()


def run_fw4(target: Target, params: Params, check_mode: bool) -> dict[str, t.Any]:
    """backend=fw4: one read; an apply only when something changes and not in check mode."""
    return drive(FW4, target, params, check_mode)

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
that sets + commits, runs ``fw4 check``, ``fw4 reload``, verifies, and restores on
failure, printing ``@fo4`` blocks that ``finish_fw4`` reads.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError, nft_hint
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Expect,
    Read,
    Snapshot,
    Step,
    apply_host,
    argv,
    read_host,
    when_tool,
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
    parse_blocks,
    predicted_devices,
    uci_value,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import path_of
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.sh import render as render_sh

CONFIG_FILE = "/etc/config/firewall"
FALLBACK_MARK = "Hardware flow offloading unavailable"
STEP = "fw4"
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


def validate(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
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


def wanted_values(desired: t.Mapping[str, t.Any]) -> dict[str, bool]:
    """option -> on/off for firewall.@defaults[0]."""
    present = desired["state"] == "present"
    return {"flow_offloading": present, "flow_offloading_hw": present and desired["offload"] != "false"}


# --- read ----------------------------------------------------------------------------------
def _get(option: str) -> str:
    return when_tool("uci", argv("uci", "-q", "get", f"{SECTION}.{option}"))


def fw4_reads(params: t.Mapping[str, t.Any]) -> list[Read]:
    """The one read of the fw4 backend (keys ``fw4:*`` plus ``host:*``)."""
    del params  # the read is the same for every option set
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


def plan_fw4(snapshot: Snapshot, params: t.Mapping[str, t.Any], check_mode: bool) -> Fw4Plan:
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
        spec.post = [Step(STEP, apply_code(changes, before, want_ft, desired["offload"] == "true"))]
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


# --- apply ---------------------------------------------------------------------------------
APPLY_SH = path_of(__file__, "fw4_apply.sh")


def _action(value: str | None) -> str:
    """A UCI value as fw4_apply.sh's fo4_put takes it: set:VALUE, or delete for None."""
    return "delete" if value is None else f"set:{value}"


def apply_code(changes: t.Mapping[str, str | None], before: t.Mapping[str, str | None],
               want_ft: bool, need_hw: bool) -> str:
    """sh: set + commit, fw4 check, fw4 reload, verify; on failure put the old values back."""
    def old(option: str) -> str:
        return "none" if before.get(option) is None else f"set:{before[option]}"
    return render_sh(APPLY_SH, {
        "fo4_section": SECTION,
        "fo4_sw": _action(changes["flow_offloading"]) if "flow_offloading" in changes else "",
        "fo4_hw": _action(changes["flow_offloading_hw"]) if "flow_offloading_hw" in changes else "",
        "fo4_sw_old": old("flow_offloading"),
        "fo4_hw_old": old("flow_offloading_hw"),
        "fo4_want_ft": int(want_ft),
        "fo4_need_hw": int(need_hw),
    })


# --- finish --------------------------------------------------------------------------------
def _values_text(values: t.Mapping[str, str | None]) -> str:
    return ", ".join(f"{o}={'unset' if values.get(o) is None else values[o]}" for o in OPTIONS)


def _short(answer: str) -> str:
    """nft's error lines without the echoed ruleset and carets (all of it when none)."""
    lines = [line.strip() for line in answer.splitlines() if "Error:" in line or line.startswith("[!]")]
    return " / ".join(lines) if lines else " ".join(answer.split())


def _failure(plan: Fw4Plan, res: ApplyResult) -> FlowOffloadError:
    step = res.snapshot.get(STEP)
    blocks, result = parse_blocks(step.out if step else "")
    where = result.split(" ", 1)[1] if result.startswith("failed ") else res.key
    reload_err = blocks.get("reload", {}).get("err", "")
    check_err = blocks.get("check", {}).get("err", "")
    answer = {"check": check_err, "verify": reload_err, "hardware": reload_err}.get(where, "")
    answer = answer or (blocks.get(where, {}).get("err") or blocks.get(where, {}).get("out") or "").strip()
    restore = blocks.get("restore")
    again = blocks.get("reload-restore")
    if not plan.changes:
        state = "the UCI values were not touched"
    elif where in ("uci-set", "uci-commit"):
        state = "the staged UCI changes were reverted; nothing was changed"
    elif restore is not None and restore["rc"] == 0:
        state = f"the previous values ({_values_text(plan.before)}) were put back and committed"
        if again is not None:
            state += " and fw4 reloaded" if again["rc"] == 0 else " (fw4 reload failed on them too)"
    elif restore is not None:
        state = (f"putting the previous values ({_values_text(plan.before)}) back failed too: check "
                 f"'uci show {SECTION}' and 'fw4 reload' by hand")
    else:
        state = "the firewall state is unknown"
    what = {
        "uci-set": "uci set failed",
        "uci-commit": "uci commit firewall failed",
        "check": "fw4 check refused the ruleset (fw4 print | nft -c -f -)",
        "reload": "fw4 reload failed",
        "verify": ("fw4 reload exited 0 but the kernel refused the ruleset: table inet fw4 has no flowtable ft"
                   if plan.want_ft else "flowtable ft is still in table inet fw4 after fw4 reload"),
        "hardware": ("offload: true needs hardware offloading, but firewall4 fell back to software "
                     "offloading (flowtable ft has no 'flags offload')"),
    }.get(where, f"the apply script stopped at {where or res.status}")
    hint = nft_hint(answer)
    if where == "reload" and "does not appear to be loaded" in answer:
        hint = "fw4 is not running: start the firewall (/etc/init.d/firewall start) and run again"
    msg = f"backend: fw4: {what}"
    if answer.strip():
        msg += f"; the kernel's answer: {_short(answer)}"
    msg += f"; {state}."
    if hint:
        msg += f" Hint: {hint}."
    return FlowOffloadError(msg, rc=res.rc, stdout=step.out if step else res.stdout,
                            stderr=answer or res.stderr, commands=plan.result["commands"])


def finish_fw4(plan: Fw4Plan, apply_result: ApplyResult | None) -> dict[str, t.Any]:
    """The module's return values from the read-back, or FlowOffloadError naming the cause."""
    result = dict(plan.result)
    if apply_result is None:
        return result
    res = apply_result
    if res.status == "stale":
        raise FlowOffloadError(
            f"the host changed while planning ({SECTION} {res.key[len(PREFIX):] if res.key.startswith(PREFIX) else res.key} "
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
        raise _failure(plan, res)
    blocks, _result = parse_blocks(res.snapshot.text(STEP))
    flowtable = fw4_flowtable(res.snapshot)
    warnings = [w for w in result["warnings"] if w != OPENWRT_WARNING and not w.startswith("firewall4 fell back")]
    fallback = ""
    wanted_hw = is_on(uci_value(res.snapshot, "flow_offloading_hw"))
    fell_back = FALLBACK_MARK in blocks.get("reload", {}).get("err", "")
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


def run_fw4(target: t.Any, params: t.Mapping[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    """backend=fw4: one read; an apply only when something changes and not in check mode."""
    validate(params)
    plan = plan_fw4(read_host(target, fw4_reads(params)), params, check_mode)
    if check_mode or not plan.spec.changes():
        return finish_fw4(plan, None)
    return finish_fw4(plan, apply_host(target, plan.spec))

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""flowoffload.nft.offload_audit: one host's row of the fleet audit (private).

``run_audit`` reads the facts (``gather_subset: all``) and the configured state
(``_audit_config``) in ONE read script, then ``audit_row`` turns both into one row:
platform, kernel support, module and package state, the live flowtables against the
configured ones (drift), per-device hardware verdicts with their reasons, the offloaded
share of the conntrack entries, conflicts, and one ``state``:

=================  ================================================================
unsupported        the kernel refuses flowtables (nft answers ENOENT)
drifted            the live flowtables differ from what the collection persisted
offloading_hw      conntrack entries marked [HW_OFFLOAD]
offloading_sw      conntrack entries marked [OFFLOAD] (none in hardware)
configured_idle    a flowtable is live as configured, no entry is offloaded now
not_configured     no flowtable configured and none live
unreachable        (controller) Ansible could not reach the host
failed             (controller) the audit task failed or never ran on the host
=================  ================================================================

The first state that applies wins, in that order. Read-only: the same in check mode.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.audit.config import (
    config_reads,
    configured_from,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.run import (
    facts_reads,
    gather_from,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.syntax import (
    normalize_devices,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import drive
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Read,
    Snapshot,
    Target,
)

STATES = ("offloading_hw", "offloading_sw", "configured_idle", "not_configured", "drifted", "unsupported",
          "unreachable", "failed")
SUBSETS = ["all"]
_COMPARED = ("hook", "priority", "offload", "counter")


def _key(ft: t.Mapping[str, t.Any]) -> tuple[str, str, str]:
    return (str(ft.get("family")), str(ft.get("table")), str(ft.get("name")))


def _spec(key: tuple[str, str, str]) -> str:
    return " ".join(key)


def _drift(live: t.Sequence[t.Mapping[str, t.Any]], configured: t.Sequence[t.Mapping[str, t.Any]],
           existing: set[str] | None) -> tuple[list[str], list[str], list[str]]:
    """(drift, missing devices, unmanaged flowtables): configured against live.

    A configured device that does not exist on the host is not drift (the loader adds it
    when it appears): it is listed as missing. A live flowtable in a table the collection
    persisted, but not in the file, is drift (lost at reboot); one elsewhere is unmanaged."""
    drift: list[str] = []
    missing: list[str] = []
    by_key = {_key(ft): ft for ft in live}
    conf_keys = {_key(ft) for ft in configured}
    conf_tables = {key[:2] for key in conf_keys}
    for conf in configured:
        key = _key(conf)
        cur = by_key.get(key)
        if cur is None:
            drift.append(f"flowtable {_spec(key)} is configured ({conf['source']}) but not loaded")
            continue
        for field in _COMPARED:
            want = conf.get(field)
            if want is not None and cur.get(field) != want:
                drift.append(f"flowtable {_spec(key)}: {field} is {cur.get(field)!r} live, {want!r} configured")
        if conf.get("devices") is None:
            continue  # fw4 takes the devices from its zones
        wanted = set(conf["devices"])
        gone = list(normalize_devices(wanted - existing)) if existing is not None else []
        missing.extend(f"{dev} ({_spec(key)})" for dev in gone)
        expected = wanted - set(gone)
        have = set(cur.get("devices") or [])
        if have - expected:
            drift.append(f"flowtable {_spec(key)}: device(s) {', '.join(sorted(have - expected))} live, not configured")
        if expected - have:
            drift.append(f"flowtable {_spec(key)}: device(s) {', '.join(sorted(expected - have))} configured "
                         "and present, not in the live flowtable")
    unmanaged = []
    for key, cur in sorted(by_key.items()):
        if key in conf_keys:
            continue
        if key[:2] in conf_tables:
            drift.append(f"flowtable {_spec(key)} is live in a table the collection persisted, but not persisted "
                         "(lost at the next reboot)")
        else:
            unmanaged.append(_spec(key))
    return drift, missing, unmanaged


def _persistence_drift(config: t.Mapping[str, t.Any], init: str) -> list[str]:
    drift = []
    if config["files"] and not config["loader"]["present"]:
        drift.append(f"{config['loader']['path']} is missing: the persisted devices do not join at boot")
    if init == "systemd":
        for path in config["files"]:
            if not path.startswith("/etc/flowoffload/"):
                continue
            unit = "flowoffload-" + path.rsplit("/", 1)[-1][:-len(".nft")] + ".service"
            answer = config["units"].get(unit, "")
            if answer not in ("enabled", "static", "enabled-runtime"):
                drift.append(f"unit {unit} is {answer or 'not installed'}: {path} is not loaded at boot")
            elif config.get("active", {}).get(unit) == "inactive" and config.get("units_run", True):
                # issue 19: ReloadPropagatedFrom=nftables.service reaches active units only
                drift.append(f"unit {unit} is enabled but inactive: the next 'systemctl reload nftables' drops "
                             f"the flowtables of {path} until a restart or reboot (the next run of the collection "
                             "starts it)")
    return drift


def _share(part: int, total: int) -> float:
    return round(100.0 * part / total, 1) if total else 0.0


def _flows(flows: t.Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    if not flows:
        return None
    total, soft, hard = int(flows.get("total") or 0), int(flows.get("offload") or 0), int(flows.get("hw_offload") or 0)
    return {"total": total, "offload": soft, "hw_offload": hard,
            "offloaded_pct": _share(soft + hard, total), "hw_offloaded_pct": _share(hard, total)}


def _devices(facts: t.Mapping[str, t.Any], configured: t.Sequence[t.Mapping[str, t.Any]]) -> list[dict[str, t.Any]]:
    candidates = set(facts.get("candidate_devices") or [])
    conf_devs = {dev for ft in configured for dev in (ft.get("devices") or [])}
    out = []
    for name, dev in sorted((facts.get("interfaces") or {}).items()):
        if dev.get("kind") == "loopback":
            continue
        out.append({"name": name, "kind": dev.get("kind"), "driver": dev.get("driver"),
                    "operstate": dev.get("operstate"), "candidate": name in candidates,
                    "configured": name in conf_devs, "hardware_offload": dev.get("hardware_offload"),
                    "reason": dev.get("hardware_offload_reason") or ""})
    out.sort(key=lambda d: (not (d["candidate"] or d["configured"]), d["name"]))
    return out


def _kmod_summary(modules: t.Mapping[str, t.Mapping[str, t.Any]]) -> str:
    states = {str(mod.get("state")) for mod in modules.values()}
    if not states:
        return "unknown"
    if states <= {"loaded", "builtin"}:
        return "loaded"
    if "missing" in states:
        return "missing"
    return "not loaded"


def _state(row: t.Mapping[str, t.Any], live: t.Sequence[t.Any]) -> tuple[str, str]:
    software = row["kernel"]["software_offload"]
    flows = row["flows"]
    if software.get("supported") is False and not live:
        return "unsupported", software.get("message") or "the kernel has no flowtable support"
    if row["drift"]:
        return "drifted", row["drift"][0] + (f" (and {len(row['drift']) - 1} more)" if len(row["drift"]) > 1 else "")
    if flows and flows["hw_offload"]:
        return "offloading_hw", f"{flows['hw_offload']} of {flows['total']} conntrack entries offloaded in hardware"
    if flows and flows["offload"]:
        return "offloading_sw", f"{flows['offload']} of {flows['total']} conntrack entries offloaded in software"
    if live or row["flowtables"]["configured"]:
        why = "no conntrack entry is offloaded now" if flows is not None else "conntrack could not be read"
        return "configured_idle", f"flowtable(s) {', '.join(_spec(_key(ft)) for ft in live)} live; {why}"
    return "not_configured", "no flowtable configured by flowoffload.nft and none live"


def audit_row(host: str, facts: t.Mapping[str, t.Any], config: t.Mapping[str, t.Any],
              warnings: t.Sequence[str] = ()) -> dict[str, t.Any]:
    """One host's row from its facts (all subsets) and its configured state."""
    platform = dict(facts.get("platform") or {})
    kernel = facts.get("kernel") or {}
    live = list(facts.get("flowtables") or [])
    configured = list(config.get("flowtables") or [])
    interfaces = facts.get("interfaces")
    existing = set(interfaces) if interfaces else None
    drift, missing, unmanaged = _drift(live, configured, existing)
    drift += _persistence_drift(config, str(platform.get("init") or ""))
    modules = {name: str(mod.get("state")) for name, mod in (kernel.get("modules") or {}).items()}
    package = facts.get("package") or {}
    devices = _devices(facts, configured)
    row: dict[str, t.Any] = {
        "host": host,
        "state": "",
        "reason": "",
        "platform": platform,
        "kernel": {
            "release": platform.get("kernel"),
            "software_offload": dict(kernel.get("software_offload") or {"supported": None, "message": ""}),
            "modules": modules,
            "modules_summary": _kmod_summary(kernel.get("modules") or {}),
            "modules_persisted": bool((kernel.get("persistence") or {}).get("present")),
        },
        "package": {key: package.get(key) for key in ("name", "installed", "version", "manager")},
        "nft_version": (facts.get("nft") or {}).get("version"),
        "flowtables": {"live": live, "configured": configured, "unmanaged": unmanaged,
                       "files": sorted(config.get("files") or {}),
                       "uci": dict(config.get("uci") or {})},
        "drift": drift,
        "missing_devices": missing,
        "devices": devices,
        "hardware_capable": list(normalize_devices(d["name"] for d in devices if d["hardware_offload"] == "supported")),
        "flows": _flows(facts.get("flows")),
        "conflicts": [dict(c) for c in facts.get("conflicts") or []],
        "warnings": list(warnings),
        "error": "",
    }
    row["state"], row["reason"] = _state(row, live)
    return row


@dataclasses.dataclass(frozen=True)
class AuditPlan:
    """The host's row; an audit never changes anything (the spec stays empty)."""

    row: dict[str, t.Any]
    spec: ApplySpec = dataclasses.field(default_factory=ApplySpec)


class AuditPart:
    """The audit as a part of target/driver.py: one read, no apply."""

    def __init__(self, host: str) -> None:
        self.host = host

    def reads(self, params: t.Mapping[str, t.Any]) -> list[Read]:
        del params  # no option changes the read
        return facts_reads(SUBSETS) + config_reads()

    def plan(self, snapshot: Snapshot, params: t.Mapping[str, t.Any], check_mode: bool) -> AuditPlan:
        del params, check_mode  # read-only: the same in check mode
        facts, warnings = gather_from(snapshot, SUBSETS)
        # The facts' warnings stay in the row (shown in the report): across a fleet they would
        # repeat the same line for every host.
        return AuditPlan(audit_row(self.host, facts, configured_from(snapshot), warnings))

    def finish(self, plan: AuditPlan, applied: ApplyResult | None) -> dict[str, t.Any]:
        del applied  # never anything to apply
        return {"changed": False, "audit": plan.row}


def run_audit(target: Target, params: t.Mapping[str, t.Any], check_mode: bool, host: str = "") -> dict[str, t.Any]:
    """The action: one read script (facts + configured state), the row built here."""
    return drive(AuditPart(host), target, params, check_mode)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module on the controller: read -> plan -> apply -> verify (private).

The nft backend is a part of the one driver (``target.driver``): ``NFT`` reads
(``flowtable.reads``: keys ``ft:*``, ``host:*``, ``probe:*``), plans from the snapshot
(pure: the predicted result and the ``ApplySpec``) and finishes from the apply script's
read-back (or its failure, ``flowtable.failure``). ``run_flowtable`` sends backend ``fw4``
to ``flowtable.fw4`` and drives ``NFT`` otherwise: one round trip when nothing changes,
two when it does. ``flowtable_reads`` / ``plan_flowtable`` / ``finish_flowtable`` are the
same three steps for either backend, as the gateway action merges them with other parts'
(a snapshot holding other planners' sections, a spec merged into others'): every key of
ours starts with ``ft:``.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
    classify_nft_error,
    nft_hint,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    fw4 as _fw4,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    hotplug as _hotplug,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    probe as _probe,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.failure import (
    explain_failure,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    Desired,
    desired_state,
    select_devices,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import (
    parse_listing,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.persist import (
    WANTED_BY,
    file_plan,
    loader_command,
    nft_path,
    should_be_active,
    unit_name,
    unit_path,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.plan import (
    Current,
    check_devices_free,
    parse_chain_mode,
    parse_owned,
    plan_chain,
    plan_owned,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.reads import (
    PREFIX,
    listing,
    reads_for,
    unit_state,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.undo import chain_undo, owned_undo
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
    FileChange,
    Read,
    Snapshot,
    Step,
    Target,
    argv,
)


@dataclasses.dataclass
class FtPlan:
    """The predicted return values and what to apply (an empty spec when nothing changes)."""

    result: dict[str, t.Any]
    spec: ApplySpec
    desired: Desired | None = None
    snapshot: Snapshot | None = None
    devices: list[str] = dataclasses.field(default_factory=list)
    fw4: _fw4.Fw4Plan | None = None


# --- plan --------------------------------------------------------------------------------
def _listing_out(snapshot: Snapshot, key: str, what: str) -> str | None:
    """stdout of a listing; None when the object does not exist; raises on other errors."""
    sec = snapshot.get(PREFIX + key)
    if sec is None:
        raise FlowOffloadError(f"the read script printed no {PREFIX}{key} section; see stdout")
    if sec.rc == 0:
        return sec.out
    if sec.rc == 127:
        raise FlowOffloadError("the nft binary was not found on the target; install nftables (nft)", stderr=sec.err)
    kind = classify_nft_error(sec.err)
    if kind == "enoent":
        return None
    hint = nft_hint(sec.err)
    raise FlowOffloadError(f"listing the {what} failed: {sec.err.strip()}" + (f"; {hint}" if hint else ""),
                           rc=sec.rc, stderr=sec.err)


def read_current(snapshot: Snapshot, desired: Desired) -> Current:
    if desired.chain is None:
        json_text = _listing_out(snapshot, "table-json", f"table {desired.family} {desired.table}")
        return parse_owned(json_text, snapshot.text(PREFIX + "table-text"), desired)
    chain_json = _listing_out(snapshot, "chain-json", f"chain {desired.family} {desired.table} {desired.chain}")
    ft_json = _listing_out(snapshot, "ft-json", f"flowtable {desired.name}") if chain_json is not None else None
    pair = (ft_json, snapshot.text(PREFIX + "ft-text")) if ft_json is not None else None
    return parse_chain_mode(chain_json, pair, desired)


def _file(snapshot: Snapshot, key: str) -> str | None:
    return snapshot.out(PREFIX + key)


def _hardware(desired: Desired, snapshot: Snapshot, devices: t.Sequence[str],
              warnings: list[str]) -> tuple[bool, str]:
    """(hardware, fallback_reason) from the probe verdicts."""
    if desired.offload == "false" or desired.state == "absent":
        return False, ""
    verdicts = _probe.hardware_verdicts(snapshot)
    refused = [dev for dev in devices if verdicts.get(dev, (None, ""))[0] is False]
    unknown = [dev for dev in devices if verdicts.get(dev, (None, ""))[0] is None]
    if desired.offload == "true":
        if refused:
            answers = "; ".join(verdicts[dev][1] for dev in refused)
            raise FlowOffloadError(
                f"offload: hardware offload is not supported on {', '.join(refused)} ({answers}); use "
                "offload=auto (falls back to software) or offload=false, or remove those devices")
        if unknown:
            warnings.append("offload=true: the kernel gave no answer for " + "; ".join(
                verdicts.get(dev, (None, f"{dev}: not probed"))[1] for dev in unknown))
        return True, ""
    if not refused and not unknown:
        return True, ""
    answers = "; ".join(verdicts.get(dev, (None, f"{dev} was not probed"))[1] for dev in refused + unknown)
    reason = f"the kernel did not accept 'flags offload' on {', '.join(refused + unknown)}: {answers}"
    warnings.append(f"offload=auto: {reason}; using software offload")
    return False, reason


def _expect(snapshot: Snapshot, key: str, code: str) -> Expect:
    sec = snapshot.get(key)
    out = (sec.out if sec else "") + f"fo_rc={sec.rc if sec else 0}\n"
    return Expect(key, f"(\n{code}\n) 2>/dev/null\necho \"fo_rc=$?\"", out)


def _plan_nft(snapshot: Snapshot, desired: Desired, check_mode: bool) -> FtPlan:
    """Plan of the nft backend from the read snapshot: predicted result + ApplySpec (pure)."""
    # the plan is the same in check mode (run_flowtable decides whether to apply); only the
    # words of a warning differ
    host = _host.host_from(snapshot)
    openwrt = bool(host["openwrt"])
    # systemd must run, not merely be installed (containers, chroots, routers that ship
    # systemctl without booting systemd: there daemon-reload fails after the change)
    systemd = host.get("init") == "systemd" and "systemctl" in host["tools"] and not openwrt
    warnings: list[str] = []
    devices: list[str] = []
    skipped: list[str] = []
    if desired.state == "present":
        present = _host.netdevs(snapshot) if snapshot.out("host:netdevs") is not None else None
        devices, skipped = select_devices(desired, lambda dev: present is None or dev in present)
        if skipped:
            warnings.append(f"missing_devices=skip: skipped {', '.join(skipped)} (no such device)")
    current = read_current(snapshot, desired)
    hardware, fallback = _hardware(desired, snapshot, devices, warnings)
    new = desired.flowtable(devices, hardware) if desired.state == "present" else None
    if desired.chain is not None:
        family_fts = parse_listing(snapshot.out(PREFIX + "flowtables") or "", "")
        check_devices_free(Current(flowtables=[ft for ft in family_fts if ft.table == desired.table]), new)
    plan = (plan_owned if desired.chain is None else plan_chain)(current, desired, new)
    if plan.commands and new is not None and _probe.software_verdict(snapshot)[0] is False:
        raise FlowOffloadError(f"offload: {_probe.software_verdict(snapshot)[1]}; nothing was changed")
    file_key = "file-openwrt" if openwrt else "file"
    entries = file_plan(desired, plan, _file(snapshot, file_key), _file(snapshot, "unit"), openwrt, systemd)
    own = next((e["after"] for e in entries if e["path"] == nft_path(desired, openwrt)), _file(snapshot, file_key) or "")
    persisted, shared_before = _hotplug.before_files(snapshot.out)
    shared = _hotplug.hotplug_plan(persisted, nft_path(desired, openwrt), own, shared_before, openwrt,
                                   "udevadm" in host["tools"])
    entries += shared
    if not openwrt and not systemd and desired.persist and desired.state == "present":
        warnings.append(f"systemd does not run here (init: {host.get('init') or 'unknown'}"
                        f"{'' if 'systemctl' in host['tools'] else ', no systemctl'}): the persistence file "
                        "is written but no systemd unit can load "
                        f"it at boot; run '{loader_command(desired, nft_path(desired, False))}' from your "
                        "init system after the firewall")
    unit_after = next((e["after"] for e in entries if e["path"] == unit_path(desired)), None)
    post, unit_diff = _unit_plan(desired, snapshot, systemd, unit_after, check_mode, warnings)
    if any(e["path"] == _hotplug.UDEV_RULE_PATH for e in shared) and "udevadm" in host["tools"]:
        post.append(Step(PREFIX + "udev-reload", "udevadm control --reload", check=False))
    # the collection's own folder goes with its last file (rmdir: only when empty)
    folder = _hotplug.remove_dir(snapshot.out(_hotplug.PREFIX + "dir"), entries)
    if folder:
        post.append(Step(PREFIX + "rmdir", argv("rmdir", _hotplug.COLLECTION_DIR), check=False))
    spec = ApplySpec(nft=list(plan.commands), post=post,
                     files=[FileChange(e["path"], e["after"] or None, e["mode"]) for e in entries])
    if plan.commands:  # what an armed rollback puts back (target/confirm.py)
        if desired.chain is None:
            spec.undo_nft = owned_undo(desired, snapshot.out(PREFIX + "table-text") if current.exists else None)
        else:
            spec.undo = [chain_undo(desired, current)]
    if spec.changes():
        keys = ["table-json", "table-text"] if desired.chain is None else ["chain-json", "ft-json", "ft-text"]
        keys += [file_key, "unit", "hp:persisted", "hp:loader", "hp:udev", "hp:net", "hp:iface"]
        reads = {r.key: r.code for r in reads_for(desired)}
        spec.expect = [_expect(snapshot, PREFIX + key, reads[PREFIX + key]) for key in keys]
        what = "table" if desired.chain is None else "flowtable"
        spec.readback = [Read(PREFIX + "after-json", listing(what, desired, True)),
                         Read(PREFIX + "after-text", listing(what, desired, False))]
    if openwrt and hardware:
        warnings.append(_fw4.OPENWRT_WARNING)  # one text for both backends
    table = f"{desired.family} {desired.table}"
    diff = [{"before_header": f"nft: {table} (owned objects)", "after_header": f"nft: {table} (owned objects)",
             "before": plan.before, "after": plan.after}]
    diff += [{"before_header": e["path"], "after_header": e["path"], "before": e["before"], "after": e["after"]}
             for e in entries]
    if unit_diff:
        diff.append(unit_diff)
    if folder:
        header = f"{_hotplug.COLLECTION_DIR}/ (folder, removed: nothing else is in it)"
        diff.append({"before_header": header, "after_header": header, "before": f"{_hotplug.COLLECTION_DIR}/\n",
                     "after": ""})
    result = {
        "changed": spec.changes(),
        "commands": list(plan.commands),
        "flowtable": plan.flowtable.as_dict() if plan.flowtable else {},
        "hardware_offload": bool(new and new.offload),
        "fallback_reason": fallback,
        "skipped_devices": skipped,
        "persist_files": [e["path"] for e in entries] + ([_hotplug.COLLECTION_DIR] if folder else []),
        "diff": diff,
        "warnings": warnings,
    }
    return FtPlan(result, spec, desired, snapshot, devices)


def _state_words(installed: bool, enabled: bool, active: bool | None) -> str:
    return (f"{('enabled' if enabled else 'disabled') if installed else 'not installed'}, "
            f"{'active' if active else 'inactive' if active is False else 'active state unknown'}")


def _unit_plan(desired: Desired, snapshot: Snapshot, systemd: bool, unit_after: str | None, check_mode: bool,
               warnings: list[str]) -> tuple[list[Step], dict[str, str] | None]:
    """The systemd steps for the table's unit and the diff of its state (None: unchanged).

    A wanted unit is enabled and, where nftables.service runs (or is not installed),
    started: ``ReloadPropagatedFrom=nftables.service`` reaches active units only, so an
    inactive one lets ``systemctl reload nftables`` drop the flowtables until the next
    restart (issue 19). The start runs the guarded loader, which finds the objects this
    apply has just loaded and leaves them as they are. A unit that goes is stopped (no
    ExecStop: the ruleset is the batch's business), disabled and its links removed; so is
    one whose file is gone but which is still active or linked.
    """
    if not systemd:
        return [], None
    unit = unit_name(desired)
    before_file = _file(snapshot, "unit")
    wanted = bool(unit_after) if unit_after is not None else bool(before_file)
    enabled, active = unit_state(snapshot)
    run_it = should_be_active(_host.parse_units(snapshot.text(_host.PREFIX + "systemd-units")))
    steps: list[Step] = []
    after = (bool(before_file), enabled, active)
    if wanted:
        if unit_after is not None or not enabled:
            steps += [Step(PREFIX + "daemon-reload", "systemctl daemon-reload"),
                      Step(PREFIX + "enable", argv("systemctl", "enable", unit))]
        start = run_it and (active is False or (active is None and bool(unit_after)))
        if start:
            steps.append(Step(PREFIX + "start", argv("systemctl", "start", unit)))
        after = (True, True, True if start else active)
        if start and before_file and unit_after is None:
            # nothing else about the unit changes: the host drifted (or an older version of
            # the collection never started it); say why the run reports a change
            warnings.append(
                f"unit {unit} was {'enabled' if enabled else 'disabled'} but inactive (stopped by hand, failed, or "
                "never started by an older version of flowoffload.nft): 'systemctl reload nftables' reaches only "
                f"active units, so a reload would drop what it loads into {desired.family} {desired.table} until the "
                "next restart or reboot; " + ("check mode: the run would start it" if check_mode else "started it")
                + " (its start finds the loaded flowtables and changes nothing in the ruleset)")
    elif unit_after == "" or active or enabled:
        wants = [f"/etc/systemd/system/{target}.wants/{unit}" for target in WANTED_BY]
        steps.append(Step(PREFIX + "disable", f"{argv('systemctl', 'stop', unit)} >/dev/null 2>&1\n"
                          f"{argv('systemctl', 'disable', unit)} >/dev/null 2>&1\n"
                          f"rm -f {argv(*wants)}\nsystemctl daemon-reload"))
        after = (False, False, False)
    before_words, after_words = _state_words(bool(before_file), enabled, active), _state_words(*after)
    if not steps or before_words == after_words:
        return steps, None
    header = f"systemd: {unit}"
    return steps, {"before_header": header, "after_header": header, "before": before_words + "\n",
                   "after": after_words + "\n"}


# --- finish --------------------------------------------------------------------------------
def _finish_nft(plan: FtPlan, apply_result: ApplyResult | None) -> dict[str, t.Any]:
    """Final return values: the plan's, with ``flowtable`` read back after an apply."""
    result = dict(plan.result)
    if apply_result is None:
        return result
    if not apply_result.ok:
        raise explain_failure(plan, apply_result)
    desired = plan.desired
    json_text = apply_result.snapshot.out(PREFIX + "after-json")
    if desired is not None and desired.state == "present" and json_text is not None:
        found = [ft for ft in parse_listing(json_text, apply_result.snapshot.text(PREFIX + "after-text"))
                 if ft.name == desired.name and ft.table == desired.table]
        if found:
            result["flowtable"] = found[0].as_dict()
    return result


class NftPart:
    """The nft backend as the one driver runs it (``target.driver.Part``)."""

    def reads(self, params: Params) -> list[Read]:
        """Everything the plan needs, for one read script (validates params first)."""
        return _host.host_reads() + reads_for(desired_state(params))

    def plan(self, snapshot: Snapshot, params: Params, check_mode: bool) -> FtPlan:
        return _plan_nft(snapshot, desired_state(params), check_mode)

    def finish(self, plan: FtPlan, applied: ApplyResult | None) -> dict[str, t.Any]:
        return _finish_nft(plan, applied)


NFT = NftPart()


# --- the flowtable module: backend nft or fw4 (the gateway action calls these three) -----------
def flowtable_reads(params: Params) -> list[Read]:
    """Everything the plan needs, for one read script (validates params first)."""
    if desired_state(params).backend == "fw4":
        return _fw4.fw4_reads(params)
    return NFT.reads(params)


def plan_flowtable(snapshot: Snapshot, params: Params, check_mode: bool) -> FtPlan:
    """Plan from the read snapshot: predicted result + ApplySpec (pure)."""
    desired = desired_state(params)
    if desired.backend == "fw4":
        fw4_plan = _fw4.plan_fw4(snapshot, params, check_mode)
        return FtPlan(fw4_plan.result, fw4_plan.spec, desired, snapshot, fw4=fw4_plan)
    return NFT.plan(snapshot, params, check_mode)


def finish_flowtable(plan: FtPlan, apply_result: ApplyResult | None) -> dict[str, t.Any]:
    """Final return values of either backend's plan."""
    if plan.fw4 is not None:
        return _fw4.finish_fw4(plan.fw4, apply_result)
    return NFT.finish(plan, apply_result)


def run_flowtable(target: Target, params: Params, check_mode: bool) -> dict[str, t.Any]:
    """read -> plan -> (apply) -> finish; at most two round trips (fw4: its own backend)."""
    desired = desired_state(params)  # refuse bad input before any script runs
    if desired.backend == "fw4":
        return _fw4.run_fw4(target, params, check_mode)
    return drive(NFT, target, params, check_mode)

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module on the controller: read -> plan -> apply -> verify (private).

``flowtable_reads(params)`` lists what one read script prints (keys ``ft:*``, ``host:*``,
``probe:*``); ``plan_flowtable(snapshot, params, check_mode)`` plans from it (pure) and
gives the predicted result and the ``ApplySpec``; ``finish_flowtable(plan, apply_result)``
turns the apply script's read-back (or its failure) into the module's return values;
``run_flowtable`` chains them: one round trip when nothing changes, two when it does.
The three pieces work on a snapshot holding other planners' sections and with the spec
merged into others' (the gateway action): every key of ours starts with ``ft:``.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import hotplug as _hotplug
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import probe as _probe
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
    classify_nft_error,
    nft_hint,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.model import (
    Current,
    Desired,
    FlowtableModel,
    check_devices_free,
    desired_state,
    parse_chain_mode,
    parse_owned,
    plan_chain,
    plan_owned,
    select_devices,
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
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import fw4 as _fw4
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.nft import parse_flowtables
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Expect,
    FileChange,
    Read,
    Snapshot,
    Step,
    apply_host,
    argv,
    file_code,
    read_host,
    shq,
)

PREFIX = "ft:"
OPENWRT_WARNING = (
    "OpenWrt's kernel (generic patch 701) accepts 'flags offload' even where the NIC cannot "
    "offload, so acceptance proves nothing; the proof of hardware offload is conntrack "
    "entries marked [HW_OFFLOAD]"
)
STALE = "the host changed while planning (another run or an administrator); nothing was changed; run again"


@dataclasses.dataclass
class FtPlan:
    """The predicted return values and what to apply (an empty spec when nothing changes)."""

    result: dict[str, t.Any]
    spec: ApplySpec
    desired: Desired | None = None
    snapshot: Snapshot | None = None
    devices: list[str] = dataclasses.field(default_factory=list)
    fw4: t.Any = None


# --- reads -------------------------------------------------------------------------------
def _listing(what: str, desired: Desired, json_out: bool) -> str:
    spec = [desired.family, desired.table] + ([desired.chain] if what == "chain" else [])
    if what == "flowtable":
        spec.append(desired.name)
    return argv("nft", *(["-j"] if json_out else []), "list", what, *spec)


def _unit_state_code(unit: str) -> str:
    """``systemctl is-enabled`` and ``is-active`` of the collection's unit without a
    process: enabled is the links ``enable`` makes in the .wants folders of its [Install]
    section; active is systemd's ``/run/systemd/units/invocation:UNIT`` link, which PID 1
    keeps while the unit is active (removed when it stops or fails). Prints ``enabled
    active``, ``disabled inactive``, ...; the second word only where /run/systemd/units
    exists (systemd 233 and later). rc 1 when not enabled, as is-enabled."""
    links = " && ".join(f"[ -L {shq(f'/etc/systemd/system/{w}.wants/{unit}')} ]" for w in WANTED_BY)
    invocation = shq(f"/run/systemd/units/invocation:{unit}")
    return (f"if {links}; then fo_ue=enabled; else fo_ue=disabled; fi\n"
            "if [ ! -d /run/systemd/units ]; then echo \"$fo_ue\"\n"
            f"elif [ -L {invocation} ]; then echo \"$fo_ue active\"\n"
            "else echo \"$fo_ue inactive\"; fi\n"
            "[ \"$fo_ue\" = enabled ] || fo_rc 1")


def unit_state(snapshot: Snapshot) -> tuple[bool, bool | None]:
    """(enabled, active) of the unit from the ``unit-enabled`` read; active None when the
    read could not tell (no /run/systemd/units, or a snapshot without the word)."""
    words = snapshot.text(PREFIX + "unit-enabled").split()
    active = {"active": True, "inactive": False}.get(words[1]) if len(words) > 1 else None
    return bool(words) and words[0] == "enabled", active


def _reads_for(desired: Desired) -> list[Read]:
    reads: list[Read] = []
    if desired.chain is None:
        reads += [Read(PREFIX + "table-json", _listing("table", desired, True)),
                  Read(PREFIX + "table-text", _listing("table", desired, False))]
    else:
        reads += [Read(PREFIX + "chain-json", _listing("chain", desired, True)),
                  Read(PREFIX + "ft-json", _listing("flowtable", desired, True)),
                  Read(PREFIX + "ft-text", _listing("flowtable", desired, False)),
                  Read(PREFIX + "flowtables", argv("nft", "-j", "list", "flowtables", desired.family))]
    reads += [
        Read(PREFIX + "file", file_code(nft_path(desired, False))),
        Read(PREFIX + "file-openwrt", file_code(nft_path(desired, True))),
        Read(PREFIX + "unit", file_code(unit_path(desired))),
        Read(PREFIX + "unit-enabled", _unit_state_code(unit_name(desired))),
    ] + _hotplug.hotplug_reads()
    if desired.state == "present":
        reads.append(_probe.probe_read())
    return reads


def flowtable_reads(params: t.Mapping[str, t.Any]) -> list[Read]:
    """Everything the plan needs, for one read script (validates params first)."""
    desired = desired_state(params)
    if desired.backend == "fw4":
        return _fw4.fw4_reads(params)
    return _host.host_reads() + _reads_for(desired)


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


def plan_flowtable(snapshot: Snapshot, params: t.Mapping[str, t.Any], check_mode: bool) -> FtPlan:
    """Plan from the read snapshot: predicted result + ApplySpec (pure)."""
    desired = desired_state(params)
    if desired.backend == "fw4":
        fw4_plan = _fw4.plan_fw4(snapshot, params, check_mode)
        return FtPlan(fw4_plan.result, fw4_plan.spec, desired, snapshot, fw4=fw4_plan)
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
        family_fts = parse_flowtables(snapshot.out(PREFIX + "flowtables") or "", "")
        same_table = [FlowtableModel.from_dict(ft) for ft in family_fts if ft["table"] == desired.table]
        check_devices_free(Current(flowtables=same_table), new)
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
    if spec.changes():
        keys = ["table-json", "table-text"] if desired.chain is None else ["chain-json", "ft-json", "ft-text"]
        keys += [file_key, "unit", "hp:persisted", "hp:loader", "hp:udev", "hp:net", "hp:iface"]
        reads = {r.key: r.code for r in _reads_for(desired)}
        spec.expect = [_expect(snapshot, PREFIX + key, reads[PREFIX + key]) for key in keys]
        what = "table" if desired.chain is None else "flowtable"
        spec.readback = [Read(PREFIX + "after-json", _listing(what, desired, True)),
                         Read(PREFIX + "after-text", _listing(what, desired, False))]
    if openwrt and hardware:
        warnings.append(OPENWRT_WARNING)
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


# --- finish ------------------------------------------------------------------------------
def _first_error(stderr: str) -> tuple[str, str]:
    """(kind, line) of the FIRST error nft reports (later ones are often consequences)."""
    lines = (stderr or "").splitlines()
    for line in lines:
        if "Error:" in line or "Operation not permitted" in line:
            return classify_nft_error(line), line.strip()
    return classify_nft_error(stderr), (lines[0].strip() if lines else "")


def explain_failure(plan: FtPlan, res: ApplyResult) -> FlowOffloadError:
    """The apply script stopped: a message naming the cause and the fix (no extra round trip)."""
    sec = res.section()
    err = sec.err if sec else res.stderr
    details = {"rc": res.rc, "stdout": res.stdout, "stderr": err, "commands": list(plan.spec.nft)}
    if res.status == "stale":
        return FlowOffloadError(f"{STALE} (state read as {res.key} differs)", **details)
    if res.status == "lost":
        return FlowOffloadError(f"the apply script ended without a result (rc={res.rc}): {res.stderr.strip()}; "
                                "check the host's state before running again", **details)
    if res.key.startswith("stage:"):
        path = res.key[len("stage:"):]
        return FlowOffloadError(f"cannot write {path}: {err.strip() or 'write failed'} (disk full or read-only?); "
                                "nothing was changed (ruleset and files as before); free space or fix the "
                                "directory and run again", **details)
    if res.key == "lock":
        return FlowOffloadError(f"could not take the host lock: {err.strip()}; nothing was changed", **details)
    if res.key in ("nft-check", "nft-apply"):
        stage = "nft -c validation" if res.key == "nft-check" else "apply"
        kind, detail = _first_error(err)
        head = f"nft rejected the batch ({stage}; nothing was applied): {detail or f'rc={res.rc}'}"
        return FlowOffloadError(f"{head}; {_advice(plan, kind, detail)}", **details)
    if res.status == "failed-after":
        return FlowOffloadError(f"the ruleset and files were changed but '{res.key}' failed: {err.strip()}; "
                                "fix it and run again (the next run completes the change)", **details)
    return FlowOffloadError(f"the apply script failed at {res.key}: {err.strip()}", **details)


def _advice(plan: FtPlan, kind: str, detail: str) -> str:
    snapshot = plan.snapshot or Snapshot({})
    if kind == "eperm":
        return "nft needs CAP_NET_ADMIN: run the task as root (become: true)"
    if kind == "enoent":
        if _probe.software_verdict(snapshot)[0] is False:
            return ("the kernel lacks flowtable support (nf_flow_table): even a flowtable without devices is "
                    f"refused. Hint: {nft_hint(detail)}; on Debian/Ubuntu the modules come with the kernel "
                    "image package (linux-image-*/linux-modules-*)")
        return ("a listed device does not exist any more (devices: " + ", ".join(plan.devices) + "); "
                + nft_hint(detail))
    if kind == "eopnotsupp":
        verdicts = _probe.hardware_verdicts(snapshot)
        failing = [dev for dev in plan.devices if verdicts.get(dev, (None, ""))[0] is False]
        names = ", ".join(failing) if failing else "one of " + ", ".join(plan.devices)
        return (f"offload: hardware offload is not supported on {names} (the driver cannot offload flows); "
                "use offload=auto (falls back to software) or offload=false, or remove those devices")
    if kind == "eexist":
        desired = plan.desired
        others = []
        if desired is not None:
            json_text = snapshot.out(PREFIX + ("table-json" if desired.chain is None else "flowtables")) or ""
            others = [ft for ft in parse_flowtables(json_text, "") if ft["table"] == desired.table
                      and ft["name"] != desired.name and set(ft["devices"]) & set(plan.devices)]
        where = "; ".join(f"{', '.join(sorted(set(ft['devices']) & set(plan.devices)))} already in flowtable "
                          f"{ft['name']}" for ft in others) or "a device is already in another flowtable of this table"
        return (f"devices: {where}; a device can be in only one flowtable per table: remove it from devices "
                "or from the other flowtable")
    if kind == "ebusy":
        return f"{nft_hint(detail)} (a rule outside flowoffload.nft uses the flowtable; remove that rule first)"
    return nft_hint(detail) or "see stderr"


def finish_flowtable(plan: FtPlan, apply_result: ApplyResult | None) -> dict[str, t.Any]:
    """Final return values: the plan's, with ``flowtable`` read back after an apply."""
    if plan.fw4 is not None:
        return _fw4.finish_fw4(plan.fw4, apply_result)
    result = dict(plan.result)
    if apply_result is None:
        return result
    if not apply_result.ok:
        raise explain_failure(plan, apply_result)
    desired = plan.desired
    json_text = apply_result.snapshot.out(PREFIX + "after-json")
    if desired is not None and desired.state == "present" and json_text is not None:
        found = [ft for ft in parse_flowtables(json_text, apply_result.snapshot.text(PREFIX + "after-text"))
                 if ft["name"] == desired.name and ft["table"] == desired.table]
        if found:
            result["flowtable"] = FlowtableModel.from_dict(found[0]).as_dict()
    return result


def run_flowtable(target: t.Any, params: t.Mapping[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    """read -> plan -> (apply) -> finish; at most two round trips."""
    desired = desired_state(params)  # refuse bad input before any script runs
    if desired.backend == "fw4":
        return _fw4.run_fw4(target, params, check_mode)
    plan = plan_flowtable(read_host(target, flowtable_reads(params)), params, check_mode)
    if check_mode or not plan.spec.changes():
        return finish_flowtable(plan, None)
    return finish_flowtable(plan, apply_host(target, plan.spec))

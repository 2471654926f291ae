# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flowtable module: read only what we own, plan, validate with ``nft -c``, apply (private).

Everything that talks to the host goes through the Runner; planning is in _flowtable.
"""
from __future__ import annotations

import typing as t

from ansible_collections.flowoffload.nft.plugins.module_utils._errors import (
    FlowOffloadError,
    classify_nft_error,
    nft_hint,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._flowtable import (
    desired_state,
    parse_chain_mode,
    parse_owned,
    plan,
    select_devices,
    wanted_flowtable,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._flowtable_persist import (
    OPENWRT_RELEASE,
    apply_files,
    file_plan,
    fw4_apply,
    fw4_read,
    fw4_wanted,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._lock import host_lock
from ansible_collections.flowoffload.nft.plugins.module_utils._nft import (
    _list,
    list_pair,
    read_flowtables,
)
from ansible_collections.flowoffload.nft.plugins.module_utils._probe import probe_batch


def probe_table_name() -> str:
    return "flowoffload_probe_run"


def software_batch(table: str) -> str:
    return probe_batch(None, table)


def hardware_batch(table: str, device: str) -> str:
    return probe_batch(device, table)

OPENWRT_WARNING = (
    "OpenWrt's kernel (generic patch 701) accepts 'flags offload' even where the NIC cannot "
    "offload, so acceptance proves nothing; the proof of hardware offload is conntrack "
    "entries marked [HW_OFFLOAD]"
)


def read_current(runner: t.Any, desired: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Current state of only what we own: the owned table, or the chain + one flowtable."""
    family, table = desired["family"], desired["table"]
    if desired["chain"] is None:
        pair = list_pair(runner, ["table", family, table])
        if pair is None:
            return parse_owned(None, "", family, table)
        return parse_owned(pair[0], pair[1], family, table)
    nft = runner.which("nft", required=True)
    chain_json = _list(runner, nft, ["chain", family, table, desired["chain"]], True)
    ft_pair = list_pair(runner, ["flowtable", family, table, desired["name"]]) if chain_json else None
    return parse_chain_mode(chain_json, ft_pair, desired)


def first_error(stderr: str) -> t.Tuple[str, str]:
    """(kind, line) of the FIRST error nft reports.

    nft reports every failing statement of a batch; later ones are often consequences
    (a rule referencing a flowtable the kernel refused fails with ENOENT), so only the
    first one tells the cause.
    """
    lines = (stderr or "").splitlines()
    for line in lines:
        if "Error:" in line or "Operation not permitted" in line:
            return classify_nft_error(line), line.strip()
    return classify_nft_error(stderr), (lines[0].strip() if lines else "")


def _batch(lines: t.Sequence[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


def _fail(msg: str, res: t.Any, lines: t.Sequence[str]) -> FlowOffloadError:
    return FlowOffloadError(msg, cmd=res.cmd, rc=res.rc, stdout=res.stdout, stderr=res.stderr,
                            commands=list(lines))


def explain_failure(runner: t.Any, nft: str, desired: t.Mapping[str, t.Any], devices: t.Sequence[str],
                    res: t.Any, lines: t.Sequence[str], stage: str) -> FlowOffloadError:
    """Turn a rejected batch into an error that names the cause and the fix."""
    kind, detail = first_error(res.stderr)
    detail = detail or f"rc={res.rc}"
    head = f"nft rejected the batch ({stage}; nothing was applied): {detail}"
    if kind == "eperm":
        return _fail(f"{head}; nft needs CAP_NET_ADMIN: run the task as root (become: true)", res, lines)
    if kind == "enoent":
        probe = runner.run([nft, "-c", "-f", "-"], data=software_batch(probe_table_name()))
        if first_error(probe.stderr)[0] == "enoent":
            return _fail(
                f"{head}; the kernel lacks flowtable support (nf_flow_table): even a "
                f"flowtable without devices is refused. Hint: {nft_hint(detail)}; on "
                "Debian/Ubuntu the modules come with the kernel image package "
                "(linux-image-*/linux-modules-*)", res, lines)
        return _fail(f"{head}; {nft_hint(detail)}", res, lines)
    if kind == "eopnotsupp":
        failing = []
        for dev in devices:
            probe = runner.run([nft, "-c", "-f", "-"], data=hardware_batch(probe_table_name(), dev))
            if first_error(probe.stderr)[0] == "eopnotsupp":
                failing.append(dev)
        names = ", ".join(failing) if failing else "one of " + ", ".join(devices)
        return _fail(
            f"{head}; offload: hardware offload is not supported on {names} (the driver cannot "
            "offload flows); use offload=auto (falls back to software) or offload=false, or "
            "remove those devices", res, lines)
    if kind == "eexist":
        others = [ft for ft in read_flowtables(runner, desired["family"], desired["table"])
                  if ft["name"] != desired["name"] and set(ft["devices"]) & set(devices)]
        where = "; ".join(
            f"{', '.join(sorted(set(ft['devices']) & set(devices)))} already in flowtable {ft['name']}"
            for ft in others
        ) or "a device is already in another flowtable of this table"
        return _fail(
            f"{head}; devices: {where} (table {desired['family']} {desired['table']}); a device "
            "can be in only one flowtable per table: remove it from devices or from the other "
            "flowtable", res, lines)
    if kind == "ebusy":
        return _fail(f"{head}; {nft_hint(detail)} (a rule outside flowoffload.nft uses the "
                     "flowtable; remove that rule first)", res, lines)
    return _fail(f"{head}; {nft_hint(detail) or 'see stderr'}", res, lines)


def run_nft(runner: t.Any, params: t.Mapping[str, t.Any], check_mode: bool) -> t.Dict[str, t.Any]:
    desired = desired_state(params)
    if desired["backend"] == "fw4":
        return run_fw4(runner, desired, check_mode)
    nft = runner.which("nft", required=True)
    openwrt = runner.exists(OPENWRT_RELEASE)
    warnings: t.List[str] = []
    devices: t.List[str] = []
    skipped: t.List[str] = []
    if desired["state"] == "present":
        devices, skipped = select_devices(desired, lambda dev: runner.exists(f"/sys/class/net/{dev}"))
        if skipped:
            warnings.append(f"missing_devices=skip: skipped {', '.join(skipped)} (no such device)")
    fallback = ""
    with host_lock():
        current = read_current(runner, desired)
        cur_ft = next((ft for ft in current["flowtables"] if ft["name"] == desired["name"]), None)
        mode = desired["offload"]
        hardware = mode == "true" or (mode == "auto" and not (cur_ft and not cur_ft["offload"]))
        new_ft = wanted_flowtable(desired, devices, hardware) if desired["state"] == "present" else None
        result = plan(current, desired, new_ft)
        if mode == "auto" and cur_ft and not cur_ft["offload"] and result["commands"]:
            # Something else changes: probe hardware again with the new batch.
            hardware = True
            new_ft = wanted_flowtable(desired, devices, True)
            result = plan(current, desired, new_ft)
        elif mode == "auto" and cur_ft and not cur_ft["offload"] and new_ft:
            fallback = ("offload=auto: the existing flowtable is software-only and nothing else "
                        "changes, so it is kept without a new hardware probe")
        lines = result["commands"]
        if lines:
            res = runner.run([nft, "-c", "-f", "-"], data=_batch(lines))
            kind, detail = first_error(res.stderr) if res.rc else ("", "")
            if kind == "eopnotsupp" and mode == "auto" and new_ft and new_ft["offload"]:
                fallback = f"the kernel refused 'flags offload' with EOPNOTSUPP ({detail})"
                warnings.append(f"offload=auto: {fallback}; using software offload")
                hardware = False
                new_ft = wanted_flowtable(desired, devices, False)
                result = plan(current, desired, new_ft)
                lines = result["commands"]
                res = runner.run([nft, "-c", "-f", "-"], data=_batch(lines)) if lines else res._replace(rc=0)
                kind = first_error(res.stderr)[0] if res.rc else ""
            if res.rc and kind == "eperm" and check_mode:
                warnings.append(
                    "check mode could not validate the batch with nft -c (Operation not "
                    "permitted: needs root/CAP_NET_ADMIN); run with become: true to validate")
            elif res.rc:
                raise explain_failure(runner, nft, desired, devices, res, lines, "nft -c validation")
            if lines and not check_mode:
                res = runner.run([nft, "-f", "-"], data=_batch(lines))
                if res.rc:
                    raise explain_failure(runner, nft, desired, devices, res, lines, "apply")
        after_ft = next((ft for ft in result["after_flowtables"] if ft["name"] == desired["name"]), None)
        if lines and not check_mode and new_ft:
            read_back = [ft for ft in read_flowtables(runner, desired["family"], desired["table"])
                         if ft["name"] == desired["name"]]
            after_ft = read_back[0] if read_back else after_ft
        entries = file_plan(desired, result["after"], after_ft, runner.read, openwrt, nft)
        files_changed, file_warnings = apply_files(runner, desired, entries, openwrt, check_mode)
        warnings.extend(file_warnings)
    if openwrt and new_ft and new_ft["offload"]:
        warnings.append(OPENWRT_WARNING)
    spec = f"{desired['family']} {desired['table']}"
    diff = [{"before_header": f"nft: {spec} (owned objects)", "after_header": f"nft: {spec} (owned objects)",
             "before": result["before"], "after": result["after"]}]
    diff += [{"before_header": e["path"], "after_header": e["path"], "before": e["before"], "after": e["after"]}
             for e in entries]
    return {
        "changed": bool(lines) or files_changed,
        "commands": list(lines),
        "flowtable": dict(after_ft) if after_ft and desired["state"] == "present" else {},
        "hardware_offload": bool(new_ft and new_ft["offload"]),
        "fallback_reason": fallback,
        "skipped_devices": skipped,
        "persist_files": [entry["path"] for entry in entries],
        "diff": diff,
        "warnings": warnings,
    }


def run_fw4(runner: t.Any, desired: t.Mapping[str, t.Any], check_mode: bool) -> t.Dict[str, t.Any]:
    """backend=fw4: set firewall4's UCI offloading knobs and reload it."""
    if not runner.exists(OPENWRT_RELEASE):
        raise FlowOffloadError(
            "backend: fw4 works only on OpenWrt (no /etc/openwrt_release here); use backend=nft")
    wanted = fw4_wanted(desired)
    with host_lock():
        current = fw4_read(runner)
        changes = {k: v for k, v in wanted.items() if current.get(k) != v}
        commands = [f"uci set firewall.@defaults[0].{k}={v}" for k, v in sorted(changes.items())]
        if changes:
            commands += ["uci commit firewall", "fw4 reload"]
        if changes and not check_mode:
            fw4_apply(runner, changes)
        fts = [ft for ft in read_flowtables(runner, "inet", "fw4") if ft["name"] == "ft"]
    warnings = [OPENWRT_WARNING] if wanted["flow_offloading_hw"] == "1" else []
    flowtable = fts[0] if fts and desired["state"] == "present" else {}
    return {
        "changed": bool(changes),
        "commands": commands,
        "flowtable": flowtable,
        "hardware_offload": bool(flowtable.get("offload")) if flowtable else wanted["flow_offloading_hw"] == "1",
        "fallback_reason": "",
        "skipped_devices": [],
        "persist_files": ["/etc/config/firewall"] if changes else [],
        "diff": {
            "before": "".join(f"{k}={current.get(k)}\n" for k in sorted(wanted)),
            "after": "".join(f"{k}={v}\n" for k, v in sorted(wanted.items())),
        },
        "warnings": warnings,
    }

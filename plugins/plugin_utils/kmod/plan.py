# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_kmod on the controller: plan from one read, apply in one script (private).

``kmod_reads(params)`` -> read script -> ``plan_kmod(snapshot, params, check_mode)`` ->
``KmodPlan(result, spec)`` -> (apply script, only when something changes and not in
check mode) -> ``finish_kmod(plan, apply_result)``. ``run_kmod`` does all of it with at
most two round trips (one when nothing changes).

The ApplySpec: package install and modprobe are ``pre`` steps (before the nft batch of
the other planners when the gateway action merges specs), the boot-time list is a
``FileChange`` (staged, then moved into place), rmmod runs as ``post`` steps, ``expect``
re-checks the boot-time list under the lock and the read-back is the module states.
"""
from __future__ import annotations

import dataclasses
import re
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import packages as _packages
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import host_from
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
    clip,
    shq,
    read_host,
    apply_host,
)

PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._:~=-]*$")
ABSENT = "@flowoffload-absent@"


# --- input ---------------------------------------------------------------------------
def validate_package(package: str | None) -> str | None:
    """The package option, or FlowOffloadError naming it."""
    if package is None:
        return None
    if not isinstance(package, str) or not PACKAGE_NAME.match(package):
        raise FlowOffloadError(
            f"package {package!r} is not a package name: use a name such as "
            "linux-image-6.1.0-56-amd64 (letters, digits and + . _ : ~ = -, not starting "
            "with '-'), or omit package"
        )
    return package


def desired_from(params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The validated options (FlowOffloadError naming the option on bad input)."""
    state = params.get("state") or "present"
    if state not in ("present", "absent"):
        raise FlowOffloadError(f"state must be present or absent, not {state!r}")
    modules = params.get("modules")
    return {
        "state": state,
        "persistent": bool(params.get("persistent", True)),
        "modules": _kmod.validate_modules(list(_kmod.DEFAULT_MODULES) if modules is None else modules),
        "package": validate_package(params.get("package")),
    }


def kmod_reads(params: t.Mapping[str, t.Any]) -> list[Read]:
    """The read script's sections for offload_kmod (validates params first)."""
    desired = desired_from(params)
    return _kmod.module_reads(desired["modules"]) + _kmod.persistence_reads() + [_packages.size_read()]


# --- planning (pure) -------------------------------------------------------------------
def _unload_sequence(names: t.Sequence[str], states: t.Mapping[str, _kmod.ModState]) -> list[str]:
    """Loaded modules among names, each after every module of the list that uses it."""
    rank = {m: i for i, m in enumerate(_kmod.UNLOAD_ORDER)}
    remaining = sorted((n for n in names if states[n]["state"] == "loaded"),
                       key=lambda n: rank.get(_kmod.normalize(n), len(rank)))
    order: list[str] = []
    while remaining:
        keys = {_kmod.normalize(n) for n in remaining}
        pick = next((n for n in remaining
                     if not (set(states[n].get("users") or []) & (keys - {_kmod.normalize(n)}))),
                    remaining[0])
        remaining.remove(pick)
        order.append(pick)
    return order


def _persist_actions(desired_modules: t.Sequence[str],
                     persistence: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    kind, path = persistence.get("kind", "none"), persistence.get("file", "")
    before = persistence.get("content", "") or ""
    if kind == "file":
        if desired_modules:
            after = _kmod.render_file(desired_modules)
            return [] if persistence.get("present") and before == after else [
                {"action": "write", "file": path, "before": before, "after": after}]
        return [{"action": "remove", "file": path, "before": before, "after": ""}] \
            if persistence.get("present") else []
    if kind == "block":
        after = _kmod.edit_block(before, desired_modules)
        if after == before or (not before and not desired_modules):
            return []
        return [{"action": "write", "file": path, "before": before, "after": after}]
    return []


def plan(current_states: t.Mapping[str, _kmod.ModState], desired: t.Mapping[str, t.Any],
         persistence: t.Mapping[str, t.Any],
         platform: t.Mapping[str, t.Any], released: bool = False) -> list[dict[str, t.Any]]:
    """Actions that bring the host from current_states to desired, in execution order.

    desired: {state, persistent, modules, package}. Actions: install {manager, packages},
    load {module}, write/remove {file, before, after}, unload {module}, and keep
    {module, reason} for a module that stays loaded because it is in use (no change).
    ``released``: the same apply removes the collection's own nftables objects first (the
    gateway's ``off``), so a module held only by nftables objects (no named user) is
    unloaded on a best-effort basis after them (``best_effort``: a failure is a warning).
    Raises FlowOffloadError when modules are missing and nothing can provide them.
    """
    names = list(desired.get("modules") or _kmod.DEFAULT_MODULES)
    actions: list[dict[str, t.Any]] = []
    if desired.get("state", "present") == "absent":
        actions.extend(_persist_actions([], persistence))
        unloaded: set[str] = set()
        soft: set[str] = set()
        for name in _unload_sequence(names, current_states):
            info = current_states[name]
            users = [u for u in info.get("users") or [] if u not in unloaded]
            busy = int(info.get("refcnt") or 0) - len(set(info.get("users") or []) & unloaded)
            if released and busy > 0 and not users:
                actions.append({"action": "unload", "module": name, "best_effort": True})
                unloaded.add(_kmod.normalize(name))
                soft.add(_kmod.normalize(name))
            elif busy > 0 or "[permanent]" in users:
                holders = f"used by {', '.join(users)}" if users else "held by nftables objects such as a flowtable or an offload rule"
                actions.append({"action": "keep", "module": name, "refcnt": busy, "reason": (
                    f"{name} stays loaded: it is in use ({busy} user{'s' if busy != 1 else ''}, "
                    f"{holders}); remove those users first to unload it")})
            else:
                # a module whose user may stay (best effort) may stay too
                held = bool(set(info.get("users") or []) & soft)
                actions.append({"action": "unload", "module": name, **({"best_effort": True} if held else {})})
                unloaded.add(_kmod.normalize(name))
                if held:
                    soft.add(_kmod.normalize(name))
        return actions
    missing = [n for n in names if current_states[n]["state"] == "missing"]
    if missing and platform.get("module_support") is False:
        raise FlowOffloadError(
            f"kernel modules {missing} are missing and kernel {platform.get('kernel', '')} was "
            "built without loadable module support (CONFIG_MODULES is not set) and without "
            "them: no package can add them; boot a kernel with CONFIG_NF_FLOW_TABLE, "
            "CONFIG_NF_FLOW_TABLE_INET and CONFIG_NFT_FLOW_OFFLOAD (y or m)",
            evidence="; ".join(f"{n}: {current_states[n]['evidence']}" for n in missing))
    if missing:
        manager = str(platform.get("package_manager") or "none")
        if platform.get("os_family") == "OpenWrt":
            if manager not in ("opkg", "apk"):
                raise FlowOffloadError(
                    f"modules {missing} are missing and neither opkg nor apk was found to install "
                    f"{_packages.OPENWRT_PACKAGE}; add that package to the image")
            packages = [_packages.OPENWRT_PACKAGE]
        elif desired.get("packages"):
            packages = [str(p) for p in desired["packages"]]
        elif desired.get("package"):
            packages = [str(desired["package"])]
        else:
            candidates = _packages.provider_candidates(platform)
            evidence = "; ".join(f"{n}: {current_states[n]['evidence']}" for n in missing)
            provider = " or ".join(candidates) or "a kernel package built with CONFIG_NF_FLOW_TABLE"
            unknown = [n for n in missing if _kmod.normalize(n) not in _kmod.UNLOAD_ORDER]
            spelling = (f"; {unknown} are not flow offload module names this collection knows: "
                        "check the spelling in modules" if unknown else "")
            raise FlowOffloadError(
                f"kernel modules {missing} are neither loaded, built in nor installed for kernel "
                f"{platform.get('kernel', '')}; they are provided by {provider}: install it, or set "
                f"package: {candidates[0] if candidates else '<package>'} to let offload_kmod install "
                f"it (the running kernel must be the one the package is for){spelling}",
                evidence=evidence)
        actions.append({"action": "install", "manager": manager, "packages": packages,
                        "reason": f"missing modules: {', '.join(missing)}"})
    for name in names:
        if current_states[name]["state"] in ("module", "missing"):
            actions.append({"action": "load", "module": name})
    wanted = [n for n in names if current_states[n]["state"] != "builtin"] \
        if desired.get("persistent", True) else []
    actions.extend(_persist_actions(wanted, persistence))
    return actions


def predicted_states(current_states: t.Mapping[str, _kmod.ModState],
                     actions: t.Sequence[t.Mapping[str, t.Any]]) -> dict[str, str]:
    """name -> state after the actions (what check mode reports)."""
    result = {name: str(info["state"]) for name, info in current_states.items()}
    for action in actions:
        if action["action"] == "load":
            result[action["module"]] = "loaded"
        elif action["action"] == "unload":
            result[action["module"]] = "module"
    return result


# --- the apply spec --------------------------------------------------------------------
@dataclasses.dataclass
class KmodPlan:
    """What offload_kmod will do: ``result`` as predicted, ``spec`` (empty: nothing to do)."""

    result: dict[str, t.Any]
    spec: ApplySpec
    names: list[str]
    actions: list[dict[str, t.Any]]
    platform: dict[str, t.Any]
    persistence: dict[str, t.Any]
    snapshot: Snapshot


def _expect_code(path: str) -> str:
    """Prints the file, or ABSENT when it does not exist (what ``expect`` compares)."""
    return f"if [ -e {shq(path)} ]; then cat {shq(path)}; else printf '%s' {shq(ABSENT)}; fi"


def _check_installed_code(missing: t.Sequence[str]) -> str:
    """Fails (rc 1, the names on stdout) when a module is still missing after the install."""
    mdir = _kmod.MODULES_DIR
    return (
        "fo_r=$(cat /proc/sys/kernel/osrelease 2>/dev/null || uname -r); fo_s=''\n"
        f"for fo_m in {' '.join(shq(_kmod.normalize(n)) for n in missing)}; do\n"
        "  fo_ok=''\n"
        "  modinfo -n \"$fo_m\" >/dev/null 2>&1 && fo_ok=1\n"
        f"  for fo_x in \"{mdir}/$fo_r/$fo_m\".ko*; do [ -e \"$fo_x\" ] && fo_ok=1; done\n"
        f"  grep -qE \"(^|/)$fo_m\\.ko\" \"{mdir}/$fo_r/modules.dep\" \"{mdir}/$fo_r/modules.builtin\" 2>/dev/null && fo_ok=1\n"
        "  [ -n \"$fo_ok\" ] || fo_s=\"$fo_s $fo_m\"\n"
        "done\n"
        "[ -z \"$fo_s\" ] || { echo \"still missing:$fo_s\"; exit 1; }"
    )


def build_spec(actions: t.Sequence[t.Mapping[str, t.Any]], names: t.Sequence[str],
               platform: t.Mapping[str, t.Any], persistence: t.Mapping[str, t.Any]) -> ApplySpec:
    """The ApplySpec of plan()'s actions (empty when only ``keep`` actions remain)."""
    spec = ApplySpec()
    if not any(a["action"] != "keep" for a in actions):
        return spec
    loader = "modprobe" if "modprobe" in (platform.get("tools") or {}) or not platform.get("tools") else "insmod"
    for action in actions:
        kind = action["action"]
        if kind == "install":
            spec.pre.append(Step("kmod:install", _packages.install_code(action["manager"], action["packages"])))
            missing = [n for n in names if action.get("missing") is None or n in action["missing"]]
            spec.pre.append(Step("kmod:install-check", _check_installed_code(missing)))
        elif kind == "load":
            spec.pre.append(Step("kmod:load:" + action["module"], argv(loader, action["module"])))
        elif kind == "unload":
            # rmmod, not modprobe -r: modprobe -r also removes dependencies that became
            # unused (nf_conntrack, nf_tables...), which this collection does not own.
            if action.get("best_effort"):
                # the objects that held it were deleted in this apply's nft batch; their
                # release can lag a moment behind the transaction
                rmmod = argv("rmmod", action["module"])
                spec.post.append(Step("kmod:unload:" + action["module"],
                                      f"{rmmod} 2>/dev/null || {{ sleep 1; {rmmod}; }}", check=False))
            else:
                spec.post.append(Step("kmod:unload:" + action["module"], argv("rmmod", action["module"])))
        elif kind in ("write", "remove"):
            spec.files.append(FileChange(action["file"], action["after"] if kind == "write" else None))
    if spec.files:
        before = persistence["content"] if persistence.get("exists") else ABSENT
        spec.expect.append(Expect(persistence["key"], _expect_code(persistence["file"]), before))
    spec.readback = [r for r in _kmod.module_reads(names) if r.key.startswith(_kmod.PREFIX)]
    return spec


def plan_kmod(snapshot: Snapshot, params: t.Mapping[str, t.Any], check_mode: bool,
              released: bool = False, install: bool = True,
              packages: t.Sequence[str] | None = None) -> KmodPlan:
    """The plan from one read snapshot: ``result`` (predicted) and ``spec``.

    ``released``: see ``plan()``; only the gateway action sets it. ``install=False`` (the
    gateway's ``gateway_install_packages: false``): a plan that would install a package fails
    instead, naming it. ``packages``: what to install where the modules are missing off OpenWrt
    (the gateway passes the running kernel's packages; offload_kmod has its ``package`` option).
    """
    del check_mode  # the prediction is the same; run_kmod skips the apply in check mode
    desired = desired_from(params)
    if packages:
        desired["packages"] = [validate_package(p) for p in packages]
    names = desired["modules"]
    platform = dict(host_from(snapshot))
    platform["module_support"] = _kmod.module_support_from(snapshot)
    states = _kmod.inspect_from(snapshot, names)
    persistence = _kmod.persistence_state_from(snapshot, platform)
    actions = plan(states, desired, persistence, platform, released)
    sizes: list[dict[str, t.Any]] = []
    for action in actions:
        if action["action"] == "install":
            action["missing"] = [n for n in names if states[n]["state"] == "missing"]
            if not install:
                raise FlowOffloadError(
                    f"modules {action['missing']} are missing and {', '.join(action['packages'])} would provide "
                    f"them, but installing packages is turned off; install it with {action['manager']}, or allow "
                    "the install. Nothing was changed")
            for name in action["packages"]:
                sizes.append({"name": name, "manager": action["manager"],
                              **_packages.size_from(snapshot, action["manager"], name)})
    spec = build_spec(actions, names, platform, persistence)
    files = [a for a in actions if a["action"] in ("write", "remove")]
    final_content = files[-1]["after"] if files else persistence["content"]
    result: dict[str, t.Any] = {
        "changed": spec.changes(),
        "modules": predicted_states(states, actions),
        "loaded": [a["module"] for a in actions if a["action"] == "load"],
        "unloaded": [a["module"] for a in actions if a["action"] == "unload"],
        "installed": [p for a in actions if a["action"] == "install" for p in a["packages"]],
        "packages": sizes,
        "persist_file": _persist_file(persistence, final_content),
        "warnings": [a["reason"] for a in actions if a["action"] == "keep"],
        "diff": {
            "before": persistence["content"],
            "after": final_content,
            "before_header": persistence["file"] or "(no boot-time load list)",
            "after_header": persistence["file"] or "(no boot-time load list)",
        },
    }
    return KmodPlan(result, spec, list(names), actions, platform, persistence, snapshot)


def _persist_file(persistence: t.Mapping[str, t.Any], content: str) -> str:
    kind = persistence.get("kind")
    ours = (kind == "file" and bool(content)) or (kind == "block" and _kmod.split_block(content)[2] >= 0)
    return str(persistence.get("file") or "") if ours else ""


# --- after the apply script ------------------------------------------------------------
def _said(section: t.Any) -> str:
    if section is None:
        return "no output"
    text = "\n".join(x for x in (section.err.strip(), section.out.strip()) if x)
    return clip(text, 1500) if text else "no message"


def _failure(plan: KmodPlan, res: ApplyResult) -> FlowOffloadError:
    key, sec = res.key, res.section()
    details = {"rc": sec.rc if sec else res.rc, "stdout": sec.out if sec else res.stdout[-2000:],
               "stderr": sec.err if sec else res.stderr[-2000:]}
    kernel = plan.platform.get("kernel") or ""
    if res.status == "stale":
        return FlowOffloadError(
            f"the host changed while planning ({plan.persistence.get('file') or key} is not what was read); "
            "nothing was changed; run again", **details)
    if res.status == "lost":
        return FlowOffloadError(
            f"the apply script ended without a result (rc={res.rc}): {clip(res.stderr, 500) or 'no message'}; "
            "the connection may have dropped: check the host and run again", **details)
    if key == "lock":
        return FlowOffloadError(f"could not take the host lock: {_said(sec)}", **details)
    if key.startswith("stage:"):
        path = key[len("stage:"):]
        return FlowOffloadError(
            f"cannot write {path}: {_said(sec)}; nothing was changed (free space on that filesystem "
            "or make it writable, then run again)", **details)
    if key == "kmod:install":
        action = next(a for a in plan.actions if a["action"] == "install")
        return FlowOffloadError(_packages.install_failure_message(
            action["manager"], action["packages"], sec.out if sec else "", sec.err if sec else "",
            sec.rc if sec else res.rc), **details)
    if key == "kmod:install-check":
        installed = ", ".join(p for a in plan.actions if a["action"] == "install" for p in a["packages"])
        still = (sec.out if sec else "").replace("still missing:", "").split()
        return FlowOffloadError(
            f"installed {installed} but modules {still} are still missing for the running kernel "
            f"{kernel}: that package does not ship them for this kernel (reboot into the kernel it "
            "installed, or pick the package matching uname -r)", **details)
    if key.startswith("kmod:load:"):
        name = key[len("kmod:load:"):]
        said = _said(sec)
        if sec is not None and not (sec.out.strip() or sec.err.strip()):
            said = ("no message (OpenWrt's modprobe is kmodloader, which fails silently when the kernel "
                    "has no loadable module support or the module file is absent)")
        return FlowOffloadError(
            f"loading kernel module {name} failed (modprobe {name}, rc={details['rc']}): {said}; "
            "the kernel log (dmesg) has the details (signature, symbol or version mismatch with the "
            "running kernel)", **details)
    if key.startswith("kmod:unload:"):
        name = key[len("kmod:unload:"):]
        return FlowOffloadError(
            f"unloading kernel module {name} failed (rmmod {name}, rc={details['rc']}): {_said(sec)}; "
            "the boot-time list was already updated", **details)
    if key.startswith("file:"):
        return FlowOffloadError(f"moving the staged {key[5:]} into place failed: {_said(sec)}", **details)
    return FlowOffloadError(f"the apply script failed at {key or 'an unknown step'} ({res.status}): {_said(sec)}",
                            **details)


def finish_kmod(plan: KmodPlan, res: ApplyResult) -> dict[str, t.Any]:
    """The return values from the read-back, or FlowOffloadError naming cause and fix."""
    if not res.ok:
        raise _failure(plan, res)
    after = _kmod.inspect_from(plan.snapshot.merged(res.snapshot), plan.names)
    result = dict(plan.result)
    result["modules"] = {n: str(s["state"]) for n, s in after.items()}
    not_loaded = [n for n in plan.result["loaded"] if after[n]["state"] != "loaded"]
    if not_loaded:
        raise FlowOffloadError(
            f"modprobe exited 0 but {not_loaded} are not loaded afterwards: "
            + "; ".join(f"{n}: {after[n]['evidence']}" for n in not_loaded),
            modules=result["modules"])
    result["unloaded"] = [n for n in plan.result["unloaded"] if after[n]["state"] != "loaded"]
    installed = res.snapshot.get("kmod:install")
    if installed is not None and plan.result.get("packages"):
        sizes = _packages.parse_install_sizes(installed.out)
        result["packages"] = [{**p, **sizes[p["name"]]} if p["name"] in sizes else dict(p)
                              for p in plan.result["packages"]]
    result["warnings"] = list(result.get("warnings", [])) + [
        f"{a['module']} stays loaded: rmmod refused it after the collection's objects were removed "
        f"({_said(res.snapshot.get('kmod:unload:' + a['module']))}); something else still uses it"
        for a in plan.actions if a.get("best_effort") and after[a["module"]]["state"] == "loaded"]
    result["changed"] = True
    return result


def run_kmod(target: Target, params: t.Mapping[str, t.Any], check_mode: bool) -> dict[str, t.Any]:
    """offload_kmod: one read round trip, plus one apply when something changes."""
    reads = kmod_reads(params)  # validates before any script runs
    kplan = plan_kmod(read_host(target, reads), params, check_mode)
    if check_mode or not kplan.spec.changes():
        return kplan.result
    return finish_kmod(kplan, apply_host(target, kplan.spec))

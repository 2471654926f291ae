# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_kmod on the controller: plan from one read, apply in one script (private).

``KMOD`` is the part the one driver runs (``target.driver.drive``): ``reads(params)`` ->
read script -> ``plan(snapshot, params, check_mode)`` (``plan_kmod``: ``KmodPlan(result,
spec)``) -> (apply script, only when something changes and not in check mode) ->
``finish(plan, apply_result)`` (``finish_kmod``). ``run_kmod`` is ``drive(KMOD, ...)``: at
most two round trips (one when nothing changes). The decisions are in ``kmod.actions``, the
failures explained in ``kmod.failure``.

The ApplySpec: package install and modprobe are ``pre`` steps (before the nft batch of
the other planners when the gateway action merges specs), the boot-time list is a
``FileChange`` (staged, then moved into place), rmmod runs as ``post`` steps, ``expect``
re-checks the boot-time list under the lock and the read-back is the module states.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    modules as _kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import (
    packages as _packages,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.actions import (
    Action,
    desired_from,
    plan_actions,
    predicted_states,
    validate_package,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.failure import (
    failure,
    said,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import (
    Params,
    drive,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import (
    host_from,
    release_read,
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
    shq,
)

ABSENT = "@flowoffload-absent@"
_sh = sh.here(__file__)


def kmod_reads(params: Params) -> list[Read]:
    """The read script's sections for offload_kmod (validates params first)."""
    desired = desired_from(params)
    return _kmod.module_reads(desired["modules"]) + _kmod.persistence_reads() + [_packages.size_read()]


# --- the apply spec --------------------------------------------------------------------
@dataclasses.dataclass
class KmodPlan:
    """What offload_kmod will do: ``result`` as predicted, ``spec`` (empty: nothing to do)."""

    result: dict[str, t.Any]
    spec: ApplySpec
    names: list[str]
    actions: list[Action]
    platform: dict[str, t.Any]
    persistence: _kmod.Persistence
    snapshot: Snapshot


def _expect_code(path: str) -> str:
    """Prints the file, or ABSENT when it does not exist (what ``expect`` compares)."""
    return f"if [ -e {shq(path)} ]; then cat {shq(path)}; else printf '%s' {shq(ABSENT)}; fi"


def _check_installed_code(missing: t.Sequence[str], release: str) -> str:
    """install_check.sh: fails (rc 1, the names on stdout) when a module is still missing
    after the install, for the running kernel's release as the plan read it."""
    return _sh("install_check.sh", {"fo_kmdir": _kmod.MODULES_DIR, "fo_kr": release,
                                    "fo_kmods": sh.words(_kmod.normalize(n) for n in missing)})


def build_spec(actions: t.Sequence[Action], names: t.Sequence[str],
               platform: t.Mapping[str, t.Any], persistence: _kmod.Persistence) -> ApplySpec:
    """The ApplySpec of plan_actions()'s actions (empty when only ``keep`` actions remain)."""
    spec = ApplySpec()
    if not any(a["action"] != "keep" for a in actions):
        return spec
    loader = "modprobe" if "modprobe" in (platform.get("tools") or {}) or not platform.get("tools") else "insmod"
    for action in actions:
        kind = action["action"]
        if kind == "install":
            spec.pre.append(Step("kmod:install", _packages.install_code(action["manager"], action["packages"])))
            missing = [n for n in names if action.get("missing") is None or n in action["missing"]]
            spec.pre.append(Step("kmod:install-check", _check_installed_code(missing, platform.get("kernel") or "")))
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
    # the module states again; $fo_kr, the folder of the running kernel's modules, from the
    # one release read (no other host read)
    spec.readback = [release_read()] + [r for r in _kmod.module_reads(names) if r.key.startswith(_kmod.PREFIX)]
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
    del check_mode  # the prediction is the same; drive() skips the apply in check mode
    desired = desired_from(params)
    if packages:
        desired["packages"] = [validate_package(p) for p in packages]
    names = desired["modules"]
    platform = dict(host_from(snapshot))
    platform["module_support"] = _kmod.module_support_from(snapshot)
    states = _kmod.inspect_from(snapshot, names)
    persistence = _kmod.persistence_state_from(snapshot, platform)
    actions = plan_actions(states, desired, persistence, platform, released)
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


def _persist_file(persistence: _kmod.Persistence, content: str) -> str:
    kind = persistence.get("kind")
    ours = (kind == "file" and bool(content)) or (kind == "block" and _kmod.split_block(content)[2] >= 0)
    return str(persistence.get("file") or "") if ours else ""


# --- after the apply script ------------------------------------------------------------
def finish_kmod(plan: KmodPlan, res: ApplyResult | None) -> dict[str, t.Any]:
    """The return values: the plan's when nothing was applied (res None), else from the
    read-back, or FlowOffloadError naming cause and fix."""
    if res is None:
        return dict(plan.result)
    if not res.ok:
        raise failure(plan, res)
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
        f"({said(res.snapshot.get('kmod:unload:' + a['module']))}); something else still uses it"
        for a in plan.actions if a.get("best_effort") and after[a["module"]]["state"] == "loaded"]
    result["changed"] = True
    return result


class KmodPart:
    """offload_kmod as a part of the one driver (``target.driver.Part``)."""

    def reads(self, params: Params) -> list[Read]:
        return kmod_reads(params)

    def plan(self, snapshot: Snapshot, params: Params, check_mode: bool) -> KmodPlan:
        return plan_kmod(snapshot, params, check_mode)

    def finish(self, plan: KmodPlan, applied: ApplyResult | None) -> dict[str, t.Any]:
        return finish_kmod(plan, applied)


KMOD = KmodPart()


def run_kmod(target: Target, params: Params, check_mode: bool) -> dict[str, t.Any]:
    """offload_kmod: one read round trip, plus one apply when something changes."""
    return drive(KMOD, target, params, check_mode)


__all__ = ["KMOD", "FlowOffloadError", "KmodPart", "KmodPlan", "build_spec", "desired_from", "finish_kmod",
           "kmod_reads", "plan_kmod", "predicted_states", "run_kmod", "validate_package"]

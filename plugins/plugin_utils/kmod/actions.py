# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""offload_kmod's decisions, pure (private): the validated options and the actions that
bring the host's modules and boot-time list from what was read to what is wanted.

``kmod.plan`` turns the actions into the apply spec and the predicted result.
"""
from __future__ import annotations

import re
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

PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._:~=-]*$")


class Desired(t.TypedDict, total=False):
    """The validated options (``packages``: what the gateway passes to install)."""

    state: str
    persistent: bool
    modules: list[str]
    package: str | None
    packages: list[str]


class Action(t.TypedDict, total=False):
    """One thing the apply does, in order: install {manager, packages, reason, missing},
    load {module}, write/remove {file, before, after}, unload {module, best_effort}, or keep
    {module, refcnt, reason} (a module that stays loaded: no change)."""

    action: str
    module: str
    manager: str
    packages: list[str]
    reason: str
    missing: list[str]
    file: str
    before: str
    after: str
    best_effort: bool
    refcnt: int


def validate_package(package: object) -> str | None:
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


def desired_from(params: t.Mapping[str, t.Any]) -> Desired:
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
                     persistence: _kmod.Persistence) -> list[Action]:
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


def plan_actions(current_states: t.Mapping[str, _kmod.ModState], desired: Desired,
                 persistence: _kmod.Persistence,
                 platform: t.Mapping[str, t.Any], released: bool = False) -> list[Action]:
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
    actions: list[Action] = []
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
                     actions: t.Sequence[Action]) -> dict[str, str]:
    """name -> state after the actions (what check mode reports)."""
    result = {name: str(info["state"]) for name, info in current_states.items()}
    for action in actions:
        if action["action"] == "load":
            result[action["module"]] = "loaded"
        elif action["action"] == "unload":
            result[action["module"]] = "module"
    return result

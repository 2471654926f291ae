# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role in one step: ``flowoffload.nft.offload_profile`` (private).

``run_profile(target, params, check_mode, task_vars_keys)``:

1. every input is checked (``_profile_inputs``), and the ``gateway_*`` variables of the
   play against the role's, before anything runs on the host;
2. ONE read script: host, the facts subsets of the profile, the modules, the flowtable
   (nft and, with ``gateway_backend: auto``, fw4), the sysctl file and values;
3. the plan, on the controller: the profile's decisions (``rules.decide``), then
   ``plan_kmod`` (only when modules are not ready or their boot list lacks one),
   ``plan_flowtable`` or ``plan_fw4``, and the sysctl plan, merged in that order into ONE
   ApplySpec (``off``: flowtable first, then modules and the sysctl file, and the lock
   files an earlier version left). Where the kernel lacks the modules and a package provides
   them (``gateway_install_packages``), the install and the loads come first, then the
   software probe runs again inside the apply (``probe:recheck``): the flowtable is planned as
   for a kernel that accepts it and only configured once the kernel does;
4. only when something changes and not in check mode, ONE apply script; each part is
   finished from its read-back.

An idempotent run is one round trip, a changing run two.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.reads import facts_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.run import build_facts, gather_from
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.probe import probe_read
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import flowtable_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.plan import kmod_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import inputs as pin
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import rules
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import sysctl as psys
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile.parts import (
    Piece,
    filled,
    finish_parts,
    leftovers_read,
    merged_spec,
    plan_parts,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.driver import drive
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Read,
    Snapshot,
    Target,
)

RESULT_KEYS = ("profile", "backend", "devices", "hardware_offload", "fallback_reason", "changed", "flows",
               "installed")


def profile_reads(inputs: pin.Inputs, kmod_params: t.Mapping[str, t.Any],
                  ft_params: t.Mapping[str, t.Any]) -> list[Read]:
    """The one read script's sections (fw4's too when the backend is auto).

    With ``gateway_devices: auto`` the devices are known only from the facts: the flowtable
    is read as for ``state: absent`` (the same listings and files) and the probes cover
    every device of the host (``probe:hw:<dev>``).
    """
    reads = _host.host_reads() + facts_reads(rules.subsets_for(inputs))
    reads += kmod_reads(kmod_params)
    auto = inputs.profile != "off" and inputs.devices is None
    backends = ["nft", "fw4"] if inputs.backend == "auto" else [inputs.backend]
    for backend in backends:
        params = dict(ft_params, backend=backend)
        if backend == "fw4":
            params["devices"] = None
        elif auto or not params.get("devices"):
            params["state"] = "absent"
        reads += flowtable_reads(filled("flowtable", params))
    if auto:
        reads.append(probe_read())
    if inputs.profile == "off":
        reads.append(leftovers_read())
    return reads + psys.sysctl_reads()


def _dedupe(items: t.Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def gateway_result(inputs: pin.Inputs, decision: rules.Decision, results: t.Mapping[str, t.Mapping[str, t.Any]],
                   flows: t.Mapping[str, t.Any] | None) -> dict[str, t.Any]:
    """The keys the role records in gateway_result."""
    ft = results.get("flowtable") or {}
    if inputs.profile == "off" or decision.unsupported or (decision.flowtable or {}).get("state") == "absent":
        devices: list[str] = []
    else:
        devices = list((ft.get("flowtable") or {}).get("devices") or decision.devices)
    return {
        "profile": inputs.profile,
        "backend": decision.backend,
        "devices": devices,
        "hardware_offload": bool(ft.get("hardware_offload", False)),
        "fallback_reason": decision.unsupported or decision.fallback or ft.get("fallback_reason") or "",
        "changed": any(bool(r.get("changed")) for r in results.values()),
        "flows": dict(flows or {}) if inputs.verify and inputs.profile != "off" else {},
        "installed": list((results.get("kmod") or {}).get("installed") or []),
    }


@dataclasses.dataclass
class ProfilePlan:
    """What one read gave the profile, and the pieces it plans (spec: their one ApplySpec)."""

    inputs: pin.Inputs
    decision: rules.Decision
    facts: dict[str, t.Any]
    facts_warnings: list[str]
    pieces: list[Piece]
    spec: ApplySpec


class ProfilePart:
    """The gateway profile as a part of target/driver.py: one read, one apply at most."""

    # what the driver calls rollback_timeout and health_check in its messages: the role's names
    option_prefix = "gateway_"

    def __init__(self, task_vars_keys: t.Iterable[str] | None = None,
                 known_vars: t.Iterable[str] | None = None) -> None:
        self.task_vars_keys = task_vars_keys
        self.known_vars = known_vars
        self.inputs: pin.Inputs | None = None

    def reads(self, params: t.Mapping[str, t.Any]) -> list[Read]:
        inputs = self.inputs = pin.validate_inputs(params)
        if params.get("check_role_vars") and self.task_vars_keys is not None:
            known = list(self.known_vars) if self.known_vars is not None else [pin.var(o) for o in pin.ROLE_OPTIONS]
            pin.check_role_vars(self.task_vars_keys, known, pin.allowed_extra(params))
        kmod_read_params = filled("offload_kmod", {"state": "absent" if inputs.profile == "off" else "present",
                                                   "persistent": True, "modules": list(rules.MODULES)})
        ft_read_params = rules.flowtable_params(inputs, "nft", list(inputs.devices or []),
                                                state="absent" if inputs.profile == "off" else "present")
        return profile_reads(inputs, kmod_read_params, ft_read_params)

    def plan(self, snapshot: Snapshot, params: t.Mapping[str, t.Any], check_mode: bool) -> ProfilePlan:
        del params  # validated into self.inputs by reads()
        inputs = self.inputs
        if inputs is None:
            raise FlowOffloadError("offload_profile: planned before its inputs were read (report this)")
        facts, facts_warnings = gather_from(snapshot, rules.subsets_for(inputs))
        host = _host.host_from(snapshot)
        decision = rules.decide(inputs, facts, _host.netdevs(snapshot), _kmod.module_support_from(snapshot))
        init = host.get("init") or ""
        pieces = [] if decision.unsupported else plan_parts(snapshot, inputs, decision, init, check_mode)
        spec = merged_spec(pieces)
        if spec.changes() and inputs.verify and inputs.profile != "off":
            spec.readback += [r for r in facts_reads(["flows"]) if r.key.startswith("facts:")]
        return ProfilePlan(inputs, decision, facts, list(facts_warnings), pieces, spec)

    def finish(self, plan: ProfilePlan, applied: ApplyResult | None) -> dict[str, t.Any]:
        return finish_profile(plan, applied)


def finish_profile(plan: ProfilePlan, res: ApplyResult | None) -> dict[str, t.Any]:
    """The action's return values from the plan and, after an apply, its read-back."""
    inputs, decision = plan.inputs, plan.decision
    flows = plan.facts.get("flows")
    try:
        results = finish_parts(plan.pieces, res)
    except FlowOffloadError as exc:
        if decision.install is not None and res is not None and res.key == "kmod:install":
            exc.msg += (f". Nothing was changed (the install is the apply's first step). gateway_install_packages: "
                        f"false leaves {decision.install.names} alone; the role then reports the kernel as "
                        "unsupported")
        raise
    if res is not None and inputs.verify and inputs.profile != "off":
        flows = build_facts(res.snapshot, ["flows"]).get("flows") or flows
    out = gateway_result(inputs, decision, results, flows)
    report = list(decision.report)
    packages = list((results.get("kmod") or {}).get("packages") or [])
    if decision.install is not None:
        report.append(rules.install_line(decision.install, packages, done=res is not None))
    if inputs.verify and inputs.profile != "off" and not decision.unsupported:
        report.append(rules.flows_line(flows))
    # of the facts' warnings, the role passes on what offloading could bypass unseen (shaping
    # configured where tc is missing to check it); the rest is the facts module's to say
    warnings = list(inputs.warnings) + decision.warnings + [
        w for w in plan.facts_warnings if w.startswith("conflicts: tc is not installed")]
    for name in ("kmod", "flowtable", "sysctl"):
        warnings += (results.get(name) or {}).get("warnings") or []
    diffs: list[t.Any] = []
    for result in results.values():
        if result.get("changed") and result.get("diff"):
            diffs += result["diff"] if isinstance(result["diff"], list) else [result["diff"]]
    out.update(
        # the facts this run read, as offload_facts would set them (the subsets the profile needs)
        ansible_facts={"flowoffload": plan.facts},
        report=report,
        packages=packages,
        warnings=_dedupe(warnings),
        parts={name: {k: v for k, v in r.items() if k not in ("warnings", "diff")} for name, r in results.items()},
    )
    if diffs:
        out["diff"] = diffs
    return out


def run_profile(target: Target, params: t.Mapping[str, t.Any], check_mode: bool,
                task_vars_keys: t.Iterable[str] | None = None,
                known_vars: t.Iterable[str] | None = None) -> dict[str, t.Any]:
    """The whole profile: one read, a plan, one apply when something changes.

    task_vars_keys: the play's variable names (the action passes them); with
    ``check_role_vars`` every ``gateway_*`` name must be one of known_vars (the role's
    argument_specs options; default: the role variables of offload_profile's options).
    """
    return drive(ProfilePart(task_vars_keys, known_vars), target, params, check_mode)

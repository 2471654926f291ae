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

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.flowoffload.nft.plugins.modules.flowtable import ARGUMENT_SPEC as FLOWTABLE_SPEC
from ansible_collections.flowoffload.nft.plugins.modules.offload_kmod import ARGUMENT_SPEC as KMOD_SPEC
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.reads import facts_reads
from ansible_collections.flowoffload.nft.plugins.plugin_utils.facts.run import build_facts, gather_from
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import probe as _probe
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.probe import probe_read
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import (
    finish_flowtable,
    flowtable_reads,
    plan_flowtable,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod import modules as _kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.plan import finish_kmod, kmod_reads, plan_kmod
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import host as _host
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import inputs as pin
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import rules
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import sysctl as psys
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import script as _script
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Read,
    Section,
    Snapshot,
    Step,
    clip,
    read_host,
    apply_host,
    shq,
)

RESULT_KEYS = ("profile", "backend", "devices", "hardware_offload", "fallback_reason", "changed", "flows",
               "installed")
RECHECK_KEY = "probe:recheck"
LEFTOVERS_KEY = "profile:lock-leftovers"
# The module files whose argument specs fill a part's defaults (what the action would validate).
SPECS = {"flowtable": FLOWTABLE_SPEC, "offload_kmod": KMOD_SPEC}


def filled(module: str, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """params with the module's argspec defaults filled in (and checked like the module would)."""
    result = ArgumentSpecValidator(SPECS[module]).validate({k: v for k, v in params.items() if v is not None})
    if result.error_messages:
        raise FlowOffloadError(f"{module}: {'; '.join(result.error_messages)} (an error of the gateway role's "
                               "composition: report it)")
    return dict(result.validated_parameters)


@dataclasses.dataclass
class Part:
    """One planned module of the profile."""

    name: str
    plan: t.Any
    finish: t.Callable[[t.Any, ApplyResult | None], dict[str, t.Any]]

    @property
    def spec(self) -> ApplySpec:
        return self.plan.spec

    def owns(self, key: str) -> bool:
        """Whether a key where the apply script stopped belongs to this part."""
        spec = self.spec
        if key in ("nft-check", "nft-apply"):
            return bool(spec.nft)
        keys = {e.key for e in spec.expect} | {s.key for s in spec.pre + spec.post}
        keys |= {p + f.path for f in spec.files for p in ("stage:", "file:")}
        return key in keys


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


# --- lock files an earlier version left -------------------------------------------------------
def _lock_paths() -> list[str]:
    """The lock files (flock) and lock directories (mkdir) apply scripts use or used."""
    return [f"{d}/{_script.LOCK_FILE}{suffix}" for d in _script.LOCK_DIRS for suffix in ("", ".d")]


def leftovers_read() -> Read:
    """``profile:lock-leftovers``: the lock paths that exist (builtins only). Since the lock
    exists only while a run holds it, one that is there belongs to a run in progress or was
    left by an earlier version of the collection (which kept its lock file)."""
    paths = " ".join(shq(p) for p in _lock_paths())
    return Read(LEFTOVERS_KEY, f'for fo_x in {paths}; do\n  if [ -e "$fo_x" ]; then echo "$fo_x"; fi\ndone')


@dataclasses.dataclass
class LeftoverPlan:
    result: dict[str, t.Any]
    spec: ApplySpec


def plan_leftovers(snapshot: Snapshot) -> LeftoverPlan:
    """off removes the lock files an earlier version left (the apply's own lock goes with the
    apply). A lock directory whose holder still runs, and the lock this apply holds, stay."""
    found = [p for p in (snapshot.out(LEFTOVERS_KEY) or "").split() if p in _lock_paths()]
    spec = ApplySpec()
    if found:
        paths = " ".join(shq(p) for p in found)
        spec.post.append(Step("profile:lock-leftovers", (
            f"for fo_x in {paths}; do\n"
            '  [ "$fo_x" != "$fo_lock" ] || continue\n'
            '  if [ -d "$fo_x" ]; then\n'
            "    fo_p=''\n"
            '    [ ! -r "$fo_x/pid" ] || read -r fo_p <"$fo_x/pid" || :\n'
            '    if [ -n "$fo_p" ] && [ -d "/proc/$fo_p" ]; then continue; fi\n'
            '    rm -rf "$fo_x"\n'
            '  else rm -f "$fo_x"; fi\n'
            "done")))
    return LeftoverPlan({"changed": bool(found), "removed": found}, spec)


def finish_leftovers(plan: LeftoverPlan, res: ApplyResult | None) -> dict[str, t.Any]:
    del res  # a step that cannot fail (rm -f)
    return dict(plan.result)


# --- the probe again, inside the apply, after an install --------------------------------------
@dataclasses.dataclass
class RecheckPlan:
    result: dict[str, t.Any]
    spec: ApplySpec
    install: rules.Install


def plan_recheck(install: rules.Install) -> RecheckPlan:
    """After the install and the loads: the software probe once more (``nft -c`` of a flowtable
    without devices, never committed). The apply stops here, before the flowtable is
    configured, when the kernel still refuses it."""
    batch = _probe.probe_batch(None, _probe.PROBE_TABLE_PREFIX + "recheck")
    code = f"printf '%s' {shq(batch)} >\"$fo_t/recheck.nft\"\nnft -c -f \"$fo_t/recheck.nft\""
    spec = ApplySpec(pre=[Step(RECHECK_KEY, code)])
    return RecheckPlan({"changed": True, "supported": True}, spec, install)


def finish_recheck(plan: RecheckPlan, res: ApplyResult | None) -> dict[str, t.Any]:
    if res is not None and not res.ok and res.key == RECHECK_KEY:
        sec = res.section()
        _ok, said = _probe.interpret_software(sec.rc if sec else res.rc, sec.err if sec else res.stderr)
        raise FlowOffloadError(
            f"installed {plan.install.names} and loaded the modules, but the kernel still refuses a flowtable: "
            f"{said}. The flowtable was not configured (the package and the loaded modules stay; they change no "
            "ruleset). The installed modules may not match the running kernel: check dmesg and the package's "
            "kernel version", rc=sec.rc if sec else res.rc, stdout=sec.out if sec else res.stdout,
            stderr=sec.err if sec else res.stderr)
    return dict(plan.result)


def assumed_supported(snapshot: Snapshot, install: rules.Install) -> Snapshot:
    """The snapshot the flowtable is planned from when the apply installs the modules first: the
    software probe as accepted (the apply checks it again before the flowtable batch) and every
    hardware probe without an answer (the kernel could not answer before the modules existed;
    the next run probes them)."""
    why = (f"not probed: the kernel had no flowtables before {install.names} was installed in this run; "
           "the next run probes hardware offload")
    sections = dict(snapshot.sections)
    sections[_probe.SW_KEY] = Section(0, "", "")
    for key in [k for k in sections if k.startswith(_probe.HW_PREFIX)]:
        sections[key] = Section(1, "", why + "\n")
    return Snapshot(sections)


def plan_parts(snapshot: Snapshot, inputs: pin.Inputs, decision: rules.Decision, init: str,
               check_mode: bool) -> list[Part]:
    """The parts that run, in the order their apply steps must run."""
    parts: list[Part] = []
    flowtable: Part | None = None
    install = decision.install
    if decision.flowtable is not None:
        params = filled("flowtable", decision.flowtable)
        planned_from = assumed_supported(snapshot, install) if install is not None else snapshot
        flowtable = Part("flowtable", plan_flowtable(planned_from, params, check_mode), finish_flowtable)
    if decision.kmod is not None:
        params = filled("offload_kmod", decision.kmod)
        # off: the flowtable's removal runs first in the same apply, so the modules it held
        # can be unloaded after it
        released = inputs.profile == "off" and flowtable is not None and bool(flowtable.spec.nft)
        kplan = plan_kmod(snapshot, params, check_mode, released=released, install=inputs.install_packages,
                          packages=list(install.packages) if install is not None else None)
        parts.append(Part("kmod", kplan, finish_kmod))
    if install is not None:
        parts.append(Part("recheck", plan_recheck(install), finish_recheck))
    if flowtable is not None:
        parts.append(flowtable)
    if decision.sysctl:
        running = psys.parse_running(snapshot.text(psys.RUNNING_KEY))
        in_file = psys.file_settings(psys.parse_file_section(snapshot.out(psys.FILE_KEY)))
        wanted = psys.wanted_settings(running, inputs.tcp_timeout, inputs.udp_timeout, inputs.forwarding,
                                      decision.loading_modules, in_file)
        parts.append(Part("sysctl", psys.plan_sysctl(snapshot, wanted, init, remove=decision.remove_sysctl),
                          psys.finish_sysctl))
    if inputs.profile == "off" and parts and parts[0].name == "kmod":
        # off: the flowtable goes first, so the modules it holds can be unloaded after it
        parts = parts[1:2] + parts[:1] + parts[2:]
    if inputs.profile == "off":
        parts.append(Part("lock", plan_leftovers(snapshot), finish_leftovers))
    return parts


def merged_spec(parts: t.Sequence[Part]) -> ApplySpec:
    """The parts' ApplySpecs in order, as one (the parts' own specs are left as they are)."""
    spec = ApplySpec()
    for part in parts:
        if part.spec.changes():
            spec.extend(part.spec)
    return spec


def finish_parts(parts: t.Sequence[Part], res: ApplyResult | None) -> dict[str, dict[str, t.Any]]:
    """Each part's result from the one read-back; a failure is explained by the part it hit."""
    changing = [p for p in parts if p.spec.changes()]
    if res is not None and res.status != "ok":
        owner = next((p for p in changing if p.owns(res.key)), None)
        if owner is None and res.key == "lock" and changing:
            owner = changing[0]
        others = [p.name for p in changing if p is not owner]
        if owner is not None:
            try:
                owner.finish(owner.plan, res)
            except FlowOffloadError as exc:
                if res.status == "failed-after" and others:
                    exc.msg += f" (the other parts of this run, {', '.join(others)}, were applied up to that step)"
                raise
        sec = res.section()
        said = clip((sec.err or sec.out) if sec else res.stderr, 1000) or "no message"
        raise FlowOffloadError(
            f"the apply script stopped at {res.status} {res.key or '(no result)'}: {said}"
            + ("; nothing was changed" if res.status in ("failed", "stale") else "; check the host and run again"),
            rc=res.rc, stdout=res.stdout[-2000:], stderr=res.stderr[-2000:])
    names = {c.name for c in changing} if res is not None else set()
    return {p.name: p.finish(p.plan, res) if p.name in names else dict(p.plan.result) for p in parts}


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
    if inputs.profile == "off" or decision.unsupported:
        devices: list[str] = []
    else:
        devices = list((ft.get("flowtable") or {}).get("devices") or decision.devices)
    return {
        "profile": inputs.profile,
        "backend": decision.backend,
        "devices": devices,
        "hardware_offload": bool(ft.get("hardware_offload", False)),
        "fallback_reason": decision.unsupported or ft.get("fallback_reason") or "",
        "changed": any(bool(r.get("changed")) for r in results.values()),
        "flows": dict(flows or {}) if inputs.verify and inputs.profile != "off" else {},
        "installed": list((results.get("kmod") or {}).get("installed") or []),
    }


def run_profile(target: t.Any, params: t.Mapping[str, t.Any], check_mode: bool,
                task_vars_keys: t.Iterable[str] | None = None,
                known_vars: t.Iterable[str] | None = None) -> dict[str, t.Any]:
    """The whole profile: one read, a plan, one apply when something changes.

    task_vars_keys: the play's variable names (the action passes them); with
    ``check_role_vars`` every ``gateway_*`` name must be one of known_vars (the role's
    argument_specs options; default: the role variables of offload_profile's options).
    """
    inputs = pin.validate_inputs(params)
    if params.get("check_role_vars") and task_vars_keys is not None:
        known = list(known_vars) if known_vars is not None else [pin.var(o) for o in pin.ROLE_OPTIONS]
        pin.check_role_vars(task_vars_keys, known, pin.allowed_extra(params))
    kmod_read_params = filled("offload_kmod", {"state": "absent" if inputs.profile == "off" else "present",
                                               "persistent": True, "modules": list(rules.MODULES)})
    ft_read_params = rules.flowtable_params(inputs, "nft", list(inputs.devices or []),
                                            state="absent" if inputs.profile == "off" else "present")
    snapshot = read_host(target, profile_reads(inputs, kmod_read_params, ft_read_params))
    subsets = rules.subsets_for(inputs)
    facts, facts_warnings = gather_from(snapshot, subsets)
    host = _host.host_from(snapshot)
    decision = rules.decide(inputs, facts, _host.netdevs(snapshot), _kmod.module_support_from(snapshot))
    parts = [] if decision.unsupported else plan_parts(snapshot, inputs, decision, host.get("init") or "", check_mode)
    spec = merged_spec(parts)
    res: ApplyResult | None = None
    flows = facts.get("flows")
    if spec.changes() and not check_mode:
        if inputs.verify and inputs.profile != "off":
            spec.readback += [r for r in facts_reads(["flows"]) if r.key.startswith("facts:")]
        res = apply_host(target, spec)
    try:
        results = finish_parts(parts, res)
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
        w for w in facts_warnings if w.startswith("conflicts: tc is not installed")]
    for name in ("kmod", "flowtable", "sysctl"):
        warnings += (results.get(name) or {}).get("warnings") or []
    diffs: list[t.Any] = []
    for result in results.values():
        if result.get("changed") and result.get("diff"):
            diffs += result["diff"] if isinstance(result["diff"], list) else [result["diff"]]
    out.update(
        # the facts this run read, as offload_facts would set them (the subsets the profile needs)
        ansible_facts={"flowoffload": facts},
        report=report,
        packages=packages,
        warnings=_dedupe(warnings),
        parts={name: {k: v for k, v in r.items() if k not in ("warnings", "diff")} for name, r in results.items()},
    )
    if diffs:
        out["diff"] = diffs
    return out

# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pieces a profile plans and finishes in its one apply (private).

``plan_parts`` plans the modules the profile composes (kmod, the probe again after an
install, the flowtable with the nft or fw4 backend, sysctl, the lock files an earlier
version left) in the order their apply steps must run; ``merged_spec`` makes one ApplySpec of
them and ``finish_parts`` finishes each from the one read-back, a failure explained by the
piece it hit. profile/run.py drives them.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.flowoffload.nft.plugins.modules.flowtable import (
    ARGUMENT_SPEC as FLOWTABLE_SPEC,
)
from ansible_collections.flowoffload.nft.plugins.modules.offload_kmod import (
    ARGUMENT_SPEC as KMOD_SPEC,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import (
    FlowOffloadError,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable import (
    probe as _probe,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.flowtable.run import (
    finish_flowtable,
    plan_flowtable,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.kmod.plan import (
    finish_kmod,
    plan_kmod,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    inputs as pin,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import rules
from ansible_collections.flowoffload.nft.plugins.plugin_utils.profile import (
    sysctl as psys,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import (
    script as _script,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target import sh
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.host import (
    exist_code,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.script import (
    ApplyResult,
    ApplySpec,
    Read,
    Section,
    Snapshot,
    Step,
)
from ansible_collections.flowoffload.nft.plugins.plugin_utils.target.text import clip

RECHECK_KEY = "probe:recheck"
LEFTOVERS_KEY = "profile:lock-leftovers"
# The module files whose argument specs fill a part's defaults (what the action would validate).
SPECS = {"flowtable": FLOWTABLE_SPEC, "offload_kmod": KMOD_SPEC}
_sh = sh.here(__file__)


def filled(module: str, params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """params with the module's argspec defaults filled in (and checked like the module would)."""
    result = ArgumentSpecValidator(SPECS[module]).validate({k: v for k, v in params.items() if v is not None})
    if result.error_messages:
        raise FlowOffloadError(f"{module}: {'; '.join(result.error_messages)} (an error of the gateway role's "
                               "composition: report it)")
    return dict(result.validated_parameters)


@dataclasses.dataclass
class Piece:
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


# --- lock files an earlier version left -------------------------------------------------------
def _lock_paths() -> list[str]:
    """The lock files (flock) and lock directories (mkdir) apply scripts use or used."""
    return [f"{d}/{_script.LOCK_FILE}{suffix}" for d in _script.LOCK_DIRS for suffix in ("", ".d")]


def leftovers_read() -> Read:
    """``profile:lock-leftovers``: the lock paths that exist (builtins only). Since the lock
    exists only while a run holds it, one that is there belongs to a run in progress or was
    left by an earlier version of the collection (which kept its lock file)."""
    return Read(LEFTOVERS_KEY, exist_code(_lock_paths()))


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
        spec.post.append(Step(LEFTOVERS_KEY, _sh("lock_leftovers.sh", {"fo_leftovers": sh.words(found)})))
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
    spec = ApplySpec(pre=[Step(RECHECK_KEY, _sh("recheck.sh", {"fo_batch": batch}))])
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
               check_mode: bool) -> list[Piece]:
    """The parts that run, in the order their apply steps must run."""
    parts: list[Piece] = []
    flowtable: Piece | None = None
    install = decision.install
    if decision.flowtable is not None:
        params = filled("flowtable", decision.flowtable)
        planned_from = assumed_supported(snapshot, install) if install is not None else snapshot
        flowtable = Piece("flowtable", plan_flowtable(planned_from, params, check_mode), finish_flowtable)
    if decision.kmod is not None:
        params = filled("offload_kmod", decision.kmod)
        # off: the flowtable's removal runs first in the same apply, so the modules it held
        # can be unloaded after it
        released = inputs.profile == "off" and flowtable is not None and bool(flowtable.spec.nft)
        kplan = plan_kmod(snapshot, params, check_mode, released=released, install=inputs.install_packages,
                          packages=list(install.packages) if install is not None else None)
        parts.append(Piece("kmod", kplan, finish_kmod))
    if install is not None:
        parts.append(Piece("recheck", plan_recheck(install), finish_recheck))
    if flowtable is not None:
        parts.append(flowtable)
    if decision.sysctl:
        running = psys.parse_running(snapshot.text(psys.RUNNING_KEY))
        in_file = psys.file_settings(psys.parse_file_section(snapshot.out(psys.FILE_KEY)))
        wanted = psys.wanted_settings(running, inputs.tcp_timeout, inputs.udp_timeout, inputs.forwarding,
                                      decision.loading_modules, in_file)
        sysctl_plan = psys.plan_sysctl(snapshot, wanted, init, remove=decision.remove_sysctl)
        parts.append(Piece("sysctl", sysctl_plan, psys.finish_sysctl))
    if inputs.profile == "off" and parts and parts[0].name == "kmod":
        # off: the flowtable goes first, so the modules it holds can be unloaded after it
        parts = parts[1:2] + parts[:1] + parts[2:]
    if inputs.profile == "off":
        parts.append(Piece("lock", plan_leftovers(snapshot), finish_leftovers))
    return parts


def merged_spec(parts: t.Sequence[Piece]) -> ApplySpec:
    """The parts' ApplySpecs in order, as one (the parts' own specs are left as they are)."""
    spec = ApplySpec()
    for part in parts:
        if part.spec.changes():
            spec.extend(part.spec)
    return spec


def finish_parts(parts: t.Sequence[Piece], res: ApplyResult | None) -> dict[str, dict[str, t.Any]]:
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

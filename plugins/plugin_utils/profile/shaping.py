# Copyright: (c) 2026, flowoffload.nft maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``gateway_conflicts: software`` and ``exclude``: what shaping does to the profile (private, pure).

Hardware offload bypasses every qdisc of the devices (openwrt issue 19449); software offload
sends packets out through the egress qdiscs, and tc's ingress (the redirect to an ifb) runs
before the flowtable's ingress hook, so shaping keeps working with it.

- ``software``: a shaped device (a shaping qdisc, or an ingress redirect to an ifb) among the
  flowtable's devices makes the flowtable software only (no ``flags offload``; fw4:
  ``flow_offloading_hw`` 0). With ``gateway_profile: hardware`` too: the operator asked for the
  policy, so the profile is downgraded to software, with a warning naming the devices.
- ``exclude``: shaped devices are left out of the flowtable, the others are offloaded as the
  profile says; when none remain there is no flowtable (ours is removed if it exists). fw4
  builds its flowtable from all the devices of its zones and cannot leave one out, so
  ``exclude`` is refused there before anything changes.

Conflicts not tied to a device (IPsec policies, NFQUEUE rules) and shaping on devices outside
the flowtable are warnings under both, as with ``warn``.
"""
from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.flowoffload.nft.plugins.plugin_utils.errors import FlowOffloadError

POLICIES = ("software", "exclude")
SOFTWARE = "software offload"
LEFT_OUT = "left out of the flowtable"


@dataclasses.dataclass
class Outcome:
    """What the policy decided: the flowtable's devices, the offload mode it forces (None: the
    profile's), the conflicts it did not handle, and what the report and warnings say."""

    devices: list[str]
    offload: bool | None = None
    rest: list[t.Mapping[str, t.Any]] = dataclasses.field(default_factory=list)
    report: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    reason: str = ""  # the result's fallback_reason

    @property
    def no_flowtable(self) -> bool:
        """exclude left no device: the flowtable is not set up."""
        return self.reason.startswith("no flowtable")


def is_shaping(item: t.Mapping[str, t.Any]) -> bool:
    """A conflict of a device's qdiscs: a shaping qdisc or an ingress redirect to an ifb."""
    return item.get("kind") == "qdisc" and bool(item.get("device"))


def trigger(item: t.Mapping[str, t.Any]) -> str:
    """What was found (the facts' trigger; the detail's first words for facts without it)."""
    return str(item.get("trigger") or str(item.get("detail") or "shaping").split(":", maxsplit=1)[0])


def refuse_fw4_exclude(conflicts: str, backend: str) -> None:
    """``exclude`` cannot be honoured by fw4: refused before anything changes."""
    if conflicts == "exclude" and backend == "fw4":
        raise FlowOffloadError(
            "gateway_conflicts=exclude cannot work with the fw4 backend: firewall4 builds its flowtable ft from "
            "every device of its zones and has no option to leave one out. Set gateway_conflicts=software (fw4 "
            "then offloads in software only, flow_offloading_hw 0, so shaping keeps working), or "
            "gateway_backend=nft to use a flowtable of the role's own. Nothing was changed")


def _line(device: str, what: str, decision: str) -> str:
    return f"{device}: {what} -> {decision}"


def apply_policy(policy: str, profile: str, backend: str, devices: t.Sequence[str],
                 conflicts: t.Sequence[t.Mapping[str, t.Any]]) -> Outcome:
    """The outcome of ``policy`` (software or exclude) for the flowtable's devices.

    ``backend`` fw4: its devices come from its zones, so every shaped candidate device counts."""
    if policy not in POLICIES:
        raise FlowOffloadError(f"gateway_conflicts: {policy!r} is no shaping policy (software, exclude)")
    shaped: dict[str, list[str]] = {}
    rest = []
    for item in conflicts:
        device = str(item.get("device") or "")
        if is_shaping(item) and (backend == "fw4" or device in devices):
            shaped.setdefault(device, []).append(trigger(item))
        else:
            rest.append(item)
    out = Outcome(list(devices), rest=rest)
    if not shaped:
        return out
    named = "; ".join(f"{dev}: {', '.join(what)}" for dev, what in shaped.items())
    if policy == "software":
        out.offload = False
        out.report = [_line(dev, ", ".join(what), SOFTWARE) for dev, what in shaped.items()]
        if profile == "software":
            return out
        out.reason = (f"gateway_conflicts=software: software offload because of shaping ({named}); hardware "
                      "offload would bypass it")
        if profile == "hardware":
            out.warnings.append(
                f"gateway_profile=hardware downgraded to software offload by gateway_conflicts=software: {named} "
                "(hardware offload bypasses shaping). Remove the shaping, or set gateway_conflicts=warn to offload "
                "in hardware anyway")
        return out
    out.devices = [dev for dev in devices if dev not in shaped]
    out.report = [_line(dev, ", ".join(what), LEFT_OUT) for dev, what in shaped.items()]
    if not out.devices:
        out.reason = (f"no flowtable: gateway_conflicts=exclude left out every device ({named}), so no device "
                      "is offloaded")
        out.report.append(out.reason + " (a flowtable of the role's from an earlier run is removed).")
    return out
